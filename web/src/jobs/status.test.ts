import { describe, expect, it } from 'vitest'
import { allowedActions, isFinished, statusTone } from './status'

describe('allowedActions', () => {
  it.each([
    ['pending', { pause: true, resume: false, cancel: true }],
    ['running', { pause: true, resume: false, cancel: true }],
    ['paused', { pause: false, resume: true, cancel: true }],
    ['completed', { pause: false, resume: false, cancel: false }],
    ['failed', { pause: false, resume: false, cancel: false }],
    ['cancelled', { pause: false, resume: false, cancel: false }],
    ['something-new', { pause: false, resume: false, cancel: false }],
    [undefined, { pause: false, resume: false, cancel: false }],
  ])('%s', (status, expected) => {
    expect(allowedActions(status)).toEqual(expected)
  })
})

describe('isFinished', () => {
  it('is true only for terminal statuses', () => {
    expect(['completed', 'failed', 'cancelled'].every(isFinished)).toBe(true)
    expect(['pending', 'running', 'paused'].some(isFinished)).toBe(false)
    expect(isFinished(undefined)).toBe(false)
  })
})

describe('statusTone', () => {
  it('maps statuses to badge tones', () => {
    expect(statusTone('completed')).toBe('ok')
    expect(statusTone('failed')).toBe('bad')
    expect(statusTone('paused')).toBe('warn')
    expect(statusTone('running')).toBe('info')
    expect(statusTone('weird')).toBe('idle')
  })
})
