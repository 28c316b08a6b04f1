import { useCallback, useEffect, useRef, useState } from 'react'
import { api, ApiError, type CallFrame, type DebugCommand, type EvalResult, type PausedAt, type Variables } from '../api/api'
import { debugKey, History, parseJsonText, stopReason } from './debugger'
import { prettyJson } from '../format'
import { ErrorAlert } from '../components/ErrorAlert'
import { JsonTree } from '../components/JsonTree'
import { StateIcon } from '../graph/StateIcon'

const COMMANDS: { cmd: DebugCommand; label: string; key: string; testId: string; primary?: boolean }[] = [
  { cmd: 'resume', label: 'Continue', key: 'F8', testId: 'dbg-continue', primary: true },
  { cmd: 'step-over', label: 'Step over', key: 'F10', testId: 'dbg-step-over' },
  { cmd: 'step-into', label: 'Step into', key: 'F11', testId: 'dbg-step-into' },
  { cmd: 'step-out', label: 'Step out', key: 'Shift+F11', testId: 'dbg-step-out' },
]

interface EvalEntry {
  n: number
  expression: string
  frame: number
  answer?: EvalResult
  failure?: unknown
}

/** The debugger at a stop: why, the call stack, variables, evaluate, and the stepping commands. */
export function DebuggerPanel({
  jobId,
  pausedAt,
  onMoved,
  onCancel,
  cancelling,
  cmdError,
  setCmdError,
}: {
  jobId: string
  /** The stop; undefined while the job runs between two stops. */
  pausedAt: PausedAt | undefined
  /** The job moved on (or a command was refused): re-read it. */
  onMoved: () => void
  onCancel: () => void
  cancelling: boolean
  /** The last command's refusal; kept by the page so it outlives a stop. */
  cmdError: unknown
  setCmdError: (err: unknown) => void
}) {
  const pauseId = pausedAt?.pause_id
  const [stack, setStack] = useState<CallFrame[] | undefined>()
  const [frame, setFrame] = useState(0)
  const [vars, setVars] = useState<Variables | undefined>()
  const [loadError, setLoadError] = useState<unknown>()
  const [busy, setBusy] = useState<DebugCommand | undefined>()

  // A new stop: start over at frame 0.
  useEffect(() => {
    setFrame(0)
    setStack(undefined)
    setVars(undefined)
    setLoadError(undefined)
    if (!pauseId) return
    let cancelled = false
    api
      .callStack(jobId)
      .then((s) => !cancelled && setStack(s.call_stack ?? []))
      .catch((err) => !cancelled && setLoadError(err))
    return () => {
      cancelled = true
    }
  }, [jobId, pauseId])

  useEffect(() => {
    if (!pauseId) return
    let cancelled = false
    api
      .variables(jobId, frame)
      .then((v) => !cancelled && setVars(v))
      .catch((err) => !cancelled && setLoadError(err))
    return () => {
      cancelled = true
    }
  }, [jobId, pauseId, frame])

  const busyRef = useRef(false)
  const run = useCallback(
    async (cmd: DebugCommand) => {
      if (busyRef.current || !pauseId) return
      busyRef.current = true
      setBusy(cmd)
      setCmdError(undefined)
      try {
        await api.debugCommand(jobId, cmd, pauseId)
      } catch (err) {
        setCmdError(err)
      } finally {
        busyRef.current = false
        setBusy(undefined)
        onMoved()
      }
    },
    [jobId, pauseId, onMoved, setCmdError],
  )

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const cmd = debugKey(e)
      if (!cmd) return
      e.preventDefault()
      void run(cmd)
    }
    window.addEventListener('keydown', onKey)
    return () => window.removeEventListener('keydown', onKey)
  }, [run])

  return (
    <div className={`panel debugger ${pausedAt ? '' : 'is-running'}`} data-testid="debugger-panel" data-pause-id={pauseId ?? ''} aria-label="Debugger">
      <div className="debugger-head">
        <h2>
          <span className="paused-pill">
            <StateIcon kind={pausedAt ? 'paused' : 'running'} size={14} />
          </span>
          Debugger
        </h2>
        {pausedAt ? (
          <p className="debugger-reason" data-testid="dbg-reason">
            {stopReason(pausedAt)} <span className="dim mono small">({pauseId}, activation {pausedAt.activation_id})</span>
          </p>
        ) : (
          <p className="debugger-reason dim" data-testid="dbg-reason">
            Running… the job stops at the next breakpoint or step.
          </p>
        )}
      </div>
      <div className="actions debugger-actions" role="toolbar" aria-label="Debugger commands">
        {COMMANDS.map((c) => (
          <button
            key={c.cmd}
            type="button"
            className={`btn ${c.primary ? 'btn-primary' : ''}`}
            data-testid={c.testId}
            aria-keyshortcuts={c.key.replace('Shift+', 'Shift+')}
            disabled={busy !== undefined || !pausedAt}
            onClick={() => void run(c.cmd)}
          >
            {busy === c.cmd ? `${c.label}…` : c.label} <kbd>{c.key}</kbd>
          </button>
        ))}
        <button type="button" className="btn btn-danger" data-testid="dbg-cancel" disabled={cancelling || busy !== undefined} onClick={onCancel}>
          {cancelling ? 'Cancelling…' : 'Cancel job'}
        </button>
      </div>
      <ErrorAlert error={cmdError} testId="dbg-error" onDismiss={() => setCmdError(undefined)} />
      <ErrorAlert error={loadError} testId="dbg-load-error" />

      {pauseId && (
      <div className="debugger-grid">
        <section aria-label="Call stack">
          <h3>Call stack</h3>
          {stack === undefined ? (
            <p className="dim">Loading…</p>
          ) : (
            <ol className="frames" data-testid="call-stack">
              {stack.map((f) => (
                <li key={f.frame_index}>
                  <button
                    type="button"
                    className={`frame ${f.frame_index === frame ? 'is-current' : ''}`}
                    data-testid={`frame-${f.frame_index}`}
                    aria-current={f.frame_index === frame ? 'true' : undefined}
                    onClick={() => setFrame(f.frame_index)}
                  >
                    <span className="frame-index">#{f.frame_index}</span> <span className="mono">{f.routine_id}</span>
                    <span className="dim small">
                      {' '}
                      {f.slot_name ? `◂ ${f.slot_name}` : ''}
                      {f.event_name ? ` · emitted ${f.event_name}` : ''} · act {f.activation_id}
                    </span>
                  </button>
                </li>
              ))}
            </ol>
          )}
        </section>
        <section aria-label="Variables">
          <h3>
            Variables <span className="dim small">frame #{frame}</span>
          </h3>
          {vars ? (
            <div className="vars" data-testid="variables">
              <JsonTree label="data" value={vars.data} openDepth={3} />
              {vars.routine && <JsonTree label="routine" value={vars.routine} openDepth={1} />}
              <JsonTree label="shared" value={vars.shared} openDepth={1} />
              {vars.job && <JsonTree label="job" value={vars.job} openDepth={1} />}
            </div>
          ) : (
            <p className="dim">Loading…</p>
          )}
          {frame === 0 && vars && (
            <DataEditor key={pauseId} jobId={jobId} pauseId={pauseId} data={vars.data} onSaved={setVars} onRefused={onMoved} />
          )}
        </section>
      </div>
      )}
      <EvalConsole jobId={jobId} frame={frame} disabled={!pauseId} />
    </div>
  )
}

