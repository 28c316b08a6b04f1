import { useCallback, useEffect, useReducer, useRef, useState } from 'react'
import { api, ApiError, type Job, type LogEntry } from '../api/api'
import { FrameBatch, frameScheduler } from './frameBatch'
import { JobLive, logEntryOf } from './jobLive'
import { LiveSocket, type LiveMessage, type LiveState } from './live'
import { isFinished } from '../jobs/status'

/**
 * Stream messages are folded once per animation frame, and at most this
 * often: a job of 10,000 events a second re-renders the page 20 times a second.
 */
const BATCH_MIN_MS = 50
/** REST refresh while the socket is down. */
const FALLBACK_MS = 5000
/** Debounce of the job refetch when the stream says it paused (REST carries `paused_at`). */
const JOB_DEBOUNCE_MS = 80
/** While stopped in the debugger, the job is re-read this often (a safety net; stops normally arrive as lifecycle messages). */
const PAUSED_POLL_MS = 3000

/** What the log panel hears from the job's stream. */
export interface LogListener {
  /** Live lines of one frame, in seq order. */
  lines: (lines: LogEntry[]) => void
  /** The stream may have missed lines (a reconnect) or the job ended: read the tail again. */
  resync: () => void
}

export interface LogFeed {
  subscribe: (l: LogListener) => () => void
}

export interface LiveJob {
  job: Job | undefined
  jobError: unknown
  /** The job's live log lines, for the log panel (which pages the rest in over REST). */
  logFeed: LogFeed
  live: LiveState
  /** Takes a job the server answered (e.g. to an action) if it is not older than what is shown. */
  takeSnapshot: (job: Job) => void
  /** Fetches the job again. */
  refresh: () => void
  /** Shows "pausing…" at once, before the server answers. */
  markPauseRequested: () => void
}

/**
 * A job, kept current by `/api/ws/executions/{id}`: the state
 * comes from REST, the socket resumes after the seq that state reflects
 * (the job's `events`), and its messages are applied on top. After a drop the
 * socket resumes where it stopped and REST is read again; while it is down the
 * job is re-read every few seconds. The socket starts after the snapshot's
 * seq: the present is drawn from REST, history is never replayed. Messages
 * are folded into the state once per animation frame (FrameBatch).
 */
