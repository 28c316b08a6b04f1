import { describe, expect, it } from 'vitest'
import { parseParams } from './params'

describe('parseParams', () => {
  it('treats blank input as no params', () => {
    expect(parseParams('')).toEqual({ ok: true, value: undefined })
    expect(parseParams('  \n ')).toEqual({ ok: true, value: undefined })
  })

  it('accepts a JSON object', () => {
    expect(parseParams('{"value": 21}')).toEqual({ ok: true, value: { value: 21 } })
    expect(parseParams(' {} ')).toEqual({ ok: true, value: {} })
  })

  it('reports a syntax error', () => {
    const r = parseParams('{"value": }')
    expect(r.ok).toBe(false)
    if (!r.ok) expect(r.error).toMatch(/^Invalid JSON: /)
  })

  it('rejects JSON that is not an object', () => {
    for (const [text, kind] of [
      ['[1,2]', 'an array'],
      ['42', 'a number'],
      ['"x"', 'a string'],
      ['null', 'null'],
      ['true', 'a boolean'],
    ]) {
      const r = parseParams(text)
      expect(r.ok).toBe(false)
      if (!r.ok) expect(r.error).toBe(`Params must be a JSON object, not ${kind}`)
    }
  })
})
