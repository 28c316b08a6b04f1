import { describe, expect, it } from 'vitest'
import type { LogEntry, LogList } from '../api/api'
import { LogWindow, matches, pagesFor } from './logWindow'

const line = (seq: number, message = `line ${seq}`, level = 'info', routine_id = 'log'): LogEntry => ({
  seq,
  level,
  routine_id,
  message,
})
/** A server log of n lines with seqs 1..n, answered a page at a time. */
function page(all: LogEntry[], offset: number, limit: number): LogList {
  return { logs: all.slice(offset, offset + limit), total: all.length, limit, offset }
}
const lines = (n: number, from = 1) => Array.from({ length: n }, (_, i) => line(from + i))

describe('pagesFor', () => {
  it('covers a range, clamped to the log', () => {
    expect(pagesFor(0, 10, 0)).toEqual([])
    expect(pagesFor(-50, 10, 100, 10)).toEqual([0, 1])
    expect(pagesFor(95, 250, 100, 10)).toEqual([9])
    expect(pagesFor(1990, 3010, 100_000)).toEqual([1, 2, 3])
  })
})

describe('matches', () => {
  it('applies the filter as the server does', () => {
    expect(matches({ level: 'warning', routine: '', q: '' }, line(1, 'x', 'info'))).toBe(false)
    expect(matches({ level: 'info', routine: '', q: '' }, line(1, 'x', 'error'))).toBe(true)
    expect(matches({ level: '', routine: 'a', q: '' }, line(1, 'x', 'info', 'b'))).toBe(false)
    expect(matches({ level: '', routine: '', q: 'LINE 1' }, line(12))).toBe(true)
  })
})

describe('LogWindow', () => {
  it('pages in what is visible, not everything, and learns the tail', () => {
    const all = lines(100_000)
    const w = new LogWindow(undefined, { pageSize: 1000 })
    expect(w.total).toBeUndefined()
    expect(w.want(0, 50)).toEqual([0])
    expect(w.want(0, 50)).toEqual([]) // in flight
    w.take(0, page(all, 0, 1000))
    expect(w.total).toBe(100_000)
    expect(w.row(0)?.message).toBe('line 1')
    expect(w.tailKnown).toBe(false)
    // Follow the tail: only its page is asked for.
    const tp = w.tailPage()
    expect(tp).toBe(99)
    w.take(99, page(all, 99_000, 1000))
    expect(w.tailKnown).toBe(true)
    expect(w.row(99_999)?.message).toBe('line 100000')
    // Scrolled to the middle: two pages around it.
    expect(w.want(49_950, 50_100)).toEqual([49, 50])
    expect(w.row(50_000)).toBeUndefined()
  })

  it('appends live lines after the tail exactly once, counting them', () => {
    const all = lines(10)
    const w = new LogWindow(undefined, { pageSize: 4 })
    w.want(0, 3)
    // Lines 11 and 12 arrive before the tail is known: they wait.
    expect(w.live(line(11))).toBe(false)
    w.take(0, page(all, 0, 4))
    expect(w.total).toBe(10)
    w.live(line(12))
    const tp = w.tailPage()!
    // The server answers the tail page with line 11 already stored.
    const stored = [...all, line(11)]
    w.take(tp, page(stored, tp * 4, 4))
    expect(w.total).toBe(12)
    expect([w.row(10)?.seq, w.row(11)?.seq]).toEqual([11, 12])
    // A replayed or older line is not counted twice.
    expect(w.live(line(12))).toBe(false)
    expect(w.live(line(13))).toBe(true)
    expect(w.total).toBe(13)
    expect(w.row(12)?.message).toBe('line 13')
  })

  it('counts only live lines that pass the filter', () => {
    const w = new LogWindow({ level: 'warning', routine: '', q: '' })
    w.want(0, 10)
    w.take(0, { logs: [], total: 0, limit: 1000, offset: 0 })
    expect(w.total).toBe(0)
    w.live(line(5, 'meh', 'info'))
    w.live(line(6, 'bad', 'error'))
    expect(w.total).toBe(1)
    expect(w.row(0)?.message).toBe('bad')
  })

  it('takes the server total again on a resync', () => {
    const w = new LogWindow(undefined, { pageSize: 4 })
    w.want(0, 3)
    w.take(0, page(lines(3), 0, 4))
    expect(w.total).toBe(3)
    const p = w.refetchTail()!
    expect(p).toBe(0)
    w.take(p, page(lines(6), 0, 4))
    expect(w.total).toBe(6)
  })

  it('evicts pages far from the view beyond its budget', () => {
    const all = lines(10_000)
    const w = new LogWindow(undefined, { pageSize: 100, maxPages: 5 })
    w.want(0, 0)
    for (let p = 0; p < 20; p++) w.take(p, page(all, p * 100, 100), 19)
    expect(w.pageCount).toBeLessThanOrEqual(5)
    expect(w.row(1_999)?.seq).toBe(2_000)
    expect(w.row(0)).toBeUndefined()
    // An evicted page is asked for again.
    expect(w.want(0, 10)).toEqual([0])
  })
})
