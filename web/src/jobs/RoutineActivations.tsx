import { useEffect, useState } from 'react'
import { api, type Activation } from '../api/api'
import { ErrorAlert } from '../components/ErrorAlert'
import { JsonTree } from '../components/JsonTree'
import { StatusBadge } from '../components/StatusBadge'
import { formatDuration } from '../format'

const PAGE = 20
/** A live routine's activations are read again at most this often. */
const REFRESH_MS = 500

/**
 * A routine's activations in the routine panel: input, what each emitted,
 * duration, attempts and error, as JSON trees that expand and are never
 * truncated (GET /api/jobs/{id}/activations). refreshKey changes as the
 * routine runs; the list follows it.
 */
export function RoutineActivations({ jobId, routineId, refreshKey }: { jobId: string; routineId: string; refreshKey: string }) {
  const [list, setList] = useState<Activation[]>([])
  const [total, setTotal] = useState<number | undefined>()
  const [error, setError] = useState<unknown>()
  const [limit, setLimit] = useState(PAGE)
  useEffect(() => setLimit(PAGE), [jobId, routineId])
  useEffect(() => {
    const ctl = new AbortController()
    const t = setTimeout(() => {
      api.listActivations(jobId, { routine_id: routineId, limit }, ctl.signal).then(
        (r) => {
          setList(r.activations)
          setTotal(r.total)
          setError(undefined)
        },
        (err) => !ctl.signal.aborted && setError(err),
      )
    }, REFRESH_MS)
    return () => {
      clearTimeout(t)
      ctl.abort()
    }
  }, [jobId, routineId, refreshKey, limit])

  return (
    <section data-testid="routine-activations">
      <h3>
        Activations <span className="dim small">{total === undefined ? '…' : total}</span>
      </h3>
      <ErrorAlert error={error} />
      {total === 0 && <p className="dim small">It has not run.</p>}
      <ol className="activations">
        {list.map((a) => (
          <li key={a.activation_id} data-testid={`activation-${a.activation_id}`}>
            <details open={list.length === 1}>
              <summary>
                <span className="mono">#{a.activation_id}</span> <span className="dim">on {a.slot}</span>{' '}
                <StatusBadge status={a.status} />
                {a.duration !== null && <span className="dim small"> {formatDuration(a.duration)}</span>}
                {a.attempts > 1 && <span className="dim small"> · {a.attempts} attempts</span>}
              </summary>
              <div className="activation-body">
                <JsonTree value={a.input} label="input" />
                {a.emitted.length === 0 ? (
                  <p className="dim small">emitted nothing</p>
                ) : (
                  a.emitted.map((e) => <JsonTree key={e.seq} value={e.data} label={`emitted ${e.event}`} />)
                )}
                {a.error && (
                  <pre className="code code-error code-full" data-testid={`activation-error-${a.activation_id}`}>
                    {a.error_type ? `${a.error_type}: ` : ''}
                    {a.error}
                  </pre>
                )}
              </div>
            </details>
          </li>
        ))}
      </ol>
      {total !== undefined && total > list.length && (
        <button type="button" className="btn btn-small" data-testid="activations-more" onClick={() => setLimit((n) => n + PAGE)}>
          Show {Math.min(PAGE, total - list.length)} more of {total}
        </button>
      )}
    </section>
  )
}
