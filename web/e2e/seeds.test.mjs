// Conformance of the streams with the client code printed in the two seed documents:
// seed 000 "WebSocket API Guide" (/api/ws/executions/{id}) and seed 004 "WebSocket Events"
// (/api/ws/jobs/{id}/monitor, /debug, /api/ws/flows/{id}/monitor). The clients are the
// seeds' code blocks, kept verbatim in web/e2e/seeds/; the test only puts the test server's
// address in place of the seeds' host:port (and a real id in place of their placeholder id)
// when it loads them, and observes them from outside (console.log, the handlers the seed
// code calls, extra client.on(...) handlers, a subclass filling in handleMessage).
// See docs/streams.md for how the server maps the seeds.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { after, before, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { createFlow, freePort, launchBrowser, rest, serverBin, startServer, watchPage } from './harness.mjs'

const SEEDS_DIR = join(dirname(fileURLToPath(import.meta.url)), 'seeds')
// Debian's interpreter, where python3-websockets installs the seed's `websockets` package.
const PYTHON = process.env.SEED_PYTHON || '/usr/bin/python3'

const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

const okFlow = (flowId) => `
flow_id: ${flowId}
name: Seed conformance
routines:
  start:  {kind: input}
  double: {kind: transform, config: {expr: "{value: data.value * 2}"}}
  wait:   {kind: delay, config: {ms: 300}}
  note:   {kind: log, config: {level: info, message: "doubled to {{ data.value }}"}}
  done:   {kind: output}
connections:
  - {from: start.output,  to: double.input}
  - {from: double.output, to: wait.input}
  - {from: wait.output,   to: note.input}
  - {from: note.output,   to: done.input}
`
const OK_ROUTINES = ['start', 'double', 'wait', 'note', 'done']

const FAIL_FLOW = `
flow_id: seed-fail
name: Seed conformance, failing
routines:
  start: {kind: input}
  wait:  {kind: delay, config: {ms: 300}}
  boom:  {kind: fail, config: {message: "boom on {{ data.value }}"}}
connections:
  - {from: start.output, to: wait.input}
  - {from: wait.output,  to: boom.input}
`
const FAIL_ROUTINES = ['start', 'wait', 'boom']

let server
let browser
let addr // host:port of the test server
const testStart = Date.now() / 1000

before(async () => {
  server = await startServer()
  addr = new URL(server.url).host
  browser = await launchBrowser()
  await createFlow(server.url, okFlow('seed-ok'))
  await createFlow(server.url, okFlow('seed-flow-monitor'))
  await createFlow(server.url, FAIL_FLOW)
})

after(async () => {
  await browser?.close()
  await server?.stop()
})

// ---------------------------------------------------------------------------------------
// Fixtures and pages

/**
 * A seed fixture with each [from, to] replaced; `from` must occur exactly `count` times, so
 * that a changed fixture fails here instead of connecting somewhere else.
 */
function loadSeed(name, replacements = []) {
  let text = readFileSync(join(SEEDS_DIR, name), 'utf8')
  for (const [from, to, count = 1] of replacements) {
    assert.equal(text.split(from).length - 1, count, `${name}: expected ${count}× ${JSON.stringify(from)}`)
    text = text.replaceAll(from, to)
  }
  return text
}

async function startJob(flowId, params) {
  const r = await rest(server.url, 'POST', '/api/jobs', { flow_id: flowId, params })
  assert.equal(r.status, 201, JSON.stringify(r.body))
  return r.body.job_id
}

// Records console.log/console.error calls (what the seeds' clients print) in window.__console,
// and the message objects logged as "Received:" (seed 000's connection example) in
// window.__received.
const CONSOLE_CAPTURE = `
window.__console = []
window.__received = []
for (const level of ['log', 'error', 'warn']) {
  const original = console[level]
  console[level] = (...args) => {
    window.__console.push([level, ...args.map((a) =>
      typeof a === 'string' ? a : a instanceof Event ? 'Event:' + a.type : JSON.stringify(a))])
    if (args[0] === 'Received:') window.__received.push(args[1])
    original.apply(console, args)
  }
}
`

/** A page on the server's own origin (so the streams' origin check passes), capturing the console. */
async function originPage(base = server.url) {
  const page = await browser.newPage()
  const problems = watchPage(page)
  await page.goto(`${base}/api/health`)
  await page.addScriptTag({ content: CONSOLE_CAPTURE })
  return { page, problems }
}

const pageErrors = (problems) => problems.filter((p) => p.startsWith('pageerror'))

async function waitInPage(page, fn, arg, what, timeout = 20_000) {
  try {
    await page.waitForFunction(fn, arg, { timeout, polling: 100 })
  } catch (err) {
    const consoleLines = await page.evaluate(() => window.__console).catch(() => '?')
    throw new Error(`${what}: ${err.message}\nconsole: ${JSON.stringify(consoleLines)}`)
  }
}

// ---------------------------------------------------------------------------------------
// Seed 000 messages

const EPOCH_SECONDS = /^\d+(\.\d+)?$/
const STATUSES_000 = ['pending', 'running', 'completed', 'failed']
const NODE_STATUSES_000 = ['pending', 'running', 'completed', 'failed']
const LOG_LEVELS_000 = ['debug', 'info', 'warning', 'error']

function epochString(value, where) {
  assert.equal(typeof value, 'string', `${where}: epoch-seconds string expected, got ${JSON.stringify(value)}`)
  assert.match(value, EPOCH_SECONDS, where)
  const t = Number(value)
  assert.ok(t >= testStart - 5 && t <= Date.now() / 1000 + 5, `${where}: ${value} is not about now`)
}

const epochOrNull = (value, where) => value === null || epochString(value, where)

