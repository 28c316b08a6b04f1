// The job page's history: the events timeline (paged in from
// `GET /api/jobs/{id}/events?since&limit`, virtualised by seq) and time travel
// (`GET /api/jobs/{id}/state?at=`). Pure; the EventsPanel and useTimeTravel use it.

import type { Job } from '../api/api'

export const EVENT_TYPES = [
  'job_started',
  'job_paused',
  'job_resumed',
  'job_completed',
  'job_failed',
  'job_cancelled',
  'routine_started',
  'routine_completed',
  'routine_failed',
  'event_emit',
  'log',
  'breakpoint_hit',
  'breakpoint_resumed',
  'variable_changed',
  'shared_set',
] as const

export interface JobEvent {
  seq: number
  type: string
  time?: string
  routine_id?: string
  activation_id?: number
  slot?: string
  event?: string
  status?: string
  error?: string
  level?: string
  message?: string
  data?: unknown
  [key: string]: unknown
}

export interface EventList {
  events: JobEvent[]
  next_since: number
  has_more: boolean
}

export interface EventFilter {
  type: string
  routine: string
}

export function eventMatches(f: EventFilter, e: JobEvent): boolean {
  return (!f.type || e.type === f.type) && (!f.routine || e.routine_id === f.routine)
}

/**
 * Events by seq, a page at a time. Seqs are gap-free from 1, so row i is
 * seq i+1 and page p is `since=p*size&limit=size`.
 */
export class EventPages {
  private pages = new Map<number, JobEvent[]>()
  private inflight = new Set<number>()
  private readonly size: number
  private readonly maxPages: number
  version = 0

  constructor(size = 1000, maxPages = 40) {
    this.size = size
    this.maxPages = maxPages
  }

  get pageSize(): number {
    return this.size
  }

  /** The event at row `index` (seq index+1), if loaded. */
  row(index: number): JobEvent | undefined {
    const p = this.pages.get(Math.floor(index / this.size))
    return p?.[index % this.size]
  }

  /** Pages to fetch for rows from..to of `total`; marks them in flight. A page short of its size (the live tail) is fetched again once more exists. */
  want(from: number, to: number, total: number): number[] {
    if (total <= 0) return []
    const a = Math.floor(Math.max(0, from) / this.size)
    const b = Math.floor(Math.min(total - 1, Math.max(0, to)) / this.size)
    const out: number[] = []
    for (let p = a; p <= b; p++) {
      if (this.inflight.has(p)) continue
      const have = this.pages.get(p)
      const need = Math.min(this.size, total - p * this.size)
      if (have && have.length >= need) continue
      out.push(p)
      this.inflight.add(p)
    }
    return out
  }

  sinceOf(page: number): number {
    return page * this.size
  }

  failed(page: number): void {
    this.inflight.delete(page)
  }

  take(page: number, events: JobEvent[], near = page): void {
    this.inflight.delete(page)
    const base = page * this.size
    // Keep them by position: row = seq-1.
    const rows: JobEvent[] = []
    for (const e of events) {
      const i = e.seq - 1 - base
      if (i >= 0 && i < this.size) rows[i] = e
    }
    // Dense up to the first hole (a page is only ever answered from its start).
    let n = 0
    while (n < rows.length && rows[n] !== undefined) n++
    const prev = this.pages.get(page)
    if (!prev || n >= prev.length) this.pages.set(page, rows.slice(0, n))
    if (this.pages.size > this.maxPages) {
      const far = [...this.pages.keys()].sort((x, y) => Math.abs(y - near) - Math.abs(x - near))
      for (const p of far) {
        if (this.pages.size <= this.maxPages) break
        this.pages.delete(p)
      }
    }
    this.version++
  }
}

/**
 * The matching events of a filter, found by reading the log from the start
 * in large pages (there is no server-side filter for events). `scanned` is
 * the last seq read; it follows the job as it grows.
 */
export class EventScan {
  readonly filter: EventFilter
  readonly found: JobEvent[] = []
  scanned = 0
  private busy = false
  private readonly max: number
  version = 0

  constructor(filter: EventFilter, max = 50_000) {
    this.filter = filter
    this.max = max
  }

  /** Whether `found` is capped. */
  get full(): boolean {
    return this.found.length >= this.max
  }

  /** The `since` of the next read, or undefined when up to date, busy or full. */
  next(total: number): number | undefined {
    if (this.busy || this.full || this.scanned >= total) return undefined
    this.busy = true
    return this.scanned
  }

  take(list: EventList): void {
    this.busy = false
    for (const e of list.events) {
      if (e.seq <= this.scanned) continue
      this.scanned = e.seq
      if (eventMatches(this.filter, e) && this.found.length < this.max) this.found.push(e)
    }
    this.version++
  }

  failed(): void {
    this.busy = false
  }
}

/** One line of what an event says, for the timeline. */
export function eventSummary(e: JobEvent): string {
  const parts: string[] = []
  if (e.slot) parts.push(`slot ${e.slot}`)
  if (e.event) parts.push(`emit ${e.event}`)
  if (e.status) parts.push(e.status)
  if (e.level) parts.push(e.level)
  if (e.message) parts.push(e.message)
  if (e.error) parts.push(`error: ${e.error}`)
  return parts.join(' · ')
}

/** Clamps a scrubber position to 1..last. */
export function clampSeq(seq: number, last: number): number {
  if (!Number.isFinite(seq) || last < 1) return 1
  return Math.min(last, Math.max(1, Math.round(seq)))
}

export interface Travel {
  /** The seq being viewed; undefined: live. */
  at: number | undefined
  /** The historic state fetched for `shownAt`. */
  state: (Job & { at?: number }) | undefined
  loading: boolean
  error: unknown
}

export const LIVE: Travel = { at: undefined, state: undefined, loading: false, error: undefined }

/**
 * What the graph and the node panel show: the historic state while
 * travelling (the latest answer, even while a newer position loads, so the
 * graph does not blink), else the live job.
 */
export function shownJob(live: Job | undefined, t: Travel): Job | undefined {
  if (t.at === undefined) return live
  return t.state ?? live
}

export function bannerText(t: Travel, last: number): string {
  if (t.at === undefined) return ''
  const shown = t.state?.at ?? t.at
  return `Viewing seq ${shown} of ${last}${t.loading ? ' (loading…)' : ''}`
}
