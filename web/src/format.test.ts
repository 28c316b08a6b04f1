import { describe, expect, it } from 'vitest'
import { compactJson, formatDuration, formatTime, percent } from './format'

describe('format', () => {
  it('compactJson', () => {
    expect(compactJson(undefined)).toBe('')
    expect(compactJson(null)).toBe('')
    expect(compactJson({ value: 42, list: [1, 2] })).toBe('{"value":42,"list":[1,2]}')
    expect(compactJson('x')).toBe('"x"')
    expect(compactJson({ s: 'a'.repeat(50) }, 20)).toHaveLength(20)
  })

  it('formatDuration', () => {
    expect(formatDuration(undefined)).toBe('')
    expect(formatDuration(0.12)).toBe('120 ms')
    expect(formatDuration(4.24)).toBe('4.2 s')
    expect(formatDuration(185)).toBe('3 m 05 s')
    expect(formatDuration(7260)).toBe('2 h 01 m')
  })

  it('formatTime', () => {
    expect(formatTime(undefined)).toBe('')
    expect(formatTime('0001-01-01T00:00:00Z')).toBe('')
    expect(formatTime('not a time')).toBe('not a time')
    expect(formatTime('2026-03-04T05:06:07Z')).toMatch(/^2026-03-0\d \d\d:\d\d:07$/)
  })

  it('percent', () => {
    expect(percent(undefined)).toBe(0)
    expect(percent(0.456)).toBe(46)
    expect(percent(1.7)).toBe(100)
    expect(percent(-1)).toBe(0)
  })
})
