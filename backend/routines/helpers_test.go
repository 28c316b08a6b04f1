package routines

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchyard/switchyard/backend/engine"
	"github.com/switchyard/switchyard/backend/events"
	"github.com/switchyard/switchyard/backend/flow"
)

// recorder is a test sink that keeps every event.
type recorder struct {
	mu     sync.Mutex
	events []events.Event
}

func (r *recorder) Publish(ev *events.Event) {
	r.mu.Lock()
	r.events = append(r.events, *ev)
	r.mu.Unlock()
}

// of returns the events of one job, optionally of one type.
func (r *recorder) of(jobID, typ string) []events.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []events.Event
	for _, ev := range r.events {
		if ev.JobID == jobID && (typ == "" || ev.Type == typ) {
			out = append(out, ev)
		}
	}
	return out
}

// final returns the job's terminal event, if it has been published.
func (r *recorder) final(jobID string) (events.Event, bool) {
	for _, ev := range r.of(jobID, "") {
		switch ev.Type {
		case events.JobCompleted, events.JobFailed, events.JobCancelled:
			return ev, true
		}
	}
	return events.Event{}, false
}

type harness struct {
	t   *testing.T
	eng *engine.Engine
	rec *recorder
}

// newHarness returns an engine running the built-in kinds plus extra.
func newHarness(t *testing.T, extra ...engine.Kind) *harness {
	t.Helper()
	reg := engine.NewRegistry()
	Register(reg)
	for _, k := range extra {
		if err := reg.Register(k); err != nil {
			t.Fatal(err)
		}
	}
	rec := &recorder{}
	return &harness{t: t, eng: engine.New(reg, rec, engine.Options{}), rec: rec}
}

func parseFlow(t *testing.T, src string) *flow.Flow {
	t.Helper()
	f, err := flow.Parse([]byte(strings.TrimSpace(src)))
	if err != nil {
		t.Fatalf("parse flow: %v", err)
	}
	return f
}

// start starts a job of the flow in src.
func (h *harness) start(src string, params any) string {
	h.t.Helper()
	st, err := h.eng.Start(engine.StartRequest{Flow: parseFlow(h.t, src), Params: params})
	if err != nil {
		h.t.Fatalf("start: %v", err)
	}
	return st.JobID
}

// wait waits for the job to end and returns its final state, taken from
// the terminal event (the engine forgets finished jobs).
func (h *harness) wait(id string) *events.JobState {
	h.t.Helper()
	select {
	case <-h.eng.Done(id):
	case <-time.After(20 * time.Second):
		h.t.Fatalf("job %s did not end", id)
	}
	ev, ok := h.rec.final(id)
	if !ok || ev.Job == nil {
		h.t.Fatalf("job %s: no terminal event", id)
	}
	return ev.Job
}

// run starts a job and waits for it.
func (h *harness) run(src string, params any) (string, *events.JobState) {
	h.t.Helper()
	id := h.start(src, params)
	return id, h.wait(id)
}

// mustComplete runs a job that has to complete and returns its result.
func (h *harness) mustComplete(src string, params any) any {
	h.t.Helper()
	_, st := h.run(src, params)
	if st.Status != events.StatusCompleted {
		h.t.Fatalf("job %s: status %s, error %q", st.JobID, st.Status, st.Error)
	}
	return st.Result
}

// cancelAfter cancels the job once routine has started, and returns when.
func (h *harness) cancelWhenRunning(id, routine string) time.Time {
	h.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		for _, ev := range h.rec.of(id, events.RoutineStarted) {
			if ev.RoutineID == routine {
				time.Sleep(50 * time.Millisecond) // let it get into its wait
				at := time.Now()
				if _, err := h.eng.Cancel(id); err != nil {
					h.t.Fatalf("cancel: %v", err)
				}
				return at
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	h.t.Fatalf("routine %s never started", routine)
	return time.Time{}
}

// compileErr compiles the flow and returns the validation error text.
func compileErr(t *testing.T, src string) string {
	t.Helper()
	reg := engine.NewRegistry()
	Register(reg)
	_, err := reg.Compile(parseFlow(t, src))
	if err == nil {
		return ""
	}
	return err.Error()
}
