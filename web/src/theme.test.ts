import { describe, expect, it } from 'vitest'
import { chooseTheme, otherTheme } from './theme'

describe('chooseTheme', () => {
  it('prefers the stored choice', () => {
    expect(chooseTheme('dark', false)).toBe('dark')
    expect(chooseTheme('light', true)).toBe('light')
  })
  it('follows the system otherwise', () => {
    expect(chooseTheme(null, true)).toBe('dark')
    expect(chooseTheme(undefined, false)).toBe('light')
    expect(chooseTheme('purple', true)).toBe('dark')
  })
  it('toggles', () => {
    expect(otherTheme('dark')).toBe('light')
    expect(otherTheme('light')).toBe('dark')
  })
})
