package routines

import (
	"io/fs"
	"testing"

	"github.com/switchyard/switchyard/examples"
)

// TestExampleFlowsCompile: the flows a new server loads must be valid with
// the built-in kinds.
func TestExampleFlowsCompile(t *testing.T) {
	files, err := fs.Glob(examples.Flows, "flows/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no example flows: %v", err)
	}
	for _, name := range files {
		src, err := fs.ReadFile(examples.Flows, name)
		if err != nil {
			t.Fatal(err)
		}
		if msg := compileErr(t, string(src)); msg != "" {
			t.Errorf("%s: %s", name, msg)
		}
	}
}

// TestTourFlowRuns runs the example that uses every kind. Its http routine
// calls a local server that is usually not running; its skip policy lets
// the job go on either way.
func TestTourFlowRuns(t *testing.T) {
	src, err := fs.ReadFile(examples.Flows, "flows/tour.yaml")
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t)
	orders := []any{
		map[string]any{"id": "a", "amount": 150.0},
		map[string]any{"id": "b", "amount": 60.0},
		map[string]any{"id": "c", "amount": 10.0},
	}
	res := h.mustComplete(string(src), map[string]any{"orders": orders})
	tiers := map[string]float64{}
	for _, r := range res.([]any) {
		m := r.(map[string]any)
		tiers[m["tier"].(string)] = m["score"].(float64)
	}
	if len(tiers) != 3 || tiers["big"] != 225 || tiers["medium"] != 60 || tiers["small"] != 5 {
		t.Fatalf("result = %v", res)
	}
}
