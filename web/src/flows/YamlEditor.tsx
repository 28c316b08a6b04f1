// The flow editor: CodeMirror 6 with YAML, the server's validation issues as lint
// diagnostics, and completion of kinds and config keys from GET /api/routines.
// Only the lazily loaded editor page imports this (CodeMirror stays out of the main chunk).
import { useEffect, useRef } from 'react'
import { autocompletion, type CompletionContext, type CompletionResult } from '@codemirror/autocomplete'
import { yaml } from '@codemirror/lang-yaml'
import { HighlightStyle, syntaxHighlighting } from '@codemirror/language'
import { lintGutter, setDiagnostics, type Diagnostic } from '@codemirror/lint'
import { EditorState } from '@codemirror/state'
import { EditorView, keymap } from '@codemirror/view'
import { tags as t } from '@lezer/highlight'
import { basicSetup } from 'codemirror'
import type { RoutineKind } from '../api/api'
import { routineAt } from './flowYaml'

export interface LineDiagnostic {
  line: number
  severity: 'error' | 'warning'
  message: string
}

export interface YamlEditorProps {
  value: string
  onChange: (text: string) => void
  diagnostics: LineDiagnostic[]
  kinds: RoutineKind[]
  /** Moves the cursor to this line when it changes ({line, n} so the same line can be asked twice). */
  goto?: { line: number; n: number }
  onSave?: () => void
}

// Colours come from styles.css variables, so the editor follows the theme.
const highlight = HighlightStyle.define([
  { tag: [t.propertyName, t.definition(t.propertyName)], color: 'var(--hl-key)' },
  { tag: [t.string, t.special(t.string), t.content], color: 'var(--hl-string)' },
  { tag: [t.number, t.bool, t.null, t.atom], color: 'var(--hl-atom)' },
  { tag: [t.comment, t.lineComment], color: 'var(--hl-comment)', fontStyle: 'italic' },
  { tag: [t.punctuation, t.separator, t.brace, t.squareBracket], color: 'var(--dim)' },
  { tag: [t.keyword, t.typeName, t.meta, t.labelName], color: 'var(--hl-keyword)' },
])

const chrome = EditorView.theme({
  '&': { backgroundColor: 'var(--panel)', color: 'var(--text)', fontSize: '13px', height: '100%' },
  '.cm-content': { fontFamily: 'var(--mono)', caretColor: 'var(--text)' },
  '.cm-scroller': { fontFamily: 'var(--mono)', lineHeight: '1.5' },
  '.cm-gutters': { backgroundColor: 'var(--code-bg)', color: 'var(--dim)', borderRight: '1px solid var(--border)' },
  '.cm-activeLine': { backgroundColor: 'var(--active-line)' },
  '.cm-activeLineGutter': { backgroundColor: 'var(--active-line)', color: 'var(--text)' },
  '&.cm-focused .cm-cursor': { borderLeftColor: 'var(--text)' },
  '&.cm-focused .cm-selectionBackground, .cm-selectionBackground, ::selection': { backgroundColor: 'var(--selection)' },
  '&.cm-focused': { outline: '2px solid var(--accent)', outlineOffset: '-1px' },
  '.cm-tooltip': { backgroundColor: 'var(--panel)', color: 'var(--text)', border: '1px solid var(--border)' },
  '.cm-tooltip-autocomplete ul li[aria-selected]': { backgroundColor: 'var(--accent)', color: 'var(--on-accent)' },
  '.cm-completionDetail': { color: 'inherit', opacity: 0.8 },
  '.cm-diagnostic-error': { borderLeftColor: 'var(--bad)' },
  '.cm-diagnostic-warning': { borderLeftColor: 'var(--warn)' },
  '.cm-matchingBracket': { backgroundColor: 'var(--selection)', color: 'inherit' },
})

