import type { ReactNode } from 'react'

/** An expandable, never-truncated view of a JSON value. */
export function JsonTree({ value, label, depth = 0, openDepth = 2 }: { value: unknown; label?: ReactNode; depth?: number; openDepth?: number }) {
  const key = label !== undefined ? <span className="jt-key">{label}: </span> : null
  if (value !== null && typeof value === 'object') {
    const isArray = Array.isArray(value)
    const entries: [string, unknown][] = isArray
      ? (value as unknown[]).map((v, i) => [String(i), v])
      : Object.entries(value as Record<string, unknown>)
    const summary = isArray ? `[${entries.length}]` : `{${entries.length}}`
    if (entries.length === 0) {
      return (
        <div className="jt-leaf">
          {key}
          <span className="jt-punct">{isArray ? '[]' : '{}'}</span>
        </div>
      )
    }
    return (
      <details className="jt-node" open={depth < openDepth}>
        <summary>
          {key}
          <span className="jt-punct">{summary}</span>
        </summary>
        <div className="jt-children">
          {entries.map(([k, v]) => (
            <JsonTree key={k} value={v} label={k} depth={depth + 1} openDepth={openDepth} />
          ))}
        </div>
      </details>
    )
  }
  let cls = 'jt-null'
  let text: string
  if (typeof value === 'string') {
    cls = 'jt-string'
    text = JSON.stringify(value)
  } else if (typeof value === 'number') {
    cls = 'jt-number'
    text = String(value)
  } else if (typeof value === 'boolean') {
    cls = 'jt-bool'
    text = String(value)
  } else {
    text = value === undefined ? 'undefined' : 'null'
  }
  return (
    <div className="jt-leaf">
      {key}
      <span className={cls}>{text}</span>
    </div>
  )
}
