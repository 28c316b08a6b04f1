import { useCallback, useEffect, useMemo, useRef, useState } from 'react'
import { api, type Breakpoint, type Flow, type Job, type JobAction, type RoutineState } from '../api/api'
import { BreakpointList } from '../debugger/BreakpointList'
import { useBreakpointEditor } from '../debugger/BreakpointPopover'
import { DebuggerPanel } from '../debugger/DebuggerPanel'
import { ErrorAlert } from '../components/ErrorAlert'
import { EventsPanel } from '../logs/EventsPanel'
import { FlowGraph } from '../graph/FlowGraph'
import { RoutineActivations } from './RoutineActivations'
import { StartJobForm } from './StartJobForm'
import { LiveIndicator } from '../components/LiveIndicator'
import { LogPanel } from '../logs/LogPanel'
import { ProgressBar } from '../components/ProgressBar'
import { StatusBadge } from '../components/StatusBadge'
import { compactJson, formatDuration, formatTime, prettyJson } from '../format'
import { breakpointSummary, debugStop, breakpointsByTarget, type BreakpointTarget } from '../debugger/debugger'
import { Link, navigate } from '../router'
import { paths } from '../routes'
import { allowedActions, isFinished } from './status'
import { useBreakpoints } from '../debugger/useBreakpoints'
import { useLiveJob } from '../live/useLiveJob'
import { useTimeTravel } from '../logs/useTimeTravel'
import { bannerText, clampSeq, shownJob } from '../logs/timeline'

/**
 * The duration to show: the job's, counted on in the browser while it runs
 * (from when that value arrived, so the two clocks need not agree).
 */
