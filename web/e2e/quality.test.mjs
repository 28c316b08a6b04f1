// Themes, accessibility (axe-core on every page in both themes) and the jobs list
// (pausing state, errors, search by id, rerun).
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { join } from 'node:path'
import { createFlow, launchBrowser, repoRoot, rest, startServer, waitForJob, waitForStatus, waitForText, watchPage } from './harness.mjs'

const AXE = join(repoRoot, 'node_modules/axe-core/axe.min.js')

const DOUBLE = `
flow_id: q-double
name: Double it
routines:
  start:  {kind: input}
  double: {kind: transform, config: {expr: "{value: data.value * 2}"}}
  done:   {kind: output}
connections:
  - {from: start.output,  to: double.input}
  - {from: double.output, to: done.input}
`

const FAILING = `
flow_id: q-fail
routines:
  start: {kind: input}
  boom:  {kind: fail, config: {message: "the disk is full"}}
connections:
  - {from: start.output, to: boom.input}
`

const SLOW = `
flow_id: q-slow
routines:
  start: {kind: input}
  wait:  {kind: delay, config: {ms: 6000}}
  done:  {kind: output}
connections:
  - {from: start.output, to: wait.input}
  - {from: wait.output,  to: done.input}
`

const VIEWPORT = { width: 1280, height: 900 }
let server
let browser
let doneJob
let failedJob

before(async () => {
  server = await startServer()
  browser = await launchBrowser()
  await createFlow(server.url, DOUBLE)
  await createFlow(server.url, FAILING)
  await createFlow(server.url, SLOW)
  // A second version, for the flow page's history and diff.
  const v2 = await rest(server.url, 'PUT', '/api/flows/q-double', { dsl: DOUBLE.replace('name: Double it', 'name: Double it (v2)') })
  assert.equal(v2.status, 200, JSON.stringify(v2.body))
  doneJob = (await rest(server.url, 'POST', '/api/jobs', { flow_id: 'q-double', params: { value: 21 } })).body.job_id
  failedJob = (await rest(server.url, 'POST', '/api/jobs', { flow_id: 'q-fail', params: {} })).body.job_id
  await waitForJob(server.url, doneJob, (j) => j.status === 'completed')
  await waitForJob(server.url, failedJob, (j) => j.status === 'failed')
})

after(async () => {
  await browser?.close()
  await server?.stop()
})

async function axe(page, what) {
  await page.addScriptTag({ path: AXE })
  const result = await page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    const r = await axe.run(document, { resultTypes: ['violations'] })
    return r.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.slice(0, 5).map((n) => `${n.target.join(' ')}: ${n.failureSummary?.split('\n').slice(0, 3).join(' ')}`),
    }))
  })
  assert.deepEqual(result, [], `axe on ${what}:\n${JSON.stringify(result, null, 2)}`)
}

test('theme follows the system, the toggle wins and survives a reload', async () => {
  const page = await browser.newPage({ viewport: VIEWPORT, colorScheme: 'dark' })
  try {
    await page.goto(`${server.url}/flows`)
    const theme = () => page.evaluate(() => document.documentElement.dataset.theme)
    const bg = () => page.evaluate(() => getComputedStyle(document.body).backgroundColor || getComputedStyle(document.documentElement).backgroundColor)
    assert.equal(await theme(), 'dark')
    await page.emulateMedia({ colorScheme: 'light' })
    await page.waitForFunction(() => document.documentElement.dataset.theme === 'light')
    const lightBg = await page.evaluate(() => getComputedStyle(document.documentElement).backgroundColor)
    await page.getByTestId('theme-toggle').click()
    assert.equal(await theme(), 'dark')
    const darkBg = await page.evaluate(() => getComputedStyle(document.documentElement).backgroundColor)
    assert.notEqual(darkBg, lightBg)
    await page.reload()
    await page.getByTestId('flows-table').waitFor()
    assert.equal(await theme(), 'dark', 'the choice is kept over the (light) system preference')
    assert.equal(await page.getByTestId('theme-toggle').getAttribute('aria-label'), 'Switch to light theme')
    void bg
  } finally {
    await page.close()
  }
})

