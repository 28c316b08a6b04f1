// The pages follow jobs through the live streams (docs/streams.md) instead of polling.
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { createFlow, launchBrowser, rest, startServer, waitForJob, waitForStatus, waitForText, watchPage } from './harness.mjs'

const LIVE_FLOW = `
flow_id: e2e-live
name: Live
routines:
  start: {kind: input}
  note:  {kind: log, config: {message: "got {{ data.value }}"}}
  wait:  {kind: delay, config: {ms: 1500}}
  after: {kind: log, config: {level: warning, message: "waited for {{ data.value }}"}}
  done:  {kind: output}
connections:
  - {from: start.output, to: note.input}
  - {from: note.output,  to: wait.input}
  - {from: wait.output,  to: after.input}
  - {from: after.output, to: done.input}
`

let server
let browser

before(async () => {
  server = await startServer()
  browser = await launchBrowser()
  await createFlow(server.url, LIVE_FLOW)
})

after(async () => {
  await browser?.close()
  await server?.stop()
})

const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
const jobIdOf = (page) => decodeURIComponent(new URL(page.url()).pathname.split('/').pop())

/** Counts the page's GET requests per path. */
function countRequests(page) {
  const gets = []
  page.on('request', (req) => {
    if (req.method() === 'GET') gets.push(new URL(req.url()).pathname)
  })
  return (path) => gets.filter((p) => p === path).length
}

async function waitForLive(page, state = 'live', timeout = 5_000) {
  await page.locator(`[data-testid="live-indicator"][data-state="${state}"]`).waitFor({ timeout })
}

async function logRows(page) {
  return page.locator('[data-testid="log-row"]').evaluateAll((rows) =>
    rows.map((r) => ({ seq: r.dataset.seq, message: r.querySelector('.log-msg').textContent.trim() })),
  )
}

test('job page follows a running job live, without polling', async () => {
  const page = await browser.newPage()
  const problems = watchPage(page)
  const gets = countRequests(page)
  const sockets = []
  page.on('websocket', (ws) => sockets.push(ws.url()))
  try {
    await page.goto(`${server.url}/flows/e2e-live`)
    await page.getByTestId('params-input').fill('{"value": 21}')
    await page.getByTestId('btn-start-job').click()
    await page.waitForURL(/\/jobs\/[^/]+$/, { timeout: 10_000 })
    const jobId = jobIdOf(page)
    const jobPath = `/api/jobs/${encodeURIComponent(jobId)}`

    await waitForLive(page)
    // The delay holds the job for 1.5 s: the page sees it running, then done,
    // without reading the job again in between.
    await waitForStatus(page, 'running', 5_000)
    const readsWhileRunning = gets(jobPath)
    await waitForText(page.getByTestId('log-list'), /got 21/)
    await waitForStatus(page, 'completed', 15_000)
    assert.equal(gets(jobPath), readsWhileRunning, 'the job was read again while it ran')
    assert.equal(await page.getByTestId('live-indicator').getAttribute('data-state'), 'live')
    assert.match(await page.getByTestId('live-indicator').textContent(), /live/)

    await waitForText(page.getByTestId('job-result'), /"value":\s*21/)
    await waitForText(page.getByTestId('job-progress'), /100%/)
    assert.match(await page.getByTestId('routine-row-wait').textContent(), /completed/)
    assert.match(await page.getByTestId('routine-row-after').textContent(), /completed/)
    // The server's own lifecycle line arrives too.
    await waitForText(page.getByTestId('log-list'), /job completed/)

    const rows = await logRows(page)
    const seqs = rows.map((r) => r.seq)
    assert.deepEqual(seqs, [...new Set(seqs)], `duplicate log lines: ${JSON.stringify(rows)}`)
    assert.equal(rows.filter((r) => r.message === 'got 21').length, 1)
    assert.equal(rows.filter((r) => r.message === 'waited for 21').length, 1)

    // One read of the job when the page opened; everything else came over the socket.
    const jobReads = gets(jobPath)
    assert.ok(jobReads >= 1 && jobReads <= 2, `GET ${jobPath} ${jobReads} times`)
    assert.ok(
      sockets.some((u) => new URL(u).pathname === `/api/ws/executions/${jobId}` && new URL(u).searchParams.has('since')),
      `sockets: ${JSON.stringify(sockets)}`,
    )

    // Nothing is polled while the socket is live.
    const logsPath = `${jobPath}/logs`
    const before = [gets(jobPath), gets(logsPath)]
    await sleep(2_500)
    assert.deepEqual([gets(jobPath), gets(logsPath)], before)

    // What the page shows is what the server has.
    const job = await rest(server.url, 'GET', jobPath)
    assert.equal(job.body.status, 'completed')
    assert.deepEqual(job.body.result, { value: 21 })

    assert.deepEqual(
      problems.filter((p) => p.startsWith('pageerror')),
      [],
    )
  } finally {
    await page.close()
  }
})

