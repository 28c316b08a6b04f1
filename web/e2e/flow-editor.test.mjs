// The flow editor: create a flow with mistakes, see them inline and listed, fix,
// save, run it; edit again (version 2) and see the change in the versions diff; delete.
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { launchBrowser, rest, startServer, waitForStatus, waitForText, watchPage } from './harness.mjs'

const BROKEN = `flow_id: e2e-ed
name: Edited in the browser
routines:
  start:  {kind: input}
  double:
    kind: bogus
    config:
      expr: "{value: data.value * 2}"
  done:   {kind: output}
connections:
  - {from: start.output, to: double.input}
  - {from: double.output, to: nope.input}
`

const FIXED = `flow_id: e2e-ed
name: Edited in the browser
routines:
  start:  {kind: input}
  double:
    kind: transform
    config:
      expr: "{value: data.value * 2}"
  done:   {kind: output}
connections:
  - {from: start.output, to: double.input}
  - {from: double.output, to: done.input}
`

const VIEWPORT = { width: 1280, height: 900 }
let server
let browser

before(async () => {
  server = await startServer()
  browser = await launchBrowser()
})

after(async () => {
  await browser?.close()
  await server?.stop()
})

/** Replaces the editor's whole text (insertText: no auto-indent or bracket closing). */
async function setEditorText(page, text) {
  const content = page.locator('[data-testid="flow-editor"] .cm-content')
  await content.click()
  await page.keyboard.press('Control+A')
  await page.keyboard.press('Delete')
  await page.keyboard.insertText(text)
}

async function waitValid(page, valid, timeout = 10_000) {
  await page.locator(`[data-testid="flow-validity"][data-valid="${valid}"]`).waitFor({ timeout })
}

