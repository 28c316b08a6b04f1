import { useCallback, useEffect, useRef, useState } from 'react'
import { api, type Breakpoint, type BreakpointScope } from '../api/api'
import { applyToggle, newBreakpointAt, replaceBreakpoint, toggleAction, type BreakpointTarget } from './debugger'

export interface Breakpoints {
  list: Breakpoint[]
  loaded: boolean
  error: unknown
  /** Sets or removes the breakpoint on a routine, slot or event. */
  toggle: (target: BreakpointTarget) => Promise<void>
  replace: (bp: Breakpoint) => void
  removed: (bpId: string) => void
  reload: () => void
  clearError: () => void
}

/**
 * The breakpoints of a job or a flow. Read again whenever `refreshKey`
 * changes (the job page passes its status and pause id, so hit counts follow).
 */
export function useBreakpoints(scope: BreakpointScope, ownerId: string, refreshKey: string, active = true): Breakpoints {
  const [list, setList] = useState<Breakpoint[]>([])
  const [loaded, setLoaded] = useState(false)
  const [error, setError] = useState<unknown>()
  const gen = useRef(0)
  const listRef = useRef(list)
  listRef.current = list

  const reload = useCallback(async () => {
    const g = ++gen.current
    try {
      const r = await api.listBreakpoints(scope, ownerId)
      if (g !== gen.current) return
      setList(r.breakpoints ?? [])
      setLoaded(true)
    } catch (err) {
      if (g === gen.current) setError(err)
    }
  }, [scope, ownerId])

  useEffect(() => {
    if (active) void reload()
  }, [reload, refreshKey, active])

  const toggle = useCallback(
    async (target: BreakpointTarget) => {
      const action = toggleAction(listRef.current, target)
      setError(undefined)
      gen.current++ // a list read started before the change is outdated
      try {
        if (action.op === 'create') {
          const bp = await api.createBreakpoint(scope, ownerId, newBreakpointAt(action.target))
          setList((l) => applyToggle(l, action, bp))
        } else {
          await api.deleteBreakpoint(scope, ownerId, action.breakpointId)
          setList((l) => applyToggle(l, action))
        }
      } catch (err) {
        setError(err)
        void reload()
      }
    },
    [scope, ownerId, reload],
  )

  return {
    list,
    loaded,
    error,
    toggle,
    replace: useCallback((bp: Breakpoint) => setList((l) => replaceBreakpoint(l, bp)), []),
    removed: useCallback((id: string) => setList((l) => l.filter((b) => b.breakpoint_id !== id)), []),
    reload: useCallback(() => void reload(), [reload]),
    clearError: useCallback(() => setError(undefined), []),
  }
}
