import { describe, expect, it } from 'vitest'
import { jobsPollInterval, localTimeToIso, readJobsQuery } from './jobs/JobsPage'
import { sortRoutineStates } from './jobs/JobPage'
import { matchRoute, paths } from './routes'

describe('matchRoute', () => {
  it('maps the pages', () => {
    expect(matchRoute('/')).toEqual({ name: 'root' })
    expect(matchRoute('/flows')).toEqual({ name: 'flows' })
    expect(matchRoute('/flows/')).toEqual({ name: 'flows' })
    expect(matchRoute('/flows/orders')).toEqual({ name: 'flow', id: 'orders' })
    expect(matchRoute('/flows/new')).toEqual({ name: 'flowNew' })
    expect(matchRoute('/flows/orders/edit')).toEqual({ name: 'flowEdit', id: 'orders' })
    expect(matchRoute(paths.flowEdit('a b'))).toEqual({ name: 'flowEdit', id: 'a b' })
    expect(matchRoute('/jobs')).toEqual({ name: 'jobs' })
    expect(matchRoute('/jobs/j_1')).toEqual({ name: 'job', id: 'j_1' })
    expect(matchRoute('/jobs/a%20b')).toEqual({ name: 'job', id: 'a b' })
  })

  it('rejects anything else', () => {
    expect(matchRoute('/nope')).toEqual({ name: 'notFound' })
    expect(matchRoute('/jobs/a/b')).toEqual({ name: 'notFound' })
    expect(matchRoute('/flows/a/b')).toEqual({ name: 'notFound' })
    expect(matchRoute('/jobs/%E0%A4%A')).toEqual({ name: 'notFound' })
  })

  it('round-trips ids through paths', () => {
    const id = 'weird id/with?chars'
    expect(matchRoute(paths.flow(id))).toEqual({ name: 'flow', id })
    expect(matchRoute(paths.job(id))).toEqual({ name: 'job', id })
  })

  it('puts jobs filters in the query', () => {
    expect(paths.jobs()).toBe('/jobs')
    expect(paths.jobs({ flow_id: 'orders', status: '', offset: 20 })).toBe('/jobs?flow_id=orders&offset=20')
  })
})

describe('readJobsQuery', () => {
  it('reads filters and clamps paging', () => {
    expect(readJobsQuery(new URLSearchParams(''))).toEqual({ flow_id: '', status: '', from: '', to: '', limit: 20, offset: 0 })
    expect(readJobsQuery(new URLSearchParams('flow_id=a&status=paused&limit=5000&offset=-3'))).toEqual({
      flow_id: 'a',
      status: 'paused',
      from: '',
      to: '',
      limit: 1000,
      offset: 0,
    })
    // A time range in local time; a value that is not one is dropped.
    expect(readJobsQuery(new URLSearchParams('from=2026-12-01T09:30&to=yesterday'))).toMatchObject({ from: '2026-12-01T09:30', to: '' })
    expect(readJobsQuery(new URLSearchParams('limit=abc&offset=40'))).toMatchObject({ limit: 20, offset: 40 })
  })
})

describe('localTimeToIso', () => {
  it('reads a datetime-local value as local time', () => {
    const iso = localTimeToIso('2026-12-01T09:30')!
    expect(new Date(iso).getTime()).toBe(new Date(2026, 11, 1, 9, 30).getTime())
    expect(iso.endsWith('Z')).toBe(true)
    expect(localTimeToIso('2026-12-01T09:30:15')).toBe(new Date(2026, 11, 1, 9, 30, 15).toISOString())
    expect(localTimeToIso('')).toBeUndefined()
    expect(localTimeToIso('2026-12-01')).toBeUndefined()
    expect(localTimeToIso('2026-13-45T99:99')).toBeUndefined()
  })
})

describe('sortRoutineStates', () => {
  it('orders by start time, unstarted last by id', () => {
    const rows = sortRoutineStates({
      z: { status: 'pending' },
      done: { status: 'completed', started_at: '2026-01-01T00:00:02Z' },
      start: { status: 'completed', started_at: '2026-01-01T00:00:01Z' },
      a: { status: 'pending', started_at: '0001-01-01T00:00:00Z' },
    })
    expect(rows.map(([id]) => id)).toEqual(['start', 'done', 'a', 'z'])
  })
})

describe('jobsPollInterval', () => {
  it('reads the list often while a listed job runs, rarely otherwise', () => {
    expect(jobsPollInterval({ jobs: [{ status: 'completed' }, { status: 'running' }] })).toBe(2000)
    expect(jobsPollInterval({ jobs: [{ status: 'pending' }] })).toBe(2000)
    expect(jobsPollInterval({ jobs: [{ status: 'paused' }, { status: 'failed' }] })).toBe(10000)
    expect(jobsPollInterval(undefined)).toBe(10000)
  })
})
