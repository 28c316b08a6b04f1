import { useCallback, useEffect, useRef, useState, type ReactNode } from 'react'
import { api, type Breakpoint, type BreakpointScope } from '../api/api'
import { breakpointSummary, formOf, patchOf, type BreakpointForm } from './debugger'
import type { Breakpoints } from './useBreakpoints'
import { ErrorAlert } from '../components/ErrorAlert'

/**
 * The popover that edits a breakpoint, as the flow and job pages open it
 * from a dot on the graph or the breakpoint list: `onEdit` opens it next to
 * the element clicked, `popover` is what to render (null when closed).
 */
export function useBreakpointEditor(
  scope: BreakpointScope,
  ownerId: string,
  bps: Breakpoints,
): { onEdit: (bpId: string, el: HTMLElement) => void; popover: ReactNode } {
  const [editing, setEditing] = useState<{ bpId: string; anchor: DOMRect } | undefined>()
  const onEdit = useCallback((bpId: string, el: HTMLElement) => setEditing({ bpId, anchor: el.getBoundingClientRect() }), [])
  const close = useCallback(() => setEditing(undefined), [])
  const bp = editing ? bps.list.find((b) => b.breakpoint_id === editing.bpId) : undefined
  const popover =
    editing && bp ? (
      <BreakpointPopover
        key={bp.breakpoint_id}
        scope={scope}
        ownerId={ownerId}
        bp={bp}
        anchor={editing.anchor}
        onSaved={(saved) => {
          bps.replace(saved)
          close()
        }}
        onRemoved={(bpId) => {
          bps.removed(bpId)
          close()
        }}
        onClose={close}
      />
    ) : null
  return { onEdit, popover }
}

const CHECK_DEBOUNCE_MS = 250

/** The compiler's verdict on a condition as the user types it (debounced). */
export function useConditionCheck(text: string): { checking: boolean; error: string | undefined } {
  const [state, setState] = useState<{ text: string; error: string | undefined }>({ text: '', error: undefined })
  useEffect(() => {
    if (text.trim() === '') {
      setState({ text, error: undefined })
      return
    }
    let cancelled = false
    const t = setTimeout(async () => {
      try {
        const r = await api.checkExpression(text, 'condition')
        if (!cancelled) setState({ text, error: r.ok ? undefined : (r.error ?? 'invalid condition') })
      } catch (err) {
        if (!cancelled) setState({ text, error: `cannot check: ${err instanceof Error ? err.message : String(err)}` })
      }
    }, CHECK_DEBOUNCE_MS)
    return () => {
      cancelled = true
      clearTimeout(t)
    }
  }, [text])
  return { checking: text.trim() !== '' && state.text !== text, error: state.text === text ? state.error : undefined }
}