test('job page resumes after a dropped socket (4008) without gaps or duplicates', async () => {
  const page = await browser.newPage()
  const problems = watchPage(page)
  const urls = []
  let cut = false
  let cutPos
  await page.routeWebSocket(
    (url) => url.pathname.startsWith('/api/ws/executions/'),
    (ws) => {
      urls.push(ws.url())
      const upstream = ws.connectToServer()
      if (cut) return // later connections pass through untouched
      // First connection: pass messages on until "wait" completes, then cut the
      // socket between the two messages of that event (its node_update and the
      // status with the new progress: positions seq.1 and seq.2).
      upstream.onMessage((data) => {
        if (cut) return
        ws.send(data)
        const msg = JSON.parse(String(data))
        if (msg.type === 'node_update' && msg.node_id === 'wait' && msg.node_state?.status === 'completed') {
          cut = true
          cutPos = msg.pos
          upstream.close().catch(() => {})
          ws.close({ code: 4008, reason: `lagging: reconnect with ?since=${msg.pos}` }).catch(() => {})
        }
      })
    },
  )
  try {
    // Start from REST and open the page while "wait" holds the job.
    const started = await rest(server.url, 'POST', '/api/jobs', { flow_id: 'e2e-live', params: { value: 5 } })
    assert.equal(started.status, 201, JSON.stringify(started.body))
    const jobId = started.body.job_id
    await page.goto(`${server.url}/jobs/${encodeURIComponent(jobId)}`)
    await waitForStatus(page, 'completed', 20_000)
    await waitForLive(page)

    // The page came back and asked for what follows the last message it got:
    // the event's second message, nothing twice.
    assert.ok(cut, 'the first socket was cut')
    assert.ok(urls.length >= 2, `reconnected: ${JSON.stringify(urls)}`)
    assert.match(String(cutPos), /^\d+\.1$/, 'the cut message is the first of its event')
    assert.equal(new URL(urls[1]).searchParams.get('since'), cutPos, JSON.stringify(urls))

    const done = await waitForJob(server.url, jobId, (j) => j.status === 'completed')
    await waitForText(page.getByTestId('job-progress'), /100%/)
    await waitForText(page.getByTestId('job-result'), /"value":\s*5/)
    assert.match(await page.getByTestId('routine-row-wait').textContent(), /completed/)
    assert.equal(done.nodes_completed, 5)
    await waitForText(page.getByTestId('log-list'), /job completed/)
    const rows = await logRows(page)
    const seqs = rows.map((r) => r.seq)
    assert.deepEqual(seqs, [...new Set(seqs)], `duplicate log lines: ${JSON.stringify(rows)}`)
    assert.equal(rows.filter((r) => r.message === 'waited for 5').length, 1)

    assert.deepEqual(
      problems.filter((p) => p.startsWith('pageerror')),
      [],
    )
  } finally {
    await page.close()
  }
})

