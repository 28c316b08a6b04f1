import { describe, expect, it } from 'vitest'
import { drawableConnections, issueLine, routineAt, sketchFlow, syntaxErrorLine } from './flowYaml'

const Y = `flow_id: demo
name: Demo
routines:
  start:  {kind: input}
  # a comment
  double:
    kind: transform
    config:
      expr: "{value: data.value * 2}"
  "done": {kind: output}
connections:
  - {from: start.output, to: double.input}
  - from: double.output
    to: nope.input
execution: {strategy: sequential}
`

describe('sketchFlow', () => {
  it('finds routines, kinds, connections and their lines', () => {
    const s = sketchFlow(Y)
    expect(s.flowId).toBe('demo')
    expect(Object.keys(s.routines)).toEqual(['start', 'double', 'done'])
    expect(s.routines.double.kind).toBe('transform')
    expect(s.routines.done.kind).toBe('output')
    expect(s.routineLines.get('start')).toBe(4)
    expect(s.routineLines.get('double')).toBe(6)
    expect(s.routineLines.get('done')).toBe(10)
    expect(s.connections).toEqual([
      { from: 'start.output', to: 'double.input' },
      { from: 'double.output', to: 'nope.input' },
    ])
    expect(s.connectionLines).toEqual([12, 13])
    expect(drawableConnections(s)).toHaveLength(1)
  })

  it('accepts a sequence at indent 0 and empty text', () => {
    const s = sketchFlow('routines:\n  a: {kind: input}\nconnections:\n- {from: a.output, to: a.input}\n')
    expect(s.connectionLines).toEqual([4])
    expect(sketchFlow('').routines).toEqual({})
  })
})

describe('issueLine', () => {
  const s = sketchFlow(Y)
  it('maps routine_id to its key and connection to its item', () => {
    expect(issueLine({ code: 'UNKNOWN_KIND', message: '', routine_id: 'done' }, s)).toBe(10)
    expect(issueLine({ code: 'DANGLING_CONNECTION', message: 'connection 1: …', connection: 1 }, s)).toBe(13)
  })
  it('falls back to names in the message, syntax error positions, then line 1', () => {
    expect(issueLine({ code: 'X', message: 'routine "double" is odd' }, s)).toBe(6)
    expect(issueLine({ code: 'BAD_FLOW', message: 'invalid YAML: [3:10] sequence end token' }, s)).toBe(3)
    expect(issueLine({ code: 'X', message: 'whatever' }, s)).toBe(1)
    expect(syntaxErrorLine('nothing')).toBeUndefined()
  })
})

describe('routineAt', () => {
  it('names the routine around a line, only inside routines:', () => {
    expect(routineAt(Y, 8)).toBe('double')
    expect(routineAt(Y, 4)).toBe('start')
    expect(routineAt(Y, 3)).toBeUndefined()
    expect(routineAt(Y, 13)).toBeUndefined()
    expect(routineAt(Y, 1)).toBeUndefined()
  })
})
