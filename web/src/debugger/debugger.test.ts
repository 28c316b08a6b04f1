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
  breakpointsByTarget,
  newBreakpointAt,
  replaceBreakpoint,
  stopReason,
  targetKey,
  targetOf,
  toggleAction,
  type BreakpointTarget,
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

describe('breakpoints by target and toggling', () => {
  const routine = (r: string): BreakpointTarget => ({ routine: r, type: 'routine', port: '' })
  const slot = (r: string, p: string): BreakpointTarget => ({ routine: r, type: 'slot', port: p })
  const event = (r: string, p: string): BreakpointTarget => ({ routine: r, type: 'event', port: p })

  it('keys each breakpoint by routine, slot or event, keeping the first of each target', () => {
    const list = [
      bp({ breakpoint_id: 'a', type: 'slot', slot_name: 'input' }),
      bp({ breakpoint_id: 'b' }),
      bp({ breakpoint_id: 'c' }),
      bp({ breakpoint_id: 'd', routine_id: 'start' }),
      bp({ breakpoint_id: 'e', type: 'event', event_name: 'output' }),
    ]
    const m = breakpointsByTarget(list)
    expect(m.get(targetKey(routine('double')))?.breakpoint_id).toBe('b')
    expect(m.get(targetKey(routine('start')))?.breakpoint_id).toBe('d')
    expect(m.get(targetKey(slot('double', 'input')))?.breakpoint_id).toBe('a')
    expect(m.get(targetKey(event('double', 'output')))?.breakpoint_id).toBe('e')
    expect(m.get(targetKey(event('double', 'input')))).toBeUndefined()
    expect(m.size).toBe(4)
    // A routine's key is its id, so a page finds a routine's breakpoint by the routine alone.
    expect(targetKey(routine('double'))).toBe('double')
    expect(targetOf(list[0])).toEqual(slot('double', 'input'))
  })

  it('creates where there is none and deletes where there is one, per target', () => {
    const list = [bp({ breakpoint_id: 'b' }), bp({ breakpoint_id: 's', type: 'slot', slot_name: 'input' })]
    expect(toggleAction(list, routine('start'))).toEqual({ op: 'create', target: routine('start') })
    expect(toggleAction(list, routine('double'))).toEqual({ op: 'delete', breakpointId: 'b' })
    expect(toggleAction(list, slot('double', 'input'))).toEqual({ op: 'delete', breakpointId: 's' })
    // A slot breakpoint is not what the routine's dot or another port's dot toggles.
    expect(toggleAction([bp({ type: 'slot', slot_name: 'input' })], routine('double'))).toEqual({ op: 'create', target: routine('double') })
    expect(toggleAction(list, event('double', 'output'))).toEqual({ op: 'create', target: event('double', 'output') })
  })

  it('asks the server for the right kind of breakpoint', () => {
    expect(newBreakpointAt(routine('a'))).toEqual({ type: 'routine', routine_id: 'a' })
    expect(newBreakpointAt(slot('a', 'in'))).toEqual({ type: 'slot', routine_id: 'a', slot_name: 'in' })
    expect(newBreakpointAt(event('a', 'out'))).toEqual({ type: 'event', routine_id: 'a', event_name: 'out' })
  })

  it('applies the server answers to the list', () => {
    const list = [bp({ breakpoint_id: 'b' })]
    const created = bp({ breakpoint_id: 'n', routine_id: 'start' })
    expect(applyToggle(list, { op: 'create', target: routine('start') }, created).map((b) => b.breakpoint_id)).toEqual(['b', 'n'])
    // Creating twice (a refetch raced the answer) never duplicates.
    expect(applyToggle([...list, created], { op: 'create', target: routine('start') }, created)).toHaveLength(2)
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
    // A routine stopped by its job's end.
    expect(nodeStateLabel('cancelled', false)).toEqual({ key: 'cancelled', text: 'stopped' })
    expect(nodeStateLabel('weird', false)).toEqual({ key: 'pending', text: 'weird' })
  })
})
