// The job page's state: a REST snapshot of the job and its logs, with the
// messages of `/api/ws/executions/{id}` (seed 000, docs/streams.md) applied on
// top. Pure: the page hook feeds it and re-renders.

import type { Job, JobStatus, LogEntry, RoutineState } from '../api/api'
import type { LiveMessage } from './live'
import { after, comparePos, posOf, type Pos } from './position'
import { isFinished } from '../jobs/status'

const LEVEL_RANK: Record<string, number> = { debug: 0, info: 1, warning: 2, error: 3 }

/** Rank of a log level (unknown levels rank as info). */
export function levelRank(level: string | undefined): number {
  return LEVEL_RANK[level ?? ''] ?? 1
}

/** Seed 000 times are Unix seconds as strings ("1704067200.123"); the UI shows ISO times. */
export function unixToIso(ts: unknown): string | undefined {
  if (ts === null || ts === undefined || ts === '') return undefined
  const n = typeof ts === 'number' ? ts : typeof ts === 'string' ? Number(ts) : Number.NaN
  if (!Number.isFinite(n)) return typeof ts === 'string' ? ts : undefined
  const d = new Date(n * 1000)
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString()
}

function unixSeconds(ts: unknown): number | undefined {
  const n = typeof ts === 'number' ? ts : typeof ts === 'string' && ts !== '' ? Number(ts) : Number.NaN
  return Number.isFinite(n) ? n : undefined
}

function obj(v: unknown): Record<string, unknown> | undefined {
  return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined
}

/** The job's status named by a seed 000 `status` message (paused and cancelled travel in data.state). */
export function statusOf(msg: LiveMessage): JobStatus | undefined {
  const state = obj(msg.data)?.state
  if (state === 'paused') return 'paused'
  if (state === 'cancelled') return 'cancelled'
  const s = msg.status
  if (s === 'pending' || s === 'running' || s === 'completed' || s === 'failed') return s
  return undefined
}

/** What a message changed, for the page to decide what to refetch. */
export interface Applied {
  /** The job's state changed. */
  changed: boolean
  /** The job's status changed (the server also writes a log line for such transitions). */
  lifecycle: boolean
  /** A routine failed (its failure is logged by the server too). */
  routineFailed: boolean
}

const NOTHING: Applied = { changed: false, lifecycle: false, routineFailed: false }

const later = (a: Pos, b: Pos): Pos => (comparePos(a, b) >= 0 ? a : b)

export class JobLive {
  job: Job | undefined
  /** What the current snapshot reflects: every message of its events (`job.events`). */
  private snapPos: Pos = after(0)
  /** The position of the last message applied from the stream (or a snapshot past it). */
  private appliedPos: Pos = after(0)

  /** The seq the state reflects (for the socket's `since`). */
  get seq(): number {
    return Math.max(this.snapPos.seq, this.appliedPos.seq)
  }

  /** The position the state reflects: messages at or before it are already in `job`. */
  get pos(): Pos {
    return later(this.snapPos, this.appliedPos)
  }

  /**
   * Takes a REST answer (GET or an action's answer) unless it is older than
   * what the stream already applied. A finished job's record is final and
   * always wins. Answers whether it was taken.
   */
  snapshot(job: Job): boolean {
    const events = typeof job.events === 'number' && Number.isFinite(job.events) ? job.events : undefined
    const newer = this.job === undefined || events === undefined || events >= this.appliedPos.seq
    if (!newer && !isFinished(job.status)) {
      // Older than the stream, but a pause request it reports is news (the stream has no message for it).
      if (job.pause_requested && job.job_id === this.job?.job_id) this.pauseRequested()
      return false
    }
    // Keep the routine states when an answer comes without them (lists, some actions).
    const keep = job.routine_states === undefined && this.job?.job_id === job.job_id ? this.job.routine_states : undefined
    this.job = keep ? { ...job, routine_states: keep } : job
    if (events !== undefined) {
      this.snapPos = later(this.snapPos, after(events))
      this.appliedPos = later(this.appliedPos, after(events))
    } else {
      this.snapPos = later(this.snapPos, this.appliedPos)
    }
    return true
  }

  /**
   * Applies one message of the executions stream, once: a message at or
   * before the position the state reflects (the snapshot's, or the last one
   * applied) changes nothing, so a repeated node_update never counts an
   * activation twice.
   */
  apply(msg: LiveMessage): Applied {
    const pos = posOf(msg)
    const j0 = this.job
    if (!j0 || pos === undefined) return NOTHING
    if (comparePos(pos, this.pos) <= 0) return NOTHING // the snapshot has it, or it was applied
    this.appliedPos = pos
    const seq = pos.seq
    // The last seq the state reflects (the time scrubber's end) moves with every event.
    const advanced = (j0.events ?? 0) < seq
    const j: Job = advanced ? { ...j0, events: seq } : j0
    this.job = j
    const r = this.applyTo(j, msg)
    return advanced && !r.changed ? { ...r, changed: true } : r
  }

  /**
   * Applies a batch of messages (those of one animation frame) and answers
   * what they changed together.
   */
  applyAll(msgs: readonly LiveMessage[]): Applied {
    let changed = false
    let lifecycle = false
    let routineFailed = false
    for (const m of msgs) {
      const r = this.apply(m)
      changed ||= r.changed
      lifecycle ||= r.lifecycle
      routineFailed ||= r.routineFailed
    }
    return { changed, lifecycle, routineFailed }
  }

