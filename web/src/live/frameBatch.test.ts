import { describe, expect, it, vi } from 'vitest'
import { FrameBatch } from './frameBatch'

describe('FrameBatch', () => {
  it('hands a burst on once per frame, in order', () => {
    const frames: (() => void)[] = []
    const batches: number[][] = []
    const b = new FrameBatch<number>(
      (items) => batches.push(items),
      (cb) => {
        frames.push(cb)
        return () => {}
      },
    )
    for (let i = 0; i < 10_000; i++) b.push(i)
    expect(frames.length).toBe(1)
    expect(batches.length).toBe(0)
    frames[0]()
    expect(batches.length).toBe(1)
    expect(batches[0].length).toBe(10_000)
    expect(batches[0][9_999]).toBe(9_999)
    b.push(1)
    expect(frames.length).toBe(2)
  })

  it('flushes at once on demand and drops pending items on dispose', () => {
    const batches: number[][] = []
    let cancelled = 0
    const b = new FrameBatch<number>(
      (items) => batches.push(items),
      () => () => cancelled++,
    )
    b.push(1)
    b.push(2)
    b.flush()
    expect(batches).toEqual([[1, 2]])
    expect(cancelled).toBe(1)
    b.flush()
    expect(batches.length).toBe(1)
    b.push(3)
    b.dispose()
    b.flush()
    expect(batches.length).toBe(1)
  })

  it('spaces batches at least minIntervalMs apart', () => {
    vi.useFakeTimers()
    try {
      const batches: number[][] = []
      const frame = (cb: () => void) => {
        const t = setTimeout(cb, 16)
        return () => clearTimeout(t)
      }
      const b = new FrameBatch<number>((items) => batches.push(items), frame, 100)
      b.push(1)
      vi.advanceTimersByTime(16)
      expect(batches).toEqual([[1]])
      b.push(2)
      b.push(3)
      vi.advanceTimersByTime(50)
      expect(batches.length).toBe(1)
      vi.advanceTimersByTime(70)
      expect(batches).toEqual([[1], [2, 3]])
    } finally {
      vi.useRealTimers()
    }
  })
})
