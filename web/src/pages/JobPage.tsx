import { useState } from 'react'
import { api, type Job, type JobAction, type RoutineState } from '../api'
import { ErrorAlert } from '../components/ErrorAlert'
import { LiveIndicator } from '../components/LiveIndicator'
import { ProgressBar } from '../components/ProgressBar'
import { StatusBadge } from '../components/StatusBadge'
import { compactJson, formatDuration, formatTime, prettyJson } from '../format'
import { Link } from '../router'
import { paths } from '../routes'
import { allowedActions, isFinished } from '../status'
import { useLiveJob } from '../useLiveJob'

const LOG_LEVELS = ['debug', 'info', 'warning', 'error'] as const

/** Routine states in execution order: started ones by start time, then the rest by id. */
export function sortRoutineStates(states: Record<string, RoutineState> | undefined): [string, RoutineState][] {
  const entries = Object.entries(states ?? {})
  const t = (s: RoutineState) => {
    const v = s.started_at ? Date.parse(s.started_at) : Number.NaN
    return Number.isNaN(v) || (s.started_at ?? '').startsWith('0001-') ? Number.POSITIVE_INFINITY : v
  }
  return entries.sort(([a, sa], [b, sb]) => {
    const d = t(sa) - t(sb)
    if (d !== 0 && !Number.isNaN(d)) return d
    return a < b ? -1 : a > b ? 1 : 0
  })
}

function errorText(err: unknown): string {
  if (err === undefined || err === null || err === '') return ''
  if (typeof err === 'string') return err
  if (typeof err === 'object' && typeof (err as { message?: unknown }).message === 'string') {
    return (err as { message: string }).message
  }
  return compactJson(err)
}

