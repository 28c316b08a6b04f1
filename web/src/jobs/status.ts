import type { JobAction, JobStatus } from '../api/api'

const FINISHED: ReadonlySet<string> = new Set(['completed', 'failed', 'cancelled'])

/** A finished job never changes again: the job page stops polling it. */
export function isFinished(status: string | undefined): boolean {
  return status !== undefined && FINISHED.has(status)
}

/**
 * Which actions the buttons offer for a status. The server stays the judge:
 * if it refuses an action anyway (the job moved on meanwhile), its message is shown.
 */
export function allowedActions(status: JobStatus | string | undefined): Record<JobAction, boolean> {
  switch (status) {
    case 'pending':
    case 'running':
      return { pause: true, resume: false, cancel: true }
    case 'paused':
      return { pause: false, resume: true, cancel: true }
    default:
      return { pause: false, resume: false, cancel: false }
  }
}

/** CSS modifier of a status badge; unknown statuses get a neutral look. */
export function statusTone(status: string | undefined): string {
  switch (status) {
    case 'completed':
      return 'ok'
    case 'failed':
      return 'bad'
    case 'cancelled':
      return 'muted'
    case 'paused':
      return 'warn'
    case 'running':
      return 'info'
    case 'pending':
      return 'idle'
    default:
      return 'idle'
  }
}