test('create with errors, fix, save, run; edit to version 2 and diff; delete', async () => {
  const page = await browser.newPage({ viewport: VIEWPORT, colorScheme: 'light' })
  const problems = watchPage(page)
  try {
    await page.goto(`${server.url}/flows`)
    await page.getByTestId('flow-new').click()
    await page.waitForURL(/\/flows\/new$/)
    await page.locator('[data-testid="flow-editor"] .cm-content').waitFor()
    // The template is valid as it stands.
    await waitValid(page, 'true')

    await setEditorText(page, BROKEN)
    await waitValid(page, 'false')
    const list = page.getByTestId('flow-errors')
    const unknownKind = list.locator('li[data-severity="error"]', { hasText: 'UNKNOWN_KIND' })
    const dangling = list.locator('li[data-severity="error"]', { hasText: 'DANGLING_CONNECTION' })
    await unknownKind.waitFor()
    await dangling.waitFor()
    // Each issue is on the line of what it concerns: the routine's key, the connection's item.
    assert.equal(await unknownKind.getAttribute('data-line'), '5')
    assert.equal(await dangling.getAttribute('data-line'), '12')
    // … and inline in the editor (lint marks and gutter markers).
    await page.locator('[data-testid="flow-editor"] .cm-lintRange-error').first().waitFor()
    assert.ok((await page.locator('[data-testid="flow-editor"] .cm-lint-marker-error').count()) >= 2)
    const marked = await page.locator('[data-testid="flow-editor"] .cm-lintRange-error').allTextContents()
    assert.ok(marked.some((t) => t.startsWith('double:')), `marked: ${JSON.stringify(marked)}`)
    // The preview draws the routines and leaves out the dangling connection.
    for (const id of ['start', 'double', 'done']) await page.getByTestId(`graph-node-${id}`).waitFor()
    await page.screenshot({ path: '/tmp/flow-editor-light.png', fullPage: true })

    // Saving a broken flow is refused by the server, and the page says why.
    await page.getByTestId('flow-save').click()
    await waitForText(page.getByTestId('save-error'), /FLOW_INVALID|invalid/i)
    assert.match(page.url(), /\/flows\/new$/)

    // Completion of kinds from GET /api/routines.
    await setEditorText(page, FIXED.replace('kind: transform', 'kind: tra'))
    await page.keyboard.press('Control+End')
    const kindLine = page.locator('[data-testid="flow-editor"] .cm-line', { hasText: 'kind: tra' })
    await kindLine.click()
    await page.keyboard.press('End')
    await page.keyboard.press('Control+Space')
    const option = page.locator('.cm-tooltip-autocomplete li', { hasText: 'transform' })
    await option.first().waitFor()
    await new Promise((r) => setTimeout(r, 200)) // CodeMirror ignores Enter for 75 ms after the popup opens
    await page.keyboard.press('Enter')
    await waitForText(page.locator('[data-testid="flow-editor"] .cm-content'), /kind: transform\s*config/)
    await waitValid(page, 'true').catch(async (err) => {
      await page.screenshot({ path: '/tmp/flow-editor-fail.png', fullPage: true })
      throw err
    })
    assert.equal(await list.locator('li[data-severity="error"]').count(), 0)

    await page.getByTestId('flow-save').click()
    await page.waitForURL(/\/flows\/e2e-ed$/)
    await waitForText(page.locator('.page-header'), /version 1/)
    const v1 = await rest(server.url, 'GET', '/api/flows/e2e-ed')
    assert.equal(v1.body.routines.double.kind, 'transform')

    // Run it from the flow page.
    await page.getByTestId('params-input').fill('{"value": 21}')
    await page.getByTestId('btn-start-job').click()
    await page.waitForURL(/\/jobs\/[^/]+$/)
    await waitForStatus(page, 'completed')
    await waitForText(page.getByTestId('job-result'), /42/)
    const firstJobUrl = page.url()

    // Edit again: version 2, and the diff shows the change.
    await page.goto(`${server.url}/flows/e2e-ed`)
    await page.getByTestId('flow-edit').click()
    await page.waitForURL(/\/flows\/e2e-ed\/edit$/)
    await page.locator('[data-testid="flow-editor"] .cm-content', { hasText: 'data.value * 2' }).waitFor()
    await waitValid(page, 'true')
    const current = await page.locator('[data-testid="flow-editor"] .cm-content').evaluate((el) => el.cmView?.view?.state.doc.toString() ?? null)
    const yaml = current ?? (await rest(server.url, 'GET', '/api/flows/e2e-ed/dsl?format=yaml')).body
    const text = typeof yaml === 'string' ? yaml : FIXED
    assert.match(text, /data\.value \* 2/)
    await setEditorText(page, text.replace('data.value * 2', 'data.value * 3'))
    await waitValid(page, 'true')
    await page.getByTestId('flow-save').click()
    await page.waitForURL(/\/flows\/e2e-ed$/)
    await waitForText(page.locator('.page-header'), /version 2/)
    const versions = page.getByTestId('flow-versions')
    await versions.getByTestId('flow-version-1').waitFor()
    await versions.getByTestId('flow-version-2').waitFor()
    const diff = page.getByTestId('flow-diff')
    await diff.locator('.diff-del', { hasText: 'data.value * 2' }).waitFor()
    await diff.locator('.diff-add', { hasText: 'data.value * 3' }).waitFor()
    assert.equal(await diff.locator('.diff-add').count(), 1)

    // The first job links to the version it ran, which the flow page marks and compares with the current one.
    await page.goto(firstJobUrl)
    await page.getByTestId('job-flow-version').click()
    await page.waitForURL(/\/flows\/e2e-ed\?version=1$/)
    await waitForText(page.getByTestId('flow-version-1'), /the job's version/)
    await page.getByTestId('flow-diff').locator('.diff-add', { hasText: 'data.value * 3' }).waitFor()

    // Delete, with a confirmation.
    await page.getByTestId('flow-delete').click()
    await page.getByTestId('flow-delete-cancel').click()
    await page.getByTestId('flow-delete').click()
    await page.getByTestId('flow-delete-confirm').click()
    await page.waitForURL(/\/flows$/)
    assert.equal((await rest(server.url, 'GET', '/api/flows/e2e-ed')).status, 404)
    assert.equal(await page.getByTestId('flow-row-e2e-ed').count(), 0)

    assert.deepEqual(problems.filter((p) => !/status of 4\d\d/.test(p)), [])
  } finally {
    await page.close()
  }
})
