import { memo, useCallback, useEffect, useMemo, useReducer, useRef, useState } from 'react'
import { FilterSelect } from '../components/FilterSelect'
import { api, type LogEntry } from '../api/api'
import { LogWindow, type LogFilter } from './logWindow'
import type { LogFeed } from '../live/useLiveJob'
import { ErrorAlert } from '../components/ErrorAlert'
import { VirtualList } from '../components/VirtualList'

const LEVELS = ['debug', 'info', 'warning', 'error'] as const
/** Rows fetched beyond the visible ones, each way. */
const MARGIN = 300
/** Text filter debounce. */
const Q_DEBOUNCE_MS = 300
/** Scroll settles before pages are fetched (dragging the scrollbar through 100,000 lines fetches only where it stops). */
const FETCH_DEBOUNCE_MS = 60
/** …and while it keeps moving, at most this often. */
const THROTTLE_MS = 250

/** Time of day with milliseconds (log lines come many per second). */
export function clockTime(iso: string | undefined): string {
  if (!iso) return ''
  const d = new Date(iso)
  if (Number.isNaN(d.getTime())) return iso
  const p = (n: number, w = 2) => String(n).padStart(w, '0')
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`
}

function LogRow({ l, n }: { l: LogEntry | undefined; n: number }) {
  if (!l)
    return (
      <div className="log-line log-placeholder dim">
        <span className="log-seq mono">{n.toLocaleString('en-US')}</span> loading…
      </div>
    )
  return (
    <div className={`log-line log-${l.level}`} data-testid="log-row" data-seq={l.seq}>
      <span className="log-seq mono">{n.toLocaleString('en-US')}</span>
      <span className="log-seq mono dim" title="the job event's seq (time travel to it in the graph's history)">
        {l.seq}
      </span>
      <span className="log-time mono dim">{clockTime(l.time ?? l.timestamp)}</span>
      <span className={`log-level level level-${l.level}`}>{l.level}</span>
      <span className="log-routine mono" title={l.routine_id}>
        {l.routine_id}
      </span>
      <span className="log-msg mono" title={l.message}>
        {l.message}
      </span>
    </div>
  )
}

/**
 * The job's whole log, virtualised: pages of 1,000 lines are fetched around
 * what is in view, live lines are appended from the job's stream, the count
 * is the server's total. Follows the tail until the user scrolls up.
 */
export const LogPanel = memo(function LogPanel({ jobId, feed, routines }: { jobId: string; feed: LogFeed; routines: string[] }) {
  const [level, setLevel] = useState('')
  const [routine, setRoutine] = useState('')
  const [qInput, setQInput] = useState('')
  const [q, setQ] = useState('')
  const [error, setError] = useState<unknown>()
  const [, bump] = useReducer((n: number) => n + 1, 0)
  const [jump, setJump] = useState<{ to: 'start' | 'end'; n: number }>({ to: 'end', n: 0 })
  const [following, setFollowing] = useState(true)

  useEffect(() => {
    const t = setTimeout(() => setQ(qInput.trim()), Q_DEBOUNCE_MS)
    return () => clearTimeout(t)
  }, [qInput])

  const filter: LogFilter = useMemo(() => ({ level, routine, q }), [level, routine, q])
  const win = useMemo(() => new LogWindow(filter), [jobId, filter])
  const winRef = useRef(win)
  winRef.current = win
  const range = useRef<[number, number]>([0, 0])
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined)
  const lastLoad = useRef(0)

  const fetchPage = useCallback(
    async (w: LogWindow, page: number) => {
      try {
        const list = await api.getJobLogs(jobId, {
          level: w.filter.level || undefined,
          routine_id: w.filter.routine || undefined,
          q: w.filter.q || undefined,
          limit: 1000,
          offset: w.offsetOf(page),
        })
        if (winRef.current !== w) return
        const [a, b] = range.current
        w.take(page, list, Math.floor((a + b) / 2 / 1000))
        setError(undefined)
        bump()
        // The first answer tells the total; the tail's page tells where live lines start.
        const tp = w.tailPage()
        if (tp !== undefined) void fetchPage(w, tp)
        load(w)
      } catch (err) {
        w.failed(page)
        if (winRef.current === w) setError(err)
      }
    },
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [jobId],
  )

  const load = useCallback(
    (w: LogWindow) => {
      const [a, b] = range.current
      for (const p of w.want(a - MARGIN, b + MARGIN)) void fetchPage(w, p)
    },
    [fetchPage],
  )

  // A new filter: a new window, from the first answer.
  useEffect(() => {
    setFollowing(true)
    load(win)
    bump()
  }, [win, load])

  // Live lines and resyncs from the job's stream.
  useEffect(
    () =>
      feed.subscribe({
        lines: (lines) => {
          const w = winRef.current
          let changed = false
          for (const l of lines) changed = w.live(l) || changed
          if (changed) bump()
        },
        resync: () => {
          const w = winRef.current
          const p = w.refetchTail()
          if (p !== undefined) void fetchPage(w, p)
        },
      }),
    [feed, fetchPage],
  )

  const onRange = useCallback(
    (first: number, last: number) => {
      range.current = [first, last]
      if (timer.current !== undefined) clearTimeout(timer.current)
      const now = performance.now()
      // While the list moves: fetch where it is now and then (at most every THROTTLE_MS), and where it stops.
      if (now - lastLoad.current > THROTTLE_MS) {
        lastLoad.current = now
        load(winRef.current)
      }
      timer.current = setTimeout(() => {
        timer.current = undefined
        lastLoad.current = performance.now()
        load(winRef.current)
      }, FETCH_DEBOUNCE_MS)
    },
    [load],
  )
  useEffect(() => () => timer.current !== undefined ? clearTimeout(timer.current) : undefined, [])

  const total = win.total
  const row = useCallback((i: number) => <LogRow l={win.row(i)} n={i + 1} />, [win, win.version])

  return (
    <div className="panel log-panel">
      <div className="log-head">
        <h2>Logs</h2>
        <span className="log-count" data-testid="log-count" data-total={total ?? ''}>
          {total === undefined ? 'loading…' : `${total.toLocaleString('en-US')} ${total === 1 ? 'line' : 'lines'}`}
        </span>
        <FilterSelect
          label="level"
          testId="log-filter-level"
          value={level}
          options={LEVELS}
          onChange={setLevel}
          optionLabel={(l) => `≥ ${l}`}
        />
        <FilterSelect label="routine" testId="log-filter-routine" value={routine} options={routines} onChange={setRoutine} />
        <label className="inline-label">
          text{' '}
          <input
            type="search"
            data-testid="log-filter-q"
            placeholder="contains…"
            value={qInput}
            onChange={(e) => setQInput(e.target.value)}
          />
        </label>
        <span className="log-jumps">
          <button type="button" className="btn btn-small" data-testid="log-jump-start" onClick={() => setJump((j) => ({ to: 'start', n: j.n + 1 }))}>
            ⤒ Jump to start
          </button>
          <button
            type="button"
            className={`btn btn-small ${following ? '' : 'btn-primary'}`}
            data-testid="log-jump-end"
            title={following ? 'Following the newest lines' : 'Follow the newest lines again'}
            onClick={() => setJump((j) => ({ to: 'end', n: j.n + 1 }))}
          >
            ⤓ Jump to end{following ? ' (following)' : ''}
          </button>
        </span>
      </div>
      <ErrorAlert error={error} testId="logs-error" />
      {total === 0 ? (
        <p className="empty">{filter.level || filter.routine || filter.q ? 'No log line matches.' : 'No log lines.'}</p>
      ) : (
        <div className="log-table">
          <div className="log-line log-header" aria-hidden="true">
            <span className="log-seq">line</span>
            <span className="log-seq">seq</span>
            <span className="log-time">time</span>
            <span className="log-level">level</span>
            <span className="log-routine">routine</span>
            <span className="log-msg">message</span>
          </div>
          <VirtualList
            key={`${jobId}:${level}:${routine}:${q}`}
            count={total ?? 0}
            row={row}
            onRange={onRange}
            followTail
            testId="log-list"
            label="Log lines"
            jump={jump}
            onFollowChange={setFollowing}
          />
        </div>
      )}
    </div>
  )
})
