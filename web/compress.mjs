// Compresses the built UI ahead of time: for every text file of web/dist
// worth it, writes name.br (brotli, best) and name.gz (gzip, best) beside
// it. The server picks one by Accept-Encoding (backend/ui), so nothing is
// compressed per request. Node's own zlib does both; no dependency.
import { readdir, readFile, stat, writeFile } from 'node:fs/promises'
import { join, relative } from 'node:path'
import { brotliCompressSync, constants, gzipSync } from 'node:zlib'

const dist = new URL('./dist/', import.meta.url).pathname
const compressible = /\.(js|mjs|css|html|svg|json|txt|map)$/
const minBytes = 1024

async function* files(dir) {
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name)
    if (e.isDirectory()) yield* files(p)
    else yield p
  }
}

let count = 0
let before = 0
let after = 0
for await (const file of files(dist)) {
  if (!compressible.test(file) || relative(dist, file).startsWith('.')) continue
  const size = (await stat(file)).size
  if (size < minBytes) continue
  const body = await readFile(file)
  const br = brotliCompressSync(body, {
    params: { [constants.BROTLI_PARAM_QUALITY]: constants.BROTLI_MAX_QUALITY, [constants.BROTLI_PARAM_SIZE_HINT]: size },
  })
  const gz = gzipSync(body, { level: 9 })
  if (gz.length >= size) continue // not worth it: served as it is
  await writeFile(file + '.br', br)
  await writeFile(file + '.gz', gz)
  count++
  before += size
  after += br.length
}
console.log(`compressed ${count} files: ${(before / 1024).toFixed(0)} KiB → ${(after / 1024).toFixed(0)} KiB brotli`)
