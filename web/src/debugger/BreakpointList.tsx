import type { Breakpoint } from '../api/api'
import { breakpointSummary } from './debugger'

/** The breakpoints of a job or a flow, inherited ones marked. */
export function BreakpointList({ list, onEdit }: { list: Breakpoint[]; onEdit?: (bpId: string, el: HTMLElement) => void }) {
  if (list.length === 0) return null
  return (
    <div className="bp-list">
      <h3>
        Breakpoints <span className="dim small">{list.length}</span>
      </h3>
      <ul data-testid="bp-list">
        {list.map((bp) => (
          <li key={bp.breakpoint_id} data-testid={`bp-row-${bp.breakpoint_id}`}>
            <span className={`bp-dot-static ${bp.enabled ? 'bp-on' : 'bp-off'}`} aria-hidden="true" />
            <span className="mono">{bp.routine_id}</span>
            <span className="dim small">
              {bp.type}
              {bp.slot_name ? ` ${bp.slot_name}` : ''}
              {bp.event_name ? ` ${bp.event_name}` : ''} · {breakpointSummary(bp)}
            </span>
            {bp.inherited_from && <span className="badge badge-idle">inherited</span>}
            {onEdit && (
              <button
                type="button"
                className="link-btn"
                data-testid={`bp-row-edit-${bp.breakpoint_id}`}
                onClick={(e) => onEdit(bp.breakpoint_id, e.currentTarget)}
              >
                edit<span className="visually-hidden"> breakpoint on {bp.routine_id}{bp.type === 'routine' ? '' : ` ${bp.type} ${bp.slot_name ?? bp.event_name ?? ''}`}</span>
              </button>
            )}
          </li>
        ))}
      </ul>
    </div>
  )
}
