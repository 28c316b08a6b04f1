import dagre from '@dagrejs/dagre'
import type { Connection, RoutineSpec } from '../api/api'

export interface Endpoint {
  routine: string
  port: string
}

export interface LayoutNode {
  id: string
  kind: string
  /** Column (rank) from the left, 0-based. */
  layer: number
  /** Position inside the column, top to bottom, 0-based. */
  order: number
  /** Top-left corner. */
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
  /** Horizontal gap between columns. */
  gapX: number
  /** Vertical gap between nodes of a column. */
  gapY: number
}

export const DEFAULT_LAYOUT: LayoutOptions = { nodeWidth: 176, nodeHeight: 84, gapX: 96, gapY: 32 }

/** Splits "routine.port" at the last dot; a bare "routine" has an empty port. */
export function parseEndpoint(s: string): Endpoint {
  const i = s.lastIndexOf('.')
  if (i <= 0) return { routine: s, port: '' }
  return { routine: s.slice(0, i), port: s.slice(i + 1) }
}

const byId = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0)

/** Marks edges that close a cycle, by a depth-first search from the sources in id order. */
function markBackEdges(ids: string[], edges: LayoutEdge[]): void {
  const out = new Map<string, LayoutEdge[]>(ids.map((id) => [id, []]))
  const indeg = new Map<string, number>(ids.map((id) => [id, 0]))
  for (const e of edges) {
    out.get(e.source)!.push(e)
    indeg.set(e.target, indeg.get(e.target)! + 1)
  }
  for (const list of out.values()) list.sort((a, b) => byId(a.target, b.target) || byId(a.id, b.id))
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
      if (s === 1) e.back = true
      else if (s === 0) {
        state.set(e.target, 1)
        stack.push({ id: e.target, next: 0 })
      }
    }
  }
}

/**
 * Left-to-right layout of a flow with dagre (routines are nodes, connections
 * edges). Edges closing a cycle are marked `back` and given to dagre reversed,
 * so the flow direction stays left to right. Nodes and edges are handed to
 * dagre in id order: the result depends only on the input, never on map
 * iteration order. Connections naming an unknown routine are left out.
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
  if (ids.length === 0) return { nodes: [], edges, width: 0, height: 0 }
  markBackEdges(ids, edges)

  const g = new dagre.graphlib.Graph({ multigraph: true })
  g.setGraph({ rankdir: 'LR', ranksep: opts.gapX, nodesep: opts.gapY, edgesep: 12, marginx: 0, marginy: 0 })
  g.setDefaultEdgeLabel(() => ({}))
  for (const id of ids) g.setNode(id, { width: opts.nodeWidth, height: opts.nodeHeight })
  for (const e of edges) {
    if (e.source === e.target) continue
    if (e.back) g.setEdge(e.target, e.source, { minlen: 1 }, e.id)
    else g.setEdge(e.source, e.target, { minlen: 1 }, e.id)
  }
  dagre.layout(g)

  const placed = ids.map((id) => {
    const n = g.node(id) as { x: number; y: number }
    return { id, x: n.x - opts.nodeWidth / 2, y: n.y - opts.nodeHeight / 2 }
  })
  const minX = Math.min(...placed.map((p) => p.x))
  const minY = Math.min(...placed.map((p) => p.y))
  const columns = [...new Set(placed.map((p) => Math.round(p.x - minX)))].sort((a, b) => a - b)
  const nodes: LayoutNode[] = placed.map((p) => ({
    id: p.id,
    kind: String(routines[p.id]?.kind ?? ''),
    layer: columns.indexOf(Math.round(p.x - minX)),
    order: 0,
    x: p.x - minX,
    y: p.y - minY,
  }))
  const byLayer = new Map<number, LayoutNode[]>()
  for (const n of nodes) byLayer.set(n.layer, [...(byLayer.get(n.layer) ?? []), n])
  for (const members of byLayer.values()) {
    members.sort((a, b) => a.y - b.y || byId(a.id, b.id)).forEach((n, i) => (n.order = i))
  }
  nodes.sort((a, b) => a.layer - b.layer || a.order - b.order)

  return {
    nodes,
    edges,
    width: Math.max(...nodes.map((n) => n.x)) + opts.nodeWidth,
    height: Math.max(...nodes.map((n) => n.y)) + opts.nodeHeight,
  }
}

export interface View {
  x: number
  y: number
  zoom: number
  /** The whole flow is in view. */
  fits: boolean
}

/** Room kept free around the flow: on the left for the zoom controls. */
export const VIEW_PADDING = { left: 56, right: 16, top: 20, bottom: 20 }

/**
 * The initial viewport of a flow of `w`×`h` in a box of `boxW`×`boxH`: the
 * whole flow, centred, at no more than 100 % and no less than `minZoom`. A flow
 * that does not fit at `minZoom` starts at its left (where it is entered) and
 * top, to be panned.
 */
export function viewFor(w: number, h: number, boxW: number, boxH: number, minZoom: number): View {
  const p = VIEW_PADDING
  const availW = Math.max(1, boxW - p.left - p.right)
  const availH = Math.max(1, boxH - p.top - p.bottom)
  if (w <= 0 || h <= 0) return { x: p.left, y: p.top, zoom: 1, fits: true }
  const fit = Math.min(availW / w, availH / h, 1)
  const zoom = Math.max(fit, minZoom)
  const fits = fit >= minZoom
  const x = p.left + Math.max(0, (availW - w * zoom) / 2)
  const y = p.top + Math.max(0, (availH - h * zoom) / 2)
  return { x: fits ? x : p.left, y: fits || h * zoom <= availH ? y : p.top, zoom, fits }
}
