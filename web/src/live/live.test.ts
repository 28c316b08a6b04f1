import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { CLOSE_LAGGING, LiveSocket, wsUrl, type LiveMessage, type LiveState, type WebSocketLike } from './live'

/** A scripted stand-in for the browser's WebSocket. */
class FakeSocket implements WebSocketLike {
  static all: FakeSocket[] = []
  readyState = 0
  onopen: ((ev: unknown) => void) | null = null
  onmessage: ((ev: { data: unknown }) => void) | null = null
  onclose: ((ev: { code: number; reason: string }) => void) | null = null
  onerror: ((ev: unknown) => void) | null = null
  sent: string[] = []
  closedByClient = false
  readonly url: string

  constructor(url: string) {
    this.url = url
    FakeSocket.all.push(this)
  }

  static get last(): FakeSocket {
    return FakeSocket.all[FakeSocket.all.length - 1]
  }

  send(data: string) {
    this.sent.push(data)
  }

  close() {
    this.closedByClient = true
    this.readyState = 3
  }

  open() {
    this.readyState = 1
    this.onopen?.({})
  }

  receive(msg: unknown) {
    this.onmessage?.({ data: typeof msg === 'string' ? msg : JSON.stringify(msg) })
  }

  drop(code = 1006, reason = '') {
    this.readyState = 3
    this.onerror?.({})
    this.onclose?.({ code, reason })
  }

  /** The `since` query parameter of the URL, if any. */
  get since(): string | null {
    return new URL(this.url).searchParams.get('since')
  }
}

const LOC = { protocol: 'http:', host: 'example.test:8080' }

function setup(extra: Partial<ConstructorParameters<typeof LiveSocket>[0]> = {}) {
  const got: LiveMessage[] = []
  const states: { state: LiveState; reconnected: boolean; code?: number }[] = []
  const socket = new LiveSocket({
    path: '/api/ws/executions/job_1',
    onMessage: (m) => got.push(m),
    onState: (state, info) => states.push({ state, ...info }),
    WebSocket: FakeSocket,
    location: LOC,
    ...extra,
  })
  return { socket, got, states, seqs: () => got.map((m) => `${m.seq}:${m.type}`) }
}

beforeEach(() => {
  FakeSocket.all = []
  vi.useFakeTimers()
})

afterEach(() => {
  vi.useRealTimers()
})

describe('wsUrl', () => {
  it('follows the page scheme and host', () => {
    expect(wsUrl('/api/ws/monitor', { protocol: 'http:', host: 'a:1' })).toBe('ws://a:1/api/ws/monitor')
    expect(wsUrl('/api/ws/monitor', { protocol: 'https:', host: 'b.example' })).toBe('wss://b.example/api/ws/monitor')
    expect(wsUrl('api/x', { protocol: 'http:', host: 'h' })).toBe('ws://h/api/x')
  })
})