function DataEditor({
  jobId,
  pauseId,
  data,
  onSaved,
  onRefused,
}: {
  jobId: string
  pauseId: string
  data: unknown
  onSaved: (v: Variables) => void
  onRefused: () => void
}) {
  const [text, setText] = useState(() => prettyJson(data === undefined ? null : data))
  const [error, setError] = useState<unknown>()
  const [saved, setSaved] = useState(false)
  const [saving, setSaving] = useState(false)
  const parsed = parseJsonText(text)

  const save = async () => {
    setSaved(false)
    if (!parsed.ok) {
      setError(parsed.error)
      return
    }
    setSaving(true)
    setError(undefined)
    try {
      const v = await api.setVariable(jobId, 'data', parsed.value, pauseId)
      if (v && typeof v === 'object' && 'data' in v) onSaved(v)
      setText(prettyJson((v as Variables | undefined)?.data ?? parsed.value))
      setSaved(true)
    } catch (err) {
      setError(err)
      if (err instanceof ApiError && err.status === 409) onRefused()
    } finally {
      setSaving(false)
    }
  }

  return (
    <div className="var-editor">
      <label className="field">
        <span>
          Edit <code>data</code> (JSON) — applies when the activation goes on
        </span>
        <textarea
          className="mono"
          data-testid="var-edit"
          rows={Math.min(12, Math.max(3, text.split('\n').length))}
          value={text}
          spellCheck={false}
          aria-invalid={parsed.ok ? undefined : true}
          onChange={(e) => {
            setText(e.target.value)
            setSaved(false)
          }}
          onKeyDown={(e) => {
            if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
              e.preventDefault()
              void save()
            }
          }}
        />
      </label>
      <div className="field-msg">
        {!parsed.ok ? (
          <span className="field-error" data-testid="var-json-error">
            {parsed.error}
          </span>
        ) : saved ? (
          <span className="field-ok" data-testid="var-saved">
            ✓ saved
          </span>
        ) : null}
      </div>
      <ErrorAlert error={error} testId="var-error" />
      <button type="button" className="btn" data-testid="var-save" disabled={saving || !parsed.ok} onClick={() => void save()}>
        {saving ? 'Saving…' : 'Save data'} <kbd>Ctrl+Enter</kbd>
      </button>
    </div>
  )
}