/**
 * Checks every message against seed 000's "Message Types" section and the order its clients
 * rely on. `outcome` is "completion" or "error". Returns the messages without pongs.
 */
function checkSeed000(messages, { jobId, routines, outcome, output }) {
  const msgs = messages.filter((m) => m.type !== 'pong')
  assert.ok(msgs.length > 0, 'no messages')
  let progress = 0
  const nodeStatus = {}
  for (const [i, m] of msgs.entries()) {
    const where = `message ${i} ${JSON.stringify(m)}`
    assert.equal(m.execution_id, jobId, `${where}: execution_id`)
    epochString(m.timestamp, `${where}: timestamp`)
    switch (m.type) {
      case 'status': {
        assert.ok(STATUSES_000.includes(m.status), `${where}: status`)
        assert.equal(typeof m.data, 'object', `${where}: data`)
        assert.equal(typeof m.data.progress, 'number', `${where}: data.progress`)
        assert.ok(m.data.progress >= progress && m.data.progress <= 1, `${where}: progress goes 0..1 and never back`)
        progress = m.data.progress
        // The seed shows current_node as a node id: from the first status on (the entry
        // routine, about to run) it is one of the flow's routines.
        assert.ok(routines.includes(m.data.current_node), `${where}: data.current_node`)
        break
      }
      case 'node_update': {
        assert.ok(routines.includes(m.node_id), `${where}: node_id`)
        const s = m.node_state
        assert.equal(typeof s, 'object', `${where}: node_state`)
        for (const key of ['status', 'output', 'error', 'started_at', 'completed_at']) {
          assert.ok(key in s, `${where}: node_state.${key} missing`)
        }
        assert.ok(NODE_STATUSES_000.includes(s.status), `${where}: node_state.status`)
        assert.ok(s.error === null || typeof s.error === 'string', `${where}: node_state.error`)
        epochOrNull(s.started_at, `${where}: node_state.started_at`)
        epochOrNull(s.completed_at, `${where}: node_state.completed_at`)
        if (s.status === 'completed' || s.status === 'failed') {
          assert.notEqual(s.completed_at, null, `${where}: a finished node has completed_at`)
        }
        if (s.status === 'failed') assert.ok(s.error, `${where}: a failed node has its error`)
        if (s.status === 'completed') assert.equal(s.error, null, `${where}: a completed node has no error`)
        nodeStatus[m.node_id] = s.status
        break
      }
      case 'log': {
        const l = m.log
        assert.equal(typeof l, 'object', `${where}: log`)
        assert.ok(LOG_LEVELS_000.includes(l.level), `${where}: log.level`)
        assert.equal(typeof l.message, 'string', `${where}: log.message`)
        assert.ok(routines.includes(l.node_id), `${where}: log.node_id`)
        epochString(l.timestamp, `${where}: log.timestamp`)
        break
      }
      case 'completion': {
        const r = m.result
        assert.equal(typeof r, 'object', `${where}: result`)
        assert.equal(r.status, 'completed', `${where}: result.status`)
        assert.ok('output' in r, `${where}: result.output`)
        assert.equal(typeof r.nodes_completed, 'number', `${where}: result.nodes_completed`)
        assert.equal(typeof r.nodes_failed, 'number', `${where}: result.nodes_failed`)
        assert.equal(typeof r.duration, 'number', `${where}: result.duration`)
        assert.ok(r.duration >= 0.3, `${where}: the delay routine alone takes 0.3 s`)
        break
      }
      case 'error':
        assert.equal(typeof m.error, 'string', `${where}: error`)
        assert.ok(m.error.length > 0, `${where}: error is empty`)
        break
      default:
        assert.fail(`${where}: not a seed 000 message type`)
    }
    // docs/streams.md: every message carries its event's seq, in order.
    assert.ok(Number.isInteger(m.seq) && m.seq >= 1, `${where}: seq`)
    if (i > 0) assert.ok(m.seq >= msgs[i - 1].seq, `${where}: seq goes back`)
  }

  // The end: the final status, then completion/error, then nothing.
  const last = msgs.at(-1)
  assert.equal(last.type, outcome, `last message: ${JSON.stringify(last)}`)
  assert.equal(msgs.filter((m) => m.type === 'completion' || m.type === 'error').length, 1, 'one terminal message')
  const finalStatus = msgs.at(-2)
  assert.equal(finalStatus.type, 'status', `before ${outcome}: ${JSON.stringify(finalStatus)}`)
  assert.equal(finalStatus.status, outcome === 'completion' ? 'completed' : 'failed')
  assert.equal(finalStatus.data.progress, 1)
  const statuses = msgs.filter((m) => m.type === 'status')
  assert.ok(statuses.slice(0, -1).every((m) => m.status === 'running' || m.status === 'pending'), 'only the final status is final')

  if (outcome === 'completion') {
    assert.deepEqual(last.result.output, output)
    assert.equal(last.result.nodes_completed, routines.length)
    assert.equal(last.result.nodes_failed, 0)
    assert.deepEqual(nodeStatus, Object.fromEntries(routines.map((r) => [r, 'completed'])))
    assert.ok(msgs.some((m) => m.type === 'log' && m.log.message === `doubled to ${output.value}`), 'the log routine line')
  } else {
    assert.equal(nodeStatus.boom, 'failed')
    assert.match(last.error, /boom on 21/)
    assert.ok(msgs.some((m) => m.type === 'log' && m.log.level === 'error' && m.log.node_id === 'boom'), 'an error log line')
  }
  return msgs
}

// ---------------------------------------------------------------------------------------
// Seed 000 in the browser

