import { useCallback, useEffect, useRef, useState } from 'react'
import { api } from '../api/api'
import { LIVE, type Travel } from './timeline'

/** The scrubber settles this long before the state is asked for. */
const TRAVEL_DEBOUNCE_MS = 120

/**
 * Time travel on the job page: `go(seq)` shows the job as it was right after
 * event `seq` (GET /api/jobs/{id}/state?at=, debounced while the scrubber
 * moves; older answers never replace newer ones); `exit()` goes back to live.
 */
export function useTimeTravel(jobId: string): { travel: Travel; go: (seq: number) => void; exit: () => void } {
  const [travel, setTravel] = useState<Travel>(LIVE)
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined)
  const ctrl = useRef<AbortController | undefined>(undefined)
  const gen = useRef(0)

  const cancel = () => {
    if (timer.current !== undefined) clearTimeout(timer.current)
    timer.current = undefined
    ctrl.current?.abort()
    ctrl.current = undefined
  }

  const go = useCallback(
    (seq: number) => {
      cancel()
      const g = ++gen.current
      setTravel((t) => ({ ...t, at: seq, loading: true }))
      timer.current = setTimeout(async () => {
        timer.current = undefined
        const c = new AbortController()
        ctrl.current = c
        try {
          const state = await api.getJobState(jobId, seq, c.signal)
          if (g !== gen.current) return
          setTravel({ at: seq, state, loading: false, error: undefined })
        } catch (err) {
          if (g !== gen.current || c.signal.aborted) return
          setTravel((t) => ({ ...t, loading: false, error: err }))
        }
      }, TRAVEL_DEBOUNCE_MS)
    },
    [jobId],
  )

  const exit = useCallback(() => {
    cancel()
    gen.current++
    setTravel(LIVE)
  }, [])

  useEffect(() => {
    exit()
    return cancel
  }, [jobId, exit])

  return { travel, go, exit }
}
