import { memo, useEffect, useMemo, useRef, useState } from 'react'
import {
  Background,
  Controls,
  Handle,
  MarkerType,
  MiniMap,
  Panel,
  Position,
  ReactFlow,
  ReactFlowProvider,
  useReactFlow,
  type Edge,
  type Node,
  type NodeProps,
} from '@xyflow/react'
import '@xyflow/react/dist/style.css'
import type { Breakpoint, Connection, RoutineSpec, RoutineState } from '../api/api'
import { breakpointSummary, nodeStateLabel, targetKey, type BreakpointTarget } from '../debugger/debugger'
import { useRoutineKinds } from './catalogue'
import { DEFAULT_LAYOUT, layoutFlow, portY, viewFor, type KindPorts } from './layout'
import { StateIcon } from './StateIcon'

/** Up to this many routines the graph is shown at (nearly) full size; larger ones fit, with a mini map. */
export const READABLE_ROUTINES = 15
const READABLE_MIN_ZOOM = 0.8

export interface FlowGraphProps {
  routines: Record<string, RoutineSpec>
  connections: Connection[]
  /** Live per-routine state (job page); absent on the flow page. */
  states?: Record<string, RoutineState>
  /** Breakpoints by target key (debugger.targetKey); with `onToggleBreakpoint`, nodes and ports get dots. */
  breakpoints?: Map<string, Breakpoint>
  /** The routine the debugger stopped at. */
  pausedRoutine?: string
  /** The routine running last (a live job's current node): a large graph keeps it in view. */
  current?: string
  selected?: string
  onSelect?: (routineId: string) => void
  onToggleBreakpoint?: (target: BreakpointTarget) => void
  onEditBreakpoint?: (breakpointId: string, anchor: HTMLElement) => void
  /** Zoom out further to show the whole flow (the editor's narrow preview). */
  fit?: boolean
}

interface RoutineNodeData extends Record<string, unknown> {
  id: string
  kind: string
  slots: string[]
  events: string[]
  state?: RoutineState
  live: boolean
  /** The breakpoints of this routine and its ports, by target key. */
  breakpoints?: Map<string, Breakpoint>
  paused: boolean
  selected: boolean
  hasDots: boolean
  onSelect?: (routineId: string) => void
  onToggleBreakpoint?: (target: BreakpointTarget) => void
  onEditBreakpoint?: (breakpointId: string, anchor: HTMLElement) => void
}

/** A slot (left) or event (right) of a node: its name, and a breakpoint dot when breakpoints can be set. */
function Port({ data, type, name, index }: { data: RoutineNodeData; type: 'slot' | 'event'; name: string; index: number }) {
  const target: BreakpointTarget = { routine: data.id, type, port: name }
  const bp = data.breakpoints?.get(targetKey(target))
  const where = `${type} ${name} of ${data.id}`
  const dot = data.hasDots && (
    <button
      type="button"
      className={`port-dot nodrag ${bp ? (bp.enabled ? 'bp-on' : 'bp-off') : 'bp-none'}`}
      data-testid={`bp-dot-${data.id}-${type}-${name}`}
      aria-label={`Toggle breakpoint on ${where}`}
      aria-pressed={bp ? true : false}
      title={
        bp
          ? `Breakpoint ${bp.breakpoint_id} on ${where}: ${breakpointSummary(bp)}, ${bp.hit_count} hits (click to remove, right-click to edit)`
          : type === 'slot'
            ? `Set a breakpoint: stop before ${data.id} runs on ${name}`
            : `Set a breakpoint: stop when ${data.id} emits ${name} (the data can be edited)`
      }
      onClick={(e) => {
        e.stopPropagation()
        data.onToggleBreakpoint?.(target)
      }}
      onContextMenu={(e) => {
        if (!bp || !data.onEditBreakpoint) return
        e.preventDefault()
        e.stopPropagation()
        data.onEditBreakpoint(bp.breakpoint_id, e.currentTarget)
      }}
    />
  )
  const hits = bp && bp.hit_count > 0 && (
    <span className="port-hits" data-testid={`bp-hits-${data.id}-${type}-${name}`} title="breakpoint hits">
      {bp.hit_count}
    </span>
  )
  return (
    <span className={`port port-${type}`} style={{ top: portY(index) - DEFAULT_LAYOUT.portRow / 2 }} data-testid={`port-${data.id}-${type}-${name}`}>
      {type === 'slot' ? (
        <>
          {dot}
          <span className="port-name">{name}</span>
          {hits}
        </>
      ) : (
        <>
          {hits}
          <span className="port-name">{name}</span>
          {dot}
        </>
      )}
    </span>
  )
}

