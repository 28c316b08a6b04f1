package routines

import (
	"runtime/metrics"
	"strings"
	"testing"
)

// TestGrowthIsBoundedBeyondPlus: strings built by builtins are charged to
// the same budget as "+", and list growth stops at expr's own budget; none
// of these allocates more than a few hundred MB before it fails.
func TestGrowthIsBoundedBeyondPlus(t *testing.T) {
	sample := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
	for src, want := range map[string]string{
		`len(reduce(1..30, replace(#acc, "x", "xx"), "x"))`:         "replace among them",
		`len(reduce(1..30, join([#acc, #acc], ""), "x"))`:           "join among them",
		`len(reduce(1..30, toJSON(#acc), "x"))`:                     "toJSON among them",
		`len(reduce(1..30, toBase64(#acc + #acc), "x"))`:            "memory budget exceeded",
		`len(reduce(1..27, concat(#acc, #acc), [1]))`:               "memory budget exceeded",
		`len(reduce(1..27, flatten(map(#acc, [#, #])), [1]))`:       "memory budget exceeded",
		`len(reduce(1..27, sortBy(concat(#acc, #acc), #), [1]))`:    "memory budget exceeded",
		`len(reduce(1..40, repeat(#acc, 2), "x"))`:                  "memory budget exceeded",
		`len(reduce(1..40, string([#acc, #acc]), "x"))`:             "string among them",
		`len(reduce(1..10, replace(#acc, "x", "xx"), "x")) == 1024`: "",
	} {
		e, err := CompileExpression(src)
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		metrics.Read(sample)
		before := sample[0].Value.Uint64()
		v, err := e.Eval(map[string]any{})
		metrics.Read(sample)
		alloc := sample[0].Value.Uint64() - before
		switch {
		case want == "" && (err != nil || v != true):
			t.Errorf("%s: %v, %v", src, v, err)
		case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
			t.Errorf("%s: got %v, %v; want an error with %q", src, v, err, want)
		}
		if alloc > 400<<20 {
			t.Errorf("%s: allocated %d MB before it stopped", src, alloc>>20)
		}
	}
}

func TestTemplateRenderingIsBounded(t *testing.T) {
	tpl, err := ParseTemplate(strings.Repeat("{{ data.s }}", 40))
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]any{"data": map[string]any{"s": strings.Repeat("x", 1<<20)}}
	if _, err := tpl.Render(env); err == nil || !strings.Contains(err.Error(), "rendered more than 16 MB") {
		t.Fatalf("40 MB template: %v", err)
	}
	env["data"] = map[string]any{"s": strings.Repeat("x", 1<<10)}
	if out, err := tpl.Render(env); err != nil || len(out) != 40<<10 {
		t.Fatalf("40 KB template: %d, %v", len(out), err)
	}
}
