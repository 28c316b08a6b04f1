// Start a job from the flow page and follow it to its result.
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { createFlow, launchBrowser, rest, startServer, waitForStatus, waitForText, watchPage } from './harness.mjs'

const DOUBLE_FLOW = `
flow_id: e2e-double
name: Double it
routines:
  start:  {kind: input}
  double: {kind: transform, config: {expr: "{value: data.value * 2}"}}
  done:   {kind: output}
connections:
  - {from: start.output,  to: double.input}
  - {from: double.output, to: done.input}
`

let server
let browser

before(async () => {
  server = await startServer()
  browser = await launchBrowser()
  await createFlow(server.url, DOUBLE_FLOW)
})

after(async () => {
  await browser?.close()
  await server?.stop()
})

test('flow page: graph, YAML, params validation, start job, completed with result 42', async () => {
  const page = await browser.newPage()
  const problems = watchPage(page)
  try {
    await page.goto(`${server.url}/flows/e2e-double`)

    // The definition and the read-only graph of the flow.
    await waitForText(page.getByTestId('flow-yaml'), /flow_id:\s*e2e-double/)
    for (const id of ['start', 'double', 'done']) {
      await page.getByTestId(`graph-node-${id}`).waitFor()
    }
    assert.match(await page.getByTestId('graph-node-double').textContent(), /double\s*transform/)

    // Invalid JSON is refused on the client and does not leave the page.
    await page.getByTestId('params-input').fill('{"value": ')
    await page.getByTestId('btn-start-job').click()
    await waitForText(page.getByTestId('params-error'), /Invalid JSON/)
    assert.equal(new URL(page.url()).pathname, '/flows/e2e-double')

    await page.getByTestId('params-input').fill('{"value": 21}')
    await page.getByTestId('btn-start-job').click()
    await page.waitForURL(/\/jobs\/[^/]+$/, { timeout: 10_000 })
    const jobId = decodeURIComponent(new URL(page.url()).pathname.split('/').pop())

    await waitForStatus(page, 'completed')
    const result = await waitForText(page.getByTestId('job-result'), /42/)
    assert.match(result, /42/)
    await waitForText(page.getByTestId('job-progress'), /100%/)
    await page.getByTestId('routine-row-double').waitFor()
    assert.match(await page.getByTestId('routine-row-double').textContent(), /completed/)

    // A finished job offers no action.
    for (const b of ['btn-pause', 'btn-resume', 'btn-cancel']) {
      assert.equal(await page.getByTestId(b).isDisabled(), true, `${b} should be disabled`)
    }

    // The page shows what the server has.
    const job = await rest(server.url, 'GET', `/api/jobs/${encodeURIComponent(jobId)}`)
    assert.equal(job.status, 200)
    assert.equal(job.body.status, 'completed')
    assert.equal(job.body.flow_id, 'e2e-double')
    assert.match(JSON.stringify(job.body.result), /42/)

    assert.deepEqual(
      problems.filter((p) => p.startsWith('pageerror')),
      [],
    )
  } finally {
    await page.close()
  }
})

test('lists: flows link to the flow page, jobs filters live in the URL', async () => {
  const page = await browser.newPage()
  const problems = watchPage(page)
  try {
    await page.goto(`${server.url}/`)
    await page.waitForURL(/\/flows$/)
    const row = page.getByTestId('flow-row-e2e-double')
    await row.waitFor()
    assert.match(await row.textContent(), /Double it/)
    await row.getByRole('link', { name: 'e2e-double' }).click()
    await page.waitForURL(/\/flows\/e2e-double$/)
    await page.getByTestId('btn-start-job').waitFor()

    await page.goto(`${server.url}/jobs`)
    await page.getByTestId('jobs-table').waitFor()
    await page.getByTestId('filter-flow').selectOption('e2e-double')
    await page.waitForURL(/[?&]flow_id=e2e-double/)
    await page.getByTestId('filter-status').selectOption('completed')
    await page.waitForURL(/[?&]status=completed/)
    await waitForText(page.getByTestId('jobs-table'), /completed/)

    await page.getByTestId('filter-status').selectOption('failed')
    await page.waitForURL(/[?&]status=failed/)
    await waitForText(page.locator('main'), /No jobs\./)

    // Reloading keeps the filters (they come from the URL).
    await page.reload()
    assert.equal(await page.getByTestId('filter-flow').inputValue(), 'e2e-double')
    assert.equal(await page.getByTestId('filter-status').inputValue(), 'failed')

    assert.deepEqual(
      problems.filter((p) => p.startsWith('pageerror')),
      [],
    )
  } finally {
    await page.close()
  }
})
