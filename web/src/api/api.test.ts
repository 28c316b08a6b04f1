import { describe, expect, it } from 'vitest'
import { ApiError, TOKEN_NEEDED, buildQuery, createApi, errorMessage, parseErrorBody, type FetchLike } from './api'

describe('parseErrorBody', () => {
  it('reads the server error envelope', () => {
    const e = parseErrorBody(
      409,
      'Conflict',
      '{"error":{"code":"JOB_STATE_CONFLICT","message":"job j_1 is completed, cannot resume"}}',
    )
    expect(e).toBeInstanceOf(ApiError)
    expect(e.status).toBe(409)
    expect(e.code).toBe('JOB_STATE_CONFLICT')
    expect(e.message).toBe('job j_1 is completed, cannot resume')
  })

  it('keeps validation details', () => {
    const details = [{ code: 'UNKNOWN_KIND', message: 'bad kind', routine_id: 'x' }]
    const e = parseErrorBody(422, '', JSON.stringify({ error: { code: 'FLOW_INVALID', message: 'invalid', details } }))
    expect(e.code).toBe('FLOW_INVALID')
    expect(e.details).toEqual(details)
  })

  it('falls back to a status-based code when the envelope lacks one', () => {
    const e = parseErrorBody(404, 'Not Found', '{"error":{"message":"no such flow"}}')
    expect(e.code).toBe('NOT_FOUND')
    expect(e.message).toBe('no such flow')
  })

  it('accepts a string error and a top-level message', () => {
    expect(parseErrorBody(400, '', '{"error":"bad input"}').message).toBe('bad input')
    expect(parseErrorBody(400, '', '{"message":"oops"}').message).toBe('oops')
  })

  it('uses short plain text as the message', () => {
    const e = parseErrorBody(502, 'Bad Gateway', 'upstream down\n')
    expect(e.code).toBe('SERVER_ERROR')
    expect(e.message).toBe('upstream down')
  })

  it('never shows an HTML page or an empty body as the message', () => {
    expect(parseErrorBody(500, 'Internal Server Error', '<html><body>boom</body></html>').message).toBe(
      'HTTP 500 Internal Server Error',
    )
    expect(parseErrorBody(413, '', '').message).toBe('HTTP 413')
    expect(parseErrorBody(413, '', '').code).toBe('PAYLOAD_TOO_LARGE')
    expect(parseErrorBody(418, '', '{"error":{}}').message).toBe('HTTP 418')
  })
})

describe('buildQuery', () => {
  it('skips empty values and encodes the rest', () => {
    expect(buildQuery({})).toBe('')
    expect(buildQuery({ flow_id: 'a b', status: '', limit: 20, offset: 0, x: undefined })).toBe(
      '?flow_id=a+b&limit=20&offset=0',
    )
  })
})

type Call = { url: string; init?: RequestInit }

function fakeFetch(answer: (url: string, init?: RequestInit) => Response): { fetch: FetchLike; calls: Call[] } {
  const calls: Call[] = []
  return {
    calls,
    fetch: async (url, init) => {
      calls.push({ url, init })
      return answer(url, init)
    },
  }
}

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } })

describe('createApi', () => {
  it('posts a job with a JSON body', async () => {
    const f = fakeFetch(() => json(201, { job_id: 'j_1', flow_id: 'f', status: 'pending' }))
    const api = createApi(f.fetch)
    const job = await api.startJob({ flow_id: 'f', params: { value: 21 } })
    expect(job.job_id).toBe('j_1')
    expect(f.calls[0].url).toBe('/api/jobs')
    expect(f.calls[0].init?.method).toBe('POST')
    expect(JSON.parse(String(f.calls[0].init?.body))).toEqual({ flow_id: 'f', params: { value: 21 } })
    expect((f.calls[0].init?.headers as Record<string, string>)['Content-Type']).toBe('application/json')
  })

  it('builds list and action URLs', async () => {
    const f = fakeFetch(() => json(200, { jobs: [], total: 0, limit: 20, offset: 40 }))
    const api = createApi(f.fetch, 'http://h')
    await api.listJobs({ flow_id: 'orders', status: 'running', limit: 20, offset: 40 })
    await api.jobAction('j/1', 'pause')
    await api.getJobLogs('j1', { level: 'warning' })
    expect(f.calls.map((c) => c.url)).toEqual([
      'http://h/api/jobs?flow_id=orders&status=running&limit=20&offset=40',
      'http://h/api/jobs/j%2F1/pause',
      'http://h/api/jobs/j1/logs?level=warning',
    ])
    expect(f.calls[1].init?.body).toBeUndefined()
  })

  it('calls the debugger and breakpoint endpoints with their bodies', async () => {
    const f = fakeFetch((_url, init) => (init?.method === 'DELETE' ? new Response(null, { status: 204 }) : json(200, {})))
    const api = createApi(f.fetch)
    await api.getFlowVersion('orders', 3)
    await api.listBreakpoints('jobs', 'j1')
    await api.createBreakpoint('flows', 'orders', { type: 'routine', routine_id: 'double' })
    await api.updateBreakpoint('jobs', 'j1', 'bp_1', { condition: 'data.value > 1' })
    await api.deleteBreakpoint('jobs', 'j1', 'bp_1')
    await api.checkExpression('data.value >', 'condition')
    await api.variables('j1', 2)
    await api.setVariable('j1', 'data.value', 10, 'pause_3')
    await api.evaluate('j1', 'data', 0)
    await api.debugCommand('j1', 'step-over', 'pause_3')
    await api.startJob({ flow_id: 'orders', params: { value: 1 }, stop_on_entry: true })
    expect(f.calls.map((c) => `${c.init?.method} ${c.url}`)).toEqual([
      'GET /api/flows/orders?version=3',
      'GET /api/jobs/j1/breakpoints',
      'POST /api/flows/orders/breakpoints',
      'PUT /api/jobs/j1/breakpoints/bp_1',
      'DELETE /api/jobs/j1/breakpoints/bp_1',
      'POST /api/expressions/check',
      'GET /api/jobs/j1/debug/variables?frame_index=2',
      'PUT /api/jobs/j1/debug/variables/data.value',
      'POST /api/jobs/j1/debug/evaluate',
      'POST /api/jobs/j1/debug/step-over',
      'POST /api/jobs',
    ])
    const body = (i: number) => JSON.parse(String(f.calls[i].init?.body))
    expect(body(2)).toEqual({ type: 'routine', routine_id: 'double' })
    expect(body(5)).toEqual({ expression: 'data.value >', as: 'condition' })
    expect(body(7)).toEqual({ value: 10, pause_id: 'pause_3' })
    expect(body(8)).toEqual({ expression: 'data', frame_index: 0 })
    expect(body(9)).toEqual({ pause_id: 'pause_3' })
    expect(body(10)).toEqual({ flow_id: 'orders', params: { value: 1 }, stop_on_entry: true })
  })

  it('shows a stale step as the server says it', async () => {
    const f = fakeFetch(() =>
      json(409, { error: { code: 'PAUSE_STALE', message: 'stale pause_id: "pause_2" was answered already; the job is now at pause_3' } }),
    )
    const err = (await createApi(f.fetch).debugCommand('j1', 'resume', 'pause_2').catch((e: unknown) => e)) as ApiError
    expect(err).toBeInstanceOf(ApiError)
    expect(err.code).toBe('PAUSE_STALE')
    expect(err.message).toMatch(/now at pause_3/)
  })

  it('returns the DSL as text', async () => {
    const f = fakeFetch(() => new Response('flow_id: a\n', { status: 200, headers: { 'Content-Type': 'application/yaml' } }))
    const api = createApi(f.fetch)
    expect(await api.getFlowDsl('a')).toBe('flow_id: a\n')
    expect(f.calls[0].url).toBe('/api/flows/a/dsl?format=yaml')
  })

  it('throws the server message of a refused action', async () => {
    const f = fakeFetch(() => json(409, { error: { code: 'JOB_STATE_CONFLICT', message: 'job is completed' } }))
    const api = createApi(f.fetch)
    const err = await api.jobAction('j1', 'resume').catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ApiError)
    expect((err as ApiError).status).toBe(409)
    expect(errorMessage(err)).toBe('job is completed')
  })

  it('reports a network failure as an ApiError', async () => {
    const api = createApi(async () => {
      throw new TypeError('Failed to fetch')
    })
    const err = await api.getJob('x').catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ApiError)
    expect((err as ApiError).code).toBe('NETWORK_ERROR')
    expect((err as ApiError).message).toContain('Failed to fetch')
  })

  it('rejects a 200 answer that is not JSON', async () => {
    const api = createApi(async () => new Response('<html>', { status: 200 }))
    await expect(api.getJob('x')).rejects.toMatchObject({ code: 'BAD_RESPONSE' })
  })
})

describe('a server that needs a token', () => {
  it('says how to give it one instead of the raw 401', async () => {
    const fetchImpl: FetchLike = async () =>
      new Response('{"error":{"code":"UNAUTHORIZED","message":"this server needs a token: send Authorization: Bearer <token>"}}', {
        status: 401,
        headers: { 'Content-Type': 'application/json' },
      })
    const err = await createApi(fetchImpl).listFlows().catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ApiError)
    expect((err as ApiError).code).toBe('UNAUTHORIZED')
    expect(errorMessage(err)).toBe(TOKEN_NEEDED)
    expect(TOKEN_NEEDED).toContain('?token=')
  })

  it('shows a 403 as the server words it (the role needed)', () => {
    const err = new ApiError(403, 'FORBIDDEN', 'POST /api/flows needs the admin role; token abc ("ci") has the operator role')
    expect(errorMessage(err)).toContain('needs the admin role')
  })
})
