// REST client for the Switchyard API (docs/api.md). Every HTTP call of the UI
// goes through here; the WebSocket streams are in live.ts.

export type JobStatus = 'pending' | 'running' | 'paused' | 'completed' | 'failed' | 'cancelled'

export const JOB_STATUSES: readonly JobStatus[] = [
  'pending',
  'running',
  'paused',
  'completed',
  'failed',
  'cancelled',
]

export interface RoutineSpec {
  kind: string
  config?: Record<string, unknown>
  error_policy?: Record<string, unknown>
  [key: string]: unknown
}

export interface Connection {
  from: string
  to: string
  param_mapping?: Record<string, string>
}

export interface FlowSummary {
  flow_id: string
  name?: string
  description?: string
  version: number
  routine_count?: number
  created_at?: string
  updated_at?: string
}

export interface Flow extends FlowSummary {
  routines: Record<string, RoutineSpec>
  connections: Connection[]
  execution?: Record<string, unknown>
}

export interface RoutineState {
  status: string
  output?: unknown
  error?: unknown
  started_at?: string | null
  completed_at?: string | null
  activations?: number
  /** Emits so far by event name. */
  emitted?: Record<string, number>
}

export interface Job {
  job_id: string
  flow_id: string
  flow_version?: number
  status: JobStatus
  entry_routine_id?: string
  params?: unknown
  result?: unknown
  error?: string | null
  created_at?: string | null
  started_at?: string | null
  completed_at?: string | null
  progress?: number
  current_node?: string | null
  nodes_completed?: number
  nodes_failed?: number
  duration?: number | null
  /** Seq of the job's latest event that this state reflects (a stream resumes after it). */
  events?: number
  pause_requested?: boolean
  routine_states?: Record<string, RoutineState>
  /** "breakpoint" when the job is stopped in the debugger. */
  pause_reason?: string | null
  paused_at?: PausedAt | null
}

/** Where a job stopped in the debugger (docs/debugger.md). */
export interface PausedAt {
  breakpoint_id: string | null
  type: 'routine' | 'slot' | 'event' | 'step' | string
  activation_id: number
  routine_id: string
  slot_name?: string | null
  event_name?: string | null
  pause_id: string
}

export type BreakpointType = 'routine' | 'slot' | 'event'

export interface Breakpoint {
  breakpoint_id: string
  type: BreakpointType | string
  routine_id: string
  slot_name?: string | null
  event_name?: string | null
  condition?: string | null
  hit_condition?: string | null
  log_message?: string | null
  enabled: boolean
  hit_count: number
  inherited_from?: string | null
}

export interface BreakpointList {
  breakpoints: Breakpoint[]
  total: number
}

export interface NewBreakpoint {
  type: BreakpointType
  routine_id: string
  slot_name?: string
  event_name?: string
  condition?: string | null
  hit_condition?: string | null
  log_message?: string | null
  enabled?: boolean
}

export type BreakpointPatch = Partial<Pick<Breakpoint, 'condition' | 'hit_condition' | 'log_message' | 'enabled'>>

/** Whose breakpoints: a job's or a flow's. */
export type BreakpointScope = 'jobs' | 'flows'

export interface ExpressionCheck {
  ok: boolean
  error?: string | null
}

export interface CallFrame {
  frame_index: number
  activation_id: number
  routine_id: string
  slot_name?: string | null
  event_name?: string | null
  data?: unknown
}

export interface CallStack {
  call_stack: CallFrame[]
}

export interface Variables {
  frame_index: number
  data: unknown
  routine?: { id: string; kind: string; config?: unknown; state?: unknown }
  shared?: unknown
  job?: { id: string; flow_id: string; params?: unknown }
}

export interface EvalResult {
  result: unknown
  type: string
  error?: string | null
}

export type DebugCommand = 'resume' | 'step-over' | 'step-into' | 'step-out'

export interface LogEntry {
  seq: number
  /** docs/api.md names it `time`; `timestamp` is accepted too. */
  time?: string
  timestamp?: string
  level: string
  routine_id?: string
  message: string
}

export interface Page {
  total: number
  limit: number
  offset: number
}

export interface FlowList extends Page {
  flows: FlowSummary[]
}

export interface JobList extends Page {
  jobs: Job[]
}

