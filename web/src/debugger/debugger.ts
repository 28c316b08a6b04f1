// Pure helpers of the debugger UI: breakpoints per routine, what a click on a
// breakpoint dot does, the stop's description, the evaluate history, keys.

import type { Breakpoint, BreakpointPatch, DebugCommand, Job, NewBreakpoint, PausedAt } from '../api/api'

/** The job is stopped in the debugger (not merely paused by an operator). */
export function debugStop(job: Job | undefined): PausedAt | undefined {
  if (!job || job.status !== 'paused' || job.pause_reason !== 'breakpoint') return undefined
  return job.paused_at ?? undefined
}

/** Where a breakpoint sits: a routine, or one of its slots or events. */
export interface BreakpointTarget {
  routine: string
  type: Breakpoint['type']
  /** The slot or event name; empty for a routine breakpoint. */
  port: string
}

/** The key of a target in a breakpoint map ("routine", "routine:slot:input", "routine:event:output"). */
export function targetKey(t: BreakpointTarget): string {
  return t.type === 'routine' ? t.routine : `${t.routine}:${t.type}:${t.port}`
}

/** The target a breakpoint sits on. */
export function targetOf(bp: Breakpoint): BreakpointTarget {
  const port = bp.type === 'slot' ? (bp.slot_name ?? '') : bp.type === 'event' ? (bp.event_name ?? '') : ''
  return { routine: bp.routine_id, type: bp.type, port }
}

/** Breakpoints by target key (see targetKey): the first of each target, in list order. */
export function breakpointsByTarget(list: readonly Breakpoint[]): Map<string, Breakpoint> {
  const m = new Map<string, Breakpoint>()
  for (const bp of list) {
    const key = targetKey(targetOf(bp))
    if (!m.has(key)) m.set(key, bp)
  }
  return m
}

export type ToggleAction = { op: 'create'; target: BreakpointTarget } | { op: 'delete'; breakpointId: string }

/** A click on a dot: removes the breakpoint on its target if there is one, else sets one. */
export function toggleAction(list: readonly Breakpoint[], target: BreakpointTarget): ToggleAction {
  const bp = breakpointsByTarget(list).get(targetKey(target))
  return bp ? { op: 'delete', breakpointId: bp.breakpoint_id } : { op: 'create', target }
}

/** The request that sets a breakpoint on a target. */
export function newBreakpointAt(t: BreakpointTarget): NewBreakpoint {
  if (t.type === 'slot') return { type: 'slot', routine_id: t.routine, slot_name: t.port }
  if (t.type === 'event') return { type: 'event', routine_id: t.routine, event_name: t.port }
  return { type: 'routine', routine_id: t.routine }
}

/** Applies a toggle's server answer to the list (the server stays the source; this avoids a flicker). */
export function applyToggle(list: readonly Breakpoint[], action: ToggleAction, created?: Breakpoint): Breakpoint[] {
  if (action.op === 'delete') return list.filter((b) => b.breakpoint_id !== action.breakpointId)
  return created ? [...list.filter((b) => b.breakpoint_id !== created.breakpoint_id), created] : [...list]
}

/** Replaces one breakpoint of the list by the server's answer. */
export function replaceBreakpoint(list: readonly Breakpoint[], bp: Breakpoint): Breakpoint[] {
  return list.map((b) => (b.breakpoint_id === bp.breakpoint_id ? bp : b))
}

/** The popover's fields as strings, as the user edits them. */
export interface BreakpointForm {
  condition: string
  hit_condition: string
  log_message: string
  enabled: boolean
}

export function formOf(bp: Breakpoint): BreakpointForm {
  return {
    condition: bp.condition ?? '',
    hit_condition: bp.hit_condition ?? '',
    log_message: bp.log_message ?? '',
    enabled: bp.enabled,
  }
}

/** The PUT body of a form: blank fields clear (null), text is sent as typed. */
export function patchOf(form: BreakpointForm): BreakpointPatch {
  const orNull = (s: string) => (s.trim() === '' ? null : s)
  return {
    condition: orNull(form.condition),
    hit_condition: orNull(form.hit_condition),
    log_message: orNull(form.log_message),
    enabled: form.enabled,
  }
}