const RECEIVE_HANDLERS = `
window.__handled = []
for (const name of ['handleStatusUpdate', 'handleNodeUpdate', 'handleLog', 'handleCompletion', 'handleError']) {
  window[name] = (message) => window.__handled.push({ handler: name, message })
}
`
const HANDLER_OF = {
  status: 'handleStatusUpdate',
  node_update: 'handleNodeUpdate',
  log: 'handleLog',
  completion: 'handleCompletion',
  error: 'handleError',
}

function seed000Connection(jobId) {
  return loadSeed('seed000-connection-example.js', [
    ['localhost:8000', addr],
    ['"exec-123"', JSON.stringify(jobId)],
  ])
}

test('seed 000: the JavaScript connection example and the "Receive Updates" switch follow a job to its end', async () => {
  // Two pages per job, both connecting as soon as the job is started: the connection example
  // alone (it logs every message as "Received:"), and the connection example followed by
  // the "Receive Updates" block (it replaces ws.onmessage and calls the handle* functions).
  const pages = []
  try {
    for (let i = 0; i < 4; i++) pages.push(await originPage())
    const receiveUpdates = loadSeed('seed000-receive-updates.js')
    const runs = [
      { flowId: 'seed-ok', params: { value: 21 }, outcome: 'completion', routines: OK_ROUTINES, output: { value: 42 } },
      { flowId: 'seed-fail', params: { value: 21 }, outcome: 'error', routines: FAIL_ROUTINES },
    ]
    for (const [n, run] of runs.entries()) {
      run.logging = pages[2 * n]
      run.switching = pages[2 * n + 1]
      await run.switching.page.addScriptTag({ content: RECEIVE_HANDLERS })
      run.jobId = await startJob(run.flowId, run.params)
      const connection = seed000Connection(run.jobId)
      await Promise.all([
        run.logging.page.addScriptTag({ content: connection }),
        run.switching.page.addScriptTag({ content: `${connection}\n${receiveUpdates}` }),
      ])
    }

    for (const run of runs) {
      const { page } = run.logging
      // Seed 000 "Client Messages": ws.send("ping") is answered {"type": "pong"}.
      await waitInPage(page, () => window.__console.some((c) => c[1] === 'WebSocket connected'), null, 'connected')
      await page.evaluate(() => ws.send('ping'))
      await waitInPage(
        page,
        () => window.__received.some((m) => m.type === 'completion' || m.type === 'error'),
        null,
        `${run.flowId}: the logging client sees the end`,
      )
      await waitInPage(page, () => window.__received.some((m) => m.type === 'pong'), null, 'pong')
      await waitInPage(
        run.switching.page,
        () => window.__handled.some((h) => h.handler === 'handleCompletion' || h.handler === 'handleError'),
        null,
        `${run.flowId}: the switch sees the end`,
      )
    }
    await sleep(300) // nothing may follow the terminal message

    for (const run of runs) {
      const received = await run.logging.page.evaluate(() => window.__received)
      const pongs = received.filter((m) => m.type === 'pong')
      assert.equal(pongs.length, 1, JSON.stringify(pongs))
      assert.equal(JSON.stringify(pongs[0]), '{"type":"pong"}')
      const msgs = checkSeed000(received, run)

      // The switch dispatched the same messages, each to the handler of its type.
      const handled = await run.switching.page.evaluate(() => window.__handled)
      for (const h of handled) assert.equal(h.handler, HANDLER_OF[h.message.type], JSON.stringify(h))
      assert.deepEqual(
        handled.map((h) => h.message),
        msgs,
      )

      for (const p of [run.logging, run.switching]) {
        const lines = await p.page.evaluate(() => window.__console)
        assert.deepEqual(
          lines.filter((l) => l[0] !== 'log' || l[1] !== 'Received:'),
          [['log', 'WebSocket connected']],
          'no error and no close: the socket stays open after the end',
        )
        assert.deepEqual(pageErrors(p.problems), [])
      }
    }
  } finally {
    for (const p of pages) await p.page.close()
  }
})

// ---------------------------------------------------------------------------------------
// Seed 000 in Python

function runPythonSeed(jobId) {
  return new Promise((resolve, reject) => {
    const child = spawn(PYTHON, [join(SEEDS_DIR, 'run_python_seed.py'), addr, jobId, '20'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (c) => (stdout += c))
    child.stderr.on('data', (c) => (stderr += c))
    child.on('error', reject)
    child.on('exit', (code) => resolve({ code, stdout, stderr }))
  })
}

test('seed 000: the Python connect_execution_stream example follows a job to its end', async () => {
  const runs = [
    { flowId: 'seed-ok', params: { value: 21 }, outcome: 'completion', routines: OK_ROUTINES, output: { value: 42 } },
    { flowId: 'seed-fail', params: { value: 21 }, outcome: 'error', routines: FAIL_ROUTINES },
  ]
  const results = await Promise.all(
    runs.map(async (run) => {
      run.jobId = await startJob(run.flowId, run.params)
      return runPythonSeed(run.jobId)
    }),
  )
  for (const [i, run] of runs.entries()) {
    const { code, stdout, stderr } = results[i]
    assert.equal(
      code,
      0,
      `${PYTHON} run_python_seed.py exited ${code}: ${stderr}` +
        (/No module named 'websockets'/.test(stderr) ? '\n(Debian: apt-get install -y python3-websockets)' : ''),
    )
    assert.equal(stderr, '')
    const received = stdout
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line))
    checkSeed000(received, run)
  }
})

