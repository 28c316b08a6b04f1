package events

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestEncodedSizeMatchesAppendValue(t *testing.T) {
	values := []any{
		nil, true, false, 0.0, -1.5, 1e21, 1e-7, 123456789.0, 42, int64(-7), "",
		"plain", "quote\" back\\ nl\n cr\r tab\t ctl\x01 <>& \u2028\u2029 é 日本 \xff bad",
		json.RawMessage(`{"a":1}`), json.RawMessage(nil),
		[]any{}, []any{1.0, "a", nil, []any{true}}, map[string]any{},
		map[string]any{"b": 1.0, "a": map[string]any{"<k>": []any{"x", 2.0}}},
		struct{ A int }{3}, map[string]int{"x": 1},
	}
	for _, v := range values {
		want := int64(len(AppendValue(nil, v)))
		if got, exact := EncodedSize(v, 1<<20); got != want || !exact {
			t.Errorf("%#v: size %d (exact %v), AppendValue wrote %d", v, got, exact, want)
		}
	}
}

func TestEncodedSizeStopsEarly(t *testing.T) {
	big := strings.Repeat("x", 1000)
	if n, exact := EncodedSize([]any{big, big}, 1500); exact || n <= 1500 {
		t.Fatalf("n %d exact %v", n, exact)
	}
	// Shared parts nested 60 deep encode to 2^60 elements: the count stops.
	v := any("x")
	for i := 0; i < 60; i++ {
		v = []any{v, v}
	}
	if n, exact := EncodedSize(v, 1<<20); exact || n <= 1<<20 || n > 2<<20 {
		t.Fatalf("n %d exact %v", n, exact)
	}
}