for (const scheme of ['light', 'dark']) {
  test(`axe: no violations on every page (${scheme})`, async () => {
    const page = await browser.newPage({ viewport: VIEWPORT, colorScheme: scheme, bypassCSP: true }) // axe is injected inline
    const problems = watchPage(page)
    try {
      await page.goto(`${server.url}/flows`)
      await page.getByTestId('flow-row-q-double').waitFor()
      assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), scheme)
      await axe(page, `flows list (${scheme})`)

      await page.goto(`${server.url}/flows/q-double`)
      await page.getByTestId('graph-node-double').waitFor()
      await page.getByTestId('flow-diff').locator('.diff-add').first().waitFor()
      await page.screenshot({ path: `/tmp/flow-page-${scheme}.png`, fullPage: true })
      await axe(page, `flow page (${scheme})`)

      await page.goto(`${server.url}/flows/q-double/edit`)
      await page.locator('[data-testid="flow-editor"] .cm-content').waitFor()
      await page.locator('[data-testid="flow-validity"][data-valid="true"]').waitFor()
      await page.getByTestId('graph-node-double').waitFor()
      await page.screenshot({ path: `/tmp/flow-editor-${scheme}-axe.png`, fullPage: true })
      await axe(page, `flow editor (${scheme})`)

      await page.goto(`${server.url}/flows/new`)
      await page.locator('[data-testid="flow-editor"] .cm-content').waitFor()
      await axe(page, `new flow (${scheme})`)

      await page.goto(`${server.url}/jobs`)
      await page.getByTestId(`job-row-${failedJob}`).waitFor()
      await page.screenshot({ path: `/tmp/jobs-list-${scheme}.png`, fullPage: true })
      await axe(page, `jobs list (${scheme})`)

      await page.goto(`${server.url}/jobs/${doneJob}`)
      await waitForStatus(page, 'completed')
      await waitForText(page.getByTestId('job-result'), /42/)
      await page.getByTestId('graph-node-done').waitFor()
      await page.screenshot({ path: `/tmp/job-page-${scheme}.png`, fullPage: true })
      await axe(page, `job page (${scheme})`)

      await page.goto(`${server.url}/jobs/${failedJob}`)
      await waitForStatus(page, 'failed')
      await axe(page, `failed job page (${scheme})`)
      assert.deepEqual(problems.filter((p) => !/status of 4\d\d/.test(p)), [])
    } finally {
      await page.close()
    }
  })
}

test('dark editor screenshot (with errors)', async () => {
  const page = await browser.newPage({ viewport: VIEWPORT, colorScheme: 'dark', bypassCSP: true })
  try {
    await page.goto(`${server.url}/flows/new`)
    const content = page.locator('[data-testid="flow-editor"] .cm-content')
    await content.click()
    await page.keyboard.press('Control+A')
    await page.keyboard.press('Delete')
    await page.keyboard.insertText(DOUBLE.trim().replace('q-double', 'q-dark').replace('kind: output', 'kind: outptu') + '\n  - {from: done.output, to: ghost.input}\n')
    await page.locator('[data-testid="flow-validity"][data-valid="false"]').waitFor()
    await page.locator('[data-testid="flow-errors"] li[data-severity="error"]').first().waitFor()
    await page.screenshot({ path: '/tmp/flow-editor-dark.png', fullPage: true })
    await axe(page, 'editor with errors (dark)')
  } finally {
    await page.close()
  }
})

