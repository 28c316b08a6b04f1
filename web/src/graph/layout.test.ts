import { describe, expect, it } from 'vitest'
import type { Connection, RoutineSpec } from '../api/api'
import { DEFAULT_LAYOUT, layoutFlow, nodeHeight, parseEndpoint, portsOf, portY, VIEW_PADDING, viewFor } from './layout'

const r = (kind: string): RoutineSpec => ({ kind })

describe('parseEndpoint', () => {
  it('splits at the last dot', () => {
    expect(parseEndpoint('start.output')).toEqual({ routine: 'start', port: 'output' })
    expect(parseEndpoint('a.b.out')).toEqual({ routine: 'a.b', port: 'out' })
    expect(parseEndpoint('bare')).toEqual({ routine: 'bare', port: '' })
  })
})

describe('ports', () => {
  const catalogue = new Map([
    ['filter', { slots: ['input'], events: ['true', 'false'] }],
    ['input', { slots: [], events: ['output'] }],
  ])

  it('are the kind\'s declared slots and events, then those only connections name', () => {
    const p = portsOf({ start: r('input'), check: r('filter'), odd: r('custom') }, [
      { from: 'start.output', to: 'check.input' },
      { from: 'check.false', to: 'odd.in' },
      { from: 'odd.extra', to: 'check.again' },
    ], catalogue)
    expect(p.get('check')).toEqual({ slots: ['input', 'again'], events: ['true', 'false'] })
    expect(p.get('start')).toEqual({ slots: [], events: ['output'] })
    expect(p.get('odd')).toEqual({ slots: ['in'], events: ['extra'] })
  })

  it('give a node a row each, below its head', () => {
    expect(nodeHeight(0, 0)).toBe(DEFAULT_LAYOUT.nodeHeight)
    expect(nodeHeight(1, 2)).toBe(DEFAULT_LAYOUT.nodeHeight + 2 * DEFAULT_LAYOUT.portRow + 4)
    expect(portY(1) - portY(0)).toBe(DEFAULT_LAYOUT.portRow)
    expect(portY(0)).toBeGreaterThan(DEFAULT_LAYOUT.nodeHeight)
    const l = layoutFlow({ start: r('input'), check: r('filter') }, [{ from: 'start.output', to: 'check.input' }], DEFAULT_LAYOUT, catalogue)
    const check = l.nodes.find((n) => n.id === 'check')!
    expect(check.height).toBe(nodeHeight(1, 2))
    expect(check.events).toEqual(['true', 'false'])
    expect(l.height).toBe(Math.max(...l.nodes.map((n) => n.y + n.height)))
  })
})

