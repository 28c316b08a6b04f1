import { memo, useEffect, useMemo, useRef } from 'react'
import {
  Background,
  Controls,
  Handle,
  MarkerType,
  MiniMap,
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
import { breakpointSummary, nodeStateLabel } from '../debugger/debugger'
import { DEFAULT_LAYOUT, layoutFlow, viewFor } from './layout'
import { StateIcon } from './StateIcon'

/** Up to this many routines the graph is shown at (nearly) full size; larger ones fit, with a mini map. */
export const READABLE_ROUTINES = 15
const READABLE_MIN_ZOOM = 0.8

export interface FlowGraphProps {
  routines: Record<string, RoutineSpec>
  connections: Connection[]
  /** Live per-routine state (job page); absent on the flow page. */
  states?: Record<string, RoutineState>
  /** Routine breakpoints by routine id; with `onToggleBreakpoint`, nodes get a breakpoint dot. */
  breakpoints?: Map<string, Breakpoint>
  /** The routine the debugger stopped at. */
  pausedRoutine?: string
  selected?: string
  onSelect?: (routineId: string) => void
  onToggleBreakpoint?: (routineId: string) => void
  onEditBreakpoint?: (routineId: string, anchor: HTMLElement) => void
  /** Zoom out further to show the whole flow (the editor's narrow preview). */
  fit?: boolean
}

interface RoutineNodeData extends Record<string, unknown> {
  id: string
  kind: string
  state?: RoutineState
  live: boolean
  breakpoint?: Breakpoint
  paused: boolean
  selected: boolean
  hasDots: boolean
  onSelect?: (routineId: string) => void
  onToggleBreakpoint?: (routineId: string) => void
  onEditBreakpoint?: (routineId: string, anchor: HTMLElement) => void
}

type RoutineNode = Node<RoutineNodeData, 'routine'>

const RoutineNodeView = memo(function RoutineNodeView({ data }: NodeProps<RoutineNode>) {
  const { id, kind, state, live, breakpoint: bp, paused, selected } = data
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
      <Handle type="target" position={Position.Left} isConnectable={false} className="graph-handle" />
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
              data.onToggleBreakpoint?.(id)
            }}
            onContextMenu={(e) => {
              if (!bp || !data.onEditBreakpoint) return
              e.preventDefault()
              e.stopPropagation()
              data.onEditBreakpoint(id, e.currentTarget)
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
                  data.onEditBreakpoint?.(id, e.currentTarget)
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
      <Handle type="source" position={Position.Right} isConnectable={false} className="graph-handle" />
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
  selected,
  onSelect,
  onToggleBreakpoint,
  onEditBreakpoint,
  fit = false,
}: FlowGraphProps) {
  const layout = useMemo(() => layoutFlow(routines, connections, DEFAULT_LAYOUT), [routines, connections])
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
          state: states?.[n.id],
          live: states !== undefined,
          breakpoint: breakpoints?.get(n.id),
          paused: pausedRoutine === n.id,
          selected: selected === n.id,
          hasDots: onToggleBreakpoint !== undefined,
          onSelect,
          onToggleBreakpoint,
          onEditBreakpoint,
        },
        // Fixed dimensions: a node is never hidden waiting to be measured again when its data changes.
        width: DEFAULT_LAYOUT.nodeWidth,
        height: DEFAULT_LAYOUT.nodeHeight,
        measured: { width: DEFAULT_LAYOUT.nodeWidth, height: DEFAULT_LAYOUT.nodeHeight },
        style: { width: DEFAULT_LAYOUT.nodeWidth, height: DEFAULT_LAYOUT.nodeHeight },
        draggable: false,
        connectable: false,
        selectable: false,
        focusable: false,
      })),
    [layout, states, breakpoints, pausedRoutine, selected, onSelect, onToggleBreakpoint, onEditBreakpoint],
  )
  const edges: Edge[] = useMemo(
    () =>
      layout.edges.map((e) => ({
        id: e.id,
        source: e.source,
        target: e.target,
        label: e.label,
        type: e.back ? 'smoothstep' : 'default',
        markerEnd: { type: MarkerType.ArrowClosed, width: 18, height: 18 },
        labelBgPadding: [4, 2] as [number, number],
        labelBgBorderRadius: 3,
        labelStyle: { fontSize: 11, fill: 'var(--graph-label)' },
        className: e.back ? 'edge-back' : undefined,
        focusable: false,
      })),
    [layout],
  )

  // Tall enough to show the whole flow at full size (bounded), so nothing needs zooming.
  const miniMap = large || layout.width > 1400
  const minZoom = large ? 0.1 : fit ? 0.45 : READABLE_MIN_ZOOM
  const height = large ? 560 : Math.max(200, Math.min(640, layout.height + 50 + (miniMap ? 120 : 0)))
  const box = useRef<HTMLDivElement>(null)

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
        proOptions={{ hideAttribution: true }}
      >
        <Background gap={16} />
        <Controls showInteractive={false} />
        {miniMap && (
          <MiniMap pannable zoomable ariaLabel="Mini map of the flow" style={{ width: 180, height: 100 }} className="graph-minimap" />
        )}
        <FollowPaused routine={pausedRoutine} />
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

/** Brings the routine the debugger stopped at into view (graph and page). */
function FollowPaused({ routine }: { routine?: string }) {
  const rf = useReactFlow()
  const last = useRef<string | undefined>(undefined)
  useEffect(() => {
    if (!routine || last.current === routine) {
      last.current = routine
      return
    }
    last.current = routine
    const t = setTimeout(() => {
      const n = rf.getNode(routine)
      if (n) {
        const w = n.measured?.width ?? DEFAULT_LAYOUT.nodeWidth
        const h = n.measured?.height ?? DEFAULT_LAYOUT.nodeHeight
        const el = document.querySelector(`[data-testid="graph-node-${CSS.escape(routine)}"]`)
        const box = el?.closest('.react-flow')?.getBoundingClientRect()
        const r = el?.getBoundingClientRect()
        // Pan only when the node is (partly) outside the graph's viewport.
        if (!box || !r || r.left < box.left || r.right > box.right || r.top < box.top || r.bottom > box.bottom) {
          void rf.setCenter(n.position.x + w / 2, n.position.y + h / 2, { zoom: Math.max(rf.getZoom(), READABLE_MIN_ZOOM), duration: 300 })
        }
        el?.scrollIntoView({ block: 'nearest', behavior: 'smooth' })
      }
    }, 60)
    return () => clearTimeout(t)
  }, [routine, rf])
  return null
}