export interface LogList extends Page {
  logs: LogEntry[]
}

/** One run of a routine (GET /api/jobs/{id}/activations), rebuilt from the job's log. */
export interface Activation {
  activation_id: number
  routine_id: string
  slot: string
  status: string
  parent_id: number | null
  input: unknown
  emitted: { event: string; data: unknown; seq: number; targets: number }[]
  error: string | null
  error_type: string | null
  attempts: number
  duration: number | null
  started_at: string
  completed_at: string | null
}

export interface ActivationList extends Page {
  activations: Activation[]
}

export interface JobQuery {
  flow_id?: string
  status?: string
  /** RFC 3339: jobs created at or after. */
  created_after?: string
  /** RFC 3339: jobs created before. */
  created_before?: string
  limit?: number
  offset?: number
}

export interface LogQuery {
  level?: string
  routine_id?: string
  q?: string
  limit?: number
  offset?: number
}

export interface StartJobRequest {
  flow_id: string
  entry_routine_id?: string
  params?: unknown
  stop_on_entry?: boolean
}

export type JobAction = 'pause' | 'resume' | 'cancel'

export interface ValidationIssue {
  code: string
  message: string
  routine_id?: string
  connection?: number
}

export interface Validation {
  valid: boolean
  errors: ValidationIssue[]
  warnings: ValidationIssue[]
}

export interface RoutineConfigField {
  name: string
  type: string
  required?: boolean
  default?: unknown
  description?: string
}

export interface RoutineKind {
  kind: string
  description?: string
  slots?: string[]
  events?: string[]
  config?: RoutineConfigField[]
}

/** An error answered by the server (or a failure to reach it). */
export class ApiError extends Error {
  readonly status: number
  readonly code: string
  readonly details?: unknown

  constructor(status: number, code: string, message: string, details?: unknown) {
    super(message)
    this.name = 'ApiError'
    this.status = status
    this.code = code
    this.details = details
  }
}

const FALLBACK_CODES: Record<number, string> = {
  400: 'BAD_REQUEST',
  404: 'NOT_FOUND',
  409: 'CONFLICT',
  413: 'PAYLOAD_TOO_LARGE',
  422: 'UNPROCESSABLE',
}

/**
 * Turns a non-2xx answer into an ApiError. The server's shape is
 * {"error":{"code","message","details"?}}; anything else (a proxy's HTML page,
 * plain text, an empty body) still yields a readable message.
 */
export function parseErrorBody(status: number, statusText: string, body: string): ApiError {
  const fallbackCode = FALLBACK_CODES[status] ?? (status >= 500 ? 'SERVER_ERROR' : 'HTTP_ERROR')
  const fallbackMessage = `HTTP ${status}${statusText ? ' ' + statusText : ''}`
  const text = body.trim()
  if (text) {
    let parsed: unknown
    try {
      parsed = JSON.parse(text)
    } catch {
      parsed = undefined
    }
    if (parsed && typeof parsed === 'object') {
      const envelope = (parsed as { error?: unknown }).error
      if (envelope && typeof envelope === 'object') {
        const e = envelope as { code?: unknown; message?: unknown; details?: unknown }
        const code = typeof e.code === 'string' && e.code ? e.code : fallbackCode
        const message = typeof e.message === 'string' && e.message ? e.message : fallbackMessage
        return new ApiError(status, code, message, e.details)
      }
      if (typeof envelope === 'string' && envelope) {
        return new ApiError(status, fallbackCode, envelope)
      }
      const msg = (parsed as { message?: unknown }).message
      if (typeof msg === 'string' && msg) {
        return new ApiError(status, fallbackCode, msg)
      }
    }
    // Plain text is shown as is unless it is an HTML page.
    if (parsed === undefined && !text.startsWith('<') && text.length <= 500) {
      return new ApiError(status, fallbackCode, text)
    }
  }
  return new ApiError(status, fallbackCode, fallbackMessage)
}

/** What the UI says when the API asks for a token (401). */
export const TOKEN_NEEDED =
  'This server needs a token: open the URL printed at its start, or add ?token=… to the address'

/** Human-readable text of anything thrown by the client or a component. */
export function errorMessage(err: unknown): string {
  if (err instanceof ApiError) return err.status === 401 ? TOKEN_NEEDED : err.message
  if (err instanceof Error) return err.message
  return String(err)
}