function completer(kinds: { current: RoutineKind[] }) {
  return (ctx: CompletionContext): CompletionResult | null => {
    const line = ctx.state.doc.lineAt(ctx.pos)
    const before = line.text.slice(0, ctx.pos - line.from)
    const kindValue = /\bkind\s*:\s*([\w-]*)$/.exec(before)
    if (kindValue) {
      return {
        from: ctx.pos - kindValue[1].length,
        options: kinds.current.map((k) => ({ label: k.kind, type: 'class', info: k.description })),
        validFor: /^[\w-]*$/,
      }
    }
    const key = /(?:^\s+|[{,]\s*)([\w-]*)$/.exec(before)
    if (!key || (!ctx.explicit && key[1] === '')) return null
    const text = ctx.state.doc.toString()
    const rid = routineAt(text, line.number)
    if (!rid) return null
    // The kind of the routine around the cursor: the nearest `kind:` of its block.
    const kindName = /\bkind\s*:\s*["']?([\w-]+)/.exec(routineBlock(text, rid))?.[1]
    const kind = kinds.current.find((k) => k.kind === kindName)
    const options = [
      ...(kind?.config ?? []).map((c) => ({
        label: c.name,
        type: 'property',
        detail: `${c.type}${c.required ? ' · required' : ''}`,
        info: c.description,
        apply: `${c.name}: `,
        boost: 1,
      })),
      ...['kind', 'config', 'error_policy'].map((k) => ({ label: k, type: 'keyword', apply: `${k}: ` })),
    ]
    return { from: ctx.pos - key[1].length, options, validFor: /^[\w-]*$/ }
  }
}

/** The text of routine `rid`'s block: its key line and the deeper lines after it. */
function routineBlock(text: string, rid: string): string {
  const lines = text.split('\n')
  const start = lines.findIndex((l) => new RegExp(`^\\s+["']?${rid.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}["']?\\s*:`).test(l))
  if (start < 0) return ''
  const ind = lines[start].length - lines[start].trimStart().length
  let end = start + 1
  while (end < lines.length && (lines[end].trim() === '' || lines[end].length - lines[end].trimStart().length > ind)) end++
  return lines.slice(start, end).join('\n')
}

export default function YamlEditor({ value, onChange, diagnostics, kinds, goto, onSave }: YamlEditorProps) {
  const host = useRef<HTMLDivElement>(null)
  const view = useRef<EditorView | null>(null)
  const onChangeRef = useRef(onChange)
  onChangeRef.current = onChange
  const onSaveRef = useRef(onSave)
  onSaveRef.current = onSave
  const kindsRef = useRef(kinds)
  kindsRef.current = kinds

  useEffect(() => {
    const v = new EditorView({
      parent: host.current!,
      state: EditorState.create({
        doc: value,
        extensions: [
          basicSetup,
          yaml(),
          syntaxHighlighting(highlight),
          chrome,
          lintGutter(),
          autocompletion({ override: [completer(kindsRef)] }),
          keymap.of([
            {
              key: 'Mod-s',
              preventDefault: true,
              run: () => {
                onSaveRef.current?.()
                return true
              },
            },
          ]),
          EditorView.contentAttributes.of({ 'aria-label': 'Flow definition (YAML)', 'aria-multiline': 'true' }),
          EditorView.updateListener.of((u) => {
            if (u.docChanged) onChangeRef.current(u.state.doc.toString())
          }),
        ],
      }),
    })
    view.current = v
    return () => {
      v.destroy()
      view.current = null
    }
    // The document is owned by the editor after the first render.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [])

  useEffect(() => {
    const v = view.current
    if (!v) return
    const doc = v.state.doc
    const diags: Diagnostic[] = diagnostics
      .filter((d) => d.line >= 1 && d.line <= doc.lines)
      .map((d) => {
        const l = doc.line(d.line)
        return { from: l.from + (l.length - l.text.trimStart().length), to: l.to, severity: d.severity, message: d.message }
      })
    v.dispatch(setDiagnostics(v.state, diags))
  }, [diagnostics])

  useEffect(() => {
    const v = view.current
    if (!v || !goto) return
    const l = v.state.doc.line(Math.max(1, Math.min(goto.line, v.state.doc.lines)))
    v.dispatch({ selection: { anchor: l.from }, scrollIntoView: true })
    v.focus()
  }, [goto])

  return <div className="yaml-editor" data-testid="flow-editor" ref={host} />
}
