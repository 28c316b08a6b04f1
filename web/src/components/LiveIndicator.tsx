import type { LiveState } from '../live/live'

const LABELS: Record<LiveState, string> = {
  live: '● live',
  connecting: 'connecting…',
  reconnecting: 'reconnecting…',
  closed: 'offline',
}

const TITLES: Record<LiveState, string> = {
  live: 'Updates arrive as they happen.',
  connecting: 'Opening the live connection…',
  reconnecting: 'The live connection dropped; reconnecting (the page refreshes slowly meanwhile).',
  closed: 'No live connection.',
}

/** Shows the state of a page's live connection. */
export function LiveIndicator({ state }: { state: LiveState }) {
  return (
    <span
      className={`live-indicator live-${state}`}
      data-testid="live-indicator"
      data-state={state}
      title={TITLES[state]}
      role="status"
    >
      {LABELS[state]}
    </span>
  )
}