export function buildQuery(params: Record<string, string | number | undefined | null>): string {
  const q = new URLSearchParams()
  for (const [key, value] of Object.entries(params)) {
    if (value === undefined || value === null || value === '') continue
    q.set(key, String(value))
  }
  const s = q.toString()
  return s ? `?${s}` : ''
}

export type FetchLike = (input: string, init?: RequestInit) => Promise<Response>

export interface Api {
  listFlows(q?: { limit?: number; offset?: number }): Promise<FlowList>
  getFlow(id: string): Promise<Flow>
  getFlowDsl(id: string, format?: 'yaml' | 'json'): Promise<string>
  listJobs(q?: JobQuery): Promise<JobList>
  getJob(id: string): Promise<Job>
  startJob(req: StartJobRequest): Promise<Job>
  jobAction(id: string, action: JobAction): Promise<Job>
  getJobLogs(id: string, q?: LogQuery, signal?: AbortSignal): Promise<LogList>
  /** Events after seq `since` (docs/api.md). */
  getJobEvents(id: string, since: number, limit: number, signal?: AbortSignal): Promise<{ events: Array<{ seq: number; type: string; [k: string]: unknown }>; next_since: number; has_more: boolean }>
  /** The job right after event `at` (docs/post-mortem.md). */
  getJobState(id: string, at: number, signal?: AbortSignal): Promise<Job & { at?: number }>
  listActivations(id: string, q: { routine_id?: string; limit?: number; offset?: number }, signal?: AbortSignal): Promise<ActivationList>
  /** A flow at one version (the one a job runs). */
  getFlowVersion(id: string, version?: number): Promise<Flow>
  listBreakpoints(scope: BreakpointScope, id: string): Promise<BreakpointList>
  createBreakpoint(scope: BreakpointScope, id: string, bp: NewBreakpoint): Promise<Breakpoint>
  updateBreakpoint(scope: BreakpointScope, id: string, bpId: string, patch: BreakpointPatch): Promise<Breakpoint>
  deleteBreakpoint(scope: BreakpointScope, id: string, bpId: string): Promise<void>
  checkExpression(expression: string, as: 'condition' | 'expression' | 'template'): Promise<ExpressionCheck>
  callStack(id: string): Promise<CallStack>
  variables(id: string, frameIndex: number): Promise<Variables>
  setVariable(id: string, name: string, value: unknown, pauseId?: string): Promise<Variables>
  evaluate(id: string, expression: string, frameIndex: number): Promise<EvalResult>
  debugCommand(id: string, command: DebugCommand, pauseId?: string): Promise<unknown>
  /** Creates a flow from YAML (or JSON) text. */
  createFlow(dsl: string): Promise<Flow>
  /** Stores the text as the flow's next version. */
  updateFlow(id: string, dsl: string): Promise<Flow>
  deleteFlow(id: string): Promise<void>
  /** Validates the text as flow `id` (which need not exist yet). */
  validateFlow(id: string, dsl: string): Promise<Validation>
  listRoutines(): Promise<{ routines: RoutineKind[] }>
}

