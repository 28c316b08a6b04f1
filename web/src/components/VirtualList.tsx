import { useVirtualizer } from '@tanstack/react-virtual'
import { useCallback, useEffect, useLayoutEffect, useRef, useState, type ReactNode } from 'react'

export const ROW_HEIGHT = 22

export interface VirtualListProps {
  count: number
  /** Draws row `index` (a placeholder while it is not loaded). */
  row: (index: number) => ReactNode
  /** Called with the visible rows (first, last) when they change; the owner pages them in. */
  onRange?: (first: number, last: number) => void
  /** Keep the newest rows in view as rows are added (until the user scrolls up). */
  followTail?: boolean
  testId: string
  label: string
  /** The most it grows to; a short list is as tall as its rows. */
  height?: number
  /** Jump requests: bump `n` to scroll to `to`. */
  jump?: { to: 'start' | 'end' | number; n: number }
  onFollowChange?: (follow: boolean) => void
}

/**
 * A fixed-row-height list of any length (100,000 rows and more), drawn with
 * @tanstack/react-virtual: only the rows in view (plus a few) are in the DOM.
 * With `followTail` it sticks to the end while rows are added and lets go
 * when the user scrolls up; scrolling back to the end follows again.
 */
export function VirtualList({ count, row, onRange, followTail, testId, label, height = 360, jump, onFollowChange }: VirtualListProps) {
  const ref = useRef<HTMLDivElement>(null)
  const [follow, setFollow] = useState(!!followTail)
  const followRef = useRef(follow)
  followRef.current = follow
  const v = useVirtualizer({
    count,
    getScrollElement: () => ref.current,
    estimateSize: () => ROW_HEIGHT,
    overscan: 12,
  })
  const items = v.getVirtualItems()
  const first = items.length > 0 ? items[0].index : 0
  const last = items.length > 0 ? items[items.length - 1].index : -1

  const setFollowing = useCallback(
    (f: boolean) => {
      if (f === followRef.current) return
      followRef.current = f
      setFollow(f)
      onFollowChange?.(f)
    },
    [onFollowChange],
  )

  // Stick to the end while following.
  useLayoutEffect(() => {
    const el = ref.current
    if (el && followRef.current && count > 0) el.scrollTop = el.scrollHeight
  }, [count, follow])

  useEffect(() => {
    // Following, but not at the end yet (the first render, before the scroll): the end is what will be in view.
    if (followRef.current && count > 0 && last < count - 1) return
    onRange?.(first, last)
  }, [first, last, count, onRange])

  const seenJump = useRef(jump?.n ?? 0)
  useEffect(() => {
    if (!jump || jump.n === seenJump.current) return
    seenJump.current = jump.n
    const el = ref.current
    if (!el) return
    if (jump.to === 'end') {
      setFollowing(!!followTail)
      el.scrollTop = el.scrollHeight
    } else {
      setFollowing(false)
      if (jump.to === 'start') el.scrollTop = 0
      else v.scrollToIndex(jump.to, { align: 'center' })
    }
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [jump?.n])

  const onScroll = () => {
    const el = ref.current
    if (!el || !followTail) return
    const atEnd = el.scrollHeight - el.scrollTop - el.clientHeight < ROW_HEIGHT * 1.5
    setFollowing(atEnd)
  }

  return (
    <div
      ref={ref}
      className="vlist"
      data-testid={testId}
      data-following={follow ? 'true' : 'false'}
      role="list"
      aria-label={label}
      tabIndex={0}
      style={{ height: Math.min(height, Math.max(count, 1) * ROW_HEIGHT + 2) }}
      onScroll={onScroll}
    >
      <div className="vlist-inner" style={{ height: v.getTotalSize() }}>
        {items.map((it) => (
          <div key={it.index} className="vlist-row" role="listitem" style={{ transform: `translateY(${it.start}px)`, height: ROW_HEIGHT }}>
            {row(it.index)}
          </div>
        ))}
      </div>
    </div>
  )
}
