import { useState, type FormEvent } from 'react'
import { api } from '../api/api'
import { ErrorAlert } from '../components/ErrorAlert'
import { navigate } from '../router'
import { paths } from '../routes'
import { parseParams } from './params'

/**
 * Starts a job of a flow with params typed as JSON (checked before sending),
 * then opens it: the flow page's "Start job", and a job page's "Rerun with
 * edited params" (prefilled with the job's params and entry routine).
 */
export function StartJobForm({
  flowId,
  initialParams = {},
  entryRoutineId,
  title = 'Start job',
  onCancel,
}: {
  flowId: string
  initialParams?: unknown
  entryRoutineId?: string | null
  title?: string
  onCancel?: () => void
}) {
  const [text, setText] = useState(() => JSON.stringify(initialParams ?? {}, null, 2))
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
      const job = await api.startJob({ flow_id: flowId, params: parsed.value, entry_routine_id: entryRoutineId ?? undefined })
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
      <h2>{title}</h2>
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
        {onCancel && (
          <button type="button" className="btn" data-testid="btn-start-cancel" onClick={onCancel}>
            Close
          </button>
        )}
      </div>
    </form>
  )
}
