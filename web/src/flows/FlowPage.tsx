import { useCallback, useMemo, useState } from 'react'
import { api } from '../api/api'
import { BreakpointList } from '../debugger/BreakpointList'
import { useBreakpointEditor } from '../debugger/BreakpointPopover'
import { ErrorAlert } from '../components/ErrorAlert'
import { FlowGraph } from '../graph/FlowGraph'
import { FlowVersions } from './FlowVersions'
import { JobsTable } from '../jobs/JobsTable'
import { StartJobForm } from '../jobs/StartJobForm'
import { Link, navigate, useLocation } from '../router'
import { paths } from '../routes'
import { breakpointsByTarget, type BreakpointTarget } from '../debugger/debugger'
import { useBreakpoints } from '../debugger/useBreakpoints'
import { usePolling } from '../live/usePolling'

export function FlowPage({ id }: { id: string }) {
  const { search } = useLocation()
  const v = Number.parseInt(search.get('version') ?? '', 10)
  const focusVersion = Number.isFinite(v) ? v : undefined
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

      {flow.data && <FlowVersions id={id} current={flow.data.version} focus={focusVersion} />}

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
