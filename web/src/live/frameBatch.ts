// Coalesces a burst of stream messages into one fold per animation frame: a
// job producing 10,000 events a second re-renders the page at most 60 times a
// second, never once per message.

export type Scheduler = (cb: () => void) => () => void

/** requestAnimationFrame where there is one (a hidden tab throttles it; a timer backs it up). */
export const frameScheduler: Scheduler = (cb) => {
  if (typeof requestAnimationFrame !== 'function') {
    const t = setTimeout(cb, 16)
    return () => clearTimeout(t)
  }
  let done = false
  const run = () => {
    if (done) return
    done = true
    cancelAnimationFrame(raf)
    clearTimeout(t)
    cb()
  }
  const raf = requestAnimationFrame(run)
  // Background tabs get no frames: still fold now and then so the queue stays small.
  const t = setTimeout(run, 250)
  return () => {
    done = true
    cancelAnimationFrame(raf)
    clearTimeout(t)
  }
}

/**
 * Queues items and hands them on together, once per frame. `flush` runs the
 * pending batch at once (e.g. before taking a REST snapshot, so the order of
 * stream and REST stays as it arrived).
 */
export class FrameBatch<T> {
  private queue: T[] = []
  private cancel: (() => void) | undefined
  private readonly onBatch: (items: T[]) => void
  private readonly schedule: Scheduler
  private readonly minInterval: number
  private lastFlush = Number.NEGATIVE_INFINITY

  /**
   * `minIntervalMs` spaces batches further apart than frames (a busy job's
   * page re-renders a few dozen times a second, leaving the main thread free).
   */
  constructor(onBatch: (items: T[]) => void, schedule: Scheduler = frameScheduler, minIntervalMs = 0) {
    this.onBatch = onBatch
    this.schedule = schedule
    this.minInterval = minIntervalMs
  }

  get pending(): number {
    return this.queue.length
  }

  push(item: T): void {
    this.queue.push(item)
    if (this.cancel === undefined) this.arm()
  }

  private arm(): void {
    const wait = this.lastFlush + this.minInterval - Date.now()
    if (wait > 0) {
      const t = setTimeout(() => {
        this.cancel = this.schedule(() => this.flush())
      }, wait)
      this.cancel = () => clearTimeout(t)
    } else {
      this.cancel = this.schedule(() => this.flush())
    }
  }

  flush(): void {
    if (this.cancel !== undefined) {
      const c = this.cancel
      this.cancel = undefined
      c()
    }
    if (this.queue.length === 0) return
    const items = this.queue
    this.queue = []
    this.lastFlush = Date.now()
    this.onBatch(items)
  }

  /** Drops what is pending (the page goes away). */
  dispose(): void {
    this.cancel?.()
    this.cancel = undefined
    this.queue = []
  }
}
