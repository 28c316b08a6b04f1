// A line diff by longest common subsequence (flows are small: O(n·m) is fine).

export interface DiffLine {
  op: 'same' | 'add' | 'del'
  text: string
}

export function diffLines(a: string, b: string): DiffLine[] {
  const x = a === '' ? [] : a.split('\n')
  const y = b === '' ? [] : b.split('\n')
  const n = x.length
  const m = y.length
  // lcs[i][j]: length of the LCS of x[i..] and y[j..]
  const lcs: Uint32Array[] = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1))
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[i][j] = x[i] === y[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1])
    }
  }
  const out: DiffLine[] = []
  let i = 0
  let j = 0
  while (i < n && j < m) {
    if (x[i] === y[j]) {
      out.push({ op: 'same', text: x[i] })
      i++
      j++
    } else if (lcs[i + 1][j] >= lcs[i][j + 1]) {
      out.push({ op: 'del', text: x[i++] })
    } else {
      out.push({ op: 'add', text: y[j++] })
    }
  }
  while (i < n) out.push({ op: 'del', text: x[i++] })
  while (j < m) out.push({ op: 'add', text: y[j++] })
  return out
}

export type DiffRow = DiffLine | { op: 'skip'; count: number }

/** Keeps `context` unchanged lines around each change; longer unchanged runs become one `skip` row. */
export function collapseDiff(lines: DiffLine[], context = 3): DiffRow[] {
  const near = new Uint8Array(lines.length)
  lines.forEach((l, i) => {
    if (l.op === 'same') return
    for (let j = Math.max(0, i - context); j <= Math.min(lines.length - 1, i + context); j++) near[j] = 1
  })
  const out: DiffRow[] = []
  let skipped = 0
  lines.forEach((l, i) => {
    if (near[i]) {
      if (skipped) out.push({ op: 'skip', count: skipped })
      skipped = 0
      out.push(l)
    } else skipped++
  })
  if (skipped) out.push({ op: 'skip', count: skipped })
  return out
}