// ---------------------------------------------------------------------------------------
// Seed 004

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/
const SEED004_TYPES = [
  'connection:status',
  'ping',
  'job_started',
  'job_completed',
  'job_failed',
  'job_paused',
  'job_resumed',
  'job_cancelled',
  'routine_started',
  'routine_completed',
  'routine_failed',
  'breakpoint_hit',
  'breakpoint_resumed',
  'execution_event',
  'metrics',
  'subscription:confirmed',
]
// Types the seed's class emits itself; "error" is also the server's reply to a bad client message.
const CLASS_EVENTS = ['connected', 'disconnected', 'error']
const UNSEQUENCED = ['connection:status', 'ping', 'subscription:confirmed']
const EVENT_TYPES_004 = ['slot_call', 'event_emit', 'error']

function isoTime(value, where) {
  assert.equal(typeof value, 'string', `${where}: ISO 8601 string expected, got ${JSON.stringify(value)}`)
  assert.match(value, ISO, where)
  const t = Date.parse(value) / 1000
  assert.ok(t >= testStart - 5 && t <= Date.now() / 1000 + 5, `${where}: ${value} is not about now`)
}

const isCount = (v) => Number.isInteger(v) && v >= 0

/** Checks one seed 004 message against the seed's "Event Types" section. */
function checkSeed004Message(m, { jobIds, flowId, routines, extraTypes = [] }, where) {
  assert.ok(SEED004_TYPES.includes(m.type) || extraTypes.includes(m.type), `${where}: not a seed 004 message type`)
  if (UNSEQUENCED.includes(m.type)) {
    assert.ok(!('seq' in m) || Number.isInteger(m.seq), where)
  } else {
    assert.ok(Number.isInteger(m.seq) && m.seq >= 1, `${where}: seq`)
  }
  if (m.type.startsWith('job_') || m.type.startsWith('routine_') || m.type === 'execution_event' || m.type === 'metrics') {
    assert.ok(jobIds.includes(m.job_id), `${where}: job_id`)
    isoTime(m.timestamp, `${where}: timestamp`)
  }
  if (m.type.startsWith('routine_')) assert.ok(routines.includes(m.routine_id), `${where}: routine_id`)
  const d = m.data
  switch (m.type) {
    case 'connection:status':
      assert.equal(m.status, 'connected', where)
      isoTime(m.timestamp, `${where}: timestamp`)
      isoTime(m.server_time, `${where}: server_time`)
      break
    case 'ping':
      isoTime(m.timestamp, `${where}: timestamp`)
      break
    case 'job_started':
      assert.equal(m.flow_id, flowId, `${where}: flow_id`)
      assert.equal(d.entry_routine, 'start', `${where}: data.entry_routine`)
      assert.deepEqual(d.params, { value: 21 }, `${where}: data.params`)
      break
    case 'job_completed':
      assert.equal(m.flow_id, flowId, `${where}: flow_id`)
      assert.equal(typeof d.duration, 'number', `${where}: data.duration`)
      assert.ok(d.duration >= 0.3, `${where}: data.duration`)
      assert.ok(isCount(d.total_events) && d.total_events > 0, `${where}: data.total_events`)
      break
    case 'job_failed':
      assert.equal(m.flow_id, flowId, `${where}: flow_id`)
      assert.match(d.error, /boom on 21/, `${where}: data.error`)
      assert.equal(typeof d.error_type, 'string', `${where}: data.error_type`)
      assert.equal(d.routine_id, 'boom', `${where}: data.routine_id`)
      break
    case 'routine_started':
      assert.equal(typeof d.slot_name, 'string', `${where}: data.slot_name`)
      assert.ok('event_data' in d, `${where}: data.event_data`)
      break
    case 'routine_completed':
      assert.equal(typeof d.duration, 'number', `${where}: data.duration`)
      assert.ok(d.duration >= 0, `${where}: data.duration`)
      assert.ok(isCount(d.events_emitted), `${where}: data.events_emitted`)
      break
    case 'routine_failed':
      assert.match(d.error, /boom on 21/, `${where}: data.error`)
      assert.equal(typeof d.error_type, 'string', `${where}: data.error_type`)
      assert.equal(d.slot_name, 'input', `${where}: data.slot_name`)
      break
    case 'execution_event': {
      const e = m.event
      assert.equal(typeof e, 'object', `${where}: event`)
      assert.equal(typeof e.event_id, 'string', `${where}: event.event_id`)
      assert.ok(routines.includes(e.routine_id), `${where}: event.routine_id`)
      assert.ok(EVENT_TYPES_004.includes(e.event_type), `${where}: event.event_type`)
      isoTime(e.timestamp, `${where}: event.timestamp`)
      assert.equal(typeof e.data, 'object', `${where}: event.data`)
      if (e.event_type === 'slot_call') {
        assert.equal(typeof e.data.slot_name, 'string', `${where}: event.data.slot_name`)
        assert.ok('arguments' in e.data, `${where}: event.data.arguments`)
      }
      break
    }
    case 'metrics': {
      const x = m.metrics
      assert.equal(typeof x, 'object', `${where}: metrics`)
      isoTime(x.start_time, `${where}: metrics.start_time`)
      if (x.end_time !== null) isoTime(x.end_time, `${where}: metrics.end_time`)
      assert.equal(typeof x.duration, 'number', `${where}: metrics.duration`)
      for (const k of ['total_events', 'total_slot_calls', 'total_event_emits']) {
        assert.ok(isCount(x[k]), `${where}: metrics.${k}`)
      }
      break
    }
    case 'subscription:confirmed':
      assert.ok(['subscribe', 'unsubscribe', 'subscribe_all'].includes(m.action), `${where}: action`)
      assert.ok(Array.isArray(m.events), `${where}: events`)
      break
    case 'breakpoint_hit': {
      assert.ok(jobIds.includes(m.job_id), `${where}: job_id`)
      isoTime(m.timestamp, `${where}: timestamp`)
      const b = m.breakpoint
      assert.equal(typeof b, 'object', `${where}: breakpoint`)
      for (const k of ['breakpoint_id', 'type', 'routine_id', 'slot_name', 'event_name']) assert.ok(k in b, `${where}: breakpoint.${k}`)
      assert.ok(['routine', 'slot', 'event', 'step'].includes(b.type), `${where}: breakpoint.type`)
      assert.ok(routines.includes(b.routine_id), `${where}: breakpoint.routine_id`)
      assert.equal(m.context.routine_id, b.routine_id, `${where}: context.routine_id`)
      assert.equal(typeof m.context.variables, 'object', `${where}: context.variables`)
      break
    }
    case 'breakpoint_resumed':
      assert.ok(jobIds.includes(m.job_id), `${where}: job_id`)
      assert.ok('breakpoint_id' in m, `${where}: breakpoint_id`)
      assert.ok(['over', 'into', 'out', 'continue'].includes(m.data.step_mode), `${where}: data.step_mode`)
      break
  }
}

