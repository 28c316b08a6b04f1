import type { Job } from '../api'
import { formatDuration, formatTime } from '../format'
import { Link } from '../router'
import { paths } from '../routes'
import { ProgressBar } from './ProgressBar'
import { StatusBadge } from './StatusBadge'

export function JobsTable({ jobs, showFlow = true }: { jobs: Job[]; showFlow?: boolean }) {
  if (jobs.length === 0) return <p className="empty">No jobs.</p>
  return (
    <table className="table" data-testid="jobs-table">
      <thead>
        <tr>
          <th>Job</th>
          <th>Status</th>
          <th>Progress</th>
          {showFlow && <th>Flow</th>}
          <th>Created</th>
          <th>Duration</th>
        </tr>
      </thead>
      <tbody>
        {jobs.map((j) => (
          <tr key={j.job_id} data-testid={`job-row-${j.job_id}`}>
            <td className="mono">
              <Link to={paths.job(j.job_id)}>{j.job_id}</Link>
            </td>
            <td>
              <StatusBadge status={j.status} />
            </td>
            <td>
              <ProgressBar progress={j.progress} />
            </td>
            {showFlow && (
              <td>
                <Link to={paths.flow(j.flow_id)}>{j.flow_id}</Link>
                {j.flow_version !== undefined && <span className="dim"> v{j.flow_version}</span>}
              </td>
            )}
            <td>{formatTime(j.created_at)}</td>
            <td>{formatDuration(j.duration)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  )
}
