import { useEffect, useMemo, useRef, useState } from 'react'
import { api, type Flow } from '../api/api'
import { collapseDiff, diffLines } from './diff'
import { formatTime } from '../format'
import { ErrorAlert } from '../components/ErrorAlert'

/** At most this many versions are read (the newest). */
const MAX_VERSIONS = 50

/** The part of a version that the diff compares (not its timestamps). */
export function versionText(f: Flow): string {
  const { flow_id, name, description, routines, connections, execution } = f
  return JSON.stringify({ flow_id, name, description, routines, connections, execution }, null, 2)
}

/**
 * A flow's versions (GET ?version=N for each) and a line diff between two of
 * them. With `focus` (a job's page links here with the version it ran), that
 * version is marked and compared with the current one.
 */
export function FlowVersions({ id, current, focus }: { id: string; current: number; focus?: number }) {
  const [versions, setVersions] = useState<Map<number, Flow>>(new Map())
  const [error, setError] = useState<unknown>()
  const first = Math.max(1, current - MAX_VERSIONS + 1)
  const focused = focus !== undefined && focus >= first && focus <= current ? focus : undefined
  const initialFrom = focused !== undefined && focused < current ? focused : Math.max(first, current - 1)
  const [from, setFrom] = useState(initialFrom)
  const [to, setTo] = useState(current)
  const panel = useRef<HTMLDivElement>(null)

  useEffect(() => {
    if (focused !== undefined) panel.current?.scrollIntoView({ block: 'start' })
  }, [focused])

  useEffect(() => {
    let live = true
    setFrom(initialFrom)
    setTo(current)
    const nums = Array.from({ length: current - first + 1 }, (_, i) => first + i)
    Promise.all(nums.map((n) => api.getFlowVersion(id, n).catch(() => undefined))).then(
      (list) => {
        if (!live) return
        const m = new Map<number, Flow>()
        list.forEach((f, i) => f && m.set(nums[i], f))
        setVersions(m)
      },
      (err) => live && setError(err),
    )
    return () => {
      live = false
    }
  }, [id, current, first, initialFrom])

  const diff = useMemo(() => {
    const a = versions.get(from)
    const b = versions.get(to)
    if (!a || !b) return undefined
    return diffLines(versionText(a), versionText(b))
  }, [versions, from, to])
  const changed = diff?.filter((l) => l.op !== 'same').length ?? 0
  const [whole, setWhole] = useState(false)
  const rows = diff ? (whole ? diff : collapseDiff(diff, 3)) : undefined
  const nums = [...versions.keys()].sort((a, b) => b - a)

  return (
    <div className="panel" data-testid="flow-versions" ref={panel}>
      <h2>Versions</h2>
      <ErrorAlert error={error} />
      <table className="table versions-table">
        <thead>
          <tr>
            <th>Version</th>
            <th>Routines</th>
            <th>Saved</th>
          </tr>
        </thead>
        <tbody>
          {nums.map((n) => {
            const f = versions.get(n)!
            return (
              <tr key={n} data-testid={`flow-version-${n}`} className={n === focused ? 'is-focused' : undefined}>
                <td>
                  v{n}
                  {n === current && <span className="dim"> (current)</span>}
                  {n === focused && <span className="badge badge-idle"> the job's version</span>}
                </td>
                <td>{Object.keys(f.routines ?? {}).length}</td>
                <td>{formatTime(f.updated_at ?? f.created_at)}</td>
              </tr>
            )
          })}
        </tbody>
      </table>
      {current > 1 && (
        <>
          <div className="filters diff-pick">
            <label>
              Compare{' '}
              <select data-testid="diff-from" value={from} onChange={(e) => setFrom(Number(e.target.value))}>
                {nums.map((n) => (
                  <option key={n} value={n}>
                    v{n}
                  </option>
                ))}
              </select>
            </label>
            <label>
              with{' '}
              <select data-testid="diff-to" value={to} onChange={(e) => setTo(Number(e.target.value))}>
                {nums.map((n) => (
                  <option key={n} value={n}>
                    v{n}
                  </option>
                ))}
              </select>
            </label>
            <span className="dim">{diff ? `${changed} changed line${changed === 1 ? '' : 's'}` : 'Loading…'}</span>
            <label className="check" style={{ marginTop: 0 }}>
              <input type="checkbox" data-testid="diff-whole" checked={whole} onChange={(e) => setWhole(e.target.checked)} /> whole text
            </label>
          </div>
          {rows && (
            <pre className="code diff" data-testid="flow-diff" tabIndex={0} aria-label={`Changes from v${from} to v${to}`}>
              {rows.map((l, i) =>
                l.op === 'skip' ? (
                  <span key={i} className="diff-skip">
                    {`  ⋯ ${l.count} unchanged line${l.count === 1 ? '' : 's'}\n`}
                  </span>
                ) : (
                  <span key={i} className={`diff-${l.op}`}>
                    {l.op === 'add' ? '+ ' : l.op === 'del' ? '- ' : '  '}
                    {l.text}
                    {'\n'}
                  </span>
                ),
              )}
            </pre>
          )}
        </>
      )}
    </div>
  )
}
