// The job page's graph and debugger: breakpoints by clicking, conditions checked
// as they are typed, a stop with call stack, variables, evaluate and stepping,
// and two browsers on one paused job staying in step.
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { createFlow, launchBrowser, rest, startServer, waitForJob, waitForStatus, waitForText, watchPage } from './harness.mjs'

const DOUBLE_FLOW = `
flow_id: e2e-dbg
name: Debug me
routines:
  start:  {kind: input}
  double: {kind: transform, config: {expr: "{value: data.value * 2}"}}
  done:   {kind: output}
connections:
  - {from: start.output,  to: double.input}
  - {from: double.output, to: done.input}
`

const TWO_FLOW = `
flow_id: e2e-dbg-two
name: Two operators
routines:
  start:  {kind: input}
  double: {kind: transform, config: {expr: "{value: data.value * 2}"}}
  wait:   {kind: delay, config: {ms: 1500}}
  done:   {kind: output}
connections:
  - {from: start.output,  to: double.input}
  - {from: double.output, to: wait.input}
  - {from: wait.output,   to: done.input}
`

const VIEWPORT = { width: 1280, height: 900 }
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

let server
let browser

before(async () => {
  server = await startServer()
  browser = await launchBrowser()
  await createFlow(server.url, DOUBLE_FLOW)
  await createFlow(server.url, TWO_FLOW)
})

after(async () => {
  await browser?.close()
  await server?.stop()
})

async function startStopped(flowId, params) {
  const r = await rest(server.url, 'POST', '/api/jobs', { flow_id: flowId, params, stop_on_entry: true })
  assert.equal(r.status, 201, JSON.stringify(r.body))
  const jobId = r.body.job_id
  await waitForJob(server.url, jobId, (j) => j.status === 'paused' && j.paused_at)
  return jobId
}

/** Waits until the page shows the job stopped at `routine`; explains what it shows instead. */
async function pausedAt(page, routine, timeout = 10_000) {
  try {
    await page.locator(`[data-testid="graph-node-${routine}"][data-paused="true"]`).waitFor({ timeout })
  } catch (err) {
    const jobId = decodeURIComponent(new URL(page.url()).pathname.split('/').pop())
    const job = await rest(server.url, 'GET', `/api/jobs/${encodeURIComponent(jobId)}`)
    const shown = await page.getByTestId('job-status').textContent().catch(() => '?')
    const reason = await page.getByTestId('dbg-reason').textContent().catch(() => '(no panel)')
    const node = await page.getByTestId(`graph-node-${routine}`).evaluate((el) => el.outerHTML.slice(0, 300)).catch((e) => e.message)
    console.error('node:', node)
    throw new Error(
      `page does not show the job paused at ${routine} (shows ${shown}; ${reason}); server: ` +
        `${job.body?.status} ${JSON.stringify(job.body?.paused_at)} events=${job.body?.events}: ${err.message}`,
    )
  }
}