/** One line describing a breakpoint's extras, for the dot's title and lists. */
export function breakpointSummary(bp: Breakpoint): string {
  const parts: string[] = []
  if (!bp.enabled) parts.push('disabled')
  if (bp.condition) parts.push(`if ${bp.condition}`)
  if (bp.hit_condition) parts.push(`hits ${bp.hit_condition}`)
  if (bp.log_message) parts.push(`logs "${bp.log_message}"`)
  if (bp.inherited_from) parts.push(`from flow breakpoint ${bp.inherited_from}`)
  parts.push(`${bp.hit_count} hit${bp.hit_count === 1 ? '' : 's'}`)
  return parts.join(' · ')
}

/** Why the job stopped, in words. */
export function stopReason(p: PausedAt): string {
  const where = [p.routine_id, p.slot_name ? `slot ${p.slot_name}` : '', p.event_name ? `event ${p.event_name}` : '']
    .filter(Boolean)
    .join(', ')
  if (p.type === 'step' || !p.breakpoint_id) return `Step: stopped before ${where}`
  return `Breakpoint ${p.breakpoint_id} (${p.type}) at ${where}`
}

export type Parsed = { ok: true; value: unknown } | { ok: false; error: string }

/** Parses the text of a JSON editor; the error names what is wrong. */
export function parseJsonText(text: string): Parsed {
  if (text.trim() === '') return { ok: false, error: 'empty: enter a JSON value (e.g. null)' }
  try {
    return { ok: true, value: JSON.parse(text) }
  } catch (err) {
    return { ok: false, error: `invalid JSON: ${err instanceof Error ? err.message : String(err)}` }
  }
}

/** The debugger's keys, as IDEs have them. */
export function debugKey(e: { key: string; shiftKey: boolean; ctrlKey?: boolean; altKey?: boolean; metaKey?: boolean }):
  | DebugCommand
  | undefined {
  if (e.ctrlKey || e.altKey || e.metaKey) return undefined
  if (e.key === 'F8' && !e.shiftKey) return 'resume'
  if (e.key === 'F10' && !e.shiftKey) return 'step-over'
  if (e.key === 'F11') return e.shiftKey ? 'step-out' : 'step-into'
  return undefined
}

/** Command history of the evaluate console: ↑ goes back, ↓ forward, past the end is a blank line. */
export class History {
  private items: string[] = []
  private at = 0
  private readonly max: number

  constructor(max = 100) {
    this.max = max
  }

  get entries(): readonly string[] {
    return this.items
  }

  push(line: string): void {
    const s = line.trim()
    if (s !== '' && this.items[this.items.length - 1] !== s) {
      this.items.push(s)
      if (this.items.length > this.max) this.items.shift()
    }
    this.at = this.items.length
  }

  /** The previous entry (stays at the oldest). */
  up(): string | undefined {
    if (this.items.length === 0) return undefined
    this.at = Math.max(0, this.at - 1)
    return this.items[this.at]
  }

  /** The next entry, or '' past the newest. */
  down(): string | undefined {
    if (this.items.length === 0) return undefined
    this.at = Math.min(this.items.length, this.at + 1)
    return this.at === this.items.length ? '' : this.items[this.at]
  }
}

/** What a node shows for its state: a key (colour and icon) and the text shown with them. */
export function nodeStateLabel(status: string | undefined, pausedHere: boolean): { key: string; text: string } {
  if (pausedHere) return { key: 'paused', text: 'paused here' }
  switch (status) {
    case 'running':
      return { key: 'running', text: 'running' }
    case 'completed':
      return { key: 'completed', text: 'completed' }
    case 'failed':
      return { key: 'failed', text: 'failed' }
    case 'skipped':
      return { key: 'skipped', text: 'skipped' }
    case 'cancelled':
      return { key: 'cancelled', text: 'stopped' }
    default:
      return { key: 'pending', text: status && status !== 'pending' ? status : 'pending' }
  }
}
