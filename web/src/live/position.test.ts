import { describe, expect, it } from 'vitest'
import { ALL_PARTS, PosTracker, after, comparePos, formatPos, parsePos, posOf } from './position'

describe('positions', () => {
  it('read and write the wire form, as the server (backend/events/position.go)', () => {
    expect(parsePos('57.2')).toEqual({ seq: 57, part: 2 })
    expect(parsePos('57')).toEqual({ seq: 57, part: ALL_PARTS })
    expect(parsePos('57.0')).toEqual({ seq: 57, part: 0 })
    for (const bad of ['', '-1', '1.', '.1', '1.2.3', 'x', ' 1', '1e3', 57, null, undefined, '1.2147483647']) {
      expect(parsePos(bad)).toBeUndefined()
    }
    expect(formatPos({ seq: 57, part: 2 })).toBe('57.2')
    expect(formatPos(after(57))).toBe('57')
    for (const s of ['0', '3', '3.1', '12.4', '3.0']) expect(formatPos(parsePos(s)!)).toBe(s)
  })

  it('order as the stream: the parts of an event, then the next event', () => {
    const list = ['4', '5.1', '4.2', '4.0', '4.1', '3.1'].map((s) => parsePos(s)!)
    list.sort(comparePos)
    expect(list.map(formatPos)).toEqual(['3.1', '4.0', '4.1', '4.2', '4', '5.1'])
  })

  it('a message has a pos only when it names one of its parts', () => {
    expect(posOf({ pos: '8.2' })).toEqual({ seq: 8, part: 2 })
    expect(posOf({ pos: '8' })).toBeUndefined()
    expect(posOf({ pos: '8.0' })).toBeUndefined()
    expect(posOf({})).toBeUndefined()
  })
})

describe('PosTracker', () => {
  it('delivers each position once, in order, and resumes after the last', () => {
    const t = new PosTracker()
    expect(t.since()).toBeUndefined()
    expect(t.accept({ seq: 1, part: 1 })).toBe(true)
    expect(t.accept({ seq: 2, part: 1 })).toBe(true)
    expect(t.since()).toBe('2.1') // cut inside event 2: its second message comes next
    expect(t.accept({ seq: 2, part: 1 })).toBe(false)
    expect(t.accept({ seq: 1, part: 1 })).toBe(false)
    expect(t.accept({ seq: 2, part: 2 })).toBe(true)
    expect(t.last).toEqual({ seq: 2, part: 2 })
  })

  it('starts after a seq whose messages the caller has, and only moves forward', () => {
    const t = new PosTracker(12)
    expect(t.since()).toBe('12')
    expect(t.accept({ seq: 12, part: 2 })).toBe(false)
    expect(t.accept({ seq: 13, part: 1 })).toBe(true)
    t.advance(20)
    expect(t.since()).toBe('20')
    t.advance(15)
    expect(t.since()).toBe('20')
    expect(t.accept({ seq: 20, part: 3 })).toBe(false)
  })

  it('passes messages without a position', () => {
    const t = new PosTracker(3)
    expect(t.accept(undefined)).toBe(true)
    expect(t.accept(undefined)).toBe(true)
    expect(t.since()).toBe('3')
  })
})
