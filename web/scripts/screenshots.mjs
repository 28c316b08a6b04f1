// Takes the README's screenshots (docs/screenshots/*.png) from the real
// binary in Chromium: npm run screenshots (after make build).
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { createFlow, launchBrowser, repoRoot, rest, startServer, waitForJob } from '../e2e/harness.mjs'

const out = join(repoRoot, 'docs/screenshots')
mkdirSync(out, { recursive: true })
const VIEWPORT = { width: 1280, height: 900 }
const ORDERS = { orders: [{ id: 1, amount: 20 }, { id: 2, amount: 70 }, { id: 3, amount: 140 }, { id: 4, amount: 35 }] }
const SLOW = `flow_id: slow-orders
name: Orders, slowly
routines:
  start:  {kind: input}
  items:  {kind: split, config: {expr: "data.orders"}}
  check:  {kind: filter, config: {expr: "data.amount >= 50"}}
  wait:   {kind: delay, config: {ms: 1500}}
  price:  {kind: transform, config: {expr: "{id: data.id, total: data.amount * 1.2}"}}
  note:   {kind: log, config: {message: "small order {{ data.id }}"}}
  done:   {kind: output, config: {mode: append}}
connections:
  - {from: start.output, to: items.input}
  - {from: items.item,   to: check.input}
  - {from: check.true,   to: wait.input}
  - {from: check.false,  to: note.input}
  - {from: wait.output,  to: price.input}
  - {from: price.output, to: done.input}
`

const shot = async (page, name) => {
  await page.waitForTimeout(700) // let the graph settle
  await page.screenshot({ path: join(out, name), fullPage: false })
  console.log('wrote', join('docs/screenshots', name))
}

const server = await startServer()
const browser = await launchBrowser()
try {
  await createFlow(server.url, SLOW)
  const page = await browser.newPage({ viewport: VIEWPORT, colorScheme: 'light' })

  // A job running: some routines done, the delays running, counts on the edges.
  const running = await rest(server.url, 'POST', '/api/jobs', { flow_id: 'slow-orders', params: ORDERS })
  await page.goto(`${server.url}/jobs/${running.body.job_id}`)
  await page.locator('[data-testid="graph-node-wait"][data-state="running"]').waitFor()
  await shot(page, 'job-running.png')
  await waitForJob(server.url, running.body.job_id, (j) => j.status === 'completed', 20_000)

  // Paused at a conditional breakpoint, the debugger panel open.
  await rest(server.url, 'POST', '/api/flows/slow-orders/breakpoints', { type: 'slot', routine_id: 'price', slot_name: 'input', condition: 'data.amount > 100' })
  const paused = await rest(server.url, 'POST', '/api/jobs', { flow_id: 'slow-orders', params: ORDERS })
  await page.goto(`${server.url}/jobs/${paused.body.job_id}`)
  await page.locator('[data-testid="graph-node-price"][data-paused="true"]').waitFor({ timeout: 20_000 })
  await page.getByTestId('debugger-panel').waitFor()
  await page.getByTestId('eval-input').fill('data.amount * 1.2')
  await page.getByTestId('eval-input').press('Enter')
  await page.getByTestId('graph-node-price').scrollIntoViewIfNeeded()
  await page.evaluate(() => window.scrollTo(0, 0))
  await page.setViewportSize({ width: 1280, height: 1250 })
  await shot(page, 'job-paused-at-breakpoint.png')
  await page.setViewportSize(VIEWPORT)
  await rest(server.url, 'POST', `/api/jobs/${paused.body.job_id}/cancel`)

  // The flow page with its flow breakpoint.
  await page.goto(`${server.url}/flows/slow-orders`)
  await page.getByTestId('bp-dot-price-slot-input').waitFor()
  await shot(page, 'flow-breakpoint.png')

  // The editor with a mistake, shown inline.
  await page.goto(`${server.url}/flows/slow-orders/edit`)
  const content = page.locator('[data-testid="flow-editor"] .cm-content')
  await content.waitFor()
  await content.click()
  await page.keyboard.press('Control+A')
  await page.keyboard.press('Delete')
  await page.keyboard.insertText(SLOW.replace('kind: delay', 'kind: dely').replace('price.output', 'prize.output'))
  await page.locator('[data-testid="flow-errors"] li[data-severity="error"]').first().waitFor()
  await shot(page, 'flow-editor.png')

  // Time travel: the finished job as it was early on.
  await page.goto(`${server.url}/jobs/${running.body.job_id}`)
  const slider = page.getByTestId('time-scrubber')
  await slider.waitFor()
  await slider.focus()
  for (let i = 0; i < 25; i++) await page.keyboard.press('ArrowLeft')
  await page.getByTestId('time-travel-banner').waitFor()
  await shot(page, 'job-time-travel.png')

  // Dark theme.
  const dark = await browser.newPage({ viewport: VIEWPORT, colorScheme: 'dark' })
  await dark.goto(`${server.url}/jobs/${running.body.job_id}`)
  await dark.getByTestId('flow-graph').waitFor()
  await shot(dark, 'job-dark.png')
} finally {
  await browser.close()
  await server.stop()
}
