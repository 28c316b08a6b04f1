import { useMemo } from 'react'
import { Background, Controls, MarkerType, Position, ReactFlow, type Edge, type Node } from '@xyflow/react'
import '@xyflow/react/dist/style.css'
import type { Connection, RoutineSpec } from '../api'
import { DEFAULT_LAYOUT, layoutFlow } from '../layout'

/** Read-only picture of a flow: routines as nodes, connections as edges. */
export function FlowGraph({
  routines,
  connections,
}: {
  routines: Record<string, RoutineSpec>
  connections: Connection[]
}) {
  const { nodes, edges } = useMemo(() => {
    const layout = layoutFlow(routines, connections, DEFAULT_LAYOUT)
    const nodes: Node[] = layout.nodes.map((n) => ({
      id: n.id,
      position: { x: n.x, y: n.y },
      sourcePosition: Position.Right,
      targetPosition: Position.Left,
      data: {
        label: (
          <div className="graph-node" data-testid={`graph-node-${n.id}`}>
            <strong>{n.id}</strong>
            <span>{n.kind}</span>
          </div>
        ),
      },
      style: { width: DEFAULT_LAYOUT.nodeWidth, padding: 6 },
      draggable: false,
      connectable: false,
      selectable: false,
    }))
    const edges: Edge[] = layout.edges.map((e) => ({
      id: e.id,
      source: e.source,
      target: e.target,
      label: e.label,
      type: e.back ? 'smoothstep' : 'default',
      animated: false,
      markerEnd: { type: MarkerType.ArrowClosed },
      labelBgPadding: [4, 2],
      labelBgBorderRadius: 3,
      className: e.back ? 'edge-back' : undefined,
    }))
    return { nodes, edges }
  }, [routines, connections])

  return (
    <div className="graph" data-testid="flow-graph">
      <ReactFlow
        nodes={nodes}
        edges={edges}
        fitView
        fitViewOptions={{ padding: 0.15 }}
        nodesDraggable={false}
        nodesConnectable={false}
        elementsSelectable={false}
        edgesFocusable={false}
        nodesFocusable={false}
        zoomOnDoubleClick={false}
        minZoom={0.2}
        proOptions={{ hideAttribution: true }}
      >
        <Background gap={16} />
        <Controls showInteractive={false} />
      </ReactFlow>
    </div>
  )
}