type RoutineNode = Node<RoutineNodeData, 'routine'>

const RoutineNodeView = memo(function RoutineNodeView({ data }: NodeProps<RoutineNode>) {
  const { id, kind, state, live, paused, selected } = data
  const bp = data.breakpoints?.get(id)
  const label = nodeStateLabel(state?.status, paused)
  const cls = ['graph-node', live ? `state-${label.key}` : '', selected ? 'is-selected' : '', data.hasDots ? 'has-dot' : '']
  return (
    <div
      className={cls.filter(Boolean).join(' ')}
      data-testid={`graph-node-${id}`}
      data-state={live ? label.key : undefined}
      data-paused={paused ? 'true' : undefined}
      data-breakpoint={bp ? (bp.enabled ? 'enabled' : 'disabled') : undefined}
    >
      {/* Edges attach to their port's handle; the unnamed ones take an endpoint without a port. */}
      <Handle type="target" position={Position.Left} isConnectable={false} className="graph-handle" style={{ top: DEFAULT_LAYOUT.nodeHeight / 2 }} />
      {data.slots.map((s, i) => (
        <Handle key={s} id={s} type="target" position={Position.Left} isConnectable={false} className="graph-handle" style={{ top: portY(i) }} />
      ))}
      <div className="graph-node-head">
        <button
          type="button"
          className="graph-node-open nodrag"
          onClick={(e) => {
            e.stopPropagation()
            data.onSelect?.(id)
          }}
          disabled={!data.onSelect}
        >
          {/* The name starts with the action and contains the visible text (axe: label-content-name-mismatch). */}
          <span className="visually-hidden">Inspect routine </span>
          <strong className="graph-node-id">{id}</strong>
          <span className="graph-node-kind">{kind}</span>
          {live && (
            <span className="graph-node-state">
              <StateIcon kind={label.key} /> {label.text}
              <span className="graph-node-acts" title="activations">
                {' '}
                · {state?.activations ?? 0}×
              </span>
            </span>
          )}
        </button>
        {data.hasDots && (
          <span className="bp-gutter">
            <button
              type="button"
              className={`bp-dot nodrag ${bp ? (bp.enabled ? 'bp-on' : 'bp-off') : 'bp-none'}`}
              data-testid={`bp-dot-${id}`}
              aria-label={`Toggle breakpoint on ${id}`}
              aria-pressed={bp ? true : false}
              title={bp ? `Breakpoint ${bp.breakpoint_id}: ${breakpointSummary(bp)} (click to remove, right-click to edit)` : 'Set a breakpoint'}
              onClick={(e) => {
                e.stopPropagation()
                data.onToggleBreakpoint?.({ routine: id, type: 'routine', port: '' })
              }}
              onContextMenu={(e) => {
                if (!bp || !data.onEditBreakpoint) return
                e.preventDefault()
                e.stopPropagation()
                data.onEditBreakpoint(bp.breakpoint_id, e.currentTarget)
              }}
            />
            {bp && (
              <>
                <span className="bp-hits" title="breakpoint hits" data-testid={`bp-hits-${id}`}>
                  {bp.hit_count}
                </span>
                <button
                  type="button"
                  className="bp-edit nodrag"
                  data-testid={`bp-edit-${id}`}
                  aria-label={`Edit breakpoint on ${id}`}
                  title="Edit breakpoint"
                  onClick={(e) => {
                    e.stopPropagation()
                    data.onEditBreakpoint?.(bp.breakpoint_id, e.currentTarget)
                  }}
                >
                  ✎
                </button>
              </>
            )}
          </span>
        )}
        {bp && (bp.condition || bp.inherited_from || !bp.enabled || bp.log_message) ? (
          <span className="bp-note" title={breakpointSummary(bp)}>
            {!bp.enabled ? 'off' : bp.log_message ? 'log' : bp.condition ? 'if' : ''}
            {bp.inherited_from ? (bp.enabled && !bp.condition && !bp.log_message ? 'flow' : ' · flow') : ''}
          </span>
        ) : null}
      </div>
      {data.slots.map((s, i) => (
        <Port key={`s:${s}`} data={data} type="slot" name={s} index={i} />
      ))}
      {data.events.map((ev, i) => (
        <Port key={`e:${ev}`} data={data} type="event" name={ev} index={i} />
      ))}
      <Handle type="source" position={Position.Right} isConnectable={false} className="graph-handle" style={{ top: DEFAULT_LAYOUT.nodeHeight / 2 }} />
      {data.events.map((ev, i) => (
        <Handle key={ev} id={ev} type="source" position={Position.Right} isConnectable={false} className="graph-handle" style={{ top: portY(i) }} />
      ))}
    </div>
  )
})

