package routines

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// Template is literal text with {{ expr }} segments, as used by log
// messages, fail messages and http URLs and headers. Expressions are
// compiled when the template is parsed. A string result is inserted as is;
// any other result is rendered as JSON (so a missing field shows as null).
//
// Inside a segment, "}}" ends the expression only outside string literals
// and outside braces opened by the expression itself, so map literals such
// as {{ {a: {b: 1}} }} and strings such as {{ "}}" }} work. There is no
// escape for a literal "{{"; write {{ "{{" }}.
type Template struct {
	src   string
	parts []templatePart
}

type templatePart struct {
	text string
	expr *Expression // nil for literal text
}

// segment is one piece of a template's source: literal text, or the source
// of an expression with its byte offset (of the opening "{{").
type segment struct {
	text   string
	isExpr bool
	offset int
}

// splitTemplate cuts src into literal and expression segments.
func splitTemplate(src string) ([]segment, error) {
	var segs []segment
	i := 0
	for {
		open := strings.Index(src[i:], "{{")
		if open < 0 {
			if i < len(src) {
				segs = append(segs, segment{text: src[i:], offset: i})
			}
			return segs, nil
		}
		open += i
		if open > i {
			segs = append(segs, segment{text: src[i:open], offset: i})
		}
		end, err := scanExpr(src, open+2)
		if err != nil {
			return nil, err
		}
		body := src[open+2 : end]
		if strings.TrimSpace(body) == "" {
			return nil, fmt.Errorf("empty {{ }} at offset %d", open)
		}
		segs = append(segs, segment{text: body, isExpr: true, offset: open})
		i = end + 2
	}
}

// scanExpr finds the "}}" closing an expression that starts at start and
// returns its index.
func scanExpr(src string, start int) (int, error) {
	depth := 0
	var quote byte
	for i := start; i < len(src); i++ {
		c := src[i]
		if quote != 0 {
			switch {
			case c == '\\' && quote != '`':
				i++ // skip the escaped byte
			case c == quote:
				quote = 0
			}
			continue
		}
		switch c {
		case '"', '\'', '`':
			quote = c
		case '{':
			depth++
		case '}':
			if depth == 0 {
				if i+1 < len(src) && src[i+1] == '}' {
					return i, nil
				}
				return 0, fmt.Errorf("unbalanced } at offset %d inside {{ }} starting at offset %d", i, start-2)
			}
			depth--
		}
	}
	if quote != 0 {
		return 0, fmt.Errorf("unterminated string inside {{ }} starting at offset %d", start-2)
	}
	return 0, fmt.Errorf("unterminated {{ at offset %d (missing }})", start-2)
}

// ParseTemplate parses and compiles a template.
func ParseTemplate(src string) (*Template, error) {
	segs, err := splitTemplate(src)
	if err != nil {
		return nil, err
	}
	t := &Template{src: src}
	for _, s := range segs {
		if !s.isExpr {
			t.parts = append(t.parts, templatePart{text: s.text})
			continue
		}
		e, err := CompileExpression(strings.TrimSpace(s.text))
		if err != nil {
			return nil, fmt.Errorf("{{ }} at offset %d: %w", s.offset, err)
		}
		t.parts = append(t.parts, templatePart{expr: e})
	}
	return t, nil
}

// Static returns the text of a template without expressions.
func (t *Template) Static() (string, bool) {
	for _, p := range t.parts {
		if p.expr != nil {
			return "", false
		}
	}
	return t.src, true
}

// Render evaluates the template's expressions against env. The text it
// builds is bounded by ConcatBudget as one expression's strings are: each
// placeholder has a budget of its own, and a thousand "{{ data.s }}" of a
// megabyte each would otherwise build a gigabyte.
func (t *Template) Render(env map[string]any) (string, error) {
	var b strings.Builder
	for _, p := range t.parts {
		if p.expr == nil {
			b.WriteString(p.text)
		} else {
			v, err := p.expr.Eval(env)
			if err != nil {
				return "", err
			}
			b.WriteString(renderValue(v))
		}
		if b.Len() > ConcatBudget {
			return "", &Error{Name: "ExpressionError", Err: fmt.Errorf("template %q: memory budget exceeded: it rendered more than %d MB", clip(t.src, 80), ConcatBudget>>20)}
		}
	}
	return b.String(), nil
}

// renderValue writes strings as they are and anything else as compact JSON.
func renderValue(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Sprint(v)
	}
	return strings.TrimSuffix(buf.String(), "\n")
}
