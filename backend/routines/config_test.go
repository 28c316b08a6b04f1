package routines

import (
	"strings"
	"testing"
)

// TestBuildErrors checks that bad configs are refused when the flow is
// compiled, with a message that names the key and the problem.
func TestBuildErrors(t *testing.T) {
	cases := []struct {
		name, kind, config, want string
	}{
		{"transform without expr", "transform", `{}`, "config.expr is required"},
		{"transform empty expr", "transform", `{expr: "  "}`, "config.expr is required and must not be empty"},
		{"transform expr not a string", "transform", `{expr: 5}`, "config.expr must be a string, not a number"},
		{"transform syntax", "transform", `{expr: "data.value *"}`, "config.expr: unexpected token EOF (1:12)"},
		{"transform unknown name", "transform", `{expr: "dta.value + 1"}`, "config.expr: unknown name dta (1:1); in scope: data, job, routine, shared, slot"},
		{"transform unknown function", "transform", `{expr: "uper(data)"}`, "config.expr: unknown function uper (1:1)"},
		{"unknown key", "transform", `{exp: "data"}`, "config.exp: unknown key (known keys: expr)"},
		{"input takes no config", "input", `{x: 1}`, "config.x: unknown key (this kind takes no config)"},
		{"filter without expr", "filter", `{}`, "config.expr is required"},
		{"filter unknown name", "filter", `{expr: "value > 1"}`, "unknown name value"},
		{"switch without cases", "switch", `{}`, "config.cases is required"},
		{"switch empty cases", "switch", `{cases: []}`, "config.cases must have at least one case"},
		{"switch cases not a list", "switch", `{cases: {when: "true", event: a}}`, "config.cases must be a list"},
		{"switch duplicate events", "switch", `{cases: [{when: "data > 1", event: big}, {when: "data > 2", event: big}]}`, `config.cases[1].event: "big" is already the event of cases[0]`},
		{"switch bad event name", "switch", `{cases: [{when: "true", event: "a.b"}]}`, `config.cases[0].event: "a.b" is not a valid event name`},
		{"switch missing when", "switch", `{cases: [{event: a}]}`, "config.cases[0].when is required"},
		{"switch missing event", "switch", `{cases: [{when: "true"}]}`, "config.cases[0].event is required"},
		{"switch bad when", "switch", `{cases: [{when: "data >", event: a}]}`, "config.cases[0].when: unexpected token EOF"},
		{"switch case key", "switch", `{cases: [{when: "true", event: a, to: b}]}`, "config.cases[0].to: unknown key"},
		{"switch default clash", "switch", `{cases: [{when: "true", event: other}], default: other}`, `"other" is also the default event`},
		{"switch bad default", "switch", `{cases: [{when: "true", event: a}], default: "x y"}`, `config.default: "x y" is not a valid event name`},
		{"delay without ms", "delay", `{}`, "config.ms is required"},
		{"delay negative", "delay", `{ms: -1}`, "config.ms must be a number between 0 and 86400000, not -1"},
		{"delay too long", "delay", `{ms: 86400001}`, "config.ms must be a number between 0 and 86400000"},
		{"delay not a number", "delay", `{ms: "10"}`, "config.ms must be a number between 0 and 86400000, not a string"},
		{"log level", "log", `{level: verbose}`, `config.level must be one of debug, info, warning, error, not "verbose"`},
		{"log template", "log", `{message: "x {{ data.a "}`, "config.message: unterminated {{ at offset 2"},
		{"log template expr", "log", `{message: "x {{ data. }}"}`, "config.message: {{ }} at offset 2:"},
		{"log empty segment", "log", `{message: "x {{ }}"}`, "config.message: empty {{ }} at offset 2"},
		{"split bad expr", "split", `{expr: "data["}`, "config.expr:"},
		{"merge strategy", "merge", `{strategy: union}`, `config.strategy must be one of override, append, not "union"`},
		{"script without code", "script", `{}`, "config.code is required"},
		{"script syntax", "script", "{code: \"var a = 1;\\nreturn a +;\"}", "config.code: syntax error at line 2:"},
		{"script escapes wrapper", "script", `{code: "}); (function () {"}`, "config.code: unbalanced braces"},
		{"script timeout", "script", `{code: "return 1", timeout_ms: 60001}`, "config.timeout_ms must be a number between 1 and 60000, not 60001"},
		{"http without url", "http", `{}`, "config.url is required"},
		{"http scheme", "http", `{url: "file:///etc/passwd"}`, "config.url: \"file:///etc/passwd\" must start with http:// or https://"},
		{"http method", "http", `{url: "http://x", method: FETCH}`, `config.method must be one of GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS, not "FETCH"`},
		{"http headers", "http", `{url: "http://x", headers: {X-N: 1}}`, "config.headers.X-N must be a string, not a number"},
		{"http header name", "http", `{url: "http://x", headers: {"a b": "1"}}`, `config.headers: "a b" is not a valid header name`},
		{"http body", "http", `{url: "http://x", body: "data +"}`, "config.body:"},
		{"http fail_on_status", "http", `{url: "http://x", fail_on_status: "yes"}`, "config.fail_on_status must be true or false, not a string"},
		{"http timeout", "http", `{url: "http://x", timeout_ms: 0}`, "config.timeout_ms must be a number between 1 and 600000, not 0"},
		{"output mode", "output", `{mode: first}`, `config.mode must be one of last, append, not "first"`},
		{"fail template", "fail", `{message: "{{ nope }}"}`, "config.message: {{ }} at offset 0: unknown name nope"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			src := `
flow_id: bad
routines:
  start: {kind: input}
  r: {kind: ` + c.kind + `, config: ` + c.config + `}
connections: []
`
			if c.kind == "input" {
				src = strings.Replace(src, "start: {kind: input}", "start: {kind: output}", 1)
			}
			got := compileErr(t, src)
			if got == "" {
				t.Fatalf("compiled; want error containing %q", c.want)
			}
			if !strings.Contains(got, c.want) {
				t.Fatalf("error %q\nwant it to contain %q", got, c.want)
			}
		})
	}
}

func TestValidConfigsCompile(t *testing.T) {
	for kind, config := range map[string]string{
		"transform": `{expr: "let x = data.a; {sum: x + job.params.b, n: len(shared), id: routine.id, s: slot, u: upper('a'), e: $env.data}"}`,
		"filter":    `{expr: "all(data.items, # > 0) && data?.x?.y == nil"}`,
		"split":     `{}`,
		"log":       `{message: "{{ {a: {b: 1}} }} and {{ \"}}\" }} and {{ map(data, {# * 2}) }}"}`,
		"http":      `{url: "https://example.com/{{ data.id }}", headers: {X-A: "b"}, body: data}`,
		"script":    `{code: "// a comment\nreturn data;"}`,
	} {
		src := `
flow_id: ok
routines:
  start: {kind: input}
  r: {kind: ` + kind + `, config: ` + config + `}
connections:
  - {from: start.output, to: r.input}
`
		if err := compileErr(t, src); err != "" {
			t.Errorf("%s: %s", kind, err)
		}
	}
}
