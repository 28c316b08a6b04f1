import type { Connection, RoutineSpec } from './api'

export interface Endpoint {
  routine: string
  port: string
}

export interface LayoutNode {
  id: string
  kind: string
  layer: number
  order: number
  x: number
  y: number
}

export interface LayoutEdge {
  id: string
  source: string
  target: string
  event: string
  slot: string
  label: string
  /** True for an edge that closes a cycle (drawn against the flow direction). */
  back: boolean
}

export interface Layout {
  nodes: LayoutNode[]
  edges: LayoutEdge[]
  width: number
  height: number
}

export interface LayoutOptions {
  nodeWidth: number
  nodeHeight: number
  gapX: number
  gapY: number
}

export const DEFAULT_LAYOUT: LayoutOptions = { nodeWidth: 170, nodeHeight: 56, gapX: 90, gapY: 36 }

/** Splits "routine.port" at the last dot; a bare "routine" has an empty port. */
export function parseEndpoint(s: string): Endpoint {
  const i = s.lastIndexOf('.')
  if (i <= 0) return { routine: s, port: '' }
  return { routine: s.slice(0, i), port: s.slice(i + 1) }
}

const byId = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0)

/**
 * Layered left-to-right layout of a flow: routines are nodes, connections edges.
 *
 * 1. Edges that close a cycle (found by a depth-first search from the sources,
 *    in id order) are set aside so the rest is acyclic.
 * 2. Each node's layer is the longest path reaching it from a source.
 * 3. Inside a layer nodes are ordered by the mean position of their
 *    predecessors (barycentre), ties broken by id; layers are centred vertically.
 *
 * The result depends only on the input, never on map iteration order.
 * Connections naming an unknown routine are left out.
 */
export function layoutFlow(
  routines: Record<string, RoutineSpec>,
  connections: Connection[],
  opts: LayoutOptions = DEFAULT_LAYOUT,
): Layout {
  const ids = Object.keys(routines).sort(byId)
  const known = new Set(ids)

  const edges: LayoutEdge[] = []
  connections.forEach((c, index) => {
    const from = parseEndpoint(c.from)
    const to = parseEndpoint(c.to)
    if (!known.has(from.routine) || !known.has(to.routine)) return
    edges.push({
      id: `c${index}`,
      source: from.routine,
      target: to.routine,
      event: from.port,
      slot: to.port,
      label: `${from.port || '?'}→${to.port || '?'}`,
      back: false,
    })
  })

  const out = new Map<string, LayoutEdge[]>()
  const indeg = new Map<string, number>()
  for (const id of ids) {
    out.set(id, [])
    indeg.set(id, 0)
  }
  for (const e of edges) {
    out.get(e.source)!.push(e)
    indeg.set(e.target, indeg.get(e.target)! + 1)
  }
  for (const list of out.values()) list.sort((a, b) => byId(a.target, b.target) || byId(a.id, b.id))

  // 1. Mark back edges with an iterative DFS (white/grey/black).
  const state = new Map<string, 0 | 1 | 2>(ids.map((id) => [id, 0]))
  const roots = [...ids.filter((id) => indeg.get(id) === 0), ...ids.filter((id) => indeg.get(id)! > 0)]
  for (const root of roots) {
    if (state.get(root) !== 0) continue
    const stack: { id: string; next: number }[] = [{ id: root, next: 0 }]
    state.set(root, 1)
    while (stack.length > 0) {
      const top = stack[stack.length - 1]
      const list = out.get(top.id)!
      if (top.next >= list.length) {
        state.set(top.id, 2)
        stack.pop()
        continue
      }
      const e = list[top.next++]
      const s = state.get(e.target)
      if (s === 1) {
        e.back = true
      } else if (s === 0) {
        state.set(e.target, 1)
        stack.push({ id: e.target, next: 0 })
      }
    }
  }

  // 2. Longest-path layering over the forward edges (Kahn's order).
  const forward = edges.filter((e) => !e.back && e.source !== e.target)
  const fin = new Map<string, number>(ids.map((id) => [id, 0]))
  const preds = new Map<string, string[]>(ids.map((id) => [id, []]))
  for (const e of forward) {
    fin.set(e.target, fin.get(e.target)! + 1)
    preds.get(e.target)!.push(e.source)
  }
  const layer = new Map<string, number>(ids.map((id) => [id, 0]))
  const queue = ids.filter((id) => fin.get(id) === 0)
  for (let qi = 0; qi < queue.length; qi++) {
    const id = queue[qi]
    for (const e of out.get(id)!) {
      if (e.back || e.source === e.target) continue
      layer.set(e.target, Math.max(layer.get(e.target)!, layer.get(id)! + 1))
      fin.set(e.target, fin.get(e.target)! - 1)
      if (fin.get(e.target) === 0) queue.push(e.target)
    }
  }

  // 3. Order within layers by barycentre of predecessors.
  const layerCount = ids.length === 0 ? 0 : Math.max(...ids.map((id) => layer.get(id)!)) + 1
  const layers: string[][] = Array.from({ length: layerCount }, () => [])
  for (const id of ids) layers[layer.get(id)!].push(id)
  const order = new Map<string, number>()
  layers.forEach((members, li) => {
    if (li > 0) {
      const score = (id: string) => {
        const ps = preds.get(id)!.filter((p) => layer.get(p)! < li)
        if (ps.length === 0) return Number.POSITIVE_INFINITY
        return ps.reduce((sum, p) => sum + order.get(p)!, 0) / ps.length
      }
      const scores = new Map(members.map((id) => [id, score(id)]))
      members.sort((a, b) => {
        const d = scores.get(a)! - scores.get(b)!
        return Number.isNaN(d) || d === 0 ? byId(a, b) : d
      })
    }
    members.forEach((id, i) => order.set(id, i))
  })

  const tallest = layers.reduce((m, l) => Math.max(m, l.length), 0)
  const stepX = opts.nodeWidth + opts.gapX
  const stepY = opts.nodeHeight + opts.gapY
  const nodes: LayoutNode[] = []
  layers.forEach((members, li) => {
    const offset = ((tallest - members.length) * stepY) / 2
    members.forEach((id, i) => {
      nodes.push({
        id,
        kind: String(routines[id]?.kind ?? ''),
        layer: li,
        order: i,
        x: li * stepX,
        y: offset + i * stepY,
      })
    })
  })

  return {
    nodes,
    edges,
    width: layerCount === 0 ? 0 : layerCount * stepX - opts.gapX,
    height: tallest === 0 ? 0 : tallest * stepY - opts.gapY,
  }
}
