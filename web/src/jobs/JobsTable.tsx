import { useState } from 'react'
import { api, type Job } from '../api/api'
import { formatDuration, formatTime } from '../format'
import { Link, navigate } from '../router'
import { paths } from '../routes'
import { ErrorAlert } from '../components/ErrorAlert'
import { ProgressBar } from '../components/ProgressBar'
import { StatusBadge } from '../components/StatusBadge'

/** Error text shortened for a table cell (the full text is the cell's title). */
export function shortError(error: string | null | undefined, max = 80): string {
  const e = (error ?? '').trim()
  return e.length > max ? e.slice(0, max - 1) + '…' : e
}

export function JobsTable({ jobs, showFlow = true }: { jobs: Job[]; showFlow?: boolean }) {
  const [rerunError, setRerunError] = useState<unknown>()
  const [busy, setBusy] = useState<string | undefined>()
  if (jobs.length === 0) return <p className="empty">No jobs.</p>

  // Same flow (its current version) and the same params.
  const rerun = async (j: Job) => {
    setBusy(j.job_id)
    setRerunError(undefined)
    try {
      const job = await api.startJob({ flow_id: j.flow_id, params: j.params, entry_routine_id: j.entry_routine_id })
      navigate(paths.job(job.job_id))
    } catch (err) {
      setRerunError(err)
      setBusy(undefined)
    }
  }

  return (
    <>
      <ErrorAlert error={rerunError} testId="rerun-error" onDismiss={() => setRerunError(undefined)} />
      <table className="table" data-testid="jobs-table">
        <thead>
          <tr>
            <th>Job</th>
            <th>Status</th>
            <th>Progress</th>
            {showFlow && <th>Flow</th>}
            <th>Created</th>
            <th>Duration</th>
            <th>Error</th>
            <th>
              <span className="visually-hidden">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {jobs.map((j) => (
            <tr key={j.job_id} data-testid={`job-row-${j.job_id}`}>
              <td className="mono">
                <Link to={paths.job(j.job_id)}>{j.job_id}</Link>
              </td>
              <td className="nowrap">
                <StatusBadge status={j.status} />
                {j.pause_requested && j.status !== 'paused' && (
                  <span className="badge badge-warn pausing" data-testid={`job-pausing-${j.job_id}`} title="pause requested: stops after the running activations">
                    pausing…
                  </span>
                )}
              </td>
              <td>
                <ProgressBar progress={j.progress} label={`Progress of ${j.job_id}`} />
              </td>
              {showFlow && (
                <td>
                  <Link to={paths.flow(j.flow_id)}>{j.flow_id}</Link>
                  {j.flow_version !== undefined && <span className="dim"> v{j.flow_version}</span>}
                </td>
              )}
              <td>{formatTime(j.created_at)}</td>
              <td>{formatDuration(j.duration)}</td>
              <td className="error-cell" title={j.error || undefined} data-testid={`job-error-${j.job_id}`}>
                {j.error ? <span className="error-text">{shortError(j.error)}</span> : ''}
              </td>
              <td>
                <button
                  type="button"
                  className="btn btn-small"
                  data-testid={`job-rerun-${j.job_id}`}
                  aria-label={`Rerun ${j.job_id} (same flow and params)`}
                  title="Start a new job of the same flow with the same params"
                  disabled={busy !== undefined}
                  onClick={() => void rerun(j)}
                >
                  {busy === j.job_id ? 'Starting…' : 'Rerun'}
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  )
}