const nodeTypes = { routine: RoutineNodeView }

/** Picture of a flow: routines as nodes (clickable, not draggable), connections as edges. */
export function FlowGraph(props: FlowGraphProps) {
  return (
    <ReactFlowProvider>
      <FlowGraphInner {...props} />
    </ReactFlowProvider>
  )
}

function FlowGraphInner({
  routines,
  connections,
  states,
  breakpoints,
  pausedRoutine,
  current,
  selected,
  onSelect,
  onToggleBreakpoint,
  onEditBreakpoint,
  fit = false,
}: FlowGraphProps) {
  const kinds = useRoutineKinds()
  const catalogue = useMemo(() => new Map<string, KindPorts>(kinds.map((k) => [k.kind, { slots: k.slots ?? [], events: k.events ?? [] }])), [kinds])
  const layout = useMemo(() => layoutFlow(routines, connections, DEFAULT_LAYOUT, catalogue), [routines, connections, catalogue])
  const count = layout.nodes.length
  const large = count > READABLE_ROUTINES

  const nodes: RoutineNode[] = useMemo(
    () =>
      layout.nodes.map((n) => ({
        id: n.id,
        type: 'routine',
        position: { x: n.x, y: n.y },
        data: {
          id: n.id,
          kind: n.kind,
          slots: n.slots,
          events: n.events,
          state: states?.[n.id],
          live: states !== undefined,
          breakpoints,
          paused: pausedRoutine === n.id,
          selected: selected === n.id,
          hasDots: onToggleBreakpoint !== undefined,
          onSelect,
          onToggleBreakpoint,
          onEditBreakpoint,
        },
        // Fixed dimensions: a node is never hidden waiting to be measured again when its data changes.
        width: DEFAULT_LAYOUT.nodeWidth,
        height: n.height,
        measured: { width: DEFAULT_LAYOUT.nodeWidth, height: n.height },
        style: { width: DEFAULT_LAYOUT.nodeWidth, height: n.height },
        draggable: false,
        connectable: false,
        selectable: false,
        focusable: false,
      })),
    [layout, states, breakpoints, pausedRoutine, selected, onSelect, onToggleBreakpoint, onEditBreakpoint],
  )
  // On a job, an edge is labelled with what passed along it (its event's
  // emits) and moves while its source runs.
  const edges: Edge[] = useMemo(
    () =>
      layout.edges.map((e) => {
        const src = states?.[e.source]
        const passed = src?.emitted?.[e.event] ?? 0
        return {
          id: e.id,
          source: e.source,
          target: e.target,
          sourceHandle: e.event || undefined,
          targetHandle: e.slot || undefined,
          label: passed > 0 ? `×${passed}` : undefined,
          ariaLabel: `${e.source}.${e.event} to ${e.target}.${e.slot}${states ? `: ${passed} passed` : ''}`,
          animated: src?.status === 'running',
          type: e.back ? 'smoothstep' : 'default',
          markerEnd: { type: MarkerType.ArrowClosed, width: 18, height: 18 },
          labelBgPadding: [4, 2] as [number, number],
          labelBgBorderRadius: 3,
          labelStyle: { fontSize: 11, fill: 'var(--graph-label)' },
          className: [e.back ? 'edge-back' : '', passed > 0 ? 'edge-passed' : ''].filter(Boolean).join(' ') || undefined,
          focusable: false,
          }
      }),
    [layout, states],
  )

  // Tall enough to show the whole flow at full size (bounded), so nothing needs zooming.
  const miniMap = large || layout.width > 1400
  const minZoom = large ? 0.1 : fit ? 0.2 : READABLE_MIN_ZOOM
  const height = large ? 560 : Math.max(200, Math.min(640, layout.height + 50 + (miniMap ? 120 : 0)))
  const box = useRef<HTMLDivElement>(null)
  // A large live graph follows its running routine until the operator moves it.
  const followable = large && states !== undefined
  const [following, setFollowing] = useState(true)

  return (
    <div className="graph" data-testid="flow-graph" style={{ height }} ref={box}>
      <ReactFlow
        nodes={nodes}
        edges={edges}
        nodeTypes={nodeTypes}
        nodesDraggable={false}
        nodesConnectable={false}
        elementsSelectable={false}
        edgesFocusable={false}
        nodesFocusable={false}
        zoomOnDoubleClick={false}
        minZoom={0.1}
        maxZoom={2}
        onNodeClick={(_, n) => onSelect?.(n.id)}
        // A pan or zoom by the operator (not by us: those carry no event) stops following.
        onMoveStart={(e) => e && setFollowing(false)}
        proOptions={{ hideAttribution: true }}
      >
        <Background gap={16} />
        <Controls showInteractive={false} />
        {followable && (
          <Panel position="top-right">
            <button
              type="button"
              className="btn btn-small"
              data-testid="graph-follow"
              aria-pressed={following}
              title="Keep the running routine in view"
              onClick={() => setFollowing((f) => !f)}
            >
              {following ? 'Following' : 'Follow'} running
            </button>
          </Panel>
        )}
        {miniMap && (
          <MiniMap pannable zoomable ariaLabel="Mini map of the flow" style={{ width: 180, height: 100 }} className="graph-minimap" />
        )}
        <FollowPaused routine={pausedRoutine} />
        {followable && <FollowRunning routine={current} on={following && !pausedRoutine} />}
        <AutoView box={box} width={layout.width} height={layout.height} minZoom={minZoom} bottom={miniMap ? 120 : 0} />
      </ReactFlow>
    </div>
  )
}

