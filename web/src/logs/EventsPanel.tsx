import { memo, useCallback, useEffect, useMemo, useReducer, useRef, useState } from 'react'
import { FilterSelect } from '../components/FilterSelect'
import { api } from '../api/api'
import { EVENT_TYPES, EventPages, EventScan, eventSummary, type EventFilter, type JobEvent } from './timeline'
import { clockTime } from './LogPanel'
import { ErrorAlert } from '../components/ErrorAlert'
import { VirtualList } from '../components/VirtualList'

const MARGIN = 200
const FETCH_DEBOUNCE_MS = 60
/** …and while it keeps moving, at most this often. */
const THROTTLE_MS = 250
/** A filter reads the log in pages this large (the server's maximum). */
const SCAN_LIMIT = 10_000
/** While the job runs, its newest events are fetched this often. */
const TAIL_MS = 500

function EventRow({ e, seq, current, onPick }: { e: JobEvent | undefined; seq: number; current: boolean; onPick: (seq: number) => void }) {
  return (
    <button
      type="button"
      className={`event-line ${current ? 'event-current' : ''} ${e ? `event-${e.type}` : 'dim'}`}
      data-testid="event-row"
      data-seq={seq}
      title={`Show the job as it was after seq ${seq}`}
      onClick={() => onPick(seq)}
    >
      <span className="log-seq mono dim">{seq}</span>
      <span className="log-time mono dim">{e ? clockTime(e.time) : ''}</span>
      <span className="event-type mono">{e ? e.type : 'loading…'}</span>
      <span className="log-routine mono">{e?.routine_id ?? ''}</span>
      <span className="log-msg mono">{e ? eventSummary(e) : ''}</span>
    </button>
  )
}

/**
 * The job's events, virtualised by seq (row i is seq i+1), paged in around
 * what is in view. A type or routine filter reads the log from the start (the
 * server has no event filter) and lists what matches. Clicking an event time
 * travels to it.
 */
export const EventsPanel = memo(function EventsPanel({
  jobId,
  last,
  routines,
  travelAt,
  onTravel,
}: {
  jobId: string
  /** The job's last seq (live). */
  last: number
  routines: string[]
  travelAt: number | undefined
  onTravel: (seq: number) => void
}) {
  const [type, setType] = useState('')
  const [routine, setRoutine] = useState('')
  const [error, setError] = useState<unknown>()
  const [, bump] = useReducer((n: number) => n + 1, 0)
  const filter: EventFilter = useMemo(() => ({ type, routine }), [type, routine])
  const filtered = !!(type || routine)
  const pages = useMemo(() => new EventPages(), [jobId])
  const scan = useMemo(() => (filtered ? new EventScan(filter) : undefined), [jobId, filter, filtered])
  const range = useRef<[number, number]>([0, 0])
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined)
  const lastLoad = useRef(0)
  const lastRef = useRef(last)
  lastRef.current = last

  const load = useCallback(() => {
    const [a, b] = range.current
    for (const p of pages.want(a - MARGIN, b + MARGIN, lastRef.current)) {
      api
        .getJobEvents(jobId, pages.sinceOf(p), pages.pageSize)
        .then((list) => {
          pages.take(p, list.events as JobEvent[], Math.floor((a + b) / 2 / pages.pageSize))
          setError(undefined)
          bump()
        })
        .catch((err) => {
          pages.failed(p)
          setError(err)
        })
    }
  }, [jobId, pages])

  // The filter's scan: reads on while the log is ahead of it.
  useEffect(() => {
    if (!scan) return
    const since = scan.next(last)
    if (since === undefined) return
    api
      .getJobEvents(jobId, since, SCAN_LIMIT)
      .then((list) => {
        scan.take(list as { events: JobEvent[]; next_since: number; has_more: boolean })
        bump()
      })
      .catch((err) => {
        scan.failed()
        setError(err)
      })
  })

  const onRange = useCallback(
    (first: number, lastRow: number) => {
      range.current = [first, lastRow]
      if (timer.current !== undefined) clearTimeout(timer.current)
      const now = performance.now()
      // While the list moves: fetch where it is now and then (at most every THROTTLE_MS), and where it stops.
      if (now - lastLoad.current > THROTTLE_MS) {
        lastLoad.current = now
        if (!filtered) load()
      }
      timer.current = setTimeout(() => {
        timer.current = undefined
        lastLoad.current = performance.now()
        if (!filtered) load()
      }, FETCH_DEBOUNCE_MS)
    },
    [load, filtered],
  )
  useEffect(() => () => timer.current !== undefined ? clearTimeout(timer.current) : undefined, [])
  // The job went on: fetch the new events too, at most twice a second.
  const tailTimer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined)
  useEffect(() => {
    if (filtered || tailTimer.current !== undefined) return
    tailTimer.current = setTimeout(() => {
      tailTimer.current = undefined
      load()
    }, TAIL_MS)
  }, [last, filtered, load])
  useEffect(() => () => tailTimer.current !== undefined ? clearTimeout(tailTimer.current) : undefined, [])

  const row = useCallback(
    (i: number) => {
      if (scan) {
        const e = scan.found[i]
        return <EventRow e={e} seq={e?.seq ?? 0} current={e?.seq === travelAt} onPick={onTravel} />
      }
      return <EventRow e={pages.row(i)} seq={i + 1} current={i + 1 === travelAt} onPick={onTravel} />
    },
    [scan, pages, travelAt, onTravel, pages.version, scan?.version],
  )

  const count = scan ? scan.found.length : last
  const [jump, setJump] = useState<{ to: number | 'end'; n: number }>({ to: 'end', n: 0 })
  // Travelling from the scrubber brings its event into view.
  useEffect(() => {
    if (travelAt === undefined || scan) return
    const [a, b] = range.current
    if (travelAt - 1 < a || travelAt - 1 > b) setJump((j) => ({ to: travelAt - 1, n: j.n + 1 }))
  }, [travelAt, scan])

  return (
    <div className="panel events-panel" data-testid="events-panel">
      <div className="log-head">
        <h2>Events</h2>
        <span className="log-count" data-testid="event-count">
          {scan
            ? `${scan.found.length.toLocaleString('en-US')}${scan.full ? '+' : ''} matching · read ${scan.scanned.toLocaleString('en-US')} of ${last.toLocaleString('en-US')}`
            : `${last.toLocaleString('en-US')} events`}
        </span>
        <FilterSelect label="type" testId="event-filter-type" value={type} options={EVENT_TYPES} onChange={setType} />
        <FilterSelect label="routine" testId="event-filter-routine" value={routine} options={routines} onChange={setRoutine} />
        <span className="dim small">click an event to see the job as it was then</span>
      </div>
      <ErrorAlert error={error} testId="events-error" />
      {count === 0 ? (
        <p className="empty">{filtered ? (scan && scan.scanned < last ? 'Searching…' : 'No event matches.') : 'No events yet.'}</p>
      ) : (
        <div className="log-table">
          <div className="log-line log-header" aria-hidden="true">
            <span className="log-seq">seq</span>
            <span className="log-time">time</span>
            <span className="event-type">type</span>
            <span className="log-routine">routine</span>
            <span className="log-msg">details</span>
          </div>
          <VirtualList
            key={`${jobId}:${type}:${routine}`}
            count={count}
            row={row}
            onRange={onRange}
            followTail
            testId="events-list"
            label="Job events"
            height={260}
            jump={jump}
          />
        </div>
      )}
    </div>
  )
})
