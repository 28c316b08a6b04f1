import { describe, expect, it } from 'vitest'
import type { Job } from '../api/api'
import { bannerText, clampSeq, EventPages, EventScan, LIVE, shownJob, type JobEvent } from './timeline'

const ev = (seq: number, type = 'routine_started', routine_id = 'a'): JobEvent => ({ seq, type, routine_id })
const evs = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => ev(from + i, i % 2 ? 'log' : 'routine_started'))
const job = (over: Partial<Job> = {}): Job => ({ job_id: 'j', flow_id: 'f', status: 'running', ...over })

describe('EventPages', () => {
  it('pages rows by seq and asks again for a short tail page', () => {
    const p = new EventPages(100)
    expect(p.want(0, 30, 250)).toEqual([0])
    p.take(0, evs(1, 100))
    expect(p.row(0)?.seq).toBe(1)
    expect(p.row(99)?.seq).toBe(100)
    expect(p.want(180, 260, 250)).toEqual([1, 2])
    p.take(2, evs(201, 250))
    expect(p.want(240, 260, 250)).toEqual([])
    // The job went on: the tail page is short now.
    expect(p.want(240, 260, 260)).toEqual([2])
    expect(p.sinceOf(2)).toBe(200)
  })
})

describe('EventScan', () => {
  it('collects matching events as it reads the log, following it', () => {
    const s = new EventScan({ type: 'log', routine: '' })
    expect(s.next(10)).toBe(0)
    expect(s.next(10)).toBeUndefined() // busy
    s.take({ events: evs(1, 10), next_since: 10, has_more: false })
    expect(s.found.map((e) => e.seq)).toEqual([2, 4, 6, 8, 10])
    expect(s.next(10)).toBeUndefined()
    expect(s.next(12)).toBe(10)
    s.take({ events: evs(9, 12), next_since: 12, has_more: false })
    expect(s.found.map((e) => e.seq)).toEqual([2, 4, 6, 8, 10, 12])
  })
})

describe('time travel', () => {
  it('shows the live job when live, the historic state when travelling', () => {
    const live = job({ routine_states: { a: { status: 'completed' } } })
    const old = { ...job({ routine_states: { a: { status: 'running' } } }), at: 3 }
    expect(shownJob(live, LIVE)).toBe(live)
    const t = { at: 3, state: old, loading: false, error: undefined }
    expect(shownJob(live, t)?.routine_states?.a.status).toBe('running')
    expect(bannerText(t, 40)).toBe('Viewing seq 3 of 40')
    // A newer position loading keeps the last answer on screen.
    expect(bannerText({ ...t, at: 5, loading: true }, 40)).toBe('Viewing seq 3 of 40 (loading…)')
    expect(shownJob(live, { at: 5, state: undefined, loading: true, error: undefined })).toBe(live)
    expect(bannerText(LIVE, 40)).toBe('')
  })

  it('clamps positions to 1..last', () => {
    expect(clampSeq(0, 10)).toBe(1)
    expect(clampSeq(11, 10)).toBe(10)
    expect(clampSeq(4.6, 10)).toBe(5)
    expect(clampSeq(Number.NaN, 10)).toBe(1)
  })
})