/** Shows the flow (see viewFor) at first and again whenever the graph's box changes width (e.g. the side panel opens). */
function AutoView({
  box,
  width,
  height,
  minZoom,
  bottom,
}: {
  box: React.RefObject<HTMLDivElement | null>
  width: number
  height: number
  minZoom: number
  /** Room kept at the bottom (the mini map). */
  bottom: number
}) {
  const rf = useReactFlow()
  useEffect(() => {
    const el = box.current
    if (!el) return
    let last = -1
    const apply = () => {
      const r = el.getBoundingClientRect()
      if (r.width === 0 || Math.abs(r.width - last) < 2) return
      last = r.width
      const v = viewFor(width, height, r.width, r.height - bottom, minZoom)
      void rf.setViewport({ x: v.x, y: v.y, zoom: v.zoom })
    }
    apply()
    if (typeof ResizeObserver === 'undefined') return
    const ro = new ResizeObserver(apply)
    ro.observe(el)
    return () => ro.disconnect()
  }, [rf, box, width, height, minZoom, bottom])
  return null
}

/** Whether a node is (partly) outside the graph's viewport, or not drawn. */
function outOfView(routine: string): boolean {
  const el = document.querySelector(`[data-testid="graph-node-${CSS.escape(routine)}"]`)
  const box = el?.closest('.react-flow')?.getBoundingClientRect()
  const r = el?.getBoundingClientRect()
  return !box || !r || r.left < box.left || r.right > box.right || r.top < box.top || r.bottom > box.bottom
}

/** Pans the graph to centre a node at a readable zoom when it is not in view (or, if so asked, not readable). */
function useCentre() {
  const rf = useReactFlow()
  return (routine: string, duration: number, readable = false) => {
    const n = rf.getNode(routine)
    if (!n || (!outOfView(routine) && !(readable && rf.getZoom() < READABLE_MIN_ZOOM))) return
    const w = n.measured?.width ?? DEFAULT_LAYOUT.nodeWidth
    const h = n.measured?.height ?? DEFAULT_LAYOUT.nodeHeight
    void rf.setCenter(n.position.x + w / 2, n.position.y + h / 2, { zoom: Math.max(rf.getZoom(), READABLE_MIN_ZOOM), duration })
  }
}

/** Brings the routine the debugger stopped at into view (graph and page). */
function FollowPaused({ routine }: { routine?: string }) {
  const centre = useCentre()
  const last = useRef<string | undefined>(undefined)
  useEffect(() => {
    if (!routine || last.current === routine) {
      last.current = routine
      return
    }
    last.current = routine
    const t = setTimeout(() => {
      centre(routine, 300)
      document.querySelector(`[data-testid="graph-node-${CSS.escape(routine)}"]`)?.scrollIntoView({ block: 'nearest', behavior: 'smooth' })
    }, 60)
    return () => clearTimeout(t)
  }, [routine])
  return null
}

const FOLLOW_EVERY_MS = 400

/**
 * Keeps the running routine of a large graph in view at a readable zoom (the
 * mini map shows the whole): looking a few times a second, and only while `on` (the
 * operator's pan or zoom turns it off; the Follow button turns it on again).
 * The page itself is never scrolled for it.
 */
function FollowRunning({ routine, on }: { routine?: string; on: boolean }) {
  const centre = useCentre()
  const latest = useRef(routine)
  latest.current = routine
  useEffect(() => {
    if (!on) return
    const tick = () => latest.current && centre(latest.current, 200, true)
    tick()
    const t = setInterval(tick, FOLLOW_EVERY_MS)
    return () => clearInterval(t)
  }, [on])
  return null
}