/** Edits one breakpoint's condition, hit condition, log message and enabled flag. */
export function BreakpointPopover({
  scope,
  ownerId,
  bp,
  anchor,
  onSaved,
  onRemoved,
  onClose,
}: {
  scope: BreakpointScope
  ownerId: string
  bp: Breakpoint
  anchor?: DOMRect
  onSaved: (bp: Breakpoint) => void
  onRemoved: (bpId: string) => void
  onClose: () => void
}) {
  const [form, setForm] = useState<BreakpointForm>(() => formOf(bp))
  const [saving, setSaving] = useState(false)
  const [error, setError] = useState<unknown>()
  const check = useConditionCheck(form.condition)
  const first = useRef<HTMLInputElement>(null)
  const root = useRef<HTMLDivElement>(null)

  // Focus moves into the popover, and back to where it came from when it closes.
  useEffect(() => {
    const opener = document.activeElement instanceof HTMLElement ? document.activeElement : undefined
    first.current?.focus()
    return () => {
      if (opener?.isConnected) opener.focus()
    }
  }, [])
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape') onClose()
    }
    window.addEventListener('keydown', onKey)
    return () => window.removeEventListener('keydown', onKey)
  }, [onClose])

  const save = async () => {
    setSaving(true)
    setError(undefined)
    try {
      onSaved(await api.updateBreakpoint(scope, ownerId, bp.breakpoint_id, patchOf(form)))
    } catch (err) {
      setError(err)
    } finally {
      setSaving(false)
    }
  }
  const remove = async () => {
    setSaving(true)
    setError(undefined)
    try {
      await api.deleteBreakpoint(scope, ownerId, bp.breakpoint_id)
      onRemoved(bp.breakpoint_id)
    } catch (err) {
      setError(err)
    } finally {
      setSaving(false)
    }
  }

  const style = anchor
    ? { top: Math.min(anchor.bottom + 6, window.innerHeight - 380), left: Math.max(8, Math.min(anchor.left - 20, window.innerWidth - 380)) }
    : undefined
  const set = (k: keyof BreakpointForm) => (e: React.ChangeEvent<HTMLInputElement>) =>
    setForm((f) => ({ ...f, [k]: k === 'enabled' ? e.target.checked : e.target.value }))

  return (
    <div
      ref={root}
      className="popover"
      role="dialog"
      aria-label={`Breakpoint on ${bp.routine_id}`}
      data-testid="bp-popover"
      style={style}
    >
      <div className="popover-head">
        <strong>
          Breakpoint on <span className="mono">{bp.routine_id}</span>
        </strong>
        <button type="button" className="alert-dismiss" aria-label="Close" onClick={onClose}>
          ×
        </button>
      </div>
      <p className="dim small mono">
        {bp.breakpoint_id} · {breakpointSummary(bp)}
      </p>
      {bp.inherited_from && (
        <p className="note" data-testid="bp-inherited">
          Inherited from flow breakpoint <span className="mono">{bp.inherited_from}</span>; changes here apply to this job only.
        </p>
      )}
      <form
        onSubmit={(e) => {
          e.preventDefault()
          void save()
        }}
      >
        <label className="field">
          <span>Condition</span>
          <input
            ref={first}
            className="mono"
            data-testid="bp-condition"
            value={form.condition}
            placeholder="e.g. data.value > 1"
            onChange={set('condition')}
            aria-invalid={check.error ? true : undefined}
            aria-describedby="bp-condition-msg"
            spellCheck={false}
          />
        </label>
        <div id="bp-condition-msg" className="field-msg" aria-live="polite">
          {check.error ? (
            <span className="field-error" data-testid="bp-condition-error">
              {check.error}
            </span>
          ) : check.checking ? (
            <span className="dim">checking…</span>
          ) : form.condition.trim() ? (
            <span className="field-ok" data-testid="bp-condition-ok">
              ✓ compiles
            </span>
          ) : (
            <span className="dim">blank: always stop</span>
          )}
        </div>
        <label className="field">
          <span>Hit condition</span>
          <input
            className="mono"
            data-testid="bp-hit-condition"
            value={form.hit_condition}
            placeholder='e.g. ">= 3", "5", "% 10"'
            onChange={set('hit_condition')}
            spellCheck={false}
          />
        </label>
        <label className="field">
          <span>Log message</span>
          <input
            className="mono"
            data-testid="bp-log-message"
            value={form.log_message}
            placeholder="logpoint: saw {{ data.value }} (does not stop)"
            onChange={set('log_message')}
            spellCheck={false}
          />
        </label>
        <label className="check">
          <input type="checkbox" data-testid="bp-enabled" checked={form.enabled} onChange={set('enabled')} /> enabled
        </label>
        <ErrorAlert error={error} testId="bp-save-error" />
        <div className="actions">
          <button type="submit" className="btn btn-primary" data-testid="bp-save" disabled={saving}>
            {saving ? 'Saving…' : 'Save'}
          </button>
          <button type="button" className="btn btn-danger" data-testid="bp-remove" disabled={saving} onClick={() => void remove()}>
            Remove
          </button>
          <button type="button" className="btn" onClick={onClose}>
            Close
          </button>
        </div>
      </form>
    </div>
  )
}
