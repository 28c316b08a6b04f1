package flow_test

import (
	"fmt"
	"runtime/metrics"
	"strings"
	"testing"
	"time"

	"github.com/switchyard/switchyard/backend/flow"
)

// Memory bounds for parsing: whatever the input, a parse allocates at most
// allocBase + allocPerByte per input byte, and never more than allocCap.
const (
	allocBase    = 1 << 20
	allocPerByte = 400
	allocCap     = 64 << 20
)

var allocSample = []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}

// allocated returns the bytes allocated by f (process-wide, so run alone).
func allocated(f func()) uint64 {
	metrics.Read(allocSample)
	before := allocSample[0].Value.Uint64()
	f()
	metrics.Read(allocSample)
	return allocSample[0].Value.Uint64() - before
}

func allocBound(n int) uint64 {
	return min(uint64(allocBase+allocPerByte*n), allocCap)
}

func rep(s string, n int) string { return strings.Repeat(s, n) }

// hostile are inputs that cost the previous YAML parser hundreds of
// megabytes or more (it was quadratic in depth and in key length × items).
func hostile() map[string]string {
	long := rep("k", 100_000)
	indented := func(n int) string {
		var b strings.Builder
		b.WriteString("flow_id: x\nroutines:\n")
		for i := 1; i <= n; i++ {
			b.WriteString(rep(" ", i) + "a:\n")
		}
		return b.String()
	}
	return map[string]string{
		"block sequences on one line": rep("- ", 100_000) + "x",
		"explicit keys on one line":   rep("? ", 100_000) + "x",
		"mappings in sequences":       rep("- a: ", 50_000) + "x",
		"mappings on one line":        rep("a: ", 100_000) + "x",
		"indented mappings":           indented(1000),
		"flow sequences":              "flow_id: x\nr: " + rep("[", 300_000) + rep("]", 300_000),
		"flow mappings":               "flow_id: x\nr: " + rep("{a: ", 100_000) + "1" + rep("}", 100_000),
		"single-pair flow mappings":   "flow_id: x\nr: " + rep("[a: ", 100_000) + "1" + rep("]", 100_000),
		"anchors":                     rep("&a ", 100_000) + "x",
		"tags":                        rep("!t ", 100_000) + "x",
		"aliases":                     "a: &a [x, x]\nb: [" + rep("*a, ", 100_000) + "*a]",
		"long key over many items":    "flow_id: x\n" + long + ":\n" + rep("- 1\n", 200_000),
		"long key over flow items":    "flow_id: x\n" + long + ": [" + rep("1,", 200_000) + "]",
		"many small items":            "flow_id: x\nr: [" + rep("1,", 500_000) + "]",
		"60-deep lines":               rep(rep("- ", 60)+"x\n", 8000),
		"long string":                 "flow_id: x\nname: " + rep("y", 1_000_000),
		"deep JSON":                   `{"flow_id":"x","routines":{"a":{"kind":"input","config":{"x":` + rep("[", 400_000) + rep("]", 400_000) + `}}}}`,
		"JSON long key, many items":   `{"flow_id":"x","routines":{"a":{"kind":"input","config":{"` + long + `":[` + rep("1,", 200_000) + `1]}}}}`,
	}
}

func TestParseMemoryIsLinearInInput(t *testing.T) {
	for name, src := range hostile() {
		start := time.Now()
		var err error
		got := allocated(func() { _, err = flow.Parse([]byte(src)) })
		took := time.Since(start)
		t.Logf("%-28s %8d B: %6.1f MB allocated (%3d B/B) in %v: %v", name, len(src), float64(got)/(1<<20), got/uint64(len(src)), took.Round(time.Millisecond), short(err))
		if limit := uint64(allocBase + allocPerByte*len(src)); got > limit {
			t.Errorf("%s: %d bytes allocated for %d bytes of input, more than %d", name, got, len(src), limit)
		}
		if took > 5*time.Second {
			t.Errorf("%s: took %v", name, took)
		}
	}
}

func short(err error) string {
	if err == nil {
		return "accepted"
	}
	s := err.Error()
	if len(s) > 80 {
		s = s[:80] + "…"
	}
	return s
}

// FuzzParseMemory fails when any input makes Parse (or rendering what it
// accepted as YAML) allocate more than the bound. The seed corpus in
// testdata/fuzz/FuzzParseMemory holds the shapes that broke the old parser.
func FuzzParseMemory(f *testing.F) {
	for _, s := range []string{
		rep("- ", 2000) + "x",
		rep("? ", 2000) + "x",
		rep("- a: ", 1000) + "x",
		"a: b: c: d: e",
		"flow_id: x\nr: " + rep("[", 1000),
		"flow_id: x\nr: " + rep("{a: ", 1000),
		"a: &a [x]\nb: [*a, *a]",
		rep("&a !t ", 1000) + "x",
		"flow_id: x\n" + rep("k", 5000) + ":\n" + rep("- 1\n", 2000),
		orders,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		// A parse that hangs is as bad as one that explodes.
		hung := time.AfterFunc(10*time.Second, func() { panic(fmt.Sprintf("parsing %q took over 10s", src)) })
		defer hung.Stop()
		got := allocated(func() {
			if fl, err := flow.Parse(src); err == nil {
				_, _ = fl.YAML()
				_, _ = fl.JSON()
			}
		})
		if limit := allocBound(len(src)); got > limit {
			t.Fatalf("%d bytes of input allocated %d bytes, more than %d", len(src), got, limit)
		}
	})
}

func TestParseYAMLEdges(t *testing.T) {
	cases := map[string]string{
		"flow_id: x\nflow_id: y\n":      "already defined",
		"flow_id: x\nm: {<<: {a: 1}}\n": "merge keys",
		"flow_id: x\nn: .inf\n":         "not a number JSON can hold",
		"flow_id: x\n[a]: 1\n":          "mapping key must be a plain value",
		"- a\n- b\n":                    "must be a mapping",
		"flow_id: x\na: &a 1\nb: *a\n":  "aliases (*a)",
		"flow_id: x\n---\nflow_id: y\n": "invalid YAML",
		"flow_id: x\nroutines: [" + rep("[", 64) + rep("]", 64) + "]\n": "nested more than 64",
	}
	for src, want := range cases {
		if _, err := flow.Parse([]byte(src)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: got %v, want %q", src, err, want)
		}
	}
	// Values keep their YAML 1.2 types on the way to JSON.
	f, err := flow.Parse([]byte("flow_id: x\nroutines:\n  a:\n    kind: input\n    config: {hex: 0x1F, oct: 0o17, f: 1e3, y: yes, t: 2024-01-01, n: ~, s: !!str 12, b: true}\n"))
	if err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprint(f.Routines["a"].Config)
	if want := "map[b:true f:1000 hex:31 n:<nil> oct:15 s:12 t:2024-01-01 y:yes]"; got != want {
		t.Errorf("config %s, want %s", got, want)
	}
	// Sixty-three levels below the root are fine.
	ok := "flow_id: x\nroutines: {a: {kind: input, config: {x: " + rep("[", 60) + rep("]", 60) + "}}}\n"
	if _, err := flow.Parse([]byte(ok)); err != nil {
		t.Errorf("60 levels: %v", err)
	}
}

func TestParseRefusesHugeDefinitions(t *testing.T) {
	src := "flow_id: x\nname: " + rep("y", flow.MaxSourceBytes)
	if _, err := flow.Parse([]byte(src)); err == nil || !strings.Contains(err.Error(), "more than") {
		t.Fatalf("huge definition: %v", err)
	}
}
