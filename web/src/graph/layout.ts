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
  /** Height: the head plus a row per slot/event pair (see nodeHeight). */
  height: number
  /** Input slots, drawn on the left, top to bottom. */
  slots: string[]
  /** Events, drawn on the right, top to bottom. */
  events: string[]
}

/** A kind's declared slots and events (GET /api/routines). */
export interface KindPorts {
  slots: string[]
  events: string[]
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
  /** Height of a node's head (id, kind, state), above its port rows. */
  nodeHeight: number
  /** Height of one row of ports. */
  portRow: number
  /** Horizontal gap between columns. */
  gapX: number
  /** Vertical gap between nodes of a column. */
  gapY: number
}

export const DEFAULT_LAYOUT: LayoutOptions = { nodeWidth: 184, nodeHeight: 66, portRow: 18, gapX: 96, gapY: 32 }

/** A node's height: its head and one row per slot/event pair, plus a little room below. */
export function nodeHeight(slots: number, events: number, opts: LayoutOptions = DEFAULT_LAYOUT): number {
  const rows = Math.max(slots, events)
  return opts.nodeHeight + (rows > 0 ? rows * opts.portRow + 4 : 0)
}

/** The vertical centre of a node's `index`th port row, from the node's top. */
export function portY(index: number, opts: LayoutOptions = DEFAULT_LAYOUT): number {
  return opts.nodeHeight + index * opts.portRow + opts.portRow / 2
}

/**
 * Each routine's ports: the slots and events its kind declares, in the
 * catalogue's order, then those only its connections name (kinds whose
 * events depend on their config, or a catalogue not loaded yet).
 */
export function portsOf(
  routines: Record<string, RoutineSpec>,
  connections: Connection[],
  catalogue?: ReadonlyMap<string, KindPorts>,
): Map<string, KindPorts> {
  const ports = new Map<string, { slots: Set<string>; events: Set<string> }>()
  for (const [id, spec] of Object.entries(routines)) {
    const k = catalogue?.get(String(spec.kind ?? ''))
    ports.set(id, { slots: new Set(k?.slots ?? []), events: new Set(k?.events ?? []) })
  }
  for (const c of connections) {
    const from = parseEndpoint(c.from)
    const to = parseEndpoint(c.to)
    if (from.port) ports.get(from.routine)?.events.add(from.port)
    if (to.port) ports.get(to.routine)?.slots.add(to.port)
  }
  return new Map([...ports].map(([id, p]) => [id, { slots: [...p.slots], events: [...p.events] }]))
}

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
  catalogue?: ReadonlyMap<string, KindPorts>,
): Layout {
  const ids = Object.keys(routines).sort(byId)
  const known = new Set(ids)
  const ports = portsOf(routines, connections, catalogue)
  const height = (id: string) => nodeHeight(ports.get(id)!.slots.length, ports.get(id)!.events.length, opts)

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
  for (const id of ids) g.setNode(id, { width: opts.nodeWidth, height: height(id) })
  for (const e of edges) {
    if (e.source === e.target) continue
    if (e.back) g.setEdge(e.target, e.source, { minlen: 1 }, e.id)
    else g.setEdge(e.source, e.target, { minlen: 1 }, e.id)
  }
  dagre.layout(g)

  const placed = ids.map((id) => {
    const n = g.node(id) as { x: number; y: number }
    return { id, x: n.x - opts.nodeWidth / 2, y: n.y - height(id) / 2 }
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
    height: height(p.id),
    slots: ports.get(p.id)!.slots,
    events: ports.get(p.id)!.events,
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
    height: Math.max(...nodes.map((n) => n.y + n.height)),
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
