// Create or edit a flow: YAML on the left (CodeMirror, loaded with this page only),
// a live preview of the graph on the right, the server's validation issues inline
// and listed under the editor. Saving stores a new version (PUT) or creates (POST).
import { useEffect, useMemo, useRef, useState } from 'react'
import { api, ApiError, type Validation, type ValidationIssue } from '../api/api'
import { ErrorAlert } from '../components/ErrorAlert'
import { FlowGraph } from '../graph/FlowGraph'
import { useRoutineKinds } from '../graph/catalogue'
import YamlEditor, { type LineDiagnostic } from './YamlEditor'
import { drawableConnections, issueLine, sketchFlow } from './flowYaml'
import { Link, navigate } from '../router'
import { paths } from '../routes'

const VALIDATE_DEBOUNCE_MS = 400

export const NEW_FLOW_TEMPLATE = `flow_id: my-flow
name: My flow
routines:
  start: {kind: input}
  done:  {kind: output}
connections:
  - {from: start.output, to: done.input}
`

interface Checked {
  text: string
  errors: ValidationIssue[]
  warnings: ValidationIssue[]
}

/** A 400 (e.g. a YAML syntax error) or 422 answer as validation issues. */
function issuesOf(err: unknown): Validation {
  if (err instanceof ApiError) {
    const d = err.details as Partial<Validation> | undefined
    if (d && Array.isArray(d.errors)) return { valid: false, errors: d.errors, warnings: d.warnings ?? [] }
    if (err.status === 400 || err.status === 422) return { valid: false, errors: [{ code: err.code, message: err.message }], warnings: [] }
  }
  throw err
}

