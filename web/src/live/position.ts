// Positions of stream messages (docs/streams.md, "Positions"): the TypeScript
// twin of backend/events/position.go, the one definition the UI uses.
//
// One event of a job's log may become several messages (seed 000's
// node_update then status for a routine's end; seed 004's routine_started then
// execution_event), so a message's `seq` does not name it alone. Its `pos`
// does: "57.2" is the second message derived from event 57. `?since=` takes a
// pos and replays what comes after that message, so a client that keeps the
// pos of the last message it handled resumes exactly, wherever it was cut. A
// plain seq as since ("57") means after every message of event 57.

/** The position of one message: its event's seq and its part (1 = the event's first message). */
export interface Pos {
  readonly seq: number
  readonly part: number
}

/** The part of a position after every message of its event (a plain seq as since). */
export const ALL_PARTS = 2147483647

/** After every message of event `seq`. */
export function after(seq: number): Pos {
  return { seq, part: ALL_PARTS }
}

const POS_RE = /^(\d{1,15})(?:\.(\d{1,10}))?$/

/** Reads "57", "57.2" or "57.0"; undefined for anything else. */
export function parsePos(text: unknown): Pos | undefined {
  if (typeof text !== 'string') return undefined
  const m = POS_RE.exec(text)
  if (!m) return undefined
  const seq = Number(m[1])
  if (m[2] === undefined) return after(seq)
  const part = Number(m[2])
  return part < ALL_PARTS ? { seq, part } : undefined
}

/** The wire form: "57.2", or "57" after the whole event. */
export function formatPos(p: Pos): string {
  return p.part === ALL_PARTS ? String(p.seq) : `${p.seq}.${p.part}`
}

/** Negative if a comes before b, 0 if equal, positive after. */
export function comparePos(a: Pos, b: Pos): number {
  return a.seq !== b.seq ? a.seq - b.seq : a.part - b.part
}

/** The position a message carries, if any (heartbeats, metrics and status messages of the connection have none). */
export function posOf(msg: { pos?: unknown }): Pos | undefined {
  const p = parsePos(msg.pos)
  return p && p.part >= 1 && p.part < ALL_PARTS ? p : undefined
}

/**
 * Which messages of a stream are new, and where to resume: the position of
 * the last message delivered. Messages without a position are always new.
 */
export class PosTracker {
  private pos: Pos | undefined

  /** `since`: the seq whose messages the caller already has, all of them. */
  constructor(since?: number) {
    if (since !== undefined) this.advance(since)
  }

  /** The position everything up to has been delivered. */
  get last(): Pos | undefined {
    return this.pos
  }

  /**
   * Marks every message up to event `seq` as delivered, e.g. because a REST
   * snapshot reflects it. Never moves backwards.
   */
  advance(seq: number): void {
    if (!Number.isFinite(seq) || seq < 0) return
    const p = after(seq)
    if (this.pos === undefined || comparePos(p, this.pos) > 0) this.pos = p
  }

  /** The `since` of the next connection (undefined: from the start). */
  since(): string | undefined {
    return this.pos === undefined ? undefined : formatPos(this.pos)
  }

  /** Whether a message at `pos` is new; records it if so. */
  accept(pos: Pos | undefined): boolean {
    if (pos === undefined) return true
    if (this.pos !== undefined && comparePos(pos, this.pos) <= 0) return false
    this.pos = pos
    return true
  }
}