export function JobPage({ id }: { id: string }) {
  const [actionError, setActionError] = useState<unknown>()
  const [busy, setBusy] = useState<JobAction | undefined>()
  const [level, setLevel] = useState('')

  // REST state kept current by the job's live stream (see useLiveJob).
  const live = useLiveJob(id, level)
  const finished = isFinished(live.job?.status)

  const act = async (action: JobAction) => {
    setBusy(action)
    setActionError(undefined)
    try {
      const updated = await api.jobAction(id, action)
      if (updated && typeof updated === 'object' && 'status' in updated) live.takeSnapshot(updated)
      else live.refresh()
    } catch (err) {
      setActionError(err)
      live.refresh()
    } finally {
      setBusy(undefined)
    }
  }

  const j: Job | undefined = live.job
  const logs = live.logs
  const allowed = allowedActions(j?.status)

  return (
    <section>
      <header className="page-header">
        <h1>
          <span className="dim">Job</span> <span className="mono">{id}</span>
        </h1>
        {j && (
          <span className="dim">
            flow <Link to={paths.flow(j.flow_id)}>{j.flow_id}</Link>
            {j.flow_version !== undefined && ` v${j.flow_version}`}
          </span>
        )}
        {(j || live.live !== 'closed') && <LiveIndicator state={live.live} />}
      </header>
      <ErrorAlert error={live.jobError} testId="load-error" />

      {j && (
        <>
          <div className="panel job-summary">
            <dl className="facts">
              <div>
                <dt>Status</dt>
                <dd>
                  <StatusBadge status={j.status} testId="job-status" />
                </dd>
              </div>
              <div>
                <dt>Progress</dt>
                <dd>
                  <ProgressBar progress={j.progress} testId="job-progress" />
                </dd>
              </div>
              <div>
                <dt>Current node</dt>
                <dd className="mono" data-testid="job-current-node">
                  {j.current_node || '—'}
                </dd>
              </div>
              <div>
                <dt>Duration</dt>
                <dd data-testid="job-duration">{formatDuration(j.duration) || '—'}</dd>
              </div>
              <div>
                <dt>Routines</dt>
                <dd>
                  {j.nodes_completed ?? 0} done
                  {j.nodes_failed ? `, ${j.nodes_failed} failed` : ''}
                </dd>
              </div>
              <div>
                <dt>Created</dt>
                <dd>{formatTime(j.created_at) || '—'}</dd>
              </div>
              <div>
                <dt>Started</dt>
                <dd>{formatTime(j.started_at) || '—'}</dd>
              </div>
              <div>
                <dt>Completed</dt>
                <dd>{formatTime(j.completed_at) || '—'}</dd>
              </div>
            </dl>
            <div className="actions">
              <button
                type="button"
                className="btn"
                data-testid="btn-pause"
                disabled={!allowed.pause || busy !== undefined}
                onClick={() => act('pause')}
              >
                {busy === 'pause' ? 'Pausing…' : 'Pause'}
              </button>
              <button
                type="button"
                className="btn btn-primary"
                data-testid="btn-resume"
                disabled={!allowed.resume || busy !== undefined}
                onClick={() => act('resume')}
              >
                {busy === 'resume' ? 'Resuming…' : 'Resume'}
              </button>
              <button
                type="button"
                className="btn btn-danger"
                data-testid="btn-cancel"
                disabled={!allowed.cancel || busy !== undefined}
                onClick={() => act('cancel')}
              >
                {busy === 'cancel' ? 'Cancelling…' : 'Cancel'}
              </button>
            </div>
            <ErrorAlert error={actionError} onDismiss={() => setActionError(undefined)} />
          </div>

          {j.error ? (
            <div className="panel">
              <h2>Error</h2>
              <pre className="code code-error" data-testid="job-error">
                {j.error}
              </pre>
            </div>
          ) : null}

          <div className="panel">
            <h2>Result</h2>
            <pre className="code" data-testid="job-result">
              {j.result === undefined || j.result === null ? (finished ? 'null' : '—') : prettyJson(j.result)}
            </pre>
          </div>

          <div className="panel">
            <h2>Routines</h2>
            <RoutineTable states={j.routine_states} />
          </div>
        </>
      )}

      <div className="panel">
        <h2>
          Logs{' '}
          <label className="inline-label">
            level{' '}
            <select data-testid="log-level" value={level} onChange={(e) => setLevel(e.target.value)}>
              <option value="">all</option>
              {LOG_LEVELS.map((l) => (
                <option key={l} value={l}>
                  ≥ {l}
                </option>
              ))}
            </select>
          </label>
          {logs && <span className="dim small"> {logs.total} lines</span>}
        </h2>
        <ErrorAlert error={live.logsError} testId="logs-error" />
        {logs && logs.logs.length > 0 ? (
          <table className="table table-logs" data-testid="logs-table">
            <thead>
              <tr>
                <th>#</th>
                <th>Time</th>
                <th>Level</th>
                <th>Routine</th>
                <th>Message</th>
              </tr>
            </thead>
            <tbody>
              {logs.logs.map((l) => (
                <tr key={l.seq} className={`log-${l.level}`}>
                  <td className="mono dim">{l.seq}</td>
                  <td className="nowrap">{formatTime(l.time ?? l.timestamp)}</td>
                  <td>
                    <span className={`level level-${l.level}`}>{l.level}</span>
                  </td>
                  <td className="mono">{l.routine_id}</td>
                  <td className="mono wrap">{l.message}</td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : (
          logs && <p className="empty">No log lines.</p>
        )}
      </div>
    </section>
  )
}

function RoutineTable({ states }: { states: Record<string, RoutineState> | undefined }) {
  const rows = sortRoutineStates(states)
  if (rows.length === 0) return <p className="empty">No routine has run yet.</p>
  return (
    <table className="table" data-testid="routines-table">
      <thead>
        <tr>
          <th>Routine</th>
          <th>Status</th>
          <th>Activations</th>
          <th>Started</th>
          <th>Completed</th>
          <th>Error</th>
          <th>Output</th>
        </tr>
      </thead>
      <tbody>
        {rows.map(([rid, s]) => (
          <tr key={rid} data-testid={`routine-row-${rid}`}>
            <td className="mono">{rid}</td>
            <td>
              <StatusBadge status={s.status} />
            </td>
            <td>{s.activations ?? ''}</td>
            <td className="nowrap">{formatTime(s.started_at)}</td>
            <td className="nowrap">{formatTime(s.completed_at)}</td>
            <td className="error-text">{errorText(s.error)}</td>
            <td className="mono wrap">{compactJson(s.output)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  )
}