export default function FlowEditPage({ id }: { id?: string }) {
  const isNew = id === undefined
  const [text, setText] = useState<string | undefined>(isNew ? NEW_FLOW_TEMPLATE : undefined)
  const [version, setVersion] = useState<number | undefined>()
  const [loadError, setLoadError] = useState<unknown>()
  const kinds = useRoutineKinds()
  const [checked, setChecked] = useState<Checked | undefined>()
  const [checkError, setCheckError] = useState<unknown>()
  const [saveError, setSaveError] = useState<unknown>()
  const [saving, setSaving] = useState(false)
  const [goto, setGoto] = useState<{ line: number; n: number }>()

  useEffect(() => {
    if (isNew) return
    let live = true
    Promise.all([api.getFlowDsl(id, 'yaml'), api.getFlow(id)]).then(
      ([dsl, flow]) => {
        if (!live) return
        setText(dsl)
        setVersion(flow.version)
      },
      (err) => live && setLoadError(err),
    )
    return () => {
      live = false
    }
  }, [id, isNew])

  const sketch = useMemo(() => sketchFlow(text ?? ''), [text])
  const flowId = isNew ? sketch.flowId : id

  // Validate through the server (debounced): it is the judge of kinds, configs and wiring.
  const latest = useRef(text)
  latest.current = text
  useEffect(() => {
    if (text === undefined) return
    const t = setTimeout(() => {
      api
        .validateFlow(flowId || '_new', text)
        .catch(issuesOf)
        .then(
          (v) => {
            if (latest.current !== text) return
            setCheckError(undefined)
            setChecked({ text, errors: v.errors ?? [], warnings: v.warnings ?? [] })
          },
          (err) => latest.current === text && setCheckError(err),
        )
    }, VALIDATE_DEBOUNCE_MS)
    return () => clearTimeout(t)
  }, [text, flowId])

  const issues = useMemo(() => {
    if (!checked) return []
    const s = sketchFlow(checked.text)
    return [
      ...checked.errors.map((i) => ({ ...i, severity: 'error' as const, line: issueLine(i, s) })),
      ...checked.warnings.map((i) => ({ ...i, severity: 'warning' as const, line: issueLine(i, s) })),
    ].sort((a, b) => a.line - b.line || (a.severity === b.severity ? 0 : a.severity === 'error' ? -1 : 1))
  }, [checked])
  const diagnostics: LineDiagnostic[] = useMemo(
    () => issues.map((i) => ({ line: i.line, severity: i.severity, message: `${i.code}: ${i.message}` })),
    [issues],
  )
  const errorCount = issues.filter((i) => i.severity === 'error').length
  const pending = checked?.text !== text

  // The preview keeps its identity while the routines and connections do not change.
  const graphKey = JSON.stringify([sketch.routines, drawableConnections(sketch)])
  const graph = useMemo(() => JSON.parse(graphKey) as [typeof sketch.routines, ReturnType<typeof drawableConnections>], [graphKey])

  const save = async () => {
    if (text === undefined || saving) return
    setSaving(true)
    setSaveError(undefined)
    try {
      const flow = isNew ? await api.createFlow(text) : await api.updateFlow(id, text)
      navigate(paths.flow(flow.flow_id))
    } catch (err) {
      setSaving(false)
      setSaveError(err)
      try {
        const v = issuesOf(err)
        if (v.errors.length > 0) setChecked({ text, errors: v.errors, warnings: v.warnings })
      } catch {
        // not a validation answer: shown in the alert
      }
    }
  }

  return (
    <section>
      <header className="page-header">
        <h1>
          {isNew ? (
            'New flow'
          ) : (
            <>
              <span className="dim">Edit flow</span> <span className="mono">{id}</span>
            </>
          )}
        </h1>
        {version !== undefined && <span className="dim">version {version} → saving makes version {version + 1}</span>}
        <span className="header-btn actions" style={{ marginTop: 0 }}>
          <Link to={isNew ? paths.flows() : paths.flow(id)} className="btn">
            Cancel
          </Link>
          <button type="button" className="btn btn-primary" data-testid="flow-save" onClick={() => void save()} disabled={saving || text === undefined}>
            {saving ? 'Saving…' : isNew ? 'Create flow' : 'Save new version'}
          </button>
        </span>
      </header>
      <ErrorAlert error={loadError} testId="load-error" />
      <ErrorAlert error={saveError} testId="save-error" />

      <div className="grid-2 editor-grid">
        <div className="panel">
          <h2>
            Definition (YAML) <span className="dim small">Ctrl-Space completes kinds and config keys; Ctrl-S saves</span>
          </h2>
          {text === undefined ? (
            <p className="dim">{loadError ? 'Unavailable.' : 'Loading…'}</p>
          ) : (
            <YamlEditor value={text} onChange={setText} diagnostics={diagnostics} kinds={kinds} goto={goto} onSave={() => void save()} />
          )}
          <h3 className="problems-head">
            Problems{' '}
            <span className="dim small" data-testid="flow-validity" data-valid={checked && !pending ? String(errorCount === 0) : undefined} aria-live="polite">
              {checked === undefined || pending ? 'checking…' : errorCount === 0 ? (issues.length ? 'valid, with warnings' : 'valid') : `${errorCount} error${errorCount === 1 ? '' : 's'}`}
            </span>
          </h3>
          {checkError !== undefined && <ErrorAlert error={checkError} testId="validate-error" />}
          <ul className="problems" data-testid="flow-errors">
            {issues.map((i, n) => (
              <li key={n} className={`problem problem-${i.severity}`} data-severity={i.severity} data-line={i.line}>
                <button type="button" className="link-btn" onClick={() => setGoto({ line: i.line, n: Date.now() })} aria-label={`Go to line ${i.line}`}>
                  line {i.line}
                </button>{' '}
                <span className={`badge ${i.severity === 'error' ? 'badge-bad' : 'badge-warn'}`}>{i.severity}</span>{' '}
                <code>{i.code}</code> {i.message}
              </li>
            ))}
          </ul>
        </div>
        <div className="panel">
          <h2>
            Preview <span className="dim small">{Object.keys(graph[0]).length} routines, {graph[1].length} connections</span>
          </h2>
          {Object.keys(graph[0]).length > 0 ? (
            <FlowGraph routines={graph[0]} connections={graph[1]} fit />
          ) : (
            <p className="dim">No routines yet.</p>
          )}
          <p className="dim small">
            Drawn from the text as you type; connections to routines that do not exist are left out (the problems list names them).
          </p>
        </div>
      </div>
    </section>
  )
}
