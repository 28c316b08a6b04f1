import { describe, expect, it } from 'vitest'
import { collapseDiff, diffLines } from './diff'

describe('diffLines', () => {
  it('keeps common lines and marks changes', () => {
    expect(diffLines('a\nb\nc', 'a\nx\nc')).toEqual([
      { op: 'same', text: 'a' },
      { op: 'del', text: 'b' },
      { op: 'add', text: 'x' },
      { op: 'same', text: 'c' },
    ])
  })
  it('handles empty sides', () => {
    expect(diffLines('', 'a')).toEqual([{ op: 'add', text: 'a' }])
    expect(diffLines('a\nb', '')).toEqual([
      { op: 'del', text: 'a' },
      { op: 'del', text: 'b' },
    ])
    expect(diffLines('same', 'same')).toEqual([{ op: 'same', text: 'same' }])
  })
})

describe('collapseDiff', () => {
  it('keeps context around changes and folds the rest', () => {
    const a = Array.from({ length: 20 }, (_, i) => `l${i}`).join('\n')
    const b = a.replace('l10', 'L10')
    const rows = collapseDiff(diffLines(a, b), 2)
    expect(rows[0]).toEqual({ op: 'skip', count: 8 })
    expect(rows.slice(1, 7).map((r) => ('text' in r ? r.text : '…'))).toEqual(['l8', 'l9', 'l10', 'L10', 'l11', 'l12'])
    expect(rows[7]).toEqual({ op: 'skip', count: 7 })
    expect(collapseDiff(diffLines('x', 'x'))).toEqual([{ op: 'skip', count: 1 }])
  })
})