export function createApi(fetchImpl: FetchLike = (input, init) => fetch(input, init), base = ''): Api {
  async function request(
    method: string,
    path: string,
    body?: unknown,
    accept = 'application/json',
    signal?: AbortSignal,
  ): Promise<Response> {
    const init: RequestInit = { method, headers: { Accept: accept } }
    if (signal) init.signal = signal
    if (body !== undefined) {
      init.body = JSON.stringify(body)
      init.headers = { ...init.headers, 'Content-Type': 'application/json' }
    }
    let res: Response
    try {
      res = await fetchImpl(base + path, init)
    } catch (err) {
      throw new ApiError(0, 'NETWORK_ERROR', `cannot reach the server: ${errorMessage(err)}`)
    }
    if (!res.ok) {
      let text = ''
      try {
        text = await res.text()
      } catch {
        text = ''
      }
      throw parseErrorBody(res.status, res.statusText, text)
    }
    return res
  }

  async function json<T>(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
    const res = await request(method, path, body, 'application/json', signal)
    const text = await res.text()
    if (!text) return undefined as T
    try {
      return JSON.parse(text) as T
    } catch {
      throw new ApiError(res.status, 'BAD_RESPONSE', `invalid JSON from ${path}`)
    }
  }

  const enc = encodeURIComponent

  return {
    listFlows: (q = {}) => json<FlowList>('GET', `/api/flows${buildQuery({ ...q })}`),
    getFlow: (id) => json<Flow>('GET', `/api/flows/${enc(id)}`),
    getFlowDsl: async (id, format = 'yaml') => {
      const res = await request(
        'GET',
        `/api/flows/${enc(id)}/dsl${buildQuery({ format })}`,
        undefined,
        format === 'yaml' ? 'application/yaml, text/plain, */*' : 'application/json',
      )
      return res.text()
    },
    listJobs: (q = {}) => json<JobList>('GET', `/api/jobs${buildQuery({ ...q })}`),
    getJob: (id) => json<Job>('GET', `/api/jobs/${enc(id)}`),
    startJob: (req) => json<Job>('POST', '/api/jobs', req),
    jobAction: (id, action) => json<Job>('POST', `/api/jobs/${enc(id)}/${action}`),
    getJobLogs: (id, q = {}, signal) =>
      json<LogList>('GET', `/api/jobs/${enc(id)}/logs${buildQuery({ ...q })}`, undefined, signal),
    getJobEvents: (id, since, limit, signal) =>
      json('GET', `/api/jobs/${enc(id)}/events${buildQuery({ since, limit })}`, undefined, signal),
    getJobState: (id, at, signal) => json('GET', `/api/jobs/${enc(id)}/state${buildQuery({ at })}`, undefined, signal),
    listActivations: (id, q, signal) =>
      json<ActivationList>('GET', `/api/jobs/${enc(id)}/activations${buildQuery({ ...q })}`, undefined, signal),
    getFlowVersion: (id, version) => json<Flow>('GET', `/api/flows/${enc(id)}${buildQuery({ version })}`),
    listBreakpoints: (scope, id) => json<BreakpointList>('GET', `/api/${scope}/${enc(id)}/breakpoints`),
    createBreakpoint: (scope, id, bp) => json<Breakpoint>('POST', `/api/${scope}/${enc(id)}/breakpoints`, bp),
    updateBreakpoint: (scope, id, bpId, patch) =>
      json<Breakpoint>('PUT', `/api/${scope}/${enc(id)}/breakpoints/${enc(bpId)}`, patch),
    deleteBreakpoint: async (scope, id, bpId) => {
      await request('DELETE', `/api/${scope}/${enc(id)}/breakpoints/${enc(bpId)}`)
    },
    checkExpression: (expression, as) => json<ExpressionCheck>('POST', '/api/expressions/check', { expression, as }),
    callStack: (id) => json<CallStack>('GET', `/api/jobs/${enc(id)}/debug/call-stack`),
    variables: (id, frameIndex) =>
      json<Variables>('GET', `/api/jobs/${enc(id)}/debug/variables${buildQuery({ frame_index: frameIndex })}`),
    setVariable: (id, name, value, pauseId) =>
      json<Variables>('PUT', `/api/jobs/${enc(id)}/debug/variables/${enc(name)}`, pauseId ? { value, pause_id: pauseId } : { value }),
    evaluate: (id, expression, frameIndex) =>
      json<EvalResult>('POST', `/api/jobs/${enc(id)}/debug/evaluate`, { expression, frame_index: frameIndex }),
    debugCommand: (id, command, pauseId) =>
      json<unknown>('POST', `/api/jobs/${enc(id)}/debug/${command}`, pauseId ? { pause_id: pauseId } : {}),
    createFlow: (dsl) => json<Flow>('POST', '/api/flows', { dsl }),
    updateFlow: (id, dsl) => json<Flow>('PUT', `/api/flows/${enc(id)}`, { dsl }),
    deleteFlow: async (id) => {
      await request('DELETE', `/api/flows/${enc(id)}`)
    },
    validateFlow: (id, dsl) => json<Validation>('POST', `/api/flows/${enc(id || '_new')}/validate`, { dsl }),
    listRoutines: () => json<{ routines: RoutineKind[] }>('GET', '/api/routines'),
  }
}

/** The client the pages use. */
export const api: Api = createApi()
