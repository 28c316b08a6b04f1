// Reconnecting client for the server's WebSocket streams (docs/streams.md).
//
// A job's streams number their messages with the seq of the event they come
// from. One event may yield several messages that share its seq (seed 000's
// final `status` + `completion`; seed 004's `routine_started` +
// `execution_event`), so "the last seq seen" is not enough to resume: a drop
// between two such messages would lose the second one if we reconnected with
// `?since=<that seq>`. The client therefore remembers how many messages of the
// latest seq it has delivered; until a higher seq arrives that event may be
// incomplete, so it reconnects with `since=<seq - 1>`, and drops the replayed
// messages of that seq it already delivered (the server derives an event's
// messages deterministically, in the same order).

export type LiveState = 'live' | 'connecting' | 'reconnecting' | 'closed'

/** A decoded frame. Messages derived from a job event carry its `seq`. */
export interface LiveMessage {
  type: string
  seq?: number
  [key: string]: unknown
}

/** The part of the browser's WebSocket the client uses (a fake in unit tests). */
export interface WebSocketLike {
  readonly readyState: number
  onopen: ((ev: unknown) => void) | null
  onmessage: ((ev: { data: unknown }) => void) | null
  onclose: ((ev: { code: number; reason: string }) => void) | null
  onerror: ((ev: unknown) => void) | null
  send(data: string): void
  close(code?: number, reason?: string): void
}

export type WebSocketFactory = new (url: string) => WebSocketLike

/** Close code of a client that fell behind (docs/streams.md, "Slow clients"). */
export const CLOSE_LAGGING = 4008

export interface LocationLike {
  protocol: string
  host: string
}

/** The ws:// or wss:// URL of a server path, on the page's own host. */
export function wsUrl(path: string, loc: LocationLike = location): string {
  const scheme = loc.protocol === 'https:' ? 'wss:' : 'ws:'
  return `${scheme}//${loc.host}${path.startsWith('/') ? path : '/' + path}`
}

function withSince(url: string, since: number | undefined): string {
  if (since === undefined) return url
  return `${url}${url.includes('?') ? '&' : '?'}since=${since}`
}

/**
 * Which messages of a seq-numbered stream are new, and where to resume.
 * Messages without a seq (heartbeats, `connection:status`, protocol errors)
 * are always new.
 */
export class SeqTracker {
  /** Highest seq delivered (or known from elsewhere, see `advance`). */
  private seq: number | undefined
  /** Messages of `seq` delivered so far; Infinity when the event is known to be complete. */
  private delivered = 0
  /** Messages of `seq` the current connection has sent. */
  private sent = 0

  constructor(since?: number) {
    if (since !== undefined) this.advance(since)
  }

  /** The last seq delivered, if any. */
  get last(): number | undefined {
    return this.seq
  }

  /**
   * Marks everything up to `seq` as delivered, e.g. because a REST snapshot
   * already reflects it. Never moves backwards.
   */
  advance(seq: number): void {
    if (!Number.isFinite(seq) || seq < 0) return
    if (this.seq === undefined || seq > this.seq || (seq === this.seq && this.delivered !== Infinity)) {
      this.seq = seq
      this.delivered = Infinity
      this.sent = 0
    }
  }

  /** The `since` of the next connection (undefined: from the start). */
  since(): number | undefined {
    if (this.seq === undefined) return undefined
    if (this.delivered === Infinity) return this.seq
    return this.seq > 0 ? this.seq - 1 : undefined
  }

  /** A new connection starts; call before its first message. */
  reset(): void {
    this.sent = 0
  }

  /** Whether a message with this seq is new; records it if so. */
  accept(seq: number | undefined): boolean {
    if (seq === undefined) return true
    if (this.seq === undefined || seq > this.seq) {
      this.seq = seq
      this.delivered = 1
      this.sent = 1
      return true
    }
    if (seq < this.seq) return false
    // The same seq as the latest delivered: new only past what was delivered.
    this.sent++
    if (this.sent <= this.delivered) return false
    this.delivered++
    return true
  }
}

export interface LiveSocketOptions {
  /** Server path, e.g. `/api/ws/executions/job_1`. */
  path: string
  onMessage: (msg: LiveMessage) => void
  /** Called on every state change; `reconnected` is true when `live` follows a drop. */
  onState?: (state: LiveState, info: { reconnected: boolean; code?: number }) => void
  /**
   * Track seqs and resume with `?since=` (job streams). Off for streams that
   * replay nothing and mix several jobs' seqs, such as `/api/ws/monitor`.
   */
  resume?: boolean
  /** Seq already reflected by the caller's state: the first connection asks only for later ones. */
  since?: number
  WebSocket?: WebSocketFactory
  location?: LocationLike
  minDelayMs?: number
  maxDelayMs?: number
}