function EvalConsole({ jobId, frame, disabled }: { jobId: string; frame: number; disabled: boolean }) {
  const [input, setInput] = useState('')
  const [entries, setEntries] = useState<EvalEntry[]>([])
  const history = useRef(new History())
  const counter = useRef(0)
  const out = useRef<HTMLDivElement>(null)

  useEffect(() => {
    out.current?.scrollTo({ top: out.current.scrollHeight })
  }, [entries])

  const submit = async () => {
    const expression = input.trim()
    if (!expression) return
    history.current.push(expression)
    setInput('')
    const n = ++counter.current
    setEntries((es) => [...es, { n, expression, frame }])
    let patch: Partial<EvalEntry>
    try {
      patch = { answer: await api.evaluate(jobId, expression, frame) }
    } catch (err) {
      patch = { failure: err }
    }
    setEntries((es) => es.map((e) => (e.n === n ? { ...e, ...patch } : e)).slice(-200))
  }

  return (
    <section className="eval" aria-label="Evaluate">
      <h3>
        Evaluate <span className="dim small">in frame #{frame} · ↑/↓ history</span>
      </h3>
      <div className="eval-output" data-testid="eval-output" ref={out} aria-live="polite">
        {entries.length === 0 && <p className="dim small">Expressions see data, job, routine and shared, e.g. data.value * 2</p>}
        {entries.map((e) => (
          <div key={e.n} className="eval-entry">
            <div className="mono">
              <span className="dim">›</span> {e.expression}
            </div>
            {e.failure !== undefined ? (
              <div className="field-error">{e.failure instanceof Error ? e.failure.message : String(e.failure)}</div>
            ) : e.answer === undefined ? (
              <div className="dim">…</div>
            ) : e.answer.error ? (
              <div className="field-error mono">{e.answer.error}</div>
            ) : (
              <pre className="eval-result mono">
                {prettyJson(e.answer.result) || 'null'}
                {e.answer.type ? <span className="dim">  ({e.answer.type})</span> : null}
              </pre>
            )}
          </div>
        ))}
      </div>
      <form
        className="eval-form"
        onSubmit={(e) => {
          e.preventDefault()
          void submit()
        }}
      >
        <input
          className="mono"
          data-testid="eval-input"
          aria-label="Expression to evaluate"
          placeholder="expression, Enter to evaluate"
          value={input}
          spellCheck={false}
          disabled={disabled}
          onChange={(e) => setInput(e.target.value)}
          onKeyDown={(e) => {
            if (e.key === 'ArrowUp') {
              const v = history.current.up()
              if (v !== undefined) {
                e.preventDefault()
                setInput(v)
              }
            } else if (e.key === 'ArrowDown') {
              const v = history.current.down()
              if (v !== undefined) {
                e.preventDefault()
                setInput(v)
              }
            }
          }}
        />
        <button type="submit" className="btn" data-testid="eval-run" disabled={disabled}>
          Evaluate
        </button>
      </form>
    </section>
  )
}