test('jobs list: error column, pausing state, search by id, rerun', async () => {
  const page = await browser.newPage({ viewport: VIEWPORT })
  const problems = watchPage(page)
  try {
    const slow = (await rest(server.url, 'POST', '/api/jobs', { flow_id: 'q-slow', params: { n: 7 } })).body.job_id
    await waitForJob(server.url, slow, (j) => j.status === 'running' && j.current_node === 'wait')
    const p = await rest(server.url, 'POST', `/api/jobs/${slow}/pause`)
    assert.ok(p.status < 300, JSON.stringify(p.body))

    await page.goto(`${server.url}/jobs`)
    await page.getByTestId(`job-pausing-${slow}`).waitFor({ timeout: 5000 })
    await waitForText(page.getByTestId(`job-error-${failedJob}`), /the disk is full/)
    assert.equal((await page.getByTestId(`job-error-${doneJob}`).textContent()).trim(), '')

    // An unknown id says so; an exact id opens the job.
    await page.getByTestId('job-search').fill('job_nope')
    await page.getByTestId('job-search').press('Enter')
    await waitForText(page.getByTestId('job-search-msg'), /No job with id "job_nope"/)
    await page.getByTestId('job-search').fill(doneJob)
    await page.getByTestId('job-search-go').click()
    await page.waitForURL(new RegExp(`/jobs/${doneJob}$`))

    // A time range: one ending before any job shows none; clearing it shows them again.
    await page.goto(`${server.url}/jobs`)
    await page.getByTestId(`job-row-${doneJob}`).waitFor()
    await page.getByTestId('filter-to').fill('2020-01-01T00:00')
    await waitForText(page.getByTestId('page-info'), /^0 of 0$/)
    assert.match(page.url(), /to=2020-01-01T00%3A00/)
    await page.getByTestId('filter-time-clear').click()
    await page.getByTestId(`job-row-${doneJob}`).waitFor()
    await page.getByTestId('filter-from').fill('2020-01-01T00:00')
    await page.getByTestId(`job-row-${doneJob}`).waitFor()

    // Rerun: same flow and params, a new job.
    await page.goto(`${server.url}/jobs`)
    await page.getByTestId(`job-rerun-${doneJob}`).click()
    await page.waitForURL((u) => /\/jobs\/[^/]+$/.test(u.pathname) && !u.pathname.endsWith(doneJob))
    const again = decodeURIComponent(new URL(page.url()).pathname.split('/').pop())
    await waitForStatus(page, 'completed')
    const job = await rest(server.url, 'GET', `/api/jobs/${again}`)
    assert.equal(job.body.flow_id, 'q-double')
    assert.deepEqual(job.body.params, { value: 21 })
    await rest(server.url, 'POST', `/api/jobs/${slow}/cancel`)
    assert.deepEqual(problems.filter((p) => !/status of 4\d\d/.test(p)), [])
  } finally {
    await page.close()
  }
})

test('keyboard: the theme toggle and the editor are reachable with Tab, focus is visible', async () => {
  const page = await browser.newPage({ viewport: VIEWPORT })
  try {
    await page.goto(`${server.url}/flows/q-double/edit`)
    await page.locator('[data-testid="flow-editor"] .cm-content').waitFor()
    const seen = new Set()
    for (let i = 0; i < 12; i++) {
      await page.keyboard.press('Tab')
      const f = await page.evaluate(() => {
        const el = document.activeElement
        const s = getComputedStyle(el)
        return { id: el.getAttribute('data-testid') ?? (el.classList.contains('cm-content') ? 'cm-content' : el.tagName), outline: s.outlineStyle }
      })
      seen.add(f.id)
      if (f.id === 'theme-toggle' || f.id === 'flow-save') assert.notEqual(f.outline, 'none', `${f.id} shows focus`)
      if (f.id === 'cm-content') break
    }
    assert.ok(seen.has('theme-toggle'), [...seen].join(','))
    assert.ok(seen.has('flow-save'), [...seen].join(','))
    assert.ok(seen.has('cm-content'), [...seen].join(','))
  } finally {
    await page.close()
  }
})
