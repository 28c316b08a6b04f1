package routines

import (
	"reflect"
	"strings"
	"testing"
)

var testEnv = map[string]any{
	"data":    map[string]any{"id": "A1", "n": 2.0, "items": []any{1.0, 2.0}, "nested": map[string]any{"k": "v"}},
	"job":     map[string]any{"id": "job_1", "flow_id": "f", "params": map[string]any{"p": true}},
	"routine": map[string]any{"id": "r", "kind": "transform"},
	"slot":    "input",
	"shared":  map[string]any{},
}

func TestExpressionEval(t *testing.T) {
	for src, want := range map[string]any{
		"data.n * 2":              4.0,
		"let x = data.n; x + 1":   3.0,
		"upper(data.id)":          "A1",
		"map(data.items, # * 10)": []any{10.0, 20.0},
		"job.params.p && routine.kind == 'transform' && slot == 'input'": true,
		"data.missing":          nil,
		"data?.missing?.deeper": nil,
		"$env.data.nested.k":    "v",
	} {
		e, err := CompileExpression(src)
		if err != nil {
			t.Errorf("%s: %v", src, err)
			continue
		}
		got, err := e.Eval(testEnv)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("%s = %#v, %v; want %#v", src, got, err, want)
		}
	}
	e, _ := CompileExpression("data.missing.deeper")
	if _, err := e.Eval(testEnv); err == nil || !strings.Contains(err.Error(), `expression "data.missing.deeper"`) {
		t.Errorf("run-time error = %v", err)
	}
}

func TestTemplateRender(t *testing.T) {
	for src, want := range map[string]string{
		"":                                   "",
		"plain text":                         "plain text",
		"id={{data.id}}":                     "id=A1",
		"{{ data.items }}/{{ data.nested }}": `[1,2]/{"k":"v"}`,
		"{{ {a: {b: 1}} }}":                  `{"a":{"b":1}}`,
		`{{ "}}" }} and {{ '{{' }}`:          "}} and {{",
		"{{ data.nope }}":                    "null",
		"a } b }} c":                         "a } b }} c",
		"{{ map(data.items, {# + 1}) }}":     "[2,3]",
		"<{{ '<&>' }}>":                      "<<&>>",
	} {
		tmpl, err := ParseTemplate(src)
		if err != nil {
			t.Errorf("%q: %v", src, err)
			continue
		}
		got, err := tmpl.Render(testEnv)
		if err != nil || got != want {
			t.Errorf("%q → %q, %v; want %q", src, got, err, want)
		}
	}
	for src, want := range map[string]string{
		"{{":            "unterminated {{ at offset 0",
		"ok {{ 'abc }}": "unterminated string inside {{ }} starting at offset 3",
		"{{ a } }}":     "unbalanced } at offset 5",
		"{{}}":          "empty {{ }} at offset 0",
		"x{{ data.+ }}": "{{ }} at offset 1:",
		"{{ unknown }}": "unknown name unknown",
	} {
		if _, err := ParseTemplate(src); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %v, want %q", src, err, want)
		}
	}
}

// FuzzTemplate checks that no template source makes the parser (or the
// rendering of what it accepts) panic, and that literal-only templates
// render to themselves.
func FuzzTemplate(f *testing.F) {
	for _, s := range []string{
		"", "x", "{{", "}}", "{{}}", "{{ data }}", "a {{ data.id }} b", "{{ {a: {b: 1}} }}",
		`{{ "}}" }}`, `{{ '\'' }}`, "{{ `x` }}", "{{ a } }}", "{{{{}}}}", "{{ map(data.items, {# * 2}) }}",
		"{{ 1..3 }}", "{{ data[ }}", "\xff{{\xfe}}", "{{ let x = 1; x }}", "{{ 'a' + }}",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		segs, err := splitTemplate(src)
		if err == nil {
			var b strings.Builder
			for _, s := range segs {
				if s.isExpr {
					b.WriteString("{{" + s.text + "}}")
				} else {
					b.WriteString(s.text)
				}
			}
			if b.String() != src {
				t.Fatalf("segments of %q rebuild %q", src, b.String())
			}
		}
		tmpl, err := ParseTemplate(src)
		if err != nil {
			return
		}
		out, err := tmpl.Render(testEnv)
		if err != nil {
			return
		}
		if !strings.Contains(src, "{{") && out != src {
			t.Fatalf("literal %q rendered as %q", src, out)
		}
	})
}
