package routines

import (
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/switchyard/switchyard/backend/engine"
	"github.com/switchyard/switchyard/backend/events"
)

// vmHWM is the process's peak resident set in bytes (Linux), or 0.
func vmHWM() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// hog is the script of the issue; under the race detector a faster one.
func hog() string {
	if raceEnabled {
		return `let a = []; while (true) { a.push(new Float64Array(1e6)); }`
	}
	return `let a = []; while (true) { a.push(new Array(1e6).fill(1)); }`
}

func TestScriptMemoryBudget(t *testing.T) {
	h := newHarness(t)
	before := vmHWM()
	began := time.Now()
	id, st := scriptJob(h, `{code: "`+hog()+`", timeout_ms: 20000}`, nil)
	took := time.Since(began)
	grew := vmHWM() - before
	t.Logf("hog failed after %v: %q; peak RSS grew by %d MB", took, st.Error, grew>>20)
	if st.Status != events.StatusFailed || !strings.Contains(st.Error, "script exceeded its memory budget of 64 MB") {
		t.Fatalf("status %s error %q", st.Status, st.Error)
	}
	if f := h.rec.of(id, events.RoutineFailed); len(f) != 1 || f[0].ErrorType != "MemoryError" {
		t.Fatalf("failures %+v", f)
	}
	if took > 10*time.Second && !raceEnabled {
		t.Errorf("the budget took %v to hold", took)
	}
	if before > 0 && grew > 256<<20 {
		t.Errorf("peak RSS grew by %d MB for a 64 MB budget", grew>>20)
	}

	// A smaller budget from the config; strings count too.
	_, st = scriptJob(h, `{code: "let a = []; for (;;) { a.push('x'.repeat(1e6) + a.length); }", memory_mb: 8}`, nil)
	if st.Status != events.StatusFailed || !strings.Contains(st.Error, "memory budget of 8 MB") {
		t.Fatalf("8 MB: status %s error %q", st.Status, st.Error)
	}
	// Within the budget is fine.
	res := h.mustComplete(strings.Replace(scriptFlow, "CONFIG", `{code: "let a = []; for (let i = 0; i < 4; i++) { a.push(new Array(1e5).fill(i)); } return a.length;"}`, 1), nil)
	if res != 4.0 {
		t.Fatalf("result %v", res)
	}
}

func TestScriptMemoryHogDoesNotStopOtherJobs(t *testing.T) {
	h := newHarness(t)
	hogID := h.start(strings.Replace(scriptFlow, "CONFIG", `{code: "`+hog()+`", timeout_ms: 20000}`, 1), nil)
	for i := 0; i < 20; i++ {
		if res := h.mustComplete(strings.Replace(scriptFlow, "CONFIG", `{code: "return data.n * 2;"}`, 1), map[string]any{"n": float64(i)}); res != float64(2*i) {
			t.Fatalf("job %d: %v", i, res)
		}
	}
	if st := h.wait(hogID); !strings.Contains(st.Error, "memory budget") {
		t.Fatalf("hog: %s %q", st.Status, st.Error)
	}
}

func TestScriptMemoryConfigBounds(t *testing.T) {
	for cfg, want := range map[string]string{
		`{code: "return 1;", memory_mb: 0}`:    "memory_mb",
		`{code: "return 1;", memory_mb: 1024}`: "memory_mb",
	} {
		if err := compileErr(t, strings.Replace(scriptFlow, "CONFIG", cfg, 1)); !strings.Contains(err, want) {
			t.Errorf("%s: %q", cfg, err)
		}
	}
	// The server-wide cap bounds the config and the sum of running budgets.
	SetScriptMemory(16<<20, 16<<20)
	defer SetScriptMemory(512<<20, 512<<20)
	if err := compileErr(t, strings.Replace(scriptFlow, "CONFIG", `{code: "return 1;", memory_mb: 32}`, 1)); !strings.Contains(err, "memory_mb") {
		t.Errorf("over the cap: %q", err)
	}
	h := newHarness(t)
	slow := h.start(strings.Replace(scriptFlow, "CONFIG", `{code: "let t = Date.now(); while (Date.now() - t < 300) {} return 1;", memory_mb: 16}`, 1), nil)
	time.Sleep(50 * time.Millisecond)
	began := time.Now()
	if res := h.mustComplete(strings.Replace(scriptFlow, "CONFIG", `{code: "return 2;", memory_mb: 16}`, 1), nil); res != 2.0 {
		t.Fatalf("result %v", res)
	}
	if waited := time.Since(began); waited < 150*time.Millisecond {
		t.Errorf("the second script did not wait for the first's budget (%v)", waited)
	}
	h.wait(slow)
}

// BenchmarkScriptJob runs a job of one small script activation, end to end.
func BenchmarkScriptJob(b *testing.B) {
	h := newHarness(&testing.T{})
	src := strings.Replace(scriptFlow, "CONFIG", `{code: "var s = 0; for (var i = 0; i < 100; i++) { s += data.n * i; } return {v: s};"}`, 1)
	f := parseFlow(h.t, src)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		st, err := h.eng.Start(engine.StartRequest{Flow: f, Params: map[string]any{"n": 3.0}})
		if err != nil {
			b.Fatal(err)
		}
		<-h.eng.Done(st.JobID)
	}
}
