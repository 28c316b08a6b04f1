// A server with an API token: the UI says how to give it one on a 401, takes
// ?token= once (an HttpOnly cookie, the address cleaned), and then works, its
// live stream included.
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { after, before, test } from 'node:test'
import { promisify } from 'node:util'
import { createFlow, launchBrowser, serverBin, startServer, waitForStatus, waitForText, watchPage } from './harness.mjs'

const run = promisify(execFile)

const SLOW_FLOW = `
flow_id: e2e-auth
routines:
  start: {kind: input}
  wait:  {kind: delay, config: {ms: 1500}}
  done:  {kind: output}
connections:
  - {from: start.output, to: wait.input}
  - {from: wait.output,  to: done.input}
`

let server
let browser
let token

before(async () => {
  server = await startServer()
  browser = await launchBrowser()
  await createFlow(server.url, SLOW_FLOW)
  // The CLI works on the database; the running server sees the token within 2 s.
  const { stdout } = await run(serverBin, ['tokens', 'create', '--name', 'e2e', '--role', 'operator', '--data', server.dataDir])
  token = stdout.trim()
  assert.match(token, /^sy_[0-9a-f]{12}_[0-9a-f]{64}$/)
  const deadline = Date.now() + 5000
  for (;;) {
    const res = await fetch(`${server.url}/api/flows`)
    if (res.status === 401) break
    if (Date.now() > deadline) throw new Error(`the server still answers ${res.status} without a token`)
    await new Promise((r) => setTimeout(r, 100))
  }
})

after(async () => {
  await browser?.close()
  await server?.stop()
})

test('without a token the page says how to give one', async () => {
  const page = await browser.newPage()
  try {
    await page.goto(`${server.url}/flows`)
    // The UI's words, not the server's ("send Authorization: Bearer …").
    const text = await waitForText(page.getByRole('alert'), /open the URL printed at its start/)
    assert.match(text, /This server needs a token/)
    assert.match(text, /\?token=/)
  } finally {
    await page.close()
  }
})

test('?token= once: an HttpOnly cookie, a clean address, then the UI and its stream work', async () => {
  const context = await browser.newContext()
  const page = await context.newPage()
  const problems = watchPage(page)
  try {
    await page.goto(`${server.url}/flows?token=${token}`)
    const url = new URL(page.url())
    assert.equal(url.pathname, '/flows')
    assert.equal(url.search, '', 'the token left the address bar')
    await page.getByTestId('flow-row-e2e-auth').waitFor()
    const cookie = (await context.cookies()).find((c) => c.name === 'switchyard_token')
    assert.ok(cookie, 'the cookie is set')
    assert.equal(cookie.httpOnly, true)
    assert.equal(cookie.sameSite, 'Strict')
    assert.equal(await page.evaluate(() => document.cookie), '', 'scripts cannot read it')

    // An operator starts a job and watches it live.
    await page.goto(`${server.url}/flows/e2e-auth`)
    await page.getByTestId('params-input').fill('{}')
    await page.getByTestId('btn-start-job').click()
    await page.waitForURL(/\/jobs\/[^/]+$/, { timeout: 10_000 })
    await page.locator('[data-testid="live-indicator"][data-state="live"]').waitFor({ timeout: 10_000 })
    await waitForStatus(page, 'completed')
    assert.deepEqual(
      problems.filter((p) => !p.includes('Failed to load resource')),
      [],
    )
  } finally {
    await context.close()
  }
})
