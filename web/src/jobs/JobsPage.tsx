import { useEffect, useRef, useState, type FormEvent } from 'react'
import { api, ApiError, JOB_STATUSES } from '../api/api'
import { ErrorAlert } from '../components/ErrorAlert'
import { JobsTable } from './JobsTable'
import { LiveIndicator } from '../components/LiveIndicator'
import type { LiveMessage } from '../live/live'
import { navigate, useLocation } from '../router'
import { paths } from '../routes'
import { useLiveStream } from '../live/useLive'
import { usePolling } from '../live/usePolling'

/** The list is re-read this long after a job lifecycle message (one read per burst). */
const REFETCH_DEBOUNCE_MS = 300
/** Safety net: the monitor stream replays nothing, so a missed message is caught up here. */
const SAFETY_POLL_MS = 10_000
/**
 * While a listed job runs, its progress moves without lifecycle messages (the all-jobs
 * monitor carries only those), so the list is read this often.
 */
const RUNNING_POLL_MS = 2_000

/** How long until the list is read again, given the last answer. */
export function jobsPollInterval(data: { jobs: { status: string }[] } | undefined): number {
  return data?.jobs.some((j) => j.status === 'running' || j.status === 'pending') ? RUNNING_POLL_MS : SAFETY_POLL_MS
}

/** Whether a monitor message is a job lifecycle message (`job_started`, `job_completed`, …). */
export function isJobLifecycle(msg: LiveMessage): boolean {
  return typeof msg.type === 'string' && msg.type.startsWith('job_')
}

const PAGE_SIZES = [20, 50, 100]

function intParam(value: string | null, fallback: number, min: number, max: number): number {
  if (value === null || value === '') return fallback
  const n = Number.parseInt(value, 10)
  if (!Number.isFinite(n)) return fallback
  return Math.max(min, Math.min(max, n))
}

/**
 * A `datetime-local` value ("2026-12-01T09:30", the browser's time zone) as
 * RFC 3339 UTC; undefined when empty or not a time.
 */
export function localTimeToIso(value: string): string | undefined {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/.test(value)) return undefined
  const t = new Date(value) // a date-time without a zone is local time
  return Number.isNaN(t.getTime()) ? undefined : t.toISOString()
}

/** Filters and page of the jobs list, read from the URL query. */
export function readJobsQuery(search: URLSearchParams) {
  const time = (name: string) => {
    const v = search.get(name) ?? ''
    return localTimeToIso(v) ? v : ''
  }
  return {
    flow_id: search.get('flow_id') ?? '',
    status: search.get('status') ?? '',
    from: time('from'),
    to: time('to'),
    limit: intParam(search.get('limit'), 20, 1, 1000),
    offset: intParam(search.get('offset'), 0, 0, Number.MAX_SAFE_INTEGER),
  }
}

