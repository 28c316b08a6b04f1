// The server's word wins: a refused action shows the server's message.
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import {
  createFlow,
  launchBrowser,
  rest,
  startServer,
  waitForJob,
  waitForStatus,
  waitForText,
  watchPage,
} from './harness.mjs'

const QUICK_FLOW = `
flow_id: e2e-quick
routines:
  start: {kind: input}
  done:  {kind: output}
connections:
  - {from: start.output, to: done.input}
`

let server
let browser

before(async () => {
  server = await startServer()
  browser = await launchBrowser()
  await createFlow(server.url, QUICK_FLOW)
})

after(async () => {
  await browser?.close()
  await server?.stop()
})

const isFinished = (job) => ['completed', 'failed', 'cancelled'].includes(job.status)

test('resume refused by the server shows its message in the alert', async () => {
  const started = await rest(server.url, 'POST', '/api/jobs', { flow_id: 'e2e-quick', params: { value: 1 } })
  assert.equal(started.status, 201, JSON.stringify(started.body))
  const jobId = started.body.job_id
  const done = await waitForJob(server.url, jobId, isFinished)
  assert.equal(done.status, 'completed')

  // What the server says to resuming a completed job.
  const refused = await rest(server.url, 'POST', `/api/jobs/${encodeURIComponent(jobId)}/resume`)
  assert.equal(refused.status, 409, JSON.stringify(refused.body))
  const { code, message } = refused.body.error
  assert.ok(message, 'the server gives a message')

  const page = await browser.newPage()
  const problems = watchPage(page)
  try {
    // Make the page believe the job is still paused (as a page showing a stale
    // state would), so that Resume is enabled; the action itself goes to the server.
    const jobPath = `/api/jobs/${encodeURIComponent(jobId)}`
    await page.route(
      (url) => url.pathname === jobPath,
      async (route) => {
        try {
          if (route.request().method() !== 'GET') return await route.continue()
          const res = await route.fetch()
          const job = await res.json()
          await route.fulfill({ response: res, json: { ...job, status: 'paused' } })
        } catch {
          // The page closed while a poll was in flight.
        }
      },
    )
    await page.goto(`${server.url}/jobs/${encodeURIComponent(jobId)}`)
    await waitForStatus(page, 'paused')

    await page.getByTestId('btn-resume').click()
    const alert = page.getByTestId('error-alert')
    await alert.waitFor({ timeout: 10_000 })
    assert.equal(await alert.getAttribute('role'), 'alert')
    const text = await waitForText(alert, new RegExp(escape(message)))
    assert.ok(text.includes(message), `alert ${JSON.stringify(text)} lacks ${JSON.stringify(message)}`)
    assert.ok(text.includes(code), `alert ${JSON.stringify(text)} lacks the code ${code}`)

    // Cancel is refused too, and its message replaces the previous one.
    const refusedCancel = await rest(server.url, 'POST', `/api/jobs/${encodeURIComponent(jobId)}/cancel`)
    assert.equal(refusedCancel.status, 409)
    await page.getByTestId('btn-cancel').click()
    await page.getByTestId('cancel-confirm').click()
    await waitForText(alert, new RegExp(escape(refusedCancel.body.error.message)))

    // The job itself is untouched.
    const after = await rest(server.url, 'GET', `/api/jobs/${encodeURIComponent(jobId)}`)
    assert.equal(after.body.status, 'completed')

    assert.deepEqual(
      problems.filter((p) => p.startsWith('pageerror')),
      [],
    )
  } finally {
    await page.unrouteAll({ behavior: 'ignoreErrors' })
    await page.close()
  }
})

test('an unknown job shows the server error instead of a blank page', async () => {
  const missing = await rest(server.url, 'GET', '/api/jobs/no-such-job')
  assert.equal(missing.status, 404)
  const page = await browser.newPage()
  try {
    await page.goto(`${server.url}/jobs/no-such-job`)
    const alert = page.getByTestId('load-error')
    await alert.waitFor({ timeout: 10_000 })
    await waitForText(alert, new RegExp(escape(missing.body.error.message)))
  } finally {
    await page.close()
  }
})

function escape(s) {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}