const OPEN = 1

/**
 * One logical subscription: connects, reconnects after a drop with backoff
 * (0.25 s doubling to 5 s, back to 0.25 s once a connection opens), resumes
 * where it stopped, and hands each message to `onMessage` exactly once.
 */
export class LiveSocket {
  private readonly opts: LiveSocketOptions
  private readonly tracker: SeqTracker | undefined
  private ws: WebSocketLike | undefined
  private timer: ReturnType<typeof setTimeout> | undefined
  private delay: number
  private wasLive = false
  private current: LiveState = 'closed'
  private stopped = false

  constructor(opts: LiveSocketOptions) {
    this.opts = opts
    this.tracker = opts.resume === false ? undefined : new SeqTracker(opts.since)
    this.delay = opts.minDelayMs ?? 250
  }

  get state(): LiveState {
    return this.current
  }

  /** The last seq handed on (undefined before any, or without resume). */
  get lastSeq(): number | undefined {
    return this.tracker?.last
  }

  /** The caller's state now reflects everything up to `seq` (e.g. from REST). */
  advance(seq: number): void {
    this.tracker?.advance(seq)
  }

  start(): void {
    if (this.ws || this.timer !== undefined || this.stopped) return
    this.connect()
  }

  /** Closes for good (e.g. the page goes away). */
  close(): void {
    this.stopped = true
    if (this.timer !== undefined) clearTimeout(this.timer)
    this.timer = undefined
    const ws = this.ws
    this.ws = undefined
    if (ws) {
      ws.onopen = ws.onmessage = ws.onerror = ws.onclose = null
      try {
        ws.close(1000, 'client closed')
      } catch {
        // already closed
      }
    }
    this.setState('closed')
  }

  /** Sends a text frame if connected; answers whether it was sent. */
  send(data: string): boolean {
    if (!this.ws || this.ws.readyState !== OPEN) return false
    this.ws.send(data)
    return true
  }

  private setState(state: LiveState, code?: number): void {
    if (state === this.current) return
    const reconnected = state === 'live' && this.wasLive
    this.current = state
    if (state === 'live') this.wasLive = true
    this.opts.onState?.(state, { reconnected, code })
  }

  private connect(): void {
    this.timer = undefined
    const Ctor = this.opts.WebSocket ?? (globalThis.WebSocket as unknown as WebSocketFactory | undefined)
    this.setState(this.wasLive || this.current === 'reconnecting' ? 'reconnecting' : 'connecting')
    this.tracker?.reset()
    const url = withSince(wsUrl(this.opts.path, this.opts.location ?? location), this.tracker?.since())
    let ws: WebSocketLike
    try {
      if (!Ctor) throw new Error('WebSocket is not available')
      ws = new Ctor(url)
    } catch {
      this.scheduleReconnect()
      return
    }
    this.ws = ws
    ws.onopen = () => {
      if (this.ws !== ws) return
      this.delay = this.opts.minDelayMs ?? 250
      this.setState('live')
    }
    ws.onmessage = (ev) => {
      if (this.ws !== ws || typeof ev.data !== 'string') return
      let msg: unknown
      try {
        msg = JSON.parse(ev.data)
      } catch {
        return
      }
      if (!msg || typeof msg !== 'object' || Array.isArray(msg)) return
      const m = msg as LiveMessage
      // `metrics` snapshots carry the latest seq but are sent on a timer, not
      // once per event: they do not count towards an event's messages.
      const seq = typeof m.seq === 'number' && Number.isFinite(m.seq) && m.type !== 'metrics' ? m.seq : undefined
      if (this.tracker && !this.tracker.accept(seq)) return
      this.opts.onMessage(m)
    }
    ws.onerror = () => {
      // A close event follows; it decides.
    }
    ws.onclose = (ev) => {
      if (this.ws !== ws) return
      this.ws = undefined
      ws.onopen = ws.onmessage = ws.onerror = ws.onclose = null
      if (ev.code === CLOSE_LAGGING) {
        // We fell behind: come back at once and catch up from the last seq.
        this.delay = this.opts.minDelayMs ?? 250
      }
      this.setState('reconnecting', ev.code)
      this.scheduleReconnect()
    }
  }

  private scheduleReconnect(): void {
    if (this.stopped) return
    this.setState('reconnecting')
    const wait = this.delay
    this.delay = Math.min(this.delay * 2, this.opts.maxDelayMs ?? 5000)
    this.timer = setTimeout(() => this.connect(), wait)
  }
}
