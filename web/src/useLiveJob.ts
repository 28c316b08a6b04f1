import { useCallback, useEffect, useReducer, useRef, useState } from 'react'
import { api, ApiError, type Job } from './api'
import { JobLive, type LogsView } from './jobLive'
import { LiveSocket, type LiveState } from './live'
import { isFinished } from './status'

export const LOG_LIMIT = 500
/** REST refresh while the socket is down. */
const FALLBACK_MS = 5000
/** Coalesces re-renders of message bursts. */
const RENDER_MS = 50
/** Debounce of the log refetch after lifecycle changes. */
const LOGS_DEBOUNCE_MS = 300
/** Debounce of the job refetch when the stream says it paused (REST carries `paused_at`). */
const JOB_DEBOUNCE_MS = 80
/** While stopped in the debugger, the job is re-read this often (a safety net; stops normally arrive as lifecycle messages). */
const PAUSED_POLL_MS = 3000

export interface LiveJob {
  job: Job | undefined
  jobError: unknown
  logs: LogsView | undefined
  logsError: unknown
  live: LiveState
  /** Takes a job the server answered (e.g. to an action) if it is not older than what is shown. */
  takeSnapshot: (job: Job) => void
  /** Fetches the job again. */
  refresh: () => void
}

/**
 * A job and its logs, kept current by `/api/ws/executions/{id}`: the state
 * comes from REST, the socket resumes after the seq that state reflects
 * (the job's `events`), and its messages are applied on top. After a drop the
 * socket resumes where it stopped and REST is read again; while it is down the
 * job is re-read every few seconds.
 */
export function useLiveJob(id: string, level: string): LiveJob {
  const modelRef = useRef<{ id: string; model: JobLive } | undefined>(undefined)
  if (modelRef.current?.id !== id) modelRef.current = { id, model: new JobLive() }
  const model = modelRef.current.model
  const [, bump] = useReducer((n: number) => n + 1, 0)
  const [jobError, setJobError] = useState<unknown>()
  const [logsError, setLogsError] = useState<unknown>()
  const [live, setLive] = useState<LiveState>('connecting')
  const levelRef = useRef(level)
  levelRef.current = level
  // Set by the main effect: what the other callbacks use while it runs.
  const ctl = useRef<{ loadJob: () => Promise<Job | undefined>; loadLogs: () => void } | undefined>(undefined)
  const requestedLevel = useRef<string | undefined>(undefined)
  const socketRef = useRef<LiveSocket | undefined>(undefined)

  useEffect(() => {
    const m = model
    setJobError(undefined)
    setLogsError(undefined)
    setLive('connecting')
    let stopped = false
    let socket: LiveSocket | undefined
    let renderTimer: ReturnType<typeof setTimeout> | undefined
    let logsTimer: ReturnType<typeof setTimeout> | undefined
    let jobTimer: ReturnType<typeof setTimeout> | undefined
    let pausedTimer: ReturnType<typeof setInterval> | undefined
    let fallbackTimer: ReturnType<typeof setTimeout> | undefined
    let logsGen = 0
    let lastError: unknown

    const render = () => {
      if (renderTimer !== undefined || stopped) return
      renderTimer = setTimeout(() => {
        renderTimer = undefined
        if (!stopped) bump()
      }, RENDER_MS)
    }

    const loadJob = async (): Promise<Job | undefined> => {
      try {
        const j = await api.getJob(id)
        if (stopped) return undefined
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

    const loadLogs = async () => {
      const lv = levelRef.current
      requestedLevel.current = lv
      const gen = ++logsGen
      try {
        const list = await api.getJobLogs(id, { level: lv || undefined, limit: LOG_LIMIT })
        if (stopped || gen !== logsGen) return
        m.setRestLogs(lv, list)
        setLogsError(undefined)
        bump()
      } catch (err) {
        if (!stopped && gen === logsGen) setLogsError(err)
      }
    }

    const scheduleLogs = () => {
      if (logsTimer !== undefined) clearTimeout(logsTimer)
      logsTimer = setTimeout(() => {
        logsTimer = undefined
        if (!stopped) void loadLogs()
      }, LOGS_DEBOUNCE_MS)
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
          await loadLogs()
        }
        if (down()) fallback()
      }, FALLBACK_MS)
    }

    const openSocket = (since: number | undefined) => {
      socket = new LiveSocket({
        path: `/api/ws/executions/${encodeURIComponent(id)}`,
        since,
        onMessage: (msg) => {
          const r = m.apply(msg)
          if (r.changed || msg.type === 'log') render()
          // The server also writes log lines for lifecycle changes and failures.
          if (r.lifecycle || r.routineFailed) scheduleLogs()
          // Only a stop needs REST: the stream says the job paused, not where or why.
          if (r.lifecycle && m.job?.status === 'paused') scheduleJob()
        },
        onState: (state, info) => {
          if (stopped) return
          setLive(state)
          if (state === 'live') {
            if (fallbackTimer !== undefined) clearTimeout(fallbackTimer)
            fallbackTimer = undefined
            if (info.reconnected) {
              void loadJob()
              void loadLogs()
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
      void loadLogs()
      openSocket(typeof j.events === 'number' ? j.events : undefined)
    }

    ctl.current = { loadJob, loadLogs: () => void loadLogs() }
    void start()
    pausedTimer = setInterval(() => {
      // A stop presented without the job running in between (concurrent flows)
      // has no lifecycle message: re-read the job while it is stopped in the debugger.
      const j = m.job
      if (!stopped && j?.status === 'paused' && j.pause_reason === 'breakpoint' && jobTimer === undefined) void loadJob()
    }, PAUSED_POLL_MS)

    return () => {
      stopped = true
      for (const t of [renderTimer, logsTimer, fallbackTimer, jobTimer]) if (t !== undefined) clearTimeout(t)
      if (pausedTimer !== undefined) clearInterval(pausedTimer)
      socket?.close()
      socketRef.current = undefined
      ctl.current = undefined
    }
  }, [id])

  // A new level filter: fetch its page (the first one is fetched after the job).
  useEffect(() => {
    if (!model.job || requestedLevel.current === level) return
    model.clearRestLogs()
    bump()
    ctl.current?.loadLogs()
  }, [level, model])

  const takeSnapshot = useCallback(
    (job: Job) => {
      if (model.snapshot(job) && typeof job.events === 'number') socketRef.current?.advance(job.events)
      bump()
    },
    [model],
  )
  const refresh = useCallback(() => void ctl.current?.loadJob(), [])

  return {
    job: model.job,
    jobError,
    logs: model.logs(level, LOG_LIMIT),
    logsError,
    live,
    takeSnapshot,
    refresh,
  }
}

