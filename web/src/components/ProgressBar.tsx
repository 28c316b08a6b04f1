import { percent } from '../format'

export function ProgressBar({ progress, testId, label = 'Progress' }: { progress: number | null | undefined; testId?: string; label?: string }) {
  const p = percent(progress)
  return (
    <span className="progress" data-testid={testId} title={`${p}%`}>
      <span
        className="progress-track"
        role="progressbar"
        aria-label={label}
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={p}
      >
        <span className="progress-fill" style={{ width: `${p}%` }} />
      </span>
      <span className="progress-label">{p}%</span>
    </span>
  )
}
