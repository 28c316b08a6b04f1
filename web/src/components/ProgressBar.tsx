import { percent } from '../format'

export function ProgressBar({ progress, testId }: { progress: number | null | undefined; testId?: string }) {
  const p = percent(progress)
  return (
    <span className="progress" data-testid={testId} title={`${p}%`}>
      <span
        className="progress-track"
        role="progressbar"
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