test('jobs list shows a job started elsewhere within 2 s', async () => {
  const page = await browser.newPage()
  const problems = watchPage(page)
  try {
    await page.goto(`${server.url}/jobs`)
    await waitForLive(page)
    await page.locator('[data-testid="jobs-table"], .empty').first().waitFor()

    const started = await rest(server.url, 'POST', '/api/jobs', { flow_id: 'e2e-live', params: { value: 1 } })
    assert.equal(started.status, 201, JSON.stringify(started.body))
    const row = page.getByTestId(`job-row-${started.body.job_id}`)
    await row.waitFor({ timeout: 2_000 })
    assert.match(await row.textContent(), /running|completed/)

    // Its end arrives the same way (long before the 10 s safety poll).
    await waitForJob(server.url, started.body.job_id, (j) => j.status === 'completed')
    await waitForText(row, /completed/, 2_000)
    assert.equal(await page.getByTestId('live-indicator').getAttribute('data-state'), 'live')

    assert.deepEqual(
      problems.filter((p) => p.startsWith('pageerror')),
      [],
    )
  } finally {
    await page.close()
  }
})

/** How long the graph may take to bring the running routine into view (it looks twice a second). */
const FOLLOW_MS = 600

/** A chain of `n` delays: larger than the graph shows at a readable size. */
function longChain(n) {
  const lines = ['flow_id: e2e-long', 'routines:', '  start: {kind: input}']
  const conns = ['connections:']
  let prev = 'start'
  for (let i = 1; i <= n; i++) {
    lines.push(`  step${i}: {kind: delay, config: {ms: 700}}`)
    conns.push(`  - {from: ${prev}.output, to: step${i}.input}`)
    prev = `step${i}`
  }
  return [...lines, ...conns].join('\n') + '\n'
}

test('a large graph keeps the running routine in view until the operator pans it', async () => {
  await createFlow(server.url, longChain(16))
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } })
  const problems = watchPage(page)
  try {
    const r = await rest(server.url, 'POST', '/api/jobs', { flow_id: 'e2e-long', params: {} })
    assert.equal(r.status, 201)
    await page.goto(`${server.url}/jobs/${encodeURIComponent(r.body.job_id)}`)
    const follow = page.getByTestId('graph-follow')
    await follow.waitFor()
    assert.equal(await follow.getAttribute('aria-pressed'), 'true')

    // step8 is far to the right of where the graph starts; while it runs it is in view, at a readable size.
    await page.locator('[data-testid="graph-node-step8"][data-state="running"]').waitFor({ state: 'attached', timeout: 15_000 })
    await sleep(FOLLOW_MS)
    const inView = async (locator) => {
      const box = await page.getByTestId('flow-graph').boundingBox()
      const n = await locator.boundingBox()
      return n.x >= box.x && n.x + n.width <= box.x + box.width && n.y >= box.y && n.y + n.height <= box.y + box.height
    }
    const running = page.locator('[data-testid^="graph-node-step"][data-state="running"]')
    assert.ok(await inView(running), `the running routine ${await running.getAttribute('data-testid')} is in view`)
    assert.ok(!(await inView(page.getByTestId('graph-node-start'))), 'the view moved away from the start')
    assert.ok((await running.boundingBox()).width >= 140, 'the running routine is drawn at a readable size')

    // Dragging the graph hands the view to the operator.
    const box = await page.getByTestId('flow-graph').boundingBox()
    await page.mouse.move(box.x + box.width / 2, box.y + 40)
    await page.mouse.down()
    await page.mouse.move(box.x + box.width / 2 + 200, box.y + 60, { steps: 5 })
    await page.mouse.up()
    await waitForText(follow, /^Follow running$/)
    assert.equal(await follow.getAttribute('aria-pressed'), 'false')
    assert.deepEqual(problems.filter((p) => p.startsWith('pageerror')), [])
  } finally {
    await page.close()
  }
})
