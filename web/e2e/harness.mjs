// Shared set-up of the browser tests: the real server binary on a free port
// with a fresh data directory, a headless Debian Chromium, and small REST helpers.
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium } from 'playwright-core'

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
export const serverBin = process.env.SWITCHYARD_BIN || join(repoRoot, 'bin/switchyard')
export const chromiumPath = process.env.CHROMIUM || '/usr/bin/chromium'

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
]

const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

export function freePort() {
  return new Promise((res, rej) => {
    const srv = createServer()
    srv.unref()
    srv.on('error', rej)
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address()
      srv.close(() => res(port))
    })
  })
}

/**
 * Starts `switchyard serve` on a free port with a fresh --data directory and
 * waits until GET /api/health answers 200.
 */
export async function startServer({ timeoutMs = 60_000 } = {}) {
  if (!existsSync(serverBin)) {
    throw new Error(`server binary not found at ${serverBin}: run "make build" (or set SWITCHYARD_BIN)`)
  }
  const dataDir = await mkdtemp(join(tmpdir(), 'switchyard-e2e-'))
  const port = await freePort()
  const addr = `127.0.0.1:${port}`
  const url = `http://${addr}`
  const child = spawn(serverBin, ['serve', '--addr', addr, '--data', dataDir], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env },
  })
  let output = ''
  const keep = (chunk) => {
    output += chunk.toString()
    if (output.length > 200_000) output = output.slice(-100_000)
  }
  child.stdout.on('data', keep)
  child.stderr.on('data', keep)
  let exited = null
  const exitPromise = new Promise((res) => {
    child.on('exit', (code, signal) => {
      exited = { code, signal }
      res(exited)
    })
  })

  const stop = async () => {
    if (exited === null) {
      child.kill('SIGTERM')
      let timer
      const done = await Promise.race([
        exitPromise,
        new Promise((r) => {
          timer = setTimeout(() => r(null), 10_000)
        }),
      ])
      clearTimeout(timer)
      if (done === null) {
        child.kill('SIGKILL')
        await exitPromise
      }
    }
    await rm(dataDir, { recursive: true, force: true })
  }

  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (exited !== null) {
      await rm(dataDir, { recursive: true, force: true })
      throw new Error(`server exited early (${JSON.stringify(exited)}):\n${output}`)
    }
    try {
      const res = await fetch(`${url}/api/health`, { signal: AbortSignal.timeout(2000) })
      if (res.ok) break
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop()
      throw new Error(`server did not become healthy within ${timeoutMs} ms:\n${output}`)
    }
    await sleep(100)
  }

  return { url, dataDir, stop, output: () => output }
}

export function launchBrowser() {
  if (!existsSync(chromiumPath)) {
    throw new Error(`Chromium not found at ${chromiumPath}: apt-get install -y chromium (or set CHROMIUM)`)
  }
  return chromium.launch({ executablePath: chromiumPath, headless: true, args: CHROMIUM_ARGS })
}

/** A JSON request to the server; answers { status, body } without throwing on 4xx. */
export async function rest(baseUrl, method, path, body) {
  const init = { method, headers: { Accept: 'application/json' } }
  if (body !== undefined) {
    init.body = JSON.stringify(body)
    init.headers['Content-Type'] = 'application/json'
  }
  const res = await fetch(baseUrl + path, init)
  const text = await res.text()
  let parsed
  try {
    parsed = text ? JSON.parse(text) : undefined
  } catch {
    parsed = text
  }
  return { status: res.status, body: parsed }
}

/** Creates a flow from YAML through POST /api/flows {"dsl": …}; throws unless 201. */
export async function createFlow(baseUrl, yaml) {
  const r = await rest(baseUrl, 'POST', '/api/flows', { dsl: yaml })
  if (r.status !== 201) throw new Error(`POST /api/flows: ${r.status} ${JSON.stringify(r.body)}`)
  return r.body
}

/** Polls GET /api/jobs/{id} until `done(job)` holds. */
export async function waitForJob(baseUrl, jobId, done, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs
  let last
  while (Date.now() < deadline) {
    const r = await rest(baseUrl, 'GET', `/api/jobs/${encodeURIComponent(jobId)}`)
    last = r.body
    if (r.status === 200 && done(r.body)) return r.body
    await sleep(100)
  }
  throw new Error(`job ${jobId} did not reach the expected state; last: ${JSON.stringify(last)}`)
}

/** Waits until the job page shows `status` in its status badge. */
export async function waitForStatus(page, status, timeout = 20_000) {
  try {
    await page.locator(`[data-testid="job-status"][data-status="${status}"]`).waitFor({ timeout })
  } catch (err) {
    const shown = await page
      .getByTestId('job-status')
      .textContent({ timeout: 1000 })
      .catch(() => '(no status)')
    throw new Error(`job page did not show status "${status}" (shows "${shown}"): ${err.message}`)
  }
}

/** Waits until the locator's text matches re. */
export async function waitForText(locator, re, timeout = 10_000) {
  const deadline = Date.now() + timeout
  let text = ''
  while (Date.now() < deadline) {
    text = (await locator.textContent({ timeout: Math.max(1, deadline - Date.now()) }).catch(() => '')) ?? ''
    if (re.test(text)) return text
    await sleep(100)
  }
  throw new Error(`text ${JSON.stringify(text)} does not match ${re}`)
}

/** Collects page errors and failed console messages, to explain a failing test. */
export function watchPage(page) {
  const problems = []
  page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`))
  page.on('console', (msg) => {
    if (msg.type() === 'error') problems.push(`console: ${msg.text()}`)
  })
  return problems
}
