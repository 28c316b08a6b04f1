import { describe, expect, it } from 'vitest'
import type { Job } from '../api/api'
import { JobLive, logEntryOf, statusOf, unixToIso } from './jobLive'

const T0 = 1704067200 // 2024-01-01T00:00:00Z

function job(over: Partial<Job> = {}): Job {
  return {
    job_id: 'job_1',
    flow_id: 'f',
    status: 'running',
    progress: 0,
    started_at: new Date(T0 * 1000).toISOString(),
    events: 2,
    routine_states: {
      start: { status: 'completed', output: { value: 1 }, activations: 1 },
      wait: { status: 'pending' },
      done: { status: 'pending' },
    },
    ...over,
  }
}

const ts = (s: number) => String(s)
/** A message of event `seq`, its `part`-th (as the server numbers them in `pos`). */
const msg = (seq: number, type: string, rest: Record<string, unknown> = {}, part = 1) => ({
  type,
  execution_id: 'job_1',
  timestamp: ts(T0 + seq),
  seq,
  pos: `${seq}.${part}`,
  ...rest,
})


describe('helpers', () => {
  it('reads Unix-seconds timestamps', () => {
    expect(unixToIso('1704067200.5')).toBe('2024-01-01T00:00:00.500Z')
    expect(unixToIso(null)).toBeUndefined()
    expect(unixToIso('2024-01-01T00:00:00Z')).toBe('2024-01-01T00:00:00Z')
  })

  it('maps seed 000 statuses back to job statuses', () => {
    expect(statusOf(msg(1, 'status', { status: 'running', data: { state: 'paused' } }))).toBe('paused')
    expect(statusOf(msg(1, 'status', { status: 'running', data: { state: 'running' } }))).toBe('running')
    expect(statusOf(msg(1, 'status', { status: 'failed', data: { state: 'cancelled' } }))).toBe('cancelled')
    expect(statusOf(msg(1, 'status', { status: 'completed', data: { progress: 1 } }))).toBe('completed')
    expect(statusOf(msg(1, 'status', { status: 'weird' }))).toBeUndefined()
  })
})

