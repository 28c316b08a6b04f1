import { statusTone } from '../jobs/status'

export function StatusBadge({ status, testId }: { status: string | undefined; testId?: string }) {
  return (
    <span className={`badge badge-${statusTone(status)}`} data-testid={testId} data-status={status}>
      {status ?? 'unknown'}
    </span>
  )
}
