// The job page's log: a window onto the whole of a job's log (100,000 lines
// and more), paged in from `GET /api/jobs/{id}/logs?limit&offset` around what
// is visible, with the live lines of the executions stream appended at the
// tail. Pure: the LogPanel feeds it REST pages and stream lines, and asks
// which pages to fetch.
//
// Lines are addressed by their index in the filtered log (0 = the oldest that
// matches). The server answers pages in seq order, and the log only grows, so
// an index means the same line for the whole life of a filter.
//
// The count is the server's `total` plus the live lines that came after the
// tail the server reported. Which live lines those are is decided by seq once
// the tail is known (the page holding index total-1, or total 0); until then
// live lines wait in a small buffer of recent lines.

import type { LogEntry, LogList } from '../api/api'
import { levelRank } from '../live/jobLive'

export const LOG_PAGE = 1000

export interface LogFilter {
  level: string
  routine: string
  q: string
}

export const NO_FILTER: LogFilter = { level: '', routine: '', q: '' }

/** Whether a line passes a filter as the server applies it (min level, exact routine, case-insensitive substring). */
export function matches(f: LogFilter, l: LogEntry): boolean {
  if (f.level && levelRank(l.level) < levelRank(f.level)) return false
  if (f.routine && l.routine_id !== f.routine) return false
  if (f.q && !l.message.toLowerCase().includes(f.q.toLowerCase())) return false
  return true
}

/** Pages (of `pageSize`) covering indexes from..to inclusive, clamped to 0..total-1. */
export function pagesFor(from: number, to: number, total: number, pageSize = LOG_PAGE): number[] {
  if (total <= 0 || to < from) return []
  const a = Math.max(0, Math.floor(Math.max(0, from) / pageSize))
  const b = Math.floor(Math.min(total - 1, Math.max(0, to)) / pageSize)
  const out: number[] = []
  for (let p = a; p <= b; p++) out.push(p)
  return out
}

export class LogWindow {
  readonly filter: LogFilter
  private readonly pageSize: number
  private readonly maxPages: number
  /** Rows by page; a page may be partly filled by live lines before REST answers it. */
  private pages = new Map<number, (LogEntry | undefined)[]>()
  /** Pages REST answered (complete up to the total of that answer). */
  private loaded = new Set<number>()
  /** Pages asked for and not answered yet. */
  private inflight = new Set<number>()
  /** Lines counted: the server's total plus live lines appended after its tail. */
  private count: number | undefined
  /** Seq of the line at index count-1 (0: none); undefined while unknown. */
  private tailSeq: number | undefined
  /** Recent live lines (all of them, unfiltered) not yet known to be counted. */
  private recent: LogEntry[] = []
  private readonly maxRecent: number
  /** Bumped on every change, for React. */
  version = 0

  constructor(filter: LogFilter = NO_FILTER, opts: { pageSize?: number; maxPages?: number; maxRecent?: number } = {}) {
    this.filter = filter
    this.pageSize = opts.pageSize ?? LOG_PAGE
    this.maxPages = opts.maxPages ?? 40
    this.maxRecent = opts.maxRecent ?? 20000
  }

  /** The count to show; undefined before the first answer. */
  get total(): number | undefined {
    return this.count
  }

  /** Whether the tail is known (live lines are counted at once). */
  get tailKnown(): boolean {
    return this.tailSeq !== undefined
  }

  row(index: number): LogEntry | undefined {
    return this.pages.get(Math.floor(index / this.pageSize))?.[index % this.pageSize]
  }

  /**
   * Pages to fetch for indexes from..to (what is visible plus some), nearest
   * first; marks them in flight. Before the first answer, asks for page 0.
   */
  want(from: number, to: number): number[] {
    if (this.count === undefined) {
      if (this.inflight.size > 0) return []
      this.inflight.add(0)
      return [0]
    }
    const out = pagesFor(from, to, this.count, this.pageSize).filter((p) => !this.loaded.has(p) && !this.inflight.has(p))
    // A page past the server's last answer that live lines filled is complete only if they began at its start.
    for (const p of out) this.inflight.add(p)
    return out
  }