function useTickingDuration(duration: number | null | undefined, startedAt: string | null | undefined, running: boolean): number | undefined {
  const [now, setNow] = useState(() => Date.now())
  const anchor = useRef<{ d: number | null | undefined; at: number }>({ d: duration, at: Date.now() })
  if (anchor.current.d !== duration) anchor.current = { d: duration, at: Date.now() }
  useEffect(() => {
    if (!running) return
    const t = setInterval(() => setNow(Date.now()), 250)
    return () => clearInterval(t)
  }, [running])
  if (!running) return duration ?? undefined
  const base = anchor.current
  if (typeof base.d === 'number') return base.d + Math.max(0, now - base.at) / 1000
  const started = startedAt ? Date.parse(startedAt) : Number.NaN
  return Number.isFinite(started) ? Math.max(0, (now - started) / 1000) : undefined
}

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

  // REST state kept current by the job's live stream (see useLiveJob).
  const live = useLiveJob(id)
  const finished = isFinished(live.job?.status)
  const { travel, go, exit } = useTimeTravel(id)

  const act = async (action: JobAction) => {
    setBusy(action)
    setActionError(undefined)
    if (action === 'pause') live.markPauseRequested()
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
  // The graph, the node panel and the routines table show the past while time travelling.
  const shown = shownJob(j, travel)
  const travelling = travel.at !== undefined
  const lastSeq = j?.events ?? 0
  const duration = useTickingDuration(j?.duration, j?.started_at, j?.status === 'running')
  const allowed = allowedActions(j?.status)
  const stop = debugStop(j)

  // The flow version the job runs, for the graph.
  const [flow, setFlow] = useState<Flow | undefined>()
  const [flowError, setFlowError] = useState<unknown>()
  const flowKey = j ? `${j.flow_id}@${j.flow_version ?? ''}` : ''
  useEffect(() => {
    if (!j) return
    let cancelled = false
    api
      .getFlowVersion(j.flow_id, j.flow_version)
      .then((f) => !cancelled && setFlow(f))
      .catch((err) => !cancelled && setFlowError(err))
    return () => {
      cancelled = true
    }
  }, [flowKey])
  const routineIds = useMemo(() => Object.keys(flow?.routines ?? {}).sort(), [flow])

  const bps = useBreakpoints('jobs', id, `${j?.status}:${stop?.pause_id ?? ''}`, j !== undefined && !finished)
  const bpByTarget = useMemo(() => breakpointsByTarget(bps.list), [bps.list])
  const [selected, setSelected] = useState<string | undefined>()
  const onToggle = useCallback((t: BreakpointTarget) => void bps.toggle(t), [bps.toggle])
  const { onEdit, popover } = useBreakpointEditor('jobs', id, bps)
  const onSelect = useCallback((rid: string) => setSelected((cur) => (cur === rid ? undefined : rid)), [])

  // The debugger panel stays while the job runs between two stops (a step), so
  // its console and a refused command's message survive; it goes when the job ends.
  const [debugSession, setDebugSession] = useState(false)
  const [dbgError, setDbgError] = useState<unknown>()
  const pausedByOperator = j?.status === 'paused' && !!j.pause_reason && j.pause_reason !== 'breakpoint'
  useEffect(() => {
    if (stop) setDebugSession(true)
    else if (!j || isFinished(j.status) || pausedByOperator) setDebugSession(false)
  }, [stop, j?.status, pausedByOperator])
  const showDebugger = stop !== undefined || (debugSession && !finished && !pausedByOperator)

  // Rerun and Debug start a new job of the same flow with the same params
  // (Debug stopped before its first activation) and open it.
  const [starting, setStarting] = useState<'rerun' | 'debug' | undefined>()
  const startAgain = async (how: 'rerun' | 'debug') => {
    if (!j) return
    setStarting(how)
    setActionError(undefined)
    try {
      const started = await api.startJob({
        flow_id: j.flow_id, params: j.params, entry_routine_id: j.entry_routine_id, stop_on_entry: how === 'debug',
      })
      navigate(paths.job(started.job_id))
    } catch (err) {
      setActionError(err)
    } finally {
      setStarting(undefined)
    }
  }
  const [confirmCancel, setConfirmCancel] = useState(false)
  const [rerunEditing, setRerunEditing] = useState(false)

  return (
    <section>
      <header className="page-header">
        <h1>
          <span className="dim">Job</span> <span className="mono">{id}</span>
        </h1>
        {j && (
          <span className="dim">
            flow <Link to={paths.flow(j.flow_id)}>{j.flow_id}</Link>
            {j.flow_version !== undefined && (
              <>
                {' '}
                <Link to={paths.flow(j.flow_id, j.flow_version)} data-testid="job-flow-version" title="The flow version this job ran, compared with the current one">
                  v{j.flow_version}
                </Link>
              </>
            )}
          </span>
        )}
        {(j || live.live !== 'closed') && <LiveIndicator state={live.live} />}
        {j && (
          <span className="header-btn">
            <button
              type="button"
              className="btn"
              data-testid="btn-rerun"
              disabled={starting !== undefined}
              title="Start a new job of this flow with the same params"
              onClick={() => void startAgain('rerun')}
            >
              {starting === 'rerun' ? 'Starting…' : 'Rerun'}
            </button>{' '}
            <button
              type="button"
              className="btn"
              data-testid="btn-rerun-edit"
              aria-expanded={rerunEditing}
              title="Start a new job of this flow with params you edit first"
              onClick={() => setRerunEditing((v) => !v)}
            >
              Rerun with…
            </button>{' '}
            <button
              type="button"
              className="btn"
              data-testid="btn-debug"
              disabled={starting !== undefined}
              title="Start a new job of this flow with the same params, stopped before its first activation"
              onClick={() => void startAgain('debug')}
            >
              {starting === 'debug' ? 'Starting…' : 'Debug (new job)'}
            </button>
          </span>
        )}
      </header>
      <ErrorAlert error={live.jobError} testId="load-error" />
      {j && rerunEditing && (
        <StartJobForm
          key={id}
          flowId={j.flow_id}
          initialParams={j.params}
          entryRoutineId={j.entry_routine_id}
          title="Rerun with edited params"
          onCancel={() => setRerunEditing(false)}
        />
      )}

      {j && (
        <>
          <div className={`graph-area ${selected ? 'with-side' : ''}`}>
            <div className={`panel ${travelling ? 'panel-travel' : ''}`} data-travel={travelling ? 'true' : 'false'}>
              <h2>
                Graph
                {!finished && <span className="dim small">click a dot to set a breakpoint, a routine to inspect it</span>}
              </h2>
              <div className="scrubber">
                <label className="inline-label scrubber-label" htmlFor="time-scrubber">
                  history
                </label>
                <input
                  id="time-scrubber"
                  type="range"
                  data-testid="time-scrubber"
                  aria-label="Time travel: the job after event seq"
                  min={1}
                  max={Math.max(1, lastSeq)}
                  step={1}
                  disabled={lastSeq < 1}
                  value={travel.at ?? Math.max(1, lastSeq)}
                  onChange={(e) => go(clampSeq(Number(e.target.value), lastSeq))}
                />
                <span className="mono small scrubber-pos">
                  {travelling ? `seq ${travel.at} / ${lastSeq}` : `live · seq ${lastSeq}`}
                </span>
              </div>
              {travelling && (
                <div className="travel-banner" role="status" data-testid="time-travel-banner" data-at={travel.state?.at ?? ''}>
                  <span>
                    <strong>{bannerText(travel, lastSeq)}</strong>
                    {travel.state && (
                      <>
                        {' '}
                        — the job was <strong>{travel.state.status}</strong>; graph and routine panel show that moment
                      </>
                    )}
                  </span>
                  <button type="button" className="btn btn-small btn-primary" data-testid="time-travel-exit" onClick={exit}>
                    Back to live
                  </button>
                </div>
              )}
              <ErrorAlert error={travel.error} testId="time-travel-error" />
              <ErrorAlert error={flowError} testId="graph-error" />
              <ErrorAlert error={bps.error} testId="bp-error" onDismiss={bps.clearError} />
              {flow ? (
                <FlowGraph
                  routines={flow.routines ?? {}}
                  connections={flow.connections ?? []}
                  states={shown?.routine_states ?? {}}
                  breakpoints={bpByTarget}
                  pausedRoutine={stop?.routine_id}
                  current={shown?.status === 'running' ? (shown.current_node ?? undefined) : undefined}
                  selected={selected}
                  onSelect={onSelect}
                  onToggleBreakpoint={finished ? undefined : onToggle}
                  onEditBreakpoint={finished ? undefined : onEdit}
                />
              ) : (
                !flowError && <p className="dim">Loading the flow…</p>
              )}
              <BreakpointList list={bps.list} onEdit={finished ? undefined : onEdit} />
            </div>
            {selected && (
              <RoutinePanel
                jobId={id}
                id={selected}
                spec={flow?.routines?.[selected]}
                state={shown?.routine_states?.[selected]}
                breakpoint={bpByTarget.get(selected)}
                onClose={() => setSelected(undefined)}
              />
            )}
          </div>
          {popover}

          {showDebugger ? (
            <DebuggerPanel
              key={id}
              jobId={id}
              pausedAt={stop}
              onMoved={live.refresh}
              onCancel={() => void act('cancel')}
              cancelling={busy === 'cancel'}
              cmdError={dbgError}
              setCmdError={setDbgError}
            />
          ) : (
            <ErrorAlert error={dbgError} testId="dbg-error" onDismiss={() => setDbgError(undefined)} />
          )}

          <div className="panel job-summary">
            <dl className="facts">
              <div>
                <dt>Status</dt>
                <dd>
                  <StatusBadge status={j.status} testId="job-status" />
                  {j.pause_requested && !isFinished(j.status) && j.status !== 'paused' && (
                    <span className="badge badge-warn pausing" data-testid="job-pausing" title="Pause requested: running activations finish first">
                      pausing…
                    </span>
                  )}
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
                <dd data-testid="job-duration">{formatDuration(duration) || '—'}</dd>
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
                disabled={!allowed.cancel || busy !== undefined || confirmCancel}
                onClick={() => setConfirmCancel(true)}
              >
                {busy === 'cancel' ? 'Cancelling…' : 'Cancel'}
              </button>
            </div>
            {confirmCancel && (
              <div className="confirm" role="alertdialog" aria-label="Cancel this job?" data-testid="cancel-confirmation">
                <span>Cancel this job? Its running activations are stopped and it ends cancelled.</span>{' '}
                <button
                  type="button"
                  className="btn btn-danger-solid"
                  data-testid="cancel-confirm"
                  autoFocus
                  onClick={() => {
                    setConfirmCancel(false)
                    act('cancel')
                  }}
                >
                  Cancel the job
                </button>{' '}
                <button type="button" className="btn" data-testid="cancel-keep" onClick={() => setConfirmCancel(false)}>
                  Keep it running
                </button>
              </div>
            )}
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
            <h2>Routines{travelling && <span className="dim small"> as of seq {travel.state?.at ?? travel.at}</span>}</h2>
            <RoutineTable states={shown?.routine_states} />
          </div>

          <LogPanel jobId={id} feed={live.logFeed} routines={routineIds} />
          <EventsPanel jobId={id} last={lastSeq} routines={routineIds} travelAt={travel.at} onTravel={go} />
        </>
      )}

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

function RoutinePanel({
  jobId,
  id,
  spec,
  state,
  breakpoint,
  onClose,
}: {
  jobId: string
  id: string
  spec: Flow['routines'][string] | undefined
  state: RoutineState | undefined
  breakpoint: Breakpoint | undefined
  onClose: () => void
}) {
  return (
    <aside className="panel side-panel" data-testid="routine-panel" aria-label={`Routine ${id}`}>
      <div className="popover-head">
        <h2>
          <span className="mono">{id}</span> <span className="dim small">{spec?.kind}</span>
        </h2>
        <button type="button" className="alert-dismiss" aria-label="Close routine panel" onClick={onClose}>
          ×
        </button>
      </div>
      <dl className="facts facts-tight">
        <div>
          <dt>Status</dt>
          <dd>
            <StatusBadge status={state?.status ?? 'pending'} />
          </dd>
        </div>
        <div>
          <dt>Activations</dt>
          <dd>{state?.activations ?? 0}</dd>
        </div>
        <div>
          <dt>Started</dt>
          <dd>{formatTime(state?.started_at) || '—'}</dd>
        </div>
        <div>
          <dt>Completed</dt>
          <dd>{formatTime(state?.completed_at) || '—'}</dd>
        </div>
      </dl>
      {breakpoint && <p className="small">Breakpoint: {breakpointSummary(breakpoint)}</p>}
      <h3>Config</h3>
      <pre className="code code-full" data-testid="routine-config">
        {prettyJson(spec?.config ?? {})}
      </pre>
      {spec?.error_policy ? (
        <>
          <h3>Error policy</h3>
          <pre className="code code-full">{prettyJson(spec.error_policy)}</pre>
        </>
      ) : null}
      {state?.error ? (
        <>
          <h3>Error</h3>
          <pre className="code code-error code-full" data-testid="routine-error">
            {typeof state.error === 'string' ? state.error : prettyJson(state.error)}
          </pre>
        </>
      ) : null}
      <h3>Output</h3>
      <pre className="code code-full" data-testid="routine-output">
        {state?.output === undefined || state.output === null ? 'null' : prettyJson(state.output)}
      </pre>
      <RoutineActivations jobId={jobId} routineId={id} refreshKey={`${state?.activations ?? 0}:${state?.status ?? ''}`} />
    </aside>
  )
}