/**
 * Checks what one unsubscribed client got for one job: connection:status first, every
 * message valid, and the job's whole story, with routine_started and execution_event for
 * every routine and the end counted by the final metrics.
 */
function checkSeed004Job(msgs, { jobId, flowId, routines, outcome }) {
  assert.equal(msgs[0]?.type, 'connection:status', `first message: ${JSON.stringify(msgs[0])}`)
  const ctx = { jobIds: [jobId], flowId, routines }
  for (const [i, m] of msgs.entries()) checkSeed004Message(m, ctx, `message ${i} ${JSON.stringify(m)}`)
  const seqs = msgs.filter((m) => !UNSEQUENCED.includes(m.type)).map((m) => m.seq)
  assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b), 'seq in order')

  const of = (type) => msgs.filter((m) => m.type === type)
  assert.equal(of('job_started').length, 1)
  assert.deepEqual([...new Set(of('routine_started').map((m) => m.routine_id))].sort(), [...routines].sort())
  const eventTypes = new Set(of('execution_event').map((m) => m.event.event_type))
  assert.ok(eventTypes.has('slot_call') && eventTypes.has('event_emit'), [...eventTypes].join())
  const final = of('metrics').at(-1)
  assert.ok(final, 'a final metrics message')
  assert.notEqual(final.metrics.end_time, null, `final metrics: ${JSON.stringify(final)}`)
  if (outcome === 'completed') {
    assert.equal(of('job_completed').length, 1)
    assert.equal(of('job_failed').length, 0)
    assert.deepEqual(of('routine_completed').map((m) => m.routine_id), routines)
    assert.equal(of('job_completed')[0].data.total_events, final.metrics.total_events)
    assert.equal(final.metrics.total_slot_calls, routines.length)
  } else {
    assert.equal(of('job_failed').length, 1)
    assert.equal(of('job_completed').length, 0)
    assert.deepEqual(of('routine_failed').map((m) => m.routine_id), ['boom'])
    assert.ok(eventTypes.has('error'), 'an execution_event of type error')
  }
  const end = msgs.findIndex((m) => m.type === 'job_completed' || m.type === 'job_failed')
  assert.ok(
    msgs.slice(end + 1).every((m) => m.type === 'metrics' || m.type === 'ping'),
    `after the end: ${JSON.stringify(msgs.slice(end + 1))}`,
  )
}

// Wraps a RoutiluxWebSocket instance so the test sees every message it gets (window.__raw[name])
// and everything it emits to handlers (window.__emitted[name]), via extra client.on(...) handlers.
const OBSERVE_004 = `
window.__raw = window.__raw || {}
window.__emitted = window.__emitted || {}
window.__observe = (name, client) => {
  const raw = (window.__raw[name] = [])
  const emitted = (window.__emitted[name] = [])
  const handleMessage = client.handleMessage
  client.handleMessage = function (message) {
    raw.push(message)
    return handleMessage.call(this, message)
  }
  for (const type of ${JSON.stringify([...SEED004_TYPES, ...CLASS_EVENTS, 'log'])}) {
    client.on(type, (data) =>
      emitted.push({ type, data: data === undefined ? null : data instanceof Event ? 'Event:' + data.type : data }))
  }
}
`

/** The class and its usage block, the usage block's client on the monitor of job `jobId`. */
function seed004Client(jobId) {
  return loadSeed('seed004-routilux-websocket.js', [
    ['localhost:20555', addr],
    ['job_123', encodeURIComponent(jobId)],
  ])
}

const jobMonitor = (id) => `/api/ws/jobs/${encodeURIComponent(id)}/monitor`
const jobDebug = (id) => `/api/ws/jobs/${encodeURIComponent(id)}/debug`