describe('JobLive', () => {
  it('applies a run on top of the REST snapshot', () => {
    const m = new JobLive()
    m.snapshot(job())
    m.apply(msg(3, 'node_update', { node_id: 'wait', node_state: { status: 'running', started_at: ts(T0 + 3) } }))
    expect(m.job?.current_node).toBe('wait')
    expect(m.job?.routine_states?.wait).toMatchObject({ status: 'running', activations: 1 })
    m.apply(msg(4, 'node_update', { node_id: 'wait', node_state: { status: 'completed', output: { value: 2 }, completed_at: ts(T0 + 4) } }))
    const r = m.apply(msg(4, 'status', { status: 'running', data: { progress: 2 / 3, current_node: 'wait' } }, 2))
    expect(r).toEqual({ changed: true, lifecycle: false, routineFailed: false })
    expect(m.job?.progress).toBeCloseTo(2 / 3)
    expect(m.job?.nodes_completed).toBe(2)
    expect(m.job?.routine_states?.wait.output).toEqual({ value: 2 })
    expect(m.job?.routine_states?.wait.completed_at).toBe(new Date((T0 + 4) * 1000).toISOString())

    const end = m.apply(msg(5, 'status', { status: 'completed', data: { progress: 1, current_node: 'done' } }))
    expect(end.lifecycle).toBe(true)
    m.apply(
      msg(
        5,
        'completion',
        { result: { status: 'completed', output: { value: 42 }, nodes_completed: 3, nodes_failed: 0, duration: 5.5 } },
        2,
      ),
    )
    expect(m.job).toMatchObject({ status: 'completed', progress: 1, result: { value: 42 }, nodes_completed: 3, duration: 5.5 })
    expect(m.job?.completed_at).toBe(new Date((T0 + 5) * 1000).toISOString())
    expect(m.seq).toBe(5)
  })

  it('adds the emits an ending update reports to the counts REST gave', () => {
    const m = new JobLive()
    m.snapshot(job({ routine_states: { split: { status: 'running', emitted: { item: 2 } } } }))
    m.apply(msg(3, 'node_update', { node_id: 'split', node_state: { status: 'completed', emitted: { item: 3, done: 1 } } }))
    expect(m.job?.routine_states?.split.emitted).toEqual({ item: 5, done: 1 })
    // A running update or one without emits leaves the counts alone.
    m.apply(msg(4, 'node_update', { node_id: 'split', node_state: { status: 'running' } }))
    m.apply(msg(5, 'node_update', { node_id: 'split', node_state: { status: 'completed' } }))
    expect(m.job?.routine_states?.split.emitted).toEqual({ item: 5, done: 1 })
  })

  it('keeps a routine output when the stream reports none (it emitted nothing)', () => {
    const m = new JobLive()
    m.snapshot(job({ routine_states: { done: { status: 'running', output: { value: 3 } } } }))
    m.apply(msg(3, 'node_update', { node_id: 'done', node_state: { status: 'completed', output: null, error: null } }))
    expect(m.job?.routine_states?.done).toMatchObject({ status: 'completed', output: { value: 3 }, error: null })
  })

  it('skips messages the snapshot already reflects', () => {
    const m = new JobLive()
    m.snapshot(job({ events: 6, status: 'paused' }))
    expect(m.apply(msg(5, 'status', { status: 'running', data: { state: 'running' } })).changed).toBe(false)
    expect(m.job?.status).toBe('paused')
    m.apply(msg(7, 'status', { status: 'running', data: { state: 'running' } }))
    expect(m.job?.status).toBe('running')
  })

  it('forgets where the debugger stopped once the stream says the job runs on, and asks for a refetch', () => {
    const m = new JobLive()
    const pausedAt = {
      breakpoint_id: null,
      type: 'step',
      activation_id: 1,
      routine_id: 'start',
      slot_name: 'trigger',
      event_name: null,
      pause_id: 'pause_1',
    }
    m.snapshot(job({ events: 3, status: 'paused', pause_reason: 'breakpoint', paused_at: pausedAt }))
    const resumed = m.apply(msg(5, 'status', { status: 'running', data: { state: 'running' } }))
    expect(resumed.lifecycle).toBe(true)
    expect(m.job?.paused_at).toBeNull()
    expect(m.job?.pause_reason).toBeNull()
    // Paused again: the stream does not say where, so the page refetches (lifecycle).
    const again = m.apply(msg(10, 'status', { status: 'running', data: { state: 'paused' } }))
    expect(again.lifecycle).toBe(true)
    expect(m.job?.status).toBe('paused')
    expect(m.job?.paused_at).toBeNull()
    expect(m.snapshot(job({ events: 10, status: 'paused', pause_reason: 'breakpoint', paused_at: { ...pausedAt, pause_id: 'pause_2' } }))).toBe(true)
    expect(m.job?.paused_at?.pause_id).toBe('pause_2')
  })

  it('refuses a snapshot older than what the stream applied, unless it is final', () => {
    const m = new JobLive()
    m.snapshot(job({ events: 2 }))
    m.apply(msg(3, 'status', { status: 'running', data: { state: 'paused' } }))
    expect(m.snapshot(job({ events: 2, status: 'running' }))).toBe(false)
    expect(m.job?.status).toBe('paused')
    expect(m.snapshot(job({ events: 3, status: 'paused', progress: 0.5 }))).toBe(true)
    expect(m.job?.progress).toBe(0.5)
    // A finished job's record is final, whatever its events say.
    expect(m.snapshot(job({ events: 1, status: 'failed', error: 'interrupted' }))).toBe(true)
    expect(m.job?.status).toBe('failed')
  })

  it('keeps the routine states when an answer has none', () => {
    const m = new JobLive()
    m.snapshot(job())
    const { routine_states: _unused, ...bare } = job({ events: 3, status: 'paused' })
    void _unused
    m.snapshot(bare)
    expect(m.job?.status).toBe('paused')
    expect(m.job?.routine_states?.start.status).toBe('completed')
  })

  it('ends a failed or cancelled job with its error', () => {
    const m = new JobLive()
    m.snapshot(job())
    m.apply(msg(3, 'node_update', { node_id: 'wait', node_state: { status: 'failed', error: 'boom' } }))
    expect(m.job?.nodes_failed).toBe(1)
    expect(m.job?.routine_states?.wait.error).toBe('boom')
    m.apply(msg(5, 'status', { status: 'failed', data: { progress: 1 / 3 } }))
    m.apply(msg(5, 'error', { error: 'routine "wait" failed: boom' }, 2))
    expect(m.job).toMatchObject({ status: 'failed', error: 'routine "wait" failed: boom' })

    const c = new JobLive()
    c.snapshot(job())
    c.apply(msg(3, 'status', { status: 'failed', data: { state: 'cancelled' } }))
    c.apply(msg(3, 'error', { error: 'Job cancelled' }, 2))
    expect(c.job?.status).toBe('cancelled')
  })

  it('reads log lines off the stream, and counts every event in `events`', () => {
    const m = new JobLive()
    m.snapshot(job())
    const l = msg(3, 'log', { log: { level: 'warning', message: 'careful', node_id: 'r', timestamp: ts(T0 + 3) } })
    expect(logEntryOf(l)).toMatchObject({ seq: 3, level: 'warning', message: 'careful', routine_id: 'r' })
    expect(logEntryOf(msg(4, 'status', { status: 'running' }))).toBeUndefined()
    expect(m.apply(l).changed).toBe(true)
    expect(m.job?.events).toBe(3)
  })

  it('applies a batch at once and shows a pause request until the job pauses', () => {
    const m = new JobLive()
    m.snapshot(job())
    const r = m.applyAll([
      msg(3, 'node_update', { node_id: 'wait', node_state: { status: 'running', started_at: ts(T0 + 3) } }),
      msg(4, 'log', { log: { level: 'info', message: 'x', timestamp: ts(T0 + 4) } }),
    ])
    expect(r.changed).toBe(true)
    expect(m.job?.events).toBe(4)
    expect(m.job?.routine_states?.wait.status).toBe('running')
    // The action's answer is older than the stream: its pause request still shows.
    expect(m.snapshot(job({ events: 2, pause_requested: true }))).toBe(false)
    expect(m.job?.pause_requested).toBe(true)
    m.apply(msg(5, 'status', { status: 'running', data: { state: 'paused' } }))
    expect(m.job).toMatchObject({ status: 'paused', pause_requested: false })
  })
})

