// Reconnecting client for the server's WebSocket streams (docs/streams.md).
//
// A job's streams give every message derived from an event its position
// (`pos`, "57.2": event 57's second message; see position.ts), and take one as
// `?since=`. The client keeps the position of the last message it delivered and
// reconnects with it, so a drop anywhere — between two messages of one event
// too — costs no message and repeats none.

import { PosTracker, posOf, type Pos } from './position'

export type LiveState = 'live' | 'connecting' | 'reconnecting' | 'closed'

/** A decoded frame. Messages derived from a job event carry its `seq` and their `pos`. */
export interface LiveMessage {
  type: string
  seq?: number
  pos?: string
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

function withSince(url: string, since: string | undefined): string {
  if (since === undefined) return url
  return `${url}${url.includes('?') ? '&' : '?'}since=${since}`
}

export interface LiveSocketOptions {
  /** Server path, e.g. `/api/ws/executions/job_1`. */
  path: string
  onMessage: (msg: LiveMessage) => void
  /** Called on every state change; `reconnected` is true when `live` follows a drop. */
  onState?: (state: LiveState, info: { reconnected: boolean; code?: number }) => void
  /**
   * Track positions and resume with `?since=` (job streams). Off for streams
   * that replay nothing and mix several jobs' messages, such as `/api/ws/monitor`.
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
  private readonly tracker: PosTracker | undefined
  private ws: WebSocketLike | undefined
  private timer: ReturnType<typeof setTimeout> | undefined
  private delay: number
  private wasLive = false
  private current: LiveState = 'closed'
  private stopped = false

  constructor(opts: LiveSocketOptions) {
    this.opts = opts
    this.tracker = opts.resume === false ? undefined : new PosTracker(opts.since)
    this.delay = opts.minDelayMs ?? 250
  }

  get state(): LiveState {
    return this.current
  }

  /** The seq of the last message handed on (undefined before any, or without resume). */
  get lastSeq(): number | undefined {
    return this.tracker?.last?.seq
  }

  /** The position the next connection resumes after. */
  get lastPos(): Pos | undefined {
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
      // Messages without a position (metrics snapshots, heartbeats) are not
      // part of the resumable stream: always handed on.
      if (this.tracker && !this.tracker.accept(posOf(m))) return
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