test('seed 004: the RoutiluxWebSocket class and its usage block on job monitors', async () => {
  const { page, problems } = await originPage()
  try {
    await page.addScriptTag({ content: OBSERVE_004 })
    const failJob = await startJob('seed-fail', { value: 21 })
    const okJob = await startJob('seed-ok', { value: 21 })
    // The class and its usage block (client subscribes to job_started, job_failed and
    // breakpoint_hit once connected), on the failing job; observed from the same script,
    // before any message can arrive.
    await page.addScriptTag({ content: `${seed004Client(failJob)}\nwindow.__observe('usage', client)\n` })
    // Clients of the same class without subscriptions, on both jobs' monitors and on the
    // debug stream of the completing one.
    await page.addScriptTag({
      content: `
for (const [name, url] of ${JSON.stringify([
        ['fail', `ws://${addr}${jobMonitor(failJob)}`],
        ['ok', `ws://${addr}${jobMonitor(okJob)}`],
        ['debug', `ws://${addr}${jobDebug(okJob)}`],
      ])}) {
  const c = new RoutiluxWebSocket(url)
  window.__observe(name, c)
  window['__client_' + name] = c
  c.connect()
}
`,
    })

    await waitInPage(page, () => window.__raw.usage?.some((m) => m.type === 'job_failed'), null, 'usage: job_failed')
    for (const [name, type] of [
      ['fail', 'job_failed'],
      ['ok', 'job_completed'],
      ['debug', 'job_completed'],
    ]) {
      await waitInPage(
        page,
        ([n, t]) =>
          window.__raw[n]?.some((m) => m.type === t) &&
          window.__raw[n].some((m) => m.type === 'metrics' && m.metrics.end_time),
        [name, type],
        `${name}: ${type} and the final metrics`,
      )
    }

    // The heartbeat answer of the class (handleMessage on a ping sends {"type": "pong"}) is
    // accepted: no error comes back and the socket stays open.
    await page.evaluate(() => RoutiluxWebSocket.prototype.handleMessage.call(window.__client_ok, { type: 'ping' }))
    await sleep(500)

    const raw = await page.evaluate(() => window.__raw)
    const emitted = await page.evaluate(() => window.__emitted)
    const consoleLines = await page.evaluate(() => window.__console)

    // The usage block: connection:status first, its subscribe confirmed, only the subscribed
    // types after that, and the class hands only those to handlers.
    const usage = raw.usage
    assert.equal(usage[0].type, 'connection:status', JSON.stringify(usage[0]))
    const confirmedAt = usage.findIndex((m) => m.type === 'subscription:confirmed')
    assert.ok(confirmedAt > 0, `no subscription:confirmed: ${JSON.stringify(usage.map((m) => m.type))}`)
    assert.equal(usage[confirmedAt].action, 'subscribe')
    assert.deepEqual([...usage[confirmedAt].events].sort(), ['breakpoint_hit', 'job_failed', 'job_started'])
    const subscribed = ['job_started', 'job_failed', 'breakpoint_hit']
    const afterConfirm = usage.slice(confirmedAt + 1).filter((m) => !['connection:status', 'ping', 'error'].includes(m.type))
    assert.ok(
      afterConfirm.every((m) => subscribed.includes(m.type)),
      `after the subscription: ${JSON.stringify(afterConfirm.map((m) => m.type))}`,
    )
    const ctxFail = { jobIds: [failJob], flowId: 'seed-fail', routines: FAIL_ROUTINES }
    for (const [i, m] of usage.entries()) checkSeed004Message(m, ctxFail, `usage message ${i} ${JSON.stringify(m)}`)
    assert.deepEqual(
      emitted.usage.map((e) => e.type),
      ['connected', 'job_started', 'job_failed'],
    )
    const failed = emitted.usage.find((e) => e.type === 'job_failed').data
    assert.ok(
      consoleLines.some((l) => l[0] === 'log' && l[1] === 'Job failed:' && l[2] === failed.data.error),
      `the usage block's job_failed handler printed the error: ${JSON.stringify(consoleLines)}`,
    )

    // Unsubscribed clients: the whole story of each job, valid field by field; the class
    // hands every message except ping to handlers.
    checkSeed004Job(raw.fail, { jobId: failJob, flowId: 'seed-fail', routines: FAIL_ROUTINES, outcome: 'failed' })
    checkSeed004Job(raw.ok, { jobId: okJob, flowId: 'seed-ok', routines: OK_ROUTINES, outcome: 'completed' })
    for (const name of ['fail', 'ok']) {
      assert.deepEqual(
        emitted[name].map((e) => e.data),
        [null, ...raw[name].filter((m) => m.type !== 'ping')],
        `${name}: what the class emitted`,
      )
      assert.equal(emitted[name][0].type, 'connected')
    }
    // The debug stream adds "log" messages (docs/streams.md); seed 004 defines no such type.
    const debug = raw.debug.filter((m) => m.type !== 'log')
    checkSeed004Job(debug, { jobId: okJob, flowId: 'seed-ok', routines: OK_ROUTINES, outcome: 'completed' })
    assert.deepEqual(
      debug.filter((m) => m.type !== 'metrics' && m.type !== 'connection:status'),
      raw.ok.filter((m) => m.type !== 'metrics' && m.type !== 'connection:status' && m.type !== 'ping'),
      'debug carries the monitor messages',
    )

    assert.ok(
      Object.values(raw).every((list) => !list.some((m) => m.type === 'error')),
      `an error message: ${JSON.stringify(raw)}`,
    )
    assert.equal(await page.evaluate(() => window.__client_ok.ws.readyState), 1, 'the pong did not close the socket')
    assert.deepEqual(
      consoleLines.filter((l) => l[0] !== 'log' || (l[1] !== 'WebSocket connected' && l[1] !== 'Job failed:')),
      [],
      'no error, no disconnect',
    )
    assert.deepEqual(pageErrors(problems), [])
  } finally {
    await page.close()
  }
})

