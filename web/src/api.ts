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
}

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

export interface JobQuery {
  flow_id?: string
  status?: string
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
}

export type JobAction = 'pause' | 'resume' | 'cancel'

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

/** Human-readable text of anything thrown by the client or a component. */
export function errorMessage(err: unknown): string {
  if (err instanceof ApiError) return err.message
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
  getJobLogs(id: string, q?: LogQuery): Promise<LogList>
}

export function createApi(fetchImpl: FetchLike = (input, init) => fetch(input, init), base = ''): Api {
  async function request(method: string, path: string, body?: unknown, accept = 'application/json'): Promise<Response> {
    const init: RequestInit = { method, headers: { Accept: accept } }
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

  async function json<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await request(method, path, body)
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
    getJobLogs: (id, q = {}) => json<LogList>('GET', `/api/jobs/${enc(id)}/logs${buildQuery({ ...q })}`),
  }
}

/** The client the pages use. */
export const api: Api = createApi()
