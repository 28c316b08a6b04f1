import { describe, expect, it } from 'vitest'
import type { Breakpoint, Job } from '../api/api'
import {
  applyToggle,
  breakpointSummary,
  debugKey,
  debugStop,
  formOf,
  History,
  nodeStateLabel,
  parseJsonText,
  patchOf,
  replaceBreakpoint,
  routineBreakpoints,
  stopReason,
  toggleAction,
} from './debugger'

const bp = (over: Partial<Breakpoint> = {}): Breakpoint => ({
  breakpoint_id: 'bp_1',
  type: 'routine',
  routine_id: 'double',
  slot_name: null,
  event_name: null,
  condition: null,
  hit_condition: null,
  log_message: null,
  enabled: true,
  hit_count: 0,
  inherited_from: null,
  ...over,
})

const paused = {
  breakpoint_id: 'bp_1',
  type: 'routine',
  activation_id: 2,
  routine_id: 'double',
  slot_name: 'input',
  event_name: null,
  pause_id: 'pause_2',
}

describe('debugStop', () => {
  it('is the stop of a job paused in the debugger only', () => {
    const job = { job_id: 'j', flow_id: 'f', status: 'paused', pause_reason: 'breakpoint', paused_at: paused } as Job
    expect(debugStop(job)).toBe(paused)
    expect(debugStop({ ...job, pause_reason: 'user' })).toBeUndefined()
    expect(debugStop({ ...job, status: 'running' })).toBeUndefined()
    expect(debugStop({ ...job, paused_at: null })).toBeUndefined()
    expect(debugStop(undefined)).toBeUndefined()
  })
})

describe('breakpoints per routine and toggling', () => {
  it('keeps the first routine breakpoint of each routine, ignoring slot and event ones', () => {
    const list = [
      bp({ breakpoint_id: 'a', type: 'slot', slot_name: 'input' }),
      bp({ breakpoint_id: 'b' }),
      bp({ breakpoint_id: 'c' }),
      bp({ breakpoint_id: 'd', routine_id: 'start' }),
    ]
    const m = routineBreakpoints(list)
    expect(m.get('double')?.breakpoint_id).toBe('b')
    expect(m.get('start')?.breakpoint_id).toBe('d')
    expect(m.size).toBe(2)
  })

  it('creates where there is none and deletes where there is one', () => {
    const list = [bp({ breakpoint_id: 'b' })]
    expect(toggleAction(list, 'start')).toEqual({ op: 'create', routineId: 'start' })
    expect(toggleAction(list, 'double')).toEqual({ op: 'delete', breakpointId: 'b' })
    // A slot breakpoint on the routine is not what the dot toggles.
    expect(toggleAction([bp({ type: 'slot' })], 'double')).toEqual({ op: 'create', routineId: 'double' })
  })

  it('applies the server answers to the list', () => {
    const list = [bp({ breakpoint_id: 'b' })]
    const created = bp({ breakpoint_id: 'n', routine_id: 'start' })
    expect(applyToggle(list, { op: 'create', routineId: 'start' }, created).map((b) => b.breakpoint_id)).toEqual(['b', 'n'])
    // Creating twice (a refetch raced the answer) never duplicates.
    expect(applyToggle([...list, created], { op: 'create', routineId: 'start' }, created)).toHaveLength(2)
    expect(applyToggle(list, { op: 'delete', breakpointId: 'b' })).toEqual([])
    expect(replaceBreakpoint(list, bp({ breakpoint_id: 'b', hit_count: 4 }))[0].hit_count).toBe(4)
  })
})

describe('the edit form', () => {
  it('round-trips a breakpoint and sends blanks as null', () => {
    const form = formOf(bp({ condition: 'data.value > 1', enabled: false }))
    expect(form).toEqual({ condition: 'data.value > 1', hit_condition: '', log_message: '', enabled: false })
    expect(patchOf({ ...form, hit_condition: '>= 2', log_message: '  ' })).toEqual({
      condition: 'data.value > 1',
      hit_condition: '>= 2',
      log_message: null,
      enabled: false,
    })
  })

  it('summarises what a breakpoint does, inherited ones included', () => {
    expect(breakpointSummary(bp())).toBe('0 hits')
    expect(breakpointSummary(bp({ condition: 'x', hit_count: 1, inherited_from: 'bp_f', enabled: false }))).toBe(
      'disabled · if x · from flow breakpoint bp_f · 1 hit',
    )
  })
})

describe('stopReason', () => {
  it('names the breakpoint or the step', () => {
    expect(stopReason(paused)).toBe('Breakpoint bp_1 (routine) at double, slot input')
    expect(stopReason({ ...paused, breakpoint_id: null, type: 'step' })).toBe('Step: stopped before double, slot input')
    expect(stopReason({ ...paused, type: 'event', slot_name: null, event_name: 'output' })).toBe(
      'Breakpoint bp_1 (event) at double, event output',
    )
  })
})

describe('parseJsonText', () => {
  it('accepts any JSON value and explains what is not', () => {
    expect(parseJsonText('{"value": 10}')).toEqual({ ok: true, value: { value: 10 } })
    expect(parseJsonText('null')).toEqual({ ok: true, value: null })
    const bad = parseJsonText('{"value": ')
    expect(bad.ok).toBe(false)
    expect(!bad.ok && bad.error).toMatch(/^invalid JSON/)
    expect(parseJsonText('  ').ok).toBe(false)
  })
})

describe('debugKey', () => {
  it('maps the IDE keys', () => {
    expect(debugKey({ key: 'F8', shiftKey: false })).toBe('resume')
    expect(debugKey({ key: 'F10', shiftKey: false })).toBe('step-over')
    expect(debugKey({ key: 'F11', shiftKey: false })).toBe('step-into')
    expect(debugKey({ key: 'F11', shiftKey: true })).toBe('step-out')
    expect(debugKey({ key: 'F8', shiftKey: false, ctrlKey: true })).toBeUndefined()
    expect(debugKey({ key: 'Enter', shiftKey: false })).toBeUndefined()
  })
})

describe('History', () => {
  it('recalls with up and down, skipping blanks and repeats', () => {
    const h = new History(3)
    expect(h.up()).toBeUndefined()
    h.push('a')
    h.push('b')
    h.push('b')
    h.push(' ')
    expect(h.entries).toEqual(['a', 'b'])
    expect(h.up()).toBe('b')
    expect(h.up()).toBe('a')
    expect(h.up()).toBe('a')
    expect(h.down()).toBe('b')
    expect(h.down()).toBe('')
    h.push('c')
    h.push('d')
    expect(h.entries).toEqual(['b', 'c', 'd'])
    expect(h.up()).toBe('d')
  })
})

describe('nodeStateLabel', () => {
  it('always has text beside the colour', () => {
    expect(nodeStateLabel('running', false)).toEqual({ key: 'running', text: 'running' })
    expect(nodeStateLabel('running', true)).toEqual({ key: 'paused', text: 'paused here' })
    expect(nodeStateLabel(undefined, false)).toEqual({ key: 'pending', text: 'pending' })
    expect(nodeStateLabel('skipped', false).text).toBe('skipped')
    expect(nodeStateLabel('weird', false)).toEqual({ key: 'pending', text: 'weird' })
  })
})
