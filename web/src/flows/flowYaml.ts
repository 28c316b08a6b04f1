// A line scan of a flow's YAML: where each routine's key and each connection item
// is (to put the server's validation issues on the right line), and a sketch of the
// routines and connections for the live graph preview. It is not a YAML parser: the
// server stays the judge of what the text means; this only has to be right for the
// usual layouts (block mappings, inline {…} values, block sequences of connections).

import type { Connection, RoutineSpec } from '../api/api'

export interface FlowSketch {
  flowId?: string
  routines: Record<string, RoutineSpec>
  connections: Connection[]
  /** 1-based line of each routine's key. */
  routineLines: Map<string, number>
  /** 1-based line of each connection item ("- …"), by index. */
  connectionLines: number[]
  /** 1-based line of the `routines:` and `connections:` keys. */
  routinesLine?: number
  connectionsLine?: number
}

export interface Issue {
  code: string
  message: string
  routine_id?: string
  connection?: number
}

const indentOf = (s: string) => s.length - s.trimStart().length
const isBlank = (s: string) => s.trim() === '' || s.trimStart().startsWith('#')

function unquote(s: string): string {
  const t = s.trim()
  if (t.length >= 2 && ((t[0] === '"' && t.endsWith('"')) || (t[0] === "'" && t.endsWith("'")))) return t.slice(1, -1)
  return t
}

/** The value of `key:` in a piece of text (inline map or a line of its own). */
function findValue(text: string, key: string): string | undefined {
  const re = new RegExp(`(?:^|[\\s{,])${key}\\s*:\\s*("[^"]*"|'[^']*'|[^,}\\s#]+)`)
  const m = re.exec(text)
  return m ? unquote(m[1]) : undefined
}

/** Top-level key lines: index of the line of `name:` at indent 0, and the end of its block. */
function topBlock(lines: string[], name: string): { start: number; end: number } | undefined {
  const re = new RegExp(`^["']?${name}["']?\\s*:`)
  const start = lines.findIndex((l) => re.test(l))
  if (start < 0) return undefined
  let end = start + 1
  while (end < lines.length && (isBlank(lines[end]) || indentOf(lines[end]) > 0 || lines[end].trimStart().startsWith('- '))) {
    // a block sequence may sit at indent 0 under its key
    if (!isBlank(lines[end]) && indentOf(lines[end]) === 0 && !lines[end].startsWith('-')) break
    end++
  }
  return { start, end }
}

export function sketchFlow(yaml: string): FlowSketch {
  const lines = yaml.replace(/\r\n?/g, '\n').split('\n')
  const sketch: FlowSketch = { routines: {}, connections: [], routineLines: new Map(), connectionLines: [] }
  const fid = lines.find((l) => /^flow_id\s*:/.test(l))
  if (fid) sketch.flowId = findValue(fid, 'flow_id')

  const r = topBlock(lines, 'routines')
  if (r) {
    sketch.routinesLine = r.start + 1
    let childIndent = -1
    let current: string | undefined
    for (let i = r.start + 1; i < r.end; i++) {
      const line = lines[i]
      if (isBlank(line)) continue
      const ind = indentOf(line)
      if (childIndent < 0) childIndent = ind
      if (ind === childIndent) {
        const m = /^\s*("[^"]+"|'[^']+'|[^\s:#][^:#]*?)\s*:(.*)$/.exec(line)
        if (!m) continue
        current = unquote(m[1])
        sketch.routines[current] = { kind: findValue(m[2], 'kind') ?? '' }
        sketch.routineLines.set(current, i + 1)
      } else if (ind > childIndent && current && !sketch.routines[current].kind) {
        const k = /^\s*kind\s*:\s*(.+?)\s*(#.*)?$/.exec(line)
        if (k) sketch.routines[current].kind = unquote(k[1])
      }
    }
  }

  const c = topBlock(lines, 'connections')
  if (c) {
    sketch.connectionsLine = c.start + 1
    let itemIndent = -1
    let text = ''
    const flush = () => {
      if (!text) return
      const from = findValue(text, 'from')
      const to = findValue(text, 'to')
      sketch.connections.push({ from: from ?? '', to: to ?? '' })
      text = ''
    }
    for (let i = c.start + 1; i < c.end; i++) {
      const line = lines[i]
      if (isBlank(line)) continue
      const ind = indentOf(line)
      const item = /^\s*-(\s|$)/.test(line)
      if (item && (itemIndent < 0 || ind === itemIndent)) {
        itemIndent = ind
        flush()
        sketch.connectionLines.push(i + 1)
        text = line.trimStart().slice(1)
      } else if (text) {
        text += '\n' + line
      }
    }
    flush()
  }
  return sketch
}

/** Line (1-based) of "[line:col]" in a YAML syntax error, if any. */
export function syntaxErrorLine(message: string): number | undefined {
  const m = /\[(\d+):(\d+)\]/.exec(message) ?? /line (\d+)/i.exec(message)
  return m ? Number(m[1]) : undefined
}

/**
 * Where an issue belongs: its routine's key, its connection's item, else a routine or
 * connection named in the message, else the line of a syntax error, else line 1.
 */
export function issueLine(issue: Issue, sketch: FlowSketch): number {
  if (issue.routine_id !== undefined) {
    const l = sketch.routineLines.get(issue.routine_id)
    if (l) return l
  }
  if (issue.connection !== undefined) {
    const l = sketch.connectionLines[issue.connection]
    if (l) return l
    if (sketch.connectionsLine) return sketch.connectionsLine
  }
  const named = /routine "([^"]+)"/.exec(issue.message)
  if (named && sketch.routineLines.has(named[1])) return sketch.routineLines.get(named[1])!
  const conn = /connection (\d+)/.exec(issue.message)
  if (conn && sketch.connectionLines[Number(conn[1])]) return sketch.connectionLines[Number(conn[1])]
  return syntaxErrorLine(issue.message) ?? 1
}

/** Only the connections whose both ends name a routine of the sketch (the preview draws those). */
export function drawableConnections(sketch: FlowSketch): Connection[] {
  const ids = new Set(Object.keys(sketch.routines))
  const ok = (s: string) => {
    const i = s.lastIndexOf('.')
    return ids.has(i > 0 ? s.slice(0, i) : s)
  }
  return sketch.connections.filter((c) => ok(c.from) && ok(c.to))
}

/** The routine whose block holds line `lineNo` (1-based), if the line is inside `routines:`. */
export function routineAt(yaml: string, lineNo: number): string | undefined {
  const lines = yaml.replace(/\r\n?/g, '\n').split('\n')
  // the nearest top-level key above must be `routines:`
  for (let i = Math.min(lineNo, lines.length) - 1; i >= 0; i--) {
    const l = lines[i]
    if (!isBlank(l) && indentOf(l) === 0 && !l.startsWith('-')) {
      if (!/^["']?routines["']?\s*:/.test(l) || i === lineNo - 1) return undefined
      break
    }
    if (i === 0) return undefined
  }
  const s = sketchFlow(yaml)
  let best = 0
  let id: string | undefined
  for (const [rid, l] of s.routineLines) {
    if (l <= lineNo && l > best) {
      best = l
      id = rid
    }
  }
  return id
}
