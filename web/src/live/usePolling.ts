import { useCallback, useEffect, useRef, useState } from 'react'

export interface Polled<T> {
  data: T | undefined
  error: unknown
  loading: boolean
  /**
   * Fetches now (and restarts the interval); while a call is in flight, once
   * more right after it, so a stream of refreshes never starves the answers.
   */
  refresh: () => void
  /** Replaces the data, e.g. with the job an action answered, then fetches again. */
  setData: (value: T) => void
}

/** Milliseconds until the next load, or null to stop; may depend on the last answer. */
export type Interval<T> = number | null | ((data: T | undefined, error: unknown) => number | null)

/**
 * Calls `load` now and then again `interval` ms after the previous call settles
 * (never two at once). A null interval loads once and stops. Changing `key`
 * drops the old data and starts over; answers to superseded calls are ignored.
 */
export function usePolling<T>(load: () => Promise<T>, interval: Interval<T>, key: string): Polled<T> {
  const [data, setDataState] = useState<T | undefined>(undefined)
  const [error, setError] = useState<unknown>(undefined)
  const [loading, setLoading] = useState(true)
  const [tick, setTick] = useState(0)
  const loadRef = useRef(load)
  loadRef.current = load
  const intervalRef = useRef(interval)
  intervalRef.current = interval
  const generation = useRef(0)
  const inFlight = useRef(false)
  const again = useRef(false)
  const fixed = typeof interval === 'function' ? 'fn' : interval

  useEffect(() => {
    setDataState(undefined)
    setError(undefined)
    setLoading(true)
  }, [key])

  useEffect(() => {
    const gen = ++generation.current
    let timer: ReturnType<typeof setTimeout> | undefined
    let stopped = false
    const current = () => !stopped && gen === generation.current
    const run = async () => {
      let value: T | undefined
      let failure: unknown
      inFlight.current = true
      again.current = false
      try {
        value = await loadRef.current()
      } catch (err) {
        failure = err ?? new Error('request failed')
      }
      if (!current()) return
      inFlight.current = false
      if (failure === undefined) {
        setDataState(value)
        setError(undefined)
      } else {
        setError(failure)
      }
      setLoading(false)
      const iv = intervalRef.current
      const next = again.current ? 0 : typeof iv === 'function' ? iv(value, failure) : iv
      if (next !== null) timer = setTimeout(run, next)
    }
    run()
    return () => {
      stopped = true
      inFlight.current = false
      if (timer !== undefined) clearTimeout(timer)
    }
  }, [key, fixed, tick])

  const refresh = useCallback(() => {
    if (inFlight.current) again.current = true
    else setTick((t) => t + 1)
  }, [])
  const setData = useCallback((value: T) => {
    generation.current++
    setDataState(value)
    setError(undefined)
    setTick((t) => t + 1)
  }, [])

  return { data, error, loading, refresh, setData }
}