export function useLiveJob(id: string): LiveJob {
  const modelRef = useRef<{ id: string; model: JobLive } | undefined>(undefined)
  if (modelRef.current?.id !== id) modelRef.current = { id, model: new JobLive() }
  const model = modelRef.current.model
  const [, bump] = useReducer((n: number) => n + 1, 0)
  const [jobError, setJobError] = useState<unknown>()
  const [live, setLive] = useState<LiveState>('connecting')
  // Set by the main effect: what the other callbacks use while it runs.
  const ctl = useRef<{ loadJob: () => Promise<Job | undefined>; flush: () => void } | undefined>(undefined)
  const socketRef = useRef<LiveSocket | undefined>(undefined)
  const listeners = useRef(new Set<LogListener>())
  const [logFeed] = useState<LogFeed>(() => ({
    subscribe: (l) => {
      listeners.current.add(l)
      return () => listeners.current.delete(l)
    },
  }))

  useEffect(() => {
    const m = model
    setJobError(undefined)
    setLive('connecting')
    let stopped = false
    let socket: LiveSocket | undefined
    let jobTimer: ReturnType<typeof setTimeout> | undefined
    let pausedTimer: ReturnType<typeof setInterval> | undefined
    let fallbackTimer: ReturnType<typeof setTimeout> | undefined
    let lastError: unknown

    const resyncLogs = () => {
      for (const l of listeners.current) l.resync()
    }

    // One fold and one render per frame, however many messages came.
    const batch = new FrameBatch<LiveMessage>((msgs) => {
      if (stopped) return
      const wasFinished = isFinished(m.job?.status)
      const r = m.applyAll(msgs)
      const lines: LogEntry[] = []
      for (const msg of msgs) {
        const l = msg.type === 'log' ? logEntryOf(msg) : undefined
        if (l) lines.push(l)
      }
      if (lines.length > 0) for (const l of listeners.current) l.lines(lines)
      if (r.changed) bump()
      // Only a stop needs REST: the stream says the job paused, not where or why.
      if (r.lifecycle && m.job?.status === 'paused') scheduleJob()
      if (!wasFinished && isFinished(m.job?.status)) resyncLogs()
    }, frameScheduler, BATCH_MIN_MS)

    const loadJob = async (): Promise<Job | undefined> => {
      try {
        const j = await api.getJob(id)
        if (stopped) return undefined
        batch.flush()
        lastError = undefined
        if (m.snapshot(j) && typeof j.events === 'number') socket?.advance(j.events)
        setJobError(undefined)
        bump()
        return j
      } catch (err) {
        lastError = err
        if (!stopped) setJobError(err)
        return undefined
      }
    }

    // A lifecycle change (paused, resumed, finished): REST has what the stream
    // does not carry, e.g. where the debugger stopped.
    const scheduleJob = () => {
      if (jobTimer !== undefined) clearTimeout(jobTimer)
      jobTimer = setTimeout(() => {
        jobTimer = undefined
        if (!stopped) void loadJob()
      }, JOB_DEBOUNCE_MS)
    }

    const down = () => !stopped && socket?.state !== 'live'

    // While the socket is down: re-read REST slowly (the socket resumes on its own).
    const fallback = () => {
      if (fallbackTimer !== undefined || stopped) return
      fallbackTimer = setTimeout(async () => {
        fallbackTimer = undefined
        if (!down()) return
        if (!isFinished(m.job?.status)) {
          await loadJob()
          resyncLogs()
        }
        if (down()) fallback()
      }, FALLBACK_MS)
    }

    const openSocket = (since: number | undefined) => {
      socket = new LiveSocket({
        path: `/api/ws/executions/${encodeURIComponent(id)}`,
        since,
        onMessage: (msg) => batch.push(msg),
        onState: (state, info) => {
          if (stopped) return
          setLive(state)
          if (state === 'live') {
            if (fallbackTimer !== undefined) clearTimeout(fallbackTimer)
            fallbackTimer = undefined
            if (info.reconnected) {
              void loadJob()
              resyncLogs()
            }
          } else if (state === 'reconnecting') {
            fallback()
          }
        },
      })
      socketRef.current = socket
      socket.start()
    }

    const start = async () => {
      const j = await loadJob()
      if (stopped) return
      if (!j) {
        // An unknown job stays unknown; anything else is retried.
        const missing = lastError instanceof ApiError && lastError.status === 404
        setLive(missing ? 'closed' : 'reconnecting')
        if (!missing) {
          fallbackTimer = setTimeout(() => {
            fallbackTimer = undefined
            void start()
          }, FALLBACK_MS)
        }
        return
      }
      openSocket(typeof j.events === 'number' ? j.events : undefined)
    }

    ctl.current = { loadJob, flush: () => batch.flush() }
    void start()
    pausedTimer = setInterval(() => {
      // A stop presented without the job running in between (concurrent flows)
      // has no lifecycle message: re-read the job while it is stopped in the debugger.
      const j = m.job
      if (!stopped && j?.status === 'paused' && j.pause_reason === 'breakpoint' && jobTimer === undefined) void loadJob()
    }, PAUSED_POLL_MS)

    return () => {
      stopped = true
      for (const t of [fallbackTimer, jobTimer]) if (t !== undefined) clearTimeout(t)
      batch.dispose()
      if (pausedTimer !== undefined) clearInterval(pausedTimer)
      socket?.close()
      socketRef.current = undefined
      ctl.current = undefined
    }
  }, [id])

  const takeSnapshot = useCallback(
    (job: Job) => {
      ctl.current?.flush()
      if (model.snapshot(job) && typeof job.events === 'number') socketRef.current?.advance(job.events)
      bump()
    },
    [model],
  )
  const refresh = useCallback(() => void ctl.current?.loadJob(), [])
  const markPauseRequested = useCallback(() => {
    model.pauseRequested()
    bump()
  }, [model])

  return {
    job: model.job,
    jobError,
    logFeed,
    live,
    takeSnapshot,
    refresh,
    markPauseRequested,
  }
}

