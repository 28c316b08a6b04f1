import { useCallback, useMemo, useState, type FormEvent } from 'react'
import { api } from '../api/api'
import { BreakpointList } from '../debugger/BreakpointList'
import { useBreakpointEditor } from '../debugger/BreakpointPopover'
import { ErrorAlert } from '../components/ErrorAlert'
import { FlowGraph } from '../graph/FlowGraph'
import { FlowVersions } from './FlowVersions'
import { JobsTable } from '../jobs/JobsTable'
import { parseParams } from '../jobs/params'
import { Link, navigate } from '../router'
import { paths } from '../routes'
import { breakpointsByTarget, type BreakpointTarget } from '../debugger/debugger'
import { useBreakpoints } from '../debugger/useBreakpoints'
import { usePolling } from '../live/usePolling'

export function FlowPage({ id }: { id: string }) {
  const flow = usePolling(() => api.getFlow(id), null, `flow:${id}`)
  const dsl = usePolling(() => api.getFlowDsl(id, 'yaml'), null, `dsl:${id}`)
  const jobs = usePolling(() => api.listJobs({ flow_id: id, limit: 10 }), 2000, `flow-jobs:${id}`)
  // Flow breakpoints: every job started afterwards gets a copy.
  const bps = useBreakpoints('flows', id, '', flow.data !== undefined && flow.data !== null)
  const bpByTarget = useMemo(() => breakpointsByTarget(bps.list), [bps.list])
  const onToggle = useCallback((t: BreakpointTarget) => void bps.toggle(t), [bps.toggle])
  const { onEdit, popover } = useBreakpointEditor('flows', id, bps)

  return (
    <section>
      <header className="page-header">
        <h1>
          <span className="dim">Flow</span> <span className="mono">{id}</span>
        </h1>
        {flow.data && (
          <span className="dim">
            {flow.data.name ? `${flow.data.name} · ` : ''}version {flow.data.version}
          </span>
        )}
        <span className="header-btn actions" style={{ marginTop: 0 }}>
          <Link to={paths.flowEdit(id)} className="btn" data-testid="flow-edit">
            Edit
          </Link>
          <DeleteFlow id={id} />
        </span>
      </header>
      <ErrorAlert error={flow.error} testId="load-error" />
      {flow.data?.description && <p>{flow.data.description}</p>}

      <div className="grid-2">
        <div className="panel">
          <h2>
            Graph <span className="dim small">dots set flow breakpoints: new jobs of this flow stop there</span>
          </h2>
          <ErrorAlert error={bps.error} testId="bp-error" onDismiss={bps.clearError} />
          {flow.data ? (
            <FlowGraph
              routines={flow.data.routines ?? {}}
              connections={flow.data.connections ?? []}
              breakpoints={bpByTarget}
              onToggleBreakpoint={onToggle}
              onEditBreakpoint={onEdit}
            />
          ) : (
            <p className="dim">{flow.error ? 'Unavailable.' : 'Loading…'}</p>
          )}
          <BreakpointList list={bps.list} onEdit={onEdit} />
          {popover}
        </div>
        <div className="panel">
          <h2>Definition (YAML)</h2>
          {dsl.error ? (
            <ErrorAlert error={dsl.error} testId="dsl-error" />
          ) : (
            <pre className="code" data-testid="flow-yaml">
              {dsl.data ?? 'Loading…'}
            </pre>
          )}
        </div>
      </div>

      <StartJobForm flowId={id} />

      {flow.data && <FlowVersions id={id} current={flow.data.version} />}

      <div className="panel">
        <h2>
          Recent jobs <Link to={paths.jobs({ flow_id: id })}>all</Link>
        </h2>
        <ErrorAlert error={jobs.error} testId="jobs-error" />
        {jobs.data ? <JobsTable jobs={jobs.data.jobs} showFlow={false} /> : !jobs.error && <p className="dim">Loading…</p>}
      </div>
    </section>
  )
}

function StartJobForm({ flowId }: { flowId: string }) {
  const [text, setText] = useState('{}')
  const [parseError, setParseError] = useState<string | undefined>()
  const [serverError, setServerError] = useState<unknown>()
  const [busy, setBusy] = useState(false)

  const submit = async (e: FormEvent) => {
    e.preventDefault()
    setServerError(undefined)
    const parsed = parseParams(text)
    if (!parsed.ok) {
      setParseError(parsed.error)
      return
    }
    setParseError(undefined)
    setBusy(true)
    try {
      const job = await api.startJob({ flow_id: flowId, params: parsed.value })
      navigate(paths.job(job.job_id))
    } catch (err) {
      setServerError(err)
      setBusy(false)
    }
  }

  const onChange = (value: string) => {
    setText(value)
    if (parseError) {
      const p = parseParams(value)
      setParseError(p.ok ? undefined : p.error)
    }
  }

  return (
    <form className="panel start-form" onSubmit={submit} data-testid="start-job-form">
      <h2>Start job</h2>
      <label htmlFor="params-input">Params (JSON object)</label>
      <textarea
        id="params-input"
        data-testid="params-input"
        className={parseError ? 'invalid' : undefined}
        value={text}
        rows={5}
        spellCheck={false}
        aria-invalid={parseError ? true : undefined}
        aria-describedby={parseError ? 'params-error' : undefined}
        onChange={(e) => onChange(e.target.value)}
      />
      {parseError && (
        <p id="params-error" className="field-error" data-testid="params-error" role="alert">
          {parseError}
        </p>
      )}
      <ErrorAlert error={serverError} />
      <div className="actions">
        <button type="submit" className="btn btn-primary" data-testid="btn-start-job" disabled={busy}>
          {busy ? 'Starting…' : 'Start job'}
        </button>
      </div>
    </form>
  )
}

/** Delete, with an inline confirmation (running jobs keep their version). */
function DeleteFlow({ id }: { id: string }) {
  const [asking, setAsking] = useState(false)
  const [error, setError] = useState<unknown>()
  const [busy, setBusy] = useState(false)
  if (!asking) {
    return (
      <button type="button" className="btn btn-danger" data-testid="flow-delete" onClick={() => setAsking(true)}>
        Delete
      </button>
    )
  }
  const confirm = async () => {
    setBusy(true)
    try {
      await api.deleteFlow(id)
      navigate(paths.flows())
    } catch (err) {
      setError(err)
      setBusy(false)
    }
  }
  return (
    <span className="confirm" role="group" aria-label="Confirm deletion">
      <span>Delete flow <code>{id}</code> and all its versions?</span>
      <button type="button" className="btn btn-danger-solid" data-testid="flow-delete-confirm" onClick={() => void confirm()} disabled={busy} autoFocus>
        {busy ? 'Deleting…' : 'Yes, delete'}
      </button>
      <button type="button" className="btn" data-testid="flow-delete-cancel" onClick={() => setAsking(false)}>
        Keep it
      </button>
      <ErrorAlert error={error} testId="delete-error" />
    </span>
  )
}
