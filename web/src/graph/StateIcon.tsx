/** Small inline icons (no icon font: every browser draws them the same). Decorative: text always goes with them. */
export function StateIcon({ kind, size = 12 }: { kind: string; size?: number }) {
  const common = { width: size, height: size, viewBox: '0 0 16 16', 'aria-hidden': true, focusable: false, className: 'state-icon' } as const
  switch (kind) {
    case 'paused':
      return (
        <svg {...common}>
          <rect x="3" y="2" width="3.5" height="12" rx="1" fill="currentColor" />
          <rect x="9.5" y="2" width="3.5" height="12" rx="1" fill="currentColor" />
        </svg>
      )
    case 'running':
      return (
        <svg {...common}>
          <path d="M4 2.5v11l9-5.5z" fill="currentColor" />
        </svg>
      )
    case 'completed':
      return (
        <svg {...common}>
          <path d="M2.5 8.5l3.5 3.5 7.5-8" fill="none" stroke="currentColor" strokeWidth="2.4" strokeLinecap="round" strokeLinejoin="round" />
        </svg>
      )
    case 'failed':
      return (
        <svg {...common}>
          <path d="M3.5 3.5l9 9M12.5 3.5l-9 9" stroke="currentColor" strokeWidth="2.4" strokeLinecap="round" />
        </svg>
      )
    case 'skipped':
      return (
        <svg {...common}>
          <path d="M2 8h9M8 4.5L11.5 8 8 11.5M14 3v10" fill="none" stroke="currentColor" strokeWidth="2" strokeLinecap="round" strokeLinejoin="round" />
        </svg>
      )
    case 'cancelled':
      return (
        <svg {...common}>
          <rect x="3.5" y="3.5" width="9" height="9" rx="1.5" fill="currentColor" />
        </svg>
      )
    default:
      return (
        <svg {...common}>
          <circle cx="8" cy="8" r="5" fill="none" stroke="currentColor" strokeWidth="2" />
        </svg>
      )
  }
}
