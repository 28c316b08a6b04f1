// Pause and resume a running job from the job page.
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { createFlow, launchBrowser, rest, startServer, waitForStatus, watchPage, waitForText } from './harness.mjs'

const SLOW_FLOW = `
flow_id: e2e-slow
name: Slow
routines:
  start: {kind: input}
  wait:  {kind: delay, config: {ms: 3000}}
  done:  {kind: output}
connections:
  - {from: start.output, to: wait.input}
  - {from: wait.output,  to: done.input}
`

let server
let browser

before(async () => {
  server = await startServer()
  browser = await launchBrowser()
  await createFlow(server.url, SLOW_FLOW)
})

after(async () => {
  await browser?.close()
  await server?.stop()
})

test('pause a running job, see paused, resume it, see completed', async () => {
  const page = await browser.newPage()
  const problems = watchPage(page)
  try {
    await page.goto(`${server.url}/flows/e2e-slow`)
    await page.getByTestId('params-input').fill('{"value": 7}')
    await page.getByTestId('btn-start-job').click()
    await page.waitForURL(/\/jobs\/[^/]+$/, { timeout: 10_000 })
    const jobId = decodeURIComponent(new URL(page.url()).pathname.split('/').pop())

    // The delay keeps the job busy for 3 s: pause while it runs.
    await page.getByTestId('btn-pause').click({ timeout: 5_000 })
    await waitForStatus(page, 'paused', 15_000)
    assert.equal(await page.getByTestId('btn-pause').isDisabled(), true)
    assert.equal(await page.getByTestId('btn-resume').isEnabled(), true)
    assert.equal(await page.getByTestId('btn-cancel').isEnabled(), true)
    assert.equal(await page.getByTestId('error-alert').count(), 0)

    // Paused means paused: nothing moves on meanwhile.
    await new Promise((r) => setTimeout(r, 1500))
    const held = await rest(server.url, 'GET', `/api/jobs/${encodeURIComponent(jobId)}`)
    assert.equal(held.body.status, 'paused')
    await waitForStatus(page, 'paused', 1_000)

    await page.getByTestId('btn-resume').click()
    await waitForStatus(page, 'completed', 20_000)
    assert.equal(await page.getByTestId('error-alert').count(), 0)

    const job = await rest(server.url, 'GET', `/api/jobs/${encodeURIComponent(jobId)}`)
    assert.equal(job.body.status, 'completed')

    assert.deepEqual(
      problems.filter((p) => p.startsWith('pageerror')),
      [],
    )
  } finally {
    await page.close()
  }
})

test('cancel asks first; rerun starts the same flow with the same params', async () => {
  const page = await browser.newPage()
  const problems = watchPage(page)
  try {
    const started = await rest(server.url, 'POST', '/api/jobs', { flow_id: 'e2e-slow', params: { value: 11 } })
    assert.equal(started.status, 201)
    const jobId = started.body.job_id
    await page.goto(`${server.url}/jobs/${encodeURIComponent(jobId)}`)
    await waitForStatus(page, 'running', 10_000)

    // Cancel asks; keeping it running changes nothing.
    await page.getByTestId('btn-cancel').click()
    await page.getByTestId('cancel-confirmation').waitFor({ timeout: 5_000 })
    await page.getByTestId('cancel-keep').click()
    assert.equal(await page.getByTestId('cancel-confirmation').count(), 0)
    assert.equal((await rest(server.url, 'GET', `/api/jobs/${encodeURIComponent(jobId)}`)).body.status, 'running')

    await page.getByTestId('btn-cancel').click()
    await page.getByTestId('cancel-confirm').click()
    await waitForStatus(page, 'cancelled', 10_000)

    await page.getByTestId('btn-rerun').click()
    await page.waitForURL((u) => !u.pathname.endsWith(encodeURIComponent(jobId)), { timeout: 10_000 })
    const rerunId = decodeURIComponent(new URL(page.url()).pathname.split('/').pop())
    const rerun = await rest(server.url, 'GET', `/api/jobs/${encodeURIComponent(rerunId)}`)
    assert.equal(rerun.body.flow_id, 'e2e-slow')
    assert.deepEqual(rerun.body.params, { value: 11 })

    // Rerun with edited params: the form starts with this job's params; bad JSON is refused in place.
    await page.getByTestId('btn-rerun-edit').click()
    const params = page.getByTestId('params-input')
    assert.deepEqual(JSON.parse(await params.inputValue()), { value: 11 })
    await params.fill('{"value": ')
    await page.getByTestId('btn-start-job').click()
    await waitForText(page.getByTestId('params-error'), /Invalid JSON/)
    await params.fill('{"value": 12}')
    await page.getByTestId('btn-start-job').click()
    await page.waitForURL((u) => !u.pathname.endsWith(encodeURIComponent(rerunId)), { timeout: 10_000 })
    const edited = await rest(server.url, 'GET', `/api/jobs/${new URL(page.url()).pathname.split('/').pop()}`)
    assert.equal(edited.body.flow_id, 'e2e-slow')
    assert.deepEqual(edited.body.params, { value: 12 })
    assert.deepEqual(problems.filter((p) => p.startsWith('pageerror')), [])
  } finally {
    await page.close()
  }
})
