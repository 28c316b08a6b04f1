import { useEffect, useState } from 'react'
import { api, type RoutineKind } from '../api/api'

// The routine catalogue (GET /api/routines) changes only with the server, so
// one read serves every page of the session; a failed read is tried again
// by the next page that asks.
let pending: Promise<RoutineKind[]> | undefined

function loadKinds(): Promise<RoutineKind[]> {
  pending ??= api.listRoutines().then(
    (r) => r.routines ?? [],
    (err: unknown) => {
      pending = undefined
      throw err
    },
  )
  return pending
}

/** The routine kinds the server knows; empty until (and unless) they are read. */
export function useRoutineKinds(): RoutineKind[] {
  const [kinds, setKinds] = useState<RoutineKind[]>([])
  useEffect(() => {
    let live = true
    loadKinds().then(
      (k) => live && setKinds(k),
      () => live && setKinds([]),
    )
    return () => {
      live = false
    }
  }, [])
  return kinds
}
