import { api } from '../api/api'
import { ErrorAlert } from '../components/ErrorAlert'
import { formatTime } from '../format'
import { Link } from '../router'
import { paths } from '../routes'
import { usePolling } from '../live/usePolling'

export function FlowsPage() {
  const flows = usePolling(() => api.listFlows({ limit: 1000 }), 2000, 'flows')
  const list = flows.data?.flows ?? []
  return (
    <section>
      <header className="page-header">
        <h1>Flows</h1>
        {flows.data && <span className="dim">{flows.data.total} total</span>}
        <Link to={paths.flowNew()} className="btn btn-primary header-btn" data-testid="flow-new">
          New flow
        </Link>
      </header>
      <ErrorAlert error={flows.error} testId="load-error" />
      {flows.loading && !flows.data ? (
        <p className="dim">Loading…</p>
      ) : list.length === 0 && !flows.error ? (
        <p className="empty">
          No flows yet. Create one with <Link to={paths.flowNew()}>New flow</Link> or <code>POST /api/flows</code>.
        </p>
      ) : (
        <table className="table" data-testid="flows-table">
          <thead>
            <tr>
              <th>Flow</th>
              <th>Name</th>
              <th>Version</th>
              <th>Routines</th>
              <th>Updated</th>
            </tr>
          </thead>
          <tbody>
            {list.map((f) => (
              <tr key={f.flow_id} data-testid={`flow-row-${f.flow_id}`}>
                <td className="mono">
                  <Link to={paths.flow(f.flow_id)}>{f.flow_id}</Link>
                </td>
                <td>{f.name}</td>
                <td>{f.version}</td>
                <td>{f.routine_count ?? ''}</td>
                <td>{formatTime(f.updated_at)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  )
}