export function JobsPage() {
  const { search } = useLocation()
  const q = readJobsQuery(search)
  const key = `jobs:${q.flow_id}:${q.status}:${q.from}:${q.to}:${q.limit}:${q.offset}`
  const jobs = usePolling(
    () =>
      api.listJobs({
        flow_id: q.flow_id || undefined,
        status: q.status || undefined,
        created_after: localTimeToIso(q.from),
        created_before: localTimeToIso(q.to),
        limit: q.limit,
        offset: q.offset,
      }),
    jobsPollInterval,
    key,
  )

  // Any job's start, pause, resume or end: read the list again, at most once
  // per 300 ms however many jobs change (a steady stream never postpones it).
  const refreshRef = useRef(jobs.refresh)
  refreshRef.current = jobs.refresh
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined)
  const refetchSoon = () => {
    if (timer.current !== undefined) return
    timer.current = setTimeout(() => {
      timer.current = undefined
      refreshRef.current()
    }, REFETCH_DEBOUNCE_MS)
  }
  useEffect(() => () => clearTimeout(timer.current), [])
  const live = useLiveStream(
    '/api/ws/monitor',
    (msg) => {
      if (isJobLifecycle(msg) && (!q.flow_id || msg.flow_id === undefined || msg.flow_id === q.flow_id)) refetchSoon()
    },
    // Messages are not replayed: whatever happened while connecting or away is read from REST.
    { onLive: refetchSoon, onReconnect: refetchSoon },
  )
  const flows = usePolling(() => api.listFlows({ limit: 1000 }), null, 'jobs-flow-options')

  const update = (change: Partial<typeof q>) => {
    const next = { ...q, ...change }
    navigate(
      paths.jobs({
        flow_id: next.flow_id || undefined,
        status: next.status || undefined,
        from: next.from || undefined,
        to: next.to || undefined,
        limit: next.limit === 20 ? undefined : next.limit,
        offset: next.offset === 0 ? undefined : next.offset,
      }),
      { replace: true },
    )
  }

  const total = jobs.data?.total ?? 0
  const shown = jobs.data?.jobs.length ?? 0
  const flowIds = (flows.data?.flows ?? []).map((f) => f.flow_id)
  if (q.flow_id && !flowIds.includes(q.flow_id)) flowIds.push(q.flow_id)

  return (
    <section>
      <header className="page-header">
        <h1>Jobs</h1>
        <LiveIndicator state={live} />
      </header>
      <div className="filters">
        <label>
          Flow{' '}
          <select
            data-testid="filter-flow"
            value={q.flow_id}
            onChange={(e) => update({ flow_id: e.target.value, offset: 0 })}
          >
            <option value="">all flows</option>
            {flowIds.map((id) => (
              <option key={id} value={id}>
                {id}
              </option>
            ))}
          </select>
        </label>
        <label>
          Status{' '}
          <select
            data-testid="filter-status"
            value={q.status}
            onChange={(e) => update({ status: e.target.value, offset: 0 })}
          >
            <option value="">any status</option>
            {JOB_STATUSES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </label>
        <label>
          From{' '}
          <input
            type="datetime-local"
            data-testid="filter-from"
            value={q.from}
            max={q.to || undefined}
            onChange={(e) => update({ from: e.target.value, offset: 0 })}
          />
        </label>
        <label>
          To{' '}
          <input
            type="datetime-local"
            data-testid="filter-to"
            value={q.to}
            min={q.from || undefined}
            onChange={(e) => update({ to: e.target.value, offset: 0 })}
          />
        </label>
        {(q.from || q.to) && (
          <button type="button" className="link-btn" data-testid="filter-time-clear" onClick={() => update({ from: '', to: '', offset: 0 })}>
            any time
          </button>
        )}
        <label>
          Per page{' '}
          <select
            data-testid="page-size"
            value={q.limit}
            onChange={(e) => update({ limit: Number(e.target.value), offset: 0 })}
          >
            {[...new Set([...PAGE_SIZES, q.limit])].sort((a, b) => a - b).map((n) => (
              <option key={n} value={n}>
                {n}
              </option>
            ))}
          </select>
        </label>
      </div>
      <JobSearch />
      <ErrorAlert error={jobs.error} testId="load-error" />
      {jobs.data ? <JobsTable jobs={jobs.data.jobs} /> : !jobs.error && <p className="dim">Loading…</p>}
      <nav className="pager" aria-label="Pagination">
        <button
          type="button"
          className="btn"
          data-testid="page-prev"
          disabled={q.offset === 0}
          onClick={() => update({ offset: Math.max(0, q.offset - q.limit) })}
        >
          ← Newer
        </button>
        <span className="dim" data-testid="page-info">
          {shown === 0 ? `0 of ${total}` : `${q.offset + 1}–${q.offset + shown} of ${total}`}
        </span>
        <button
          type="button"
          className="btn"
          data-testid="page-next"
          disabled={q.offset + q.limit >= total}
          onClick={() => update({ offset: q.offset + q.limit })}
        >
          Older →
        </button>
      </nav>
    </section>
  )
}

/** Search by job id: an exact id opens the job. */
function JobSearch() {
  const [text, setText] = useState('')
  const [message, setMessage] = useState<string | undefined>()
  const [error, setError] = useState<unknown>()
  const submit = async (e: FormEvent) => {
    e.preventDefault()
    const id = text.trim()
    setMessage(undefined)
    setError(undefined)
    if (!id) return
    try {
      const job = await api.getJob(id)
      navigate(paths.job(job.job_id))
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) setMessage(`No job with id "${id}".`)
      else setError(err)
    }
  }
  return (
    <form className="job-search" role="search" onSubmit={(e) => void submit(e)}>
      <label htmlFor="job-search">Job id</label>
      <input
        id="job-search"
        data-testid="job-search"
        type="search"
        value={text}
        placeholder="job_…"
        spellCheck={false}
        autoComplete="off"
        aria-describedby={message ? 'job-search-msg' : undefined}
        onChange={(e) => setText(e.target.value)}
      />
      <button type="submit" className="btn" data-testid="job-search-go">
        Open
      </button>
      {message && (
        <span id="job-search-msg" className="field-error" data-testid="job-search-msg" role="status">
          {message}
        </span>
      )}
      <ErrorAlert error={error} />
    </form>
  )
}