test('breakpoint by clicking, condition checked while typing, stop, edit data, F8 to the end', async () => {
  const page = await browser.newPage({ viewport: VIEWPORT })
  const problems = watchPage(page)
  try {
    const jobId = await startStopped('e2e-dbg', { value: 3 })
    await page.goto(`${server.url}/jobs/${encodeURIComponent(jobId)}`)

    // The graph, stopped on entry at `start`.
    for (const id of ['start', 'double', 'done']) await page.getByTestId(`graph-node-${id}`).waitFor()
    assert.match(await page.getByTestId('graph-node-double').textContent(), /double\s*transform/)
    await pausedAt(page, 'start')
    await page.getByTestId('debugger-panel').waitFor()
    await waitForText(page.getByTestId('dbg-reason'), /Step/)
    await waitForText(page.getByTestId('graph-node-start'), /paused here/)
    await page.screenshot({ path: '/tmp/sy-dbg-entry.png', fullPage: true })

    // Click the dot: a job breakpoint on `double`.
    await page.getByRole('button', { name: 'Toggle breakpoint on double' }).click()
    await page.locator('[data-testid="graph-node-double"][data-breakpoint="enabled"]').waitFor()
    let bps = await rest(server.url, 'GET', `/api/jobs/${jobId}/breakpoints`)
    assert.equal(bps.body.total, 1)
    assert.equal(bps.body.breakpoints[0].routine_id, 'double')
    const bpId = bps.body.breakpoints[0].breakpoint_id

    // Its condition, typed: the compiler's message first, then a good one.
    await page.getByTestId('bp-edit-double').click()
    const cond = page.getByTestId('bp-condition')
    await cond.pressSequentially('data.value >', { delay: 20 })
    await waitForText(page.getByTestId('bp-condition-error'), /\S/)
    const compilerMessage = await page.getByTestId('bp-condition-error').textContent()
    assert.match(compilerMessage, /unexpected|EOF|\(1:/i)
    await page.screenshot({ path: '/tmp/sy-dbg-condition-error.png' })
    await cond.fill('')
    await cond.pressSequentially('data.value > 1', { delay: 10 })
    await page.getByTestId('bp-condition-ok').waitFor()
    assert.equal(await page.getByTestId('bp-condition-error').count(), 0)
    await page.getByTestId('bp-save').click()
    await page.getByTestId('bp-popover').waitFor({ state: 'detached' })
    bps = await rest(server.url, 'GET', `/api/jobs/${jobId}/breakpoints`)
    assert.equal(bps.body.breakpoints[0].condition, 'data.value > 1')

    // Continue: stops at `double` on the breakpoint.
    await page.getByTestId('dbg-continue').click()
    await pausedAt(page, 'double')
    await waitForText(page.getByTestId('dbg-reason'), new RegExp(`Breakpoint ${bpId}`))
    await waitForText(page.getByTestId('call-stack'), /double[\s\S]*start/)
    await waitForText(page.getByTestId('variables'), /value[\s\S]*3/)
    await waitForText(page.getByTestId('bp-hits-double'), /^1$/)

    // Evaluate, with history.
    await page.getByTestId('eval-input').fill('data.value * 7')
    await page.getByTestId('eval-input').press('Enter')
    await waitForText(page.getByTestId('eval-output'), /21/)
    await page.getByTestId('eval-input').press('ArrowUp')
    assert.equal(await page.getByTestId('eval-input').inputValue(), 'data.value * 7')
    await page.getByTestId('eval-input').fill('nope(')
    await page.getByTestId('eval-input').press('Enter')
    await waitForText(page.getByTestId('eval-output'), /nope\([\s\S]*\S/)
    await page.getByTestId('eval-input').fill('')

    // An older frame can be inspected.
    await page.getByTestId('frame-1').click()
    await waitForText(page.getByTestId('variables'), /start/)
    await page.getByTestId('frame-0').click()

    // The routine side panel: config as JSON.
    await page.getByRole('button', { name: 'Inspect routine double' }).click()
    await waitForText(page.getByTestId('routine-config'), /data\.value \* 2/)
    await page.screenshot({ path: '/tmp/sy-dbg-breakpoint.png', fullPage: true })
    await page.getByRole('button', { name: 'Close routine panel' }).click()

    // Change data, then F8.
    await page.getByTestId('var-edit').fill('{"value": ')
    await page.getByTestId('var-json-error').waitFor()
    assert.equal(await page.getByTestId('var-save').isDisabled(), true)
    await page.getByTestId('var-edit').fill('{"value": 10}')
    await page.getByTestId('var-save').click()
    await page.getByTestId('var-saved').waitFor()
    await page.getByTestId('dbg-continue').focus()
    await page.keyboard.press('F8')

    await waitForStatus(page, 'completed', 15_000)
    await waitForText(page.getByTestId('job-result'), /"value":\s*20/)
    await page.getByTestId('debugger-panel').waitFor({ state: 'detached' })
    const job = await rest(server.url, 'GET', `/api/jobs/${jobId}`)
    assert.deepEqual(job.body.result, { value: 20 })
    await page.screenshot({ path: '/tmp/sy-dbg-completed.png', fullPage: true })

    // The routine panel lists its activations: the edited input, what it emitted, whole.
    await page.getByRole('button', { name: 'Inspect routine double' }).click()
    const acts = page.getByTestId('routine-activations')
    await waitForText(acts, /Activations\s*1/)
    await waitForText(page.getByTestId('activation-2'), /#2\s*on input[\s\S]*completed/)
    await waitForText(page.getByTestId('activation-2'), /input:\s*\{1\}[\s\S]*value:\s*10[\s\S]*emitted output:\s*\{1\}[\s\S]*value:\s*20/)
    await page.getByTestId('routine-panel').screenshot({ path: '/tmp/sy-dbg-activations.png' })

    assert.deepEqual(problems.filter((p) => p.startsWith('pageerror')), [])
  } finally {
    await page.close()
  }
})

test('two pages on one paused job: one steps, the other follows; a stale step shows the server message', async () => {
  const ctxA = await browser.newContext({ viewport: VIEWPORT })
  const ctxB = await browser.newContext({ viewport: VIEWPORT })
  const a = await ctxA.newPage()
  const b = await ctxB.newPage()
  const problems = [...watchPage(a), ...watchPage(b)]
  try {
    const jobId = await startStopped('e2e-dbg-two', { value: 4 })
    const url = `${server.url}/jobs/${encodeURIComponent(jobId)}`
    await a.goto(url)
    await b.goto(url)
    await pausedAt(a, 'start')
    await pausedAt(b, 'start')

    // A steps into `double`: B follows.
    await a.getByTestId('dbg-step-into').click()
    await pausedAt(a, 'double')
    await pausedAt(b, 'double')
    await waitForText(b.getByTestId('variables'), /value[\s\S]*4/)

    // Both operators step at once: B's command reaches the server after A's
    // (held on the way), answers a pause that is gone, and is refused.
    let hold = true
    const stepOver = `**/api/jobs/${jobId}/debug/step-over`
    await b.route(stepOver, async (route) => {
      while (hold) await sleep(50)
      await route.continue()
    })
    const staleId = await b.getByTestId('debugger-panel').getAttribute('data-pause-id')
    assert.match(staleId, /\S/)
    await b.getByTestId('dbg-step-over').click()
    await a.getByTestId('dbg-step-into').click()
    await pausedAt(a, 'wait')
    hold = false
    const message = await waitForText(b.getByTestId('dbg-error'), /stale/i)
    assert.match(message, /PAUSE_STALE/)
    await b.unroute(stepOver)
    // B shows where the job really is, and the job did not step twice.
    await pausedAt(b, 'wait')
    assert.notEqual(await b.getByTestId('debugger-panel').getAttribute('data-pause-id'), staleId)
    const now = await rest(server.url, 'GET', `/api/jobs/${jobId}`)
    assert.equal(now.body.paused_at.routine_id, 'wait')
    await b.screenshot({ path: '/tmp/sy-dbg-stale.png', fullPage: true })

    // A continues: the job runs (the delay), both see it, then completed.
    await a.getByTestId('dbg-continue').click()
    await waitForStatus(b, 'running', 5_000)
    await b.screenshot({ path: '/tmp/sy-dbg-running.png', fullPage: true })
    await waitForStatus(a, 'completed', 15_000)
    await waitForStatus(b, 'completed', 15_000)
    await waitForText(b.getByTestId('job-result'), /"value":\s*8/)

    assert.deepEqual(problems.filter((p) => p.startsWith('pageerror')), [])
  } finally {
    await ctxA.close()
    await ctxB.close()
  }
})

test('flow breakpoint set on the flow page: a new job stops there and lists it as inherited', async () => {
  const page = await browser.newPage({ viewport: VIEWPORT })
  const problems = watchPage(page)
  try {
    await page.goto(`${server.url}/flows/e2e-dbg`)
    await page.getByRole('button', { name: 'Toggle breakpoint on done' }).click()
    await page.locator('[data-testid="graph-node-done"][data-breakpoint="enabled"]').waitFor()
    const flowBps = await rest(server.url, 'GET', '/api/flows/e2e-dbg/breakpoints')
    assert.equal(flowBps.body.total, 1)
    const flowBpId = flowBps.body.breakpoints[0].breakpoint_id
    await page.screenshot({ path: '/tmp/sy-dbg-flow-page.png', fullPage: true })

    await page.getByTestId('params-input').fill('{"value": 5}')
    await page.getByTestId('btn-start-job').click()
    await page.waitForURL(/\/jobs\/[^/]+$/, { timeout: 10_000 })
    await pausedAt(page, 'done')
    await waitForText(page.getByTestId('bp-list'), new RegExp(`inherited`))
    await waitForText(page.getByTestId('variables'), /value[\s\S]*10/)
    await page.getByTestId('bp-edit-done').click()
    await waitForText(page.getByTestId('bp-inherited'), new RegExp(flowBpId))
    await page.keyboard.press('Escape')
    await page.getByTestId('bp-popover').waitFor({ state: 'detached' })

    // The Debug button starts a new job of the same flow and params, stopped on entry.
    const before = page.url()
    await page.getByTestId('btn-debug').click()
    await page.waitForURL((u) => u.toString() !== before && /\/jobs\/[^/]+$/.test(u.pathname), { timeout: 10_000 })
    await pausedAt(page, 'start')
    const newId = decodeURIComponent(new URL(page.url()).pathname.split('/').pop())
    const created = await rest(server.url, 'GET', `/api/jobs/${encodeURIComponent(newId)}`)
    assert.deepEqual(created.body.params, { value: 5 })

    // Cancel from the debugger panel.
    await page.getByTestId('dbg-cancel').click()
    await waitForStatus(page, 'cancelled', 10_000)
    await rest(server.url, 'DELETE', `/api/flows/e2e-dbg/breakpoints/${flowBpId}`)
    assert.deepEqual(problems.filter((p) => p.startsWith('pageerror')), [])
  } finally {
    await page.close()
  }
})

const BRANCH_FLOW = `
flow_id: e2e-dbg-branch
name: Ports
routines:
  start: {kind: input}
  check: {kind: filter, config: {expr: "data.value > 10"}}
  big:   {kind: output}
  small: {kind: transform, config: {expr: "{value: data.value + 100}"}}
  done:  {kind: output}
connections:
  - {from: start.output, to: check.input}
  - {from: check.true,   to: big.input}
  - {from: check.false,  to: small.input}
  - {from: small.output, to: done.input}
`

test('slot and event breakpoints by clicking ports: stop at the emit, edit what is emitted, counts on edges', async () => {
  await createFlow(server.url, BRANCH_FLOW)
  const page = await browser.newPage({ viewport: VIEWPORT, deviceScaleFactor: 2 })
  const problems = watchPage(page)
  try {
    const jobId = await startStopped('e2e-dbg-branch', { value: 3 })
    await page.goto(`${server.url}/jobs/${encodeURIComponent(jobId)}`)
    await pausedAt(page, 'start')

    // Every port is drawn with its name: the filter's slot and both its events.
    for (const port of ['check-slot-input', 'check-event-true', 'check-event-false', 'small-slot-input'])
      await page.getByTestId(`port-${port}`).waitFor()
    // An event breakpoint on check.false and a slot breakpoint on small.input, by clicking their dots.
    await page.getByRole('button', { name: 'Toggle breakpoint on event false of check' }).click()
    await page.getByRole('button', { name: 'Toggle breakpoint on slot input of small' }).click()
    await page.locator('[data-testid="bp-dot-check-event-false"][aria-pressed="true"]').waitFor()
    await page.locator('[data-testid="bp-dot-small-slot-input"][aria-pressed="true"]').waitFor()
    const set = await rest(server.url, 'GET', `/api/jobs/${encodeURIComponent(jobId)}/breakpoints`)
    const kinds = set.body.breakpoints.map((b) => `${b.type}:${b.routine_id}:${b.event_name ?? b.slot_name}`).sort()
    assert.deepEqual(kinds, ['event:check:false', 'slot:small:input'])
    // The routine dot is untouched by a port's.
    assert.equal(await page.getByTestId('graph-node-check').getAttribute('data-breakpoint'), null)

    // Continue: the filter decides "false" and is held at that emit.
    await page.keyboard.press('F8')
    await pausedAt(page, 'check')
    await waitForText(page.getByTestId('dbg-reason'), /\(event\) at check/)
    await waitForText(page.getByTestId('bp-hits-check-event-false'), /^1$/)
    // One item passed start → check; nothing has left check yet.
    await waitForText(page.locator('.react-flow__edge-textwrapper, .react-flow__edge-text').first(), /×1/)
    await page.getByTestId('flow-graph').screenshot({ path: '/tmp/sy-dbg-ports.png' })

    // Edit what check emits, then run on to the slot breakpoint at small.
    const editor = page.getByTestId('var-edit')
    await editor.fill('{"value": 7}')
    await page.getByTestId('var-save').click()
    await page.getByTestId('var-saved').waitFor()
    await page.keyboard.press('F8')
    await pausedAt(page, 'small')
    await waitForText(page.getByTestId('dbg-reason'), /\(slot\) at small, slot input/)
    await waitForText(page.getByTestId('variables'), /value[\s\S]*7/)
    await page.keyboard.press('F8')
    await waitForStatus(page, 'completed', 15_000)
    await waitForText(page.getByTestId('job-result'), /"value":\s*107/)
    // Each edge that carried data says how much; the branch not taken says nothing.
    await page.getByTestId('flow-graph').screenshot({ path: '/tmp/sy-dbg-ports-done.png' })
    const labels = await page.locator('.react-flow__edge-text').allTextContents()
    assert.deepEqual(labels.sort(), ['×1', '×1', '×1'])
    assert.deepEqual(problems.filter((p) => p.startsWith('pageerror')), [])
  } finally {
    await page.close()
  }
})