  /** Offset of a page, for the request. */
  offsetOf(page: number): number {
    return page * this.pageSize
  }

  /** A request failed: it may be asked again. */
  failed(page: number): void {
    this.inflight.delete(page)
  }

  /** Takes the REST answer for `page`. `keepNear` is the page in view (for eviction). */
  take(page: number, list: LogList, keepNear = page): void {
    this.inflight.delete(page)
    const serverTotal = list.total
    if (this.count === undefined || serverTotal > this.count) {
      // More than we counted: the server is ahead of the stream (or this is the first answer).
      this.count = serverTotal
      this.tailSeq = undefined
    }
    const rows = this.pages.get(page) ?? []
    list.logs.forEach((l, i) => {
      rows[i] = l
    })
    this.pages.set(page, rows)
    this.loaded.add(page)
    const base = page * this.pageSize
    if (serverTotal === 0) {
      if (this.tailSeq === undefined) this.setTail(0)
    } else if (this.tailSeq === undefined && base + list.logs.length === serverTotal && list.logs.length > 0) {
      // This page holds the server's last line: live lines after it are new.
      this.setTail(list.logs[list.logs.length - 1].seq)
    }
    this.evict(keepNear)
    this.version++
  }

  /**
   * The page holding the server's tail, to learn its seq (after a first
   * answer that did not reach it). Undefined when known or in flight.
   */
  tailPage(): number | undefined {
    if (this.count === undefined || this.tailSeq !== undefined || this.count === 0) return undefined
    const p = Math.floor((this.count - 1) / this.pageSize)
    if (this.loaded.has(p) || this.inflight.has(p)) return undefined
    this.inflight.add(p)
    return p
  }

  /**
   * Asks for the tail page again (after a reconnect or when the job ended),
   * so the count is the server's. Undefined before the first answer.
   */
  refetchTail(): number | undefined {
    if (this.count === undefined) return undefined
    const p = Math.max(0, Math.floor((this.count - 1) / this.pageSize))
    if (this.inflight.has(p)) return undefined
    this.loaded.delete(p)
    this.inflight.add(p)
    return p
  }

  /** A line from the stream. Answers whether the window changed. */
  live(l: LogEntry): boolean {
    if (this.tailSeq === undefined) {
      this.recent.push(l)
      if (this.recent.length > this.maxRecent) this.recent.splice(0, this.recent.length - this.maxRecent)
      return false
    }
    if (l.seq <= this.tailSeq || !matches(this.filter, l)) return false
    this.append(l)
    this.version++
    return true
  }

  private setTail(seq: number): void {
    this.tailSeq = seq
    const waiting = this.recent
    this.recent = []
    for (const l of waiting) if (l.seq > seq && matches(this.filter, l)) this.append(l)
  }

  private append(l: LogEntry): void {
    const i = this.count ?? 0
    const p = Math.floor(i / this.pageSize)
    let rows = this.pages.get(p)
    if (!rows) {
      rows = []
      this.pages.set(p, rows)
      // A page begun by live lines is whole from its start.
      if (i % this.pageSize === 0) this.loaded.add(p)
    }
    rows[i % this.pageSize] = l
    this.count = i + 1
    this.tailSeq = l.seq
  }

  /** Drops the pages farthest from `near` beyond the budget (they are fetched again if needed). */
  private evict(near: number): void {
    if (this.pages.size <= this.maxPages) return
    const last = this.count === undefined ? -1 : Math.floor((this.count - 1) / this.pageSize)
    const keys = [...this.pages.keys()].filter((p) => p !== last).sort((a, b) => Math.abs(b - near) - Math.abs(a - near))
    for (const p of keys) {
      if (this.pages.size <= this.maxPages) break
      this.pages.delete(p)
      this.loaded.delete(p)
    }
  }

  /** Number of pages held (tests). */
  get pageCount(): number {
    return this.pages.size
  }
}