describe('LiveSocket', () => {
  it('connects to the same host with since and reports live', () => {
    const { socket, states } = setup({ since: 4 })
    socket.start()
    expect(FakeSocket.last.url).toBe('ws://example.test:8080/api/ws/executions/job_1?since=4')
    expect(socket.state).toBe('connecting')
    FakeSocket.last.open()
    expect(socket.state).toBe('live')
    expect(states.map((s) => s.state)).toEqual(['connecting', 'live'])
    socket.close()
    expect(socket.state).toBe('closed')
    expect(FakeSocket.last.closedByClient).toBe(true)
  })

  it('connects without since when nothing is known yet', () => {
    const { socket } = setup()
    socket.start()
    expect(FakeSocket.last.since).toBeNull()
  })

  it('reconnects with the last position after a drop, without duplicates or gaps', () => {
    const { socket, seqs, states } = setup({ since: 2 })
    socket.start()
    const a = FakeSocket.last
    a.open()
    a.receive({ type: 'node_update', seq: 3, pos: '3.1' })
    a.receive({ type: 'status', seq: 3, pos: '3.2' })
    a.receive({ type: 'log', seq: 4, pos: '4.1' })
    a.drop()
    expect(socket.state).toBe('reconnecting')

    vi.advanceTimersByTime(249)
    expect(FakeSocket.all).toHaveLength(1)
    vi.advanceTimersByTime(1)
    const b = FakeSocket.last
    expect(FakeSocket.all).toHaveLength(2)
    // After the last message handed on, exactly.
    expect(b.since).toBe('4.1')
    b.open()
    b.receive({ type: 'node_update', seq: 5, pos: '5.1' })
    b.receive({ type: 'status', seq: 5, pos: '5.2' })
    b.receive({ type: 'completion', seq: 5, pos: '5.3' })
    expect(seqs()).toEqual(['3:node_update', '3:status', '4:log', '5:node_update', '5:status', '5:completion'])
    expect(socket.lastPos).toEqual({ seq: 5, part: 3 })
    expect(states.map((s) => s.state)).toEqual(['connecting', 'live', 'reconnecting', 'live'])
    expect(states[3].reconnected).toBe(true)
    expect(socket.lastSeq).toBe(5)
  })

  it('completes an event cut in the middle on the next connection', () => {
    const { socket, seqs } = setup({ since: 9 })
    socket.start()
    FakeSocket.last.open()
    FakeSocket.last.receive({ type: 'status', seq: 10, pos: '10.1' }) // job_completed: status ...
    FakeSocket.last.drop() // ... completion not received
    vi.advanceTimersByTime(250)
    expect(FakeSocket.last.since).toBe('10.1')
    FakeSocket.last.open()
    FakeSocket.last.receive({ type: 'completion', seq: 10, pos: '10.2' })
    expect(seqs()).toEqual(['10:status', '10:completion'])
  })

  it('drops a message at or before the last position (a server repeating itself)', () => {
    const { socket, seqs } = setup()
    socket.start()
    FakeSocket.last.open()
    FakeSocket.last.receive({ type: 'node_update', seq: 3, pos: '3.1' })
    FakeSocket.last.receive({ type: 'node_update', seq: 3, pos: '3.1' })
    FakeSocket.last.receive({ type: 'log', seq: 2, pos: '2.1' })
    FakeSocket.last.receive({ type: 'status', seq: 3, pos: '3.2' })
    expect(seqs()).toEqual(['3:node_update', '3:status'])
  })

  it('backs off from 0.25 s to 5 s while the server cannot be reached, and resets once open', () => {
    const { socket } = setup()
    socket.start()
    const waits: number[] = []
    for (let i = 0; i < 7; i++) {
      const n = FakeSocket.all.length
      FakeSocket.last.drop()
      let waited = 0
      while (FakeSocket.all.length === n) {
        vi.advanceTimersByTime(50)
        waited += 50
      }
      waits.push(waited)
    }
    expect(waits).toEqual([250, 500, 1000, 2000, 4000, 5000, 5000])
    expect(socket.state).toBe('reconnecting')
    FakeSocket.last.open()
    expect(socket.state).toBe('live')
    FakeSocket.last.drop()
    const n = FakeSocket.all.length
    vi.advanceTimersByTime(250)
    expect(FakeSocket.all.length).toBe(n + 1)
  })

  it('reconnects at once with since after a lagging close (4008)', () => {
    const { socket, states, seqs } = setup({ since: 0 })
    socket.start()
    FakeSocket.last.open()
    FakeSocket.last.receive({ type: 'status', seq: 1, pos: '1.1' })
    FakeSocket.last.receive({ type: 'node_update', seq: 2, pos: '2.1' })
    FakeSocket.last.receive({ type: 'node_update', seq: 3, pos: '3.1' })
    FakeSocket.last.drop(CLOSE_LAGGING, 'lagging: reconnect with ?since=3.1')
    expect(states[states.length - 1]).toMatchObject({ state: 'reconnecting', code: 4008 })
    vi.advanceTimersByTime(250)
    expect(FakeSocket.all).toHaveLength(2)
    expect(FakeSocket.last.since).toBe('3.1')
    FakeSocket.last.open()
    FakeSocket.last.receive({ type: 'log', seq: 4, pos: '4.1' })
    expect(seqs()).toEqual(['1:status', '2:node_update', '3:node_update', '4:log'])
    expect(socket.state).toBe('live')
  })

  it('passes messages without pos, ignores frames that are not JSON objects', () => {
    const { socket, got } = setup({ since: 5 })
    socket.start()
    FakeSocket.last.open()
    FakeSocket.last.receive('not json')
    FakeSocket.last.receive('[1,2]')
    FakeSocket.last.receive({ type: 'pong' })
    FakeSocket.last.receive({ type: 'status', seq: 5, pos: '5.2' }) // already reflected by the caller
    FakeSocket.last.receive({ type: 'status', seq: 6, pos: '6.1' })
    expect(got.map((m) => m.type + (m.seq ?? ''))).toEqual(['pong', 'status6'])
  })

  it('leaves metrics (snapshots on a timer, without pos) out of the resume point', () => {
    const { socket, got } = setup({ path: '/api/ws/jobs/job_1/monitor', since: 4 })
    socket.start()
    FakeSocket.last.open()
    FakeSocket.last.receive({ type: 'routine_started', seq: 5, pos: '5.1' })
    FakeSocket.last.receive({ type: 'metrics', seq: 5 })
    FakeSocket.last.receive({ type: 'metrics', seq: 5 })
    FakeSocket.last.drop()
    vi.advanceTimersByTime(250)
    expect(FakeSocket.last.since).toBe('5.1')
    FakeSocket.last.open()
    FakeSocket.last.receive({ type: 'execution_event', seq: 5, pos: '5.2' })
    expect(got.map((m) => m.type)).toEqual(['routine_started', 'metrics', 'metrics', 'execution_event'])
  })

  it('advance moves the resume point forward (e.g. after a REST read)', () => {
    const { socket, got } = setup({ since: 3 })
    socket.start()
    FakeSocket.last.open()
    FakeSocket.last.receive({ type: 'log', seq: 4, pos: '4.1' })
    socket.advance(8)
    FakeSocket.last.receive({ type: 'log', seq: 7, pos: '7.1' })
    FakeSocket.last.drop()
    vi.advanceTimersByTime(250)
    expect(FakeSocket.last.since).toBe('8')
    FakeSocket.last.open()
    FakeSocket.last.receive({ type: 'log', seq: 9, pos: '9.1' })
    expect(got.map((m) => m.seq)).toEqual([4, 9])
  })

  it('without resume: no since, every message delivered (several jobs share the stream)', () => {
    const { socket, got } = setup({ path: '/api/ws/monitor', resume: false })
    socket.start()
    expect(FakeSocket.last.url).toBe('ws://example.test:8080/api/ws/monitor')
    FakeSocket.last.open()
    FakeSocket.last.receive({ type: 'job_started', job_id: 'a', seq: 1 })
    FakeSocket.last.receive({ type: 'job_started', job_id: 'b', seq: 1 })
    FakeSocket.last.drop()
    vi.advanceTimersByTime(250)
    expect(FakeSocket.last.url).toBe('ws://example.test:8080/api/ws/monitor')
    FakeSocket.last.open()
    FakeSocket.last.receive({ type: 'job_completed', job_id: 'a', seq: 5 })
    expect(got).toHaveLength(3)
  })

  it('close stops reconnecting and ignores late events of the old socket', () => {
    const { socket, got, states } = setup()
    socket.start()
    const a = FakeSocket.last
    a.open()
    socket.close()
    a.receive({ type: 'status', seq: 1 })
    vi.advanceTimersByTime(10_000)
    expect(FakeSocket.all).toHaveLength(1)
    expect(got).toHaveLength(0)
    expect(states.map((s) => s.state)).toEqual(['connecting', 'live', 'closed'])
  })

  it('close during the backoff cancels the pending attempt', () => {
    const { socket } = setup()
    socket.start()
    FakeSocket.last.drop()
    socket.close()
    vi.advanceTimersByTime(10_000)
    expect(FakeSocket.all).toHaveLength(1)
    expect(socket.state).toBe('closed')
  })

  it('reports connecting, then reconnecting while the first connection fails', () => {
    const { socket, states } = setup()
    socket.start()
    FakeSocket.last.drop()
    vi.advanceTimersByTime(250)
    FakeSocket.last.open()
    expect(states.map((s) => [s.state, s.reconnected])).toEqual([
      ['connecting', false],
      ['reconnecting', false],
      ['live', false],
    ])
  })

  it('send only while open', () => {
    const { socket } = setup()
    socket.start()
    expect(socket.send('ping')).toBe(false)
    FakeSocket.last.open()
    expect(socket.send('ping')).toBe(true)
    expect(FakeSocket.last.sent).toEqual(['ping'])
  })
})