describe('JobLive and positions', () => {
  it('applies each message once: a repeated one (a resume that overlaps) changes nothing', () => {
    const m = new JobLive()
    m.snapshot(job())
    const started = msg(3, 'node_update', { node_id: 'wait', node_state: { status: 'running' } })
    expect(m.apply(started).changed).toBe(true)
    expect(m.apply(started)).toEqual({ changed: false, lifecycle: false, routineFailed: false })
    expect(m.job?.routine_states?.wait.activations).toBe(1)
    expect(m.pos).toEqual({ seq: 3, part: 1 })
  })

  it('takes the second message of an event cut between the two, and nothing the snapshot reflects', () => {
    const m = new JobLive()
    m.snapshot(job({ events: 3 }))
    m.apply(msg(4, 'node_update', { node_id: 'wait', node_state: { status: 'completed', output: { v: 1 } } }))
    // The connection drops; the resumed one starts at 4.2.
    expect(m.apply(msg(4, 'status', { status: 'running', data: { progress: 0.5, current_node: 'wait' } }, 2)).changed).toBe(true)
    expect(m.job?.progress).toBe(0.5)
    expect(m.pos).toEqual({ seq: 4, part: 2 })
    // A snapshot reflecting event 5 in full: the stream's messages of 5 are old news.
    expect(m.snapshot(job({ events: 5, progress: 0.75 }))).toBe(true)
    expect(m.apply(msg(5, 'status', { status: 'running', data: { progress: 0.1 } }, 2)).changed).toBe(false)
    expect(m.job?.progress).toBe(0.75)
    expect(m.seq).toBe(5)
  })

  it('ignores messages without a position', () => {
    const m = new JobLive()
    m.snapshot(job())
    expect(m.apply({ type: 'status', seq: 9, status: 'failed' }).changed).toBe(false)
    expect(m.job?.status).toBe('running')
  })
})