test("seed 004: the usage block's breakpoint_hit handler fires at a breakpoint set over REST", async () => {
  const { page, problems } = await originPage()
  try {
    await page.addScriptTag({ content: OBSERVE_004 })
    await createFlow(server.url, okFlow('seed-bp'))
    const bp = await rest(server.url, 'POST', '/api/flows/seed-bp/breakpoints', { type: 'routine', routine_id: 'double' })
    assert.equal(bp.status, 201, JSON.stringify(bp.body))
    const job = await startJob('seed-bp', { value: 21 })
    await page.addScriptTag({ content: `${seed004Client(job)}\nwindow.__observe('usage', client)\n` })
    await waitInPage(
      page,
      () => window.__console.some((l) => l[0] === 'log' && l[1] === 'Breakpoint hit at' && l[2] === 'double'),
      null,
      "the usage block's breakpoint_hit handler",
    )
    const resumed = await rest(server.url, 'POST', `/api/jobs/${job}/debug/resume`)
    assert.equal(resumed.status, 200, JSON.stringify(resumed.body))
    for (let i = 0; ; i++) {
      const j = await rest(server.url, 'GET', `/api/jobs/${job}`)
      if (j.body.status === 'completed') break
      assert.ok(i < 200, `job ${job} is ${j.body.status}`)
      await sleep(50)
    }
    const raw = await page.evaluate(() => window.__raw.usage)
    const hit = raw.find((m) => m.type === 'breakpoint_hit')
    assert.equal(hit.breakpoint.breakpoint_id, hit.paused_at.breakpoint_id)
    assert.equal(hit.breakpoint.type, 'routine')
    assert.deepEqual(hit.context.variables.data, { value: 21 })
    const ctx = { jobIds: [job], flowId: 'seed-bp', routines: OK_ROUTINES }
    for (const [i, m] of raw.entries()) checkSeed004Message(m, ctx, `message ${i} ${JSON.stringify(m)}`)
    assert.deepEqual(pageErrors(problems), [])
  } finally {
    await page.close()
  }
})

test('seed 004: the RoutiluxWebSocket class on a flow monitor sees two jobs started after it connected', async () => {
  const { page, problems } = await originPage()
  try {
    await page.addScriptTag({ content: OBSERVE_004 })
    // The fixture's usage block needs a job to point at; a client of the same class follows
    // the flow ("Monitor Flow Events": /api/ws/flows/{flow_id}/monitor).
    const warmUp = await startJob('seed-ok', { value: 21 })
    const flowUrl = `ws://${addr}/api/ws/flows/seed-flow-monitor/monitor`
    await page.addScriptTag({
      content: `${seed004Client(warmUp)}
window.__observe('usage', client)
window.__flow = new RoutiluxWebSocket(${JSON.stringify(flowUrl)})
window.__observe('flow', window.__flow)
window.__flow.connect()
`,
    })
    const confirmed = (action) =>
      waitInPage(
        page,
        (a) => window.__raw.flow.filter((m) => m.type === 'subscription:confirmed' && m.action === a).length > 0,
        action,
        `${action} confirmed`,
      )
    await waitInPage(page, () => window.__raw.flow?.some((m) => m.type === 'connection:status'), null, 'flow client connected')
    // "Event Filtering": the class's subscribe and unsubscribe. Like the class, which takes its
    // own empty set to mean "everything", the server answers the last unsubscribe with ["*"]
    // and sends everything again; subscribe_all then confirms the same.
    await page.evaluate(() => window.__flow.subscribe(['job_completed']))
    await confirmed('subscribe')
    await page.evaluate(() => window.__flow.unsubscribe(['job_completed']))
    await confirmed('unsubscribe')
    await page.evaluate(() => window.__flow.ws.send(JSON.stringify({ action: 'subscribe_all' })))
    await confirmed('subscribe_all')

    const jobs = [await startJob('seed-flow-monitor', { value: 21 }), await startJob('seed-flow-monitor', { value: 21 })]
    await waitInPage(
      page,
      (ids) => ids.every((id) => window.__raw.flow.some((m) => m.type === 'job_completed' && m.job_id === id)),
      jobs,
      'both jobs completed',
    )
    await waitInPage(page, () => window.__raw.usage.some((m) => m.type === 'job_started'), null, 'usage client')
    await sleep(200)
    const raw = await page.evaluate(() => window.__raw)
    const emitted = await page.evaluate(() => window.__emitted)

    const flow = raw.flow
    assert.equal(flow[0].type, 'connection:status')
    assert.deepEqual(
      flow.filter((m) => m.type === 'subscription:confirmed').map((m) => [m.action, m.events]),
      [
        ['subscribe', ['job_completed']],
        ['unsubscribe', ['*']],
        ['subscribe_all', ['*']],
      ],
    )
    const ctx = { jobIds: jobs, flowId: 'seed-flow-monitor', routines: OK_ROUTINES }
    for (const [i, m] of flow.entries()) checkSeed004Message(m, ctx, `flow message ${i} ${JSON.stringify(m)}`)
    for (const id of jobs) {
      const own = flow.filter((m) => m.job_id === id)
      const types = own.map((m) => m.type)
      assert.equal(types[0], 'job_started', `${id}: ${types}`)
      assert.equal(types.filter((t) => t === 'job_completed').length, 1, `${id}: ${types}`)
      assert.deepEqual(
        own.filter((m) => m.type === 'routine_completed').map((m) => m.routine_id),
        OK_ROUTINES,
      )
      const seqs = own.filter((m) => m.type !== 'metrics').map((m) => m.seq)
      assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b), `${id}: seq in order`)
    }
    // The class filters on its own list too: while that held just job_completed it kept the
    // subscribe confirmation from the handlers; since the unsubscribe it is empty again, so
    // everything after reaches them.
    assert.deepEqual(
      emitted.flow.map((e) => e.data),
      [null, ...flow.filter((m) => m.type !== 'ping' && !(m.type === 'subscription:confirmed' && m.action === 'subscribe'))],
    )

    // The usage block's client on the warm-up job: its subscription, and job_started.
    const usage = raw.usage
    assert.equal(usage[0].type, 'connection:status')
    const ctxUsage = { jobIds: [warmUp], flowId: 'seed-ok', routines: OK_ROUTINES }
    for (const [i, m] of usage.entries()) checkSeed004Message(m, ctxUsage, `usage message ${i} ${JSON.stringify(m)}`)
    assert.deepEqual(
      emitted.usage.map((e) => e.type),
      ['connected', 'job_started'],
    )
    assert.deepEqual(pageErrors(problems), [])
  } finally {
    await page.close()
  }
})