describe('layoutFlow', () => {
  it('lays a chain out left to right, one routine per layer', () => {
    const routines = { start: r('input'), double: r('transform'), done: r('output') }
    const connections: Connection[] = [
      { from: 'start.output', to: 'double.input' },
      { from: 'double.output', to: 'done.input' },
    ]
    const l = layoutFlow(routines, connections)
    const byId = Object.fromEntries(l.nodes.map((n) => [n.id, n]))
    expect(byId.start.layer).toBe(0)
    expect(byId.double.layer).toBe(1)
    expect(byId.done.layer).toBe(2)
    expect(byId.start.x).toBeLessThan(byId.double.x)
    expect(byId.double.x).toBeLessThan(byId.done.x)
    expect(new Set(l.nodes.map((n) => n.y)).size).toBe(1)
    expect(byId.double.kind).toBe('transform')
    expect(l.edges.map((e) => e.label)).toEqual(['output→input', 'output→input'])
    expect(l.width).toBe(3 * DEFAULT_LAYOUT.nodeWidth + 2 * DEFAULT_LAYOUT.gapX)
  })

  it('uses the longest path for a node reached by paths of different length', () => {
    const routines = { a: r('input'), b: r('transform'), c: r('merge') }
    const l = layoutFlow(routines, [
      { from: 'a.output', to: 'b.input' },
      { from: 'a.output', to: 'c.input' },
      { from: 'b.output', to: 'c.input' },
    ])
    expect(l.nodes.find((n) => n.id === 'c')!.layer).toBe(2)
  })

  it('stacks branches in one layer without overlap and labels edges event→slot', () => {
    const routines = { start: r('input'), check: r('filter'), yes: r('output'), no: r('log') }
    const l = layoutFlow(routines, [
      { from: 'start.output', to: 'check.input' },
      { from: 'check.true', to: 'yes.input' },
      { from: 'check.false', to: 'no.input' },
    ])
    const layer2 = l.nodes.filter((n) => n.layer === 2)
    expect(layer2.map((n) => n.id).sort()).toEqual(['no', 'yes'])
    const [a, b] = layer2.sort((x, y) => x.y - y.y)
    expect(b.y - a.y).toBeGreaterThanOrEqual(DEFAULT_LAYOUT.nodeHeight)
    expect(l.edges.map((e) => e.label)).toEqual(['output→input', 'true→input', 'false→input'])
    // The single nodes of the other layers sit between the two branches.
    const start = l.nodes.find((n) => n.id === 'start')!
    expect(start.y).toBeGreaterThanOrEqual(a.y)
    expect(start.y).toBeLessThanOrEqual(b.y)
    expect(a.order).toBe(0)
    expect(b.order).toBe(1)
  })

  it('breaks cycles and marks the closing edge', () => {
    const routines = { a: r('input'), b: r('transform'), c: r('filter') }
    const l = layoutFlow(routines, [
      { from: 'a.output', to: 'b.input' },
      { from: 'b.output', to: 'c.input' },
      { from: 'c.true', to: 'b.input' },
    ])
    const layers = Object.fromEntries(l.nodes.map((n) => [n.id, n.layer]))
    expect(layers).toEqual({ a: 0, b: 1, c: 2 })
    expect(l.edges.filter((e) => e.back).map((e) => e.id)).toEqual(['c2'])
  })

  it('handles a self loop and a cycle with no source', () => {
    const l1 = layoutFlow({ a: r('x') }, [{ from: 'a.out', to: 'a.in' }])
    expect(l1.nodes).toHaveLength(1)
    expect(l1.edges[0].back).toBe(true)
    const l2 = layoutFlow({ a: r('x'), b: r('y') }, [
      { from: 'a.out', to: 'b.in' },
      { from: 'b.out', to: 'a.in' },
    ])
    expect(l2.nodes.map((n) => n.layer).sort()).toEqual([0, 1])
  })

  it('drops connections to unknown routines and keeps isolated routines', () => {
    const l = layoutFlow({ a: r('input'), lonely: r('log') }, [{ from: 'a.output', to: 'ghost.input' }])
    expect(l.edges).toHaveLength(0)
    expect(l.nodes.map((n) => n.id).sort()).toEqual(['a', 'lonely'])
  })

  it('is deterministic whatever the key order', () => {
    const conns: Connection[] = [
      { from: 's.output', to: 'x.input' },
      { from: 's.output', to: 'y.input' },
      { from: 'x.output', to: 'z.input' },
      { from: 'y.output', to: 'z.input' },
    ]
    const one = layoutFlow({ s: r('input'), x: r('t'), y: r('t'), z: r('output') }, conns)
    const two = layoutFlow({ z: r('output'), y: r('t'), x: r('t'), s: r('input') }, conns)
    expect(two).toEqual(one)
  })

  it('never overlaps nodes of a wide, branchy flow and keeps every edge going right', () => {
    const routines: Record<string, RoutineSpec> = { start: r('input') }
    const conns: Connection[] = []
    for (let i = 0; i < 5; i++) {
      routines[`a${i}`] = r('transform')
      routines[`b${i}`] = r('log')
      conns.push({ from: 'start.output', to: `a${i}.input` }, { from: `a${i}.output`, to: `b${i}.input` })
      conns.push({ from: `b${i}.output`, to: 'join.input' })
    }
    routines.join = r('merge')
    const l = layoutFlow(routines, conns)
    const { nodeWidth: w, nodeHeight: h } = DEFAULT_LAYOUT
    for (const p of l.nodes) {
      for (const q of l.nodes) {
        if (p === q) continue
        const apart = p.x + w <= q.x || q.x + w <= p.x || p.y + h <= q.y || q.y + h <= p.y
        expect(apart, `${p.id} overlaps ${q.id}`).toBe(true)
      }
    }
    const pos = Object.fromEntries(l.nodes.map((n) => [n.id, n]))
    for (const e of l.edges) expect(pos[e.source].x).toBeLessThan(pos[e.target].x)
    expect(l.width).toBe(Math.max(...l.nodes.map((n) => n.x)) + w)
  })

  it('lays out an empty flow', () => {
    expect(layoutFlow({}, [])).toEqual({ nodes: [], edges: [], width: 0, height: 0 })
  })
})

describe('viewFor', () => {
  it('shows a small flow whole, centred, never above 100 %', () => {
    const v = viewFor(600, 84, 1200, 300, 0.8)
    expect(v).toMatchObject({ zoom: 1, fits: true })
    const availW = 1200 - VIEW_PADDING.left - VIEW_PADDING.right
    expect(v.x).toBeCloseTo(VIEW_PADDING.left + (availW - 600) / 2)
    expect(v.x).toBeGreaterThanOrEqual(VIEW_PADDING.left)
  })

  it('zooms out down to the readable minimum to fit', () => {
    const v = viewFor(1300, 84, 1200, 300, 0.8)
    expect(v.fits).toBe(true)
    expect(v.zoom).toBeGreaterThanOrEqual(0.8)
    expect(v.zoom).toBeLessThan(1)
  })

  it('starts a flow too wide to read whole at its entry, at the minimum zoom', () => {
    const v = viewFor(2400, 84, 1200, 300, 0.8)
    expect(v).toMatchObject({ zoom: 0.8, fits: false, x: VIEW_PADDING.left })
  })

  it('fits a large flow (small minimum zoom) whole', () => {
    const v = viewFor(4000, 800, 1200, 560, 0.1)
    expect(v.fits).toBe(true)
    expect(4000 * v.zoom).toBeLessThanOrEqual(1200 - VIEW_PADDING.left - VIEW_PADDING.right + 1e-6)
  })
})