  /**
   * Shows a pause request at once (the Pause button, or the action's answer
   * when the stream is already past the seq it reflects).
   */
  pauseRequested(): void {
    const j = this.job
    if (j && (j.status === 'running' || j.status === 'pending') && !j.pause_requested) this.job = { ...j, pause_requested: true }
  }

  private applyTo(j: Job, msg: LiveMessage): Applied {
    const at = unixSeconds(msg.timestamp)
    const started = j.started_at ? Date.parse(j.started_at) / 1000 : Number.NaN
    const elapsed = at !== undefined && Number.isFinite(started) ? Math.max(0, at - started) : undefined

    switch (msg.type) {
      case 'status': {
        const status = statusOf(msg)
        if (!status) return NOTHING
        const data = obj(msg.data) ?? {}
        const next: Job = { ...j, status }
        // Paused or resumed: a pending request is settled; a finished job has none.
        const state = data.state
        if (state === 'paused' || state === 'running' || isFinished(status)) next.pause_requested = false
        // Where the debugger stopped is only known from REST (the page refetches on lifecycle changes).
        if (status !== 'paused') {
          next.paused_at = null
          next.pause_reason = null
        }
        if (typeof data.progress === 'number') next.progress = data.progress
        if (typeof data.current_node === 'string') next.current_node = data.current_node
        if (status === 'completed') next.progress = 1
        if (isFinished(status)) {
          next.completed_at = unixToIso(msg.timestamp) ?? next.completed_at
          if (elapsed !== undefined) next.duration = elapsed
        } else if (elapsed !== undefined) {
          next.duration = elapsed
        }
        this.job = next
        return { changed: true, lifecycle: status !== j.status, routineFailed: false }
      }
      case 'node_update': {
        const rid = typeof msg.node_id === 'string' ? msg.node_id : undefined
        const ns = obj(msg.node_state)
        if (!rid || !ns) return NOTHING
        const prev: RoutineState = j.routine_states?.[rid] ?? { status: 'pending' }
        const st: RoutineState = { ...prev }
        if (typeof ns.status === 'string') st.status = ns.status
        const startedAt = unixToIso(ns.started_at)
        const completedAt = unixToIso(ns.completed_at)
        if (st.status === 'running') {
          st.activations = (prev.activations ?? 0) + 1
          if (startedAt) st.started_at = startedAt
        } else {
          if (startedAt) st.started_at = startedAt
          if (completedAt) st.completed_at = completedAt
          // The stream's output is what the routine last emitted; a routine
          // that emits nothing (e.g. `output`) reports null: keep what REST said.
          if (st.status === 'completed' && ns.output !== undefined && ns.output !== null) st.output = ns.output
          if (st.status === 'completed') st.error = null
          else if (ns.error !== undefined && ns.error !== null) st.error = ns.error
          // What the activation emitted, as counted by the stream from its since on: added to REST's counts.
          const emitted = obj(ns.emitted)
          if (emitted) {
            const sum = { ...(prev.emitted ?? {}) }
            for (const [event, n] of Object.entries(emitted)) if (typeof n === 'number') sum[event] = (sum[event] ?? 0) + n
            st.emitted = sum
          }
        }
        const states = { ...(j.routine_states ?? {}), [rid]: st }
        let completed = 0
        let failed = 0
        for (const s of Object.values(states)) {
          if (s.status === 'completed') completed++
          else if (s.status === 'failed') failed++
        }
        const next: Job = { ...j, routine_states: states, nodes_completed: completed, nodes_failed: failed }
        if (st.status === 'running') next.current_node = rid
        this.job = next
        return { changed: true, lifecycle: false, routineFailed: st.status === 'failed' }
      }
      case 'completion': {
        const r = obj(msg.result) ?? {}
        const next: Job = { ...j, status: 'completed', progress: 1 }
        if ('output' in r) next.result = r.output
        if (typeof r.nodes_completed === 'number') next.nodes_completed = r.nodes_completed
        if (typeof r.nodes_failed === 'number') next.nodes_failed = r.nodes_failed
        if (typeof r.duration === 'number') next.duration = r.duration
        next.completed_at = next.completed_at ?? unixToIso(msg.timestamp)
        this.job = next
        return { changed: true, lifecycle: j.status !== 'completed', routineFailed: false }
      }
      case 'error': {
        if (typeof msg.error !== 'string') return NOTHING
        const status: JobStatus = isFinished(j.status) ? j.status : 'failed'
        this.job = { ...j, status, error: msg.error }
        return { changed: true, lifecycle: status !== j.status, routineFailed: false }
      }
      default:
        return NOTHING
    }
  }
}

/** The log line a seed 000 `log` message carries, if any. */
export function logEntryOf(msg: LiveMessage): LogEntry | undefined {
  const seq = typeof msg.seq === 'number' ? msg.seq : undefined
  const l = obj(msg.log)
  if (msg.type !== 'log' || seq === undefined || !l) return undefined
  return {
    seq,
    time: unixToIso(l.timestamp) ?? unixToIso(msg.timestamp),
    level: typeof l.level === 'string' ? l.level : 'info',
    routine_id: typeof l.node_id === 'string' ? l.node_id : undefined,
    message: typeof l.message === 'string' ? l.message : String(l.message ?? ''),
  }
}