// ---------------------------------------------------------------------------------------
// Seed 004's ReconnectingWebSocket across a server restart

/** `switchyard serve` on a given address and data directory (the harness picks both itself). */
async function serveAt(address, dataDir) {
  const child = spawn(serverBin, ['serve', '--addr', address, '--data', dataDir], { stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout.on('data', (c) => (output += c))
  child.stderr.on('data', (c) => (output += c))
  const exited = new Promise((r) => child.on('exit', (code, signal) => r({ code, signal })))
  let gone = null
  exited.then((e) => (gone = e))
  const stop = async () => {
    if (gone) return
    child.kill('SIGTERM')
    const t = setTimeout(() => child.kill('SIGKILL'), 10_000)
    await exited
    clearTimeout(t)
  }
  const deadline = Date.now() + 30_000
  for (;;) {
    if (gone) throw new Error(`server exited early (${JSON.stringify(gone)}):\n${output}`)
    try {
      const res = await fetch(`http://${address}/api/health`, { signal: AbortSignal.timeout(2000) })
      if (res.ok) break
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop()
      throw new Error(`server did not become healthy:\n${output}`)
    }
    await sleep(100)
  }
  return { stop, output: () => output }
}

test('seed 004: ReconnectingWebSocket reconnects when the server restarts and keeps receiving', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'switchyard-e2e-reconnect-'))
  const address = `127.0.0.1:${await freePort()}`
  const base = `http://${address}`
  let srv = await serveAt(address, dataDir)
  let page
  try {
    await createFlow(base, okFlow('seed-reconnect'))
    const opened = await originPage(base)
    page = opened.page
    // The seed leaves handleMessage to be filled in ("// Handle messages"); a subclass does
    // that, and counts the connections the class opens.
    await page.addScriptTag({
      content: `
${loadSeed('seed004-reconnecting-websocket.js')}
window.__got = []
window.__opens = 0
class CollectingWebSocket extends ReconnectingWebSocket {
  connect() {
    super.connect()
    this.ws.addEventListener('open', () => window.__opens++)
  }
  handleMessage(message) {
    window.__got.push({ connection: window.__opens, message })
  }
}
window.__rws = new CollectingWebSocket(${JSON.stringify(`ws://${address}/api/ws/flows/seed-reconnect/monitor`)}, {
  reconnectInterval: 250,
  maxReconnectAttempts: 40,
})
window.__rws.connect()
`,
    })
    await waitInPage(page, () => window.__opens === 1, null, 'first connection')
    const before = await rest(base, 'POST', '/api/jobs', { flow_id: 'seed-reconnect', params: { value: 21 } })
    assert.equal(before.status, 201)
    await waitInPage(
      page,
      (id) => window.__got.some((g) => g.message.type === 'job_completed' && g.message.job_id === id),
      before.body.job_id,
      'job before the restart',
    )

    // The server goes away (its streams are closed with 1001) and comes back on the same
    // address and data; meanwhile the class keeps trying every reconnectInterval.
    await srv.stop()
    await waitInPage(
      page,
      () => window.__console.filter((l) => l[1] === 'Reconnection attempt ' + 2).length > 0,
      null,
      'reconnect attempts while the server is down',
    )
    srv = await serveAt(address, dataDir)
    await waitInPage(page, () => window.__opens === 2, null, 'reconnected')
    assert.equal(await page.evaluate(() => window.__rws.reconnectAttempts), 0, 'attempts reset on open')

    const afterJob = await rest(base, 'POST', '/api/jobs', { flow_id: 'seed-reconnect', params: { value: 21 } })
    assert.equal(afterJob.status, 201)
    await waitInPage(
      page,
      (id) => window.__got.some((g) => g.message.type === 'job_completed' && g.message.job_id === id),
      afterJob.body.job_id,
      'job after the restart',
    )

    const got = await page.evaluate(() => window.__got)
    const lines = (await page.evaluate(() => window.__console)).map((l) => l.slice(1).join(' '))
    assert.equal(got[0].message.type, 'connection:status')
    const second = got.filter((g) => g.connection === 2)
    assert.equal(second[0]?.message.type, 'connection:status', JSON.stringify(second[0]))
    assert.ok(got.every((g) => g.connection === 1 || g.connection === 2))
    assert.ok(
      got.filter((g) => g.connection === 1).every((g) => g.message.job_id === undefined || g.message.job_id === before.body.job_id),
    )
    assert.ok(second.every((g) => g.message.job_id === undefined || g.message.job_id === afterJob.body.job_id))
    const ctx = { jobIds: [before.body.job_id, afterJob.body.job_id], flowId: 'seed-reconnect', routines: OK_ROUTINES }
    for (const [i, g] of got.entries()) checkSeed004Message(g.message, ctx, `message ${i} ${JSON.stringify(g)}`)

    // What the class printed: connected, disconnected, numbered attempts, connected again.
    assert.equal(lines[0], 'WebSocket connected')
    assert.equal(lines[1], 'WebSocket disconnected, attempting to reconnect...')
    const attempts = lines.filter((l) => l.startsWith('Reconnection attempt ')).map((l) => Number(l.split(' ')[2]))
    assert.ok(attempts.length >= 2, lines.join('\n'))
    assert.deepEqual(
      attempts,
      attempts.map((_, i) => i + 1),
    )
    assert.equal(lines.at(-1), 'WebSocket connected')
    assert.ok(!lines.includes('Max reconnection attempts reached'))
    assert.deepEqual(pageErrors(opened.problems), [])
  } finally {
    await page?.close()
    await srv.stop()
    await rm(dataDir, { recursive: true, force: true })
  }
})
