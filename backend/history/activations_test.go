package history_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchyard/switchyard/backend/engine"
	"github.com/switchyard/switchyard/backend/events"
	"github.com/switchyard/switchyard/backend/history"
)

func decode(t *testing.T, raw json.RawMessage) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("decode %s: %v", raw, err)
	}
	return v
}

func TestActivationsOfAFailedJobShowWhatWentIn(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	ff := foldFlows["retry"]
	id := r.run(r.flow(ff.yaml), map[string]any{"value": "not a bool", "order": map[string]any{"lines": []any{1.0, "two"}}})
	s := r.service(history.Options{})
	list, total, err := s.Activations(ctx, id, history.ActivationQuery{RoutineID: "check"})
	if err != nil || total != 1 || len(list) != 1 {
		t.Fatalf("check activations: %v %d %+v", err, total, list)
	}
	a := list[0]
	if a.Status != events.StateFailed || a.Attempts != 3 || a.Error == nil || a.ErrorType == nil || a.EndedSeq == nil ||
		a.CompletedAt == nil || a.Duration == nil || a.ParentID == nil || *a.ParentID != 1 || a.Slot != "input" {
		t.Fatalf("failed activation: %+v", a)
	}
	if !strings.Contains(*a.Error, "want true or false") {
		t.Errorf("error %q", *a.Error)
	}
	want := map[string]any{"value": "not a bool", "order": map[string]any{"lines": []any{1.0, "two"}}}
	if got := decode(t, a.Input); !reflect.DeepEqual(got, want) {
		t.Errorf("input %v, want %v", got, want)
	}
	if len(a.Emitted) != 0 || len(a.Children) != 0 {
		t.Errorf("a failed filter emitted %+v, children %v", a.Emitted, a.Children)
	}
	// The same activation alone, and the job's state agreeing with it.
	one, err := s.Activation(ctx, id, a.ActivationID)
	if err != nil || !reflect.DeepEqual(*one, a) {
		t.Fatalf("activation %d: %v\n%+v\n%+v", a.ActivationID, err, one, a)
	}
	st, err := s.State(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if rs := st.RoutineStates["check"]; rs.Status != events.StateFailed || rs.Error == nil || *rs.Error != *a.Error {
		t.Errorf("routine state %+v", rs)
	}
	if st.Status != events.StatusFailed || !strings.Contains(st.Error, *a.Error) {
		t.Errorf("job %s %q", st.Status, st.Error)
	}
}

func TestActivationsShowTheCausalTree(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	ff := foldFlows["fanout"]
	id := r.run(r.flow(ff.yaml), ff.params)
	s := r.service(history.Options{Interval: 10})
	all, total, err := s.Activations(ctx, id, history.ActivationQuery{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	// start, split, 7 × (left, right), 14 × join, 7 × done.
	if total != 1+1+14+14+7 || len(all) != total {
		t.Fatalf("%d activations (total %d)", len(all), total)
	}
	byID := map[int64]history.Activation{}
	for i, a := range all {
		if a.ActivationID != int64(i+1) {
			t.Fatalf("activation %d at position %d: not in id order, or a gap", a.ActivationID, i)
		}
		byID[a.ActivationID] = a
	}
	if all[0].ParentID != nil || all[0].RoutineID != "start" || !reflect.DeepEqual(all[0].Children, []int64{2}) {
		t.Fatalf("entry: %+v", all[0])
	}
	split := all[1]
	if split.RoutineID != "split" || len(split.Emitted) != 7 || len(split.Children) != 14 {
		t.Fatalf("split: %+v", split)
	}
	for k, e := range split.Emitted {
		if e.Event != "item" || e.Targets != 2 || decode(t, e.Data) != float64(k+1) {
			t.Errorf("split emit %d: %+v %s", k, e, e.Data)
		}
		// The two activations this emit queued got exactly its data.
		for _, child := range split.Children[2*k : 2*k+2] {
			c := byID[child]
			if c.ParentID == nil || *c.ParentID != split.ActivationID || decode(t, c.Input) != float64(k+1) {
				t.Errorf("child %d of emit %d: %+v", child, k, c)
			}
		}
	}
	// Each join that completed a round emitted a merged pair (with the
	// concurrent strategy, the n-th payload of each side: not always one
	// item's), and the output routine received exactly that.
	rounds, lefts := 0, map[float64]bool{}
	for _, a := range all {
		if a.RoutineID != "join" || len(a.Emitted) == 0 {
			continue
		}
		rounds++
		merged := decode(t, a.Emitted[0].Data).(map[string]any)
		l, _ := merged["l"].(float64)
		if r, _ := merged["r"].(float64); l < 1 || l > 7 || r < 10 || r > 70 || lefts[l] {
			t.Errorf("merged %v", merged)
		}
		lefts[l] = true
		done := byID[a.Children[0]]
		if done.RoutineID != "done" || !reflect.DeepEqual(decode(t, done.Input), merged) || done.Status != events.StateCompleted {
			t.Errorf("done after join %d: %+v", a.ActivationID, done)
		}
		// The call stack from the output back to the entry.
		stack, err := s.CallStack(ctx, id, done.ActivationID, 0)
		if err != nil {
			t.Fatal(err)
		}
		var path []string
		for i, f := range stack {
			path = append(path, f.RoutineID)
			if i+1 < len(stack) && (f.ParentID == nil || *f.ParentID != stack[i+1].ActivationID) {
				t.Errorf("frame %d's parent %v is not frame %d (%d)", i, f.ParentID, i+1, stack[i+1].ActivationID)
			}
		}
		if p := strings.Join(path, "<"); p != "done<join<left<split<start" && p != "done<join<right<split<start" {
			t.Errorf("call stack %s", p)
		}
		if short, _ := s.CallStack(ctx, id, done.ActivationID, 2); len(short) != 2 || short[1].RoutineID != "join" {
			t.Errorf("stack of 2 frames: %+v", short)
		}
	}
	if rounds != 7 {
		t.Errorf("%d merge rounds", rounds)
	}
	// Filter and pages.
	page, total, err := s.Activations(ctx, id, history.ActivationQuery{RoutineID: "right", Limit: 3, Offset: 5})
	if err != nil || total != 7 || len(page) != 2 || page[0].RoutineID != "right" {
		t.Fatalf("page of right: %v %d %+v", err, total, page)
	}
	if none, total, err := s.Activations(ctx, id, history.ActivationQuery{RoutineID: "ghost"}); err != nil || total != 0 || len(none) != 0 {
		t.Errorf("unknown routine: %v %d %v", err, total, none)
	}
	if past, total, _ := s.Activations(ctx, id, history.ActivationQuery{Offset: 1000}); total != 37 || len(past) != 0 {
		t.Errorf("offset past the end: %d %v", total, past)
	}
}

func TestErrorsNameWhatIsWrong(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	id := r.run(r.flow(foldFlows["chain"].yaml), map[string]any{"value": 1.0})
	s := r.service(history.Options{})
	if _, err := s.State(ctx, "job_ghost"); !errors.Is(err, history.ErrJobNotFound) {
		t.Errorf("unknown job: %v", err)
	}
	if _, err := s.CallStack(ctx, "job_ghost", 1, 0); !errors.Is(err, history.ErrJobNotFound) {
		t.Errorf("unknown job's stack: %v", err)
	}
	last, _ := r.st.LastEventSeq(ctx, id)
	for _, at := range []int64{0, -5, last + 1} {
		_, err := s.StateAt(ctx, id, at)
		var re *history.RangeError
		if !errors.Is(err, history.ErrSeqOutOfRange) || !errors.As(err, &re) || re.Last != last ||
			!strings.Contains(err.Error(), fmt.Sprintf("between 1 and %d", last)) {
			t.Errorf("at %d: %v", at, err)
		}
	}
	for _, aid := range []int64{0, -1, 99} {
		if _, err := s.Activation(ctx, id, aid); !errors.Is(err, history.ErrActivationNotFound) {
			t.Errorf("activation %d: %v", aid, err)
		}
	}
}

// holder plays the debugger: it holds the first activation of one routine
// before it starts, pausing the job there, until released.
type holder struct {
	routine string
	held    chan *engine.Activation
	release chan struct{}
	once    sync.Once
}

func (h *holder) JobStarting(engine.StartedJob) map[string]any { return nil }
func (h *holder) JobRestored(engine.StartedJob)                {}
func (h *holder) BeforeActivation(ctx context.Context, a *engine.Activation) error {
	if a.RoutineID != h.routine {
		return nil
	}
	first := false
	h.once.Do(func() { first = true })
	if !first {
		return nil
	}
	slot := a.Slot
	a.Publish(&events.Event{Type: events.BreakpointHit, Data: map[string]any{"breakpoint": map[string]any{"type": "routine"}}})
	a.PauseJob(&events.PausedAt{Type: "routine", ActivationID: a.ID, RoutineID: a.RoutineID, SlotName: &slot, PauseID: "p1"})
	unpark := a.Park()
	defer unpark()
	h.held <- a
	select {
	case <-h.release:
	case <-ctx.Done():
	}
	a.ResumeJob()
	return nil
}
func (h *holder) BeforeEmit(_ context.Context, _ *engine.Activation, _ string, data any) (any, error) {
	return data, nil
}
func (h *holder) AfterActivation(*engine.Activation) {}
func (h *holder) JobEnded(string)                    {}

func waitStatus(t *testing.T, r *rig, id, status string) events.JobState {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		js, ok := r.eng.Job(id)
		if ok && js.Status == status {
			return js
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %s is %s, want %s", id, js.Status, status)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestLiveJobPausedAtABreakpoint(t *testing.T) {
	h := &holder{routine: "second", held: make(chan *engine.Activation, 1), release: make(chan struct{})}
	r := newRigWith(t, h)
	ctx := context.Background()
	f := r.flow(`flow_id: held
routines:
  start:  {kind: input}
  first:  {kind: transform, config: {expr: "{v: data.v + 1}"}}
  second: {kind: transform, config: {expr: "{v: data.v * 10}"}}
  done:   {kind: output}
connections:
  - {from: start.output, to: first.input}
  - {from: first.output, to: second.input}
  - {from: second.output, to: done.input}
`)
	id := r.start(f, map[string]any{"v": 1.0})
	s := r.service(history.Options{Interval: 2})
	held := <-h.held
	live := waitStatus(t, r, id, events.StatusPaused)

	// The state now is the live job, paused at the held activation.
	st, err := s.State(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	sameState(t, "paused", live, st, false)
	if st.PauseReason != events.PauseBreakpoint || st.PausedAt == nil || st.PausedAt.ActivationID != held.ID || st.PausedAt.PauseID != "p1" {
		t.Errorf("paused at %+v (%s)", st.PausedAt, st.PauseReason)
	}
	// A step moves the position: the debugger records a new hit.
	slot := held.Slot
	at2 := &events.PausedAt{Type: "step", ActivationID: held.ID, RoutineID: held.RoutineID, SlotName: &slot, PauseID: "p2"}
	held.PauseJob(at2)
	held.Publish(&events.Event{Type: events.BreakpointHit, Data: map[string]any{"paused_at": at2}})
	held.Publish(&events.Event{Type: events.VariableChanged, Data: map[string]any{"name": "shared.limit", "old": nil, "new": 5.0}})
	held.Publish(&events.Event{Type: events.VariableChanged, Data: map[string]any{"name": "data.v", "old": 2.0, "new": 3.0}})
	live, _ = r.eng.Job(id)
	if st, err = s.State(ctx, id); err != nil {
		t.Fatal(err)
	}
	sameState(t, "stepped", live, st, false)
	if st.PausedAt == nil || st.PausedAt.PauseID != "p2" || string(st.Shared["limit"]) != "5" || len(st.Shared) != 1 {
		t.Errorf("after the step: %+v shared %v", st.PausedAt, st.Shared)
	}

	// The held activation has not started; its parent's stack is there.
	if _, err := s.Activation(ctx, id, held.ID); !errors.Is(err, history.ErrActivationNotFound) ||
		!strings.Contains(err.Error(), "has not started") {
		t.Errorf("held activation: %v", err)
	}
	stack, err := s.CallStack(ctx, id, held.ParentID, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(stack) != 2 || stack[0].RoutineID != "first" || stack[1].RoutineID != "start" || string(stack[0].Input) != `{"v":1}` ||
		!reflect.DeepEqual(stack[0].Children, []int64{held.ID}) || stack[0].Emitted[0].Event != "output" || stack[0].Emitted[0].Data != nil {
		t.Fatalf("stack of the held activation's parent: %+v", stack)
	}
	// The frame's emit, with its data: what the held activation received.
	if parent, err := s.Activation(ctx, id, held.ParentID); err != nil || string(parent.Emitted[0].Data) != `{"v":2}` {
		t.Fatalf("parent: %v %+v", err, parent)
	}

	close(h.release)
	rec := r.ended(id)
	final, err := s.State(ctx, id) // the same service extends its fold
	if err != nil {
		t.Fatal(err)
	}
	sameState(t, "final", rec, final, true)
	if decode(t, final.Result.(json.RawMessage)).(map[string]any)["v"] != 20.0 {
		t.Errorf("result %s", final.Result)
	}
	sameEverywhere(t, r, id)
}

func TestLiveJobPausedByTheAPI(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	f := r.flow(`flow_id: slow
routines:
  start: {kind: input}
  wait:  {kind: delay, config: {ms: 400}}
  done:  {kind: output}
connections:
  - {from: start.output, to: wait.input}
  - {from: wait.output, to: done.input}
`)
	id := r.start(f, map[string]any{"x": 1.0})
	s := r.service(history.Options{})
	deadline := time.Now().Add(5 * time.Second)
	for { // pause while the delay runs
		st, err := s.State(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if st.CurrentNode == "wait" {
			sameState(t, "running", mustLive(t, r, id), st, false)
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the delay never started")
		}
		time.Sleep(2 * time.Millisecond)
	}
	if _, err := r.eng.Pause(id); err != nil {
		t.Fatal(err)
	}
	live := waitStatus(t, r, id, events.StatusPaused)
	st, err := s.State(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	sameState(t, "paused", live, st, false)
	if st.PauseReason != events.PauseAPI || st.Status != events.StatusPaused {
		t.Errorf("paused: %s %s", st.Status, st.PauseReason)
	}
	if _, err := r.eng.Resume(id); err != nil {
		t.Fatal(err)
	}
	rec := r.ended(id)
	final, err := s.State(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	sameState(t, "final", rec, final, true)
}

func mustLive(t *testing.T, r *rig, id string) events.JobState {
	t.Helper()
	js, ok := r.eng.Job(id)
	if !ok {
		t.Fatal("job ended")
	}
	return js
}

func TestConcurrentQueriesOfRunningJobs(t *testing.T) {
	r := newRigWith(t, nil, shareKind())
	ctx := context.Background()
	f := r.flow(foldFlows["loop"].yaml)
	g := r.flow(bigFlow(300))
	s := r.service(history.Options{Interval: 50, CacheBytes: 256 << 10})
	var ids []string
	for i := 0; i < 4; i++ {
		ids = append(ids, r.start(f, map[string]any{"n": 0.0}), r.start(g, map[string]any{}))
	}
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for w := 0; w < 6; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 40; i++ {
				id := ids[(w+i)%len(ids)]
				st, err := s.State(ctx, id)
				if err == nil && st.At > 2 {
					_, err = s.StateAt(ctx, id, st.At/2)
				}
				if err == nil {
					var list []history.Activation
					list, _, err = s.Activations(ctx, id, history.ActivationQuery{Limit: 5, Offset: i})
					if err == nil && len(list) > 0 {
						_, err = s.CallStack(ctx, id, list[len(list)-1].ActivationID, 0)
					}
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for _, id := range ids {
		rec := r.ended(id)
		st, err := s.State(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		sameState(t, id, rec, st, true)
	}
	if used, _ := s.CacheUsage(); used > 256<<10 {
		t.Errorf("cache holds %d bytes, over its budget", used)
	}
}

func TestBigJobStaysWithinTheCacheBudget(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	id := r.run(r.flow(bigFlow(2000)), map[string]any{}) // ~12,000 events
	last, _ := r.st.LastEventSeq(ctx, id)
	ref := r.service(history.Options{NoPersist: true})
	const budget = 1 << 20
	s := r.service(history.Options{Interval: 100, CacheBytes: budget, NoPersist: true})
	for _, at := range []int64{last, 1, last / 2, 7777, last - 1, 250, last} {
		want, err := ref.StateAt(ctx, id, at)
		if err != nil {
			t.Fatal(err)
		}
		got, err := s.StateAt(ctx, id, at)
		if err != nil {
			t.Fatal(err)
		}
		if a, b := mustJSON(t, got), mustJSON(t, want); string(a) != string(b) {
			t.Fatalf("at %d:\n got %s\nwant %s", at, a, b)
		}
		if used, _ := s.CacheUsage(); used > budget {
			t.Fatalf("cache holds %d bytes after the query at %d, over its budget of %d", used, at, budget)
		}
	}
	if _, _, err := s.Activations(ctx, id, history.ActivationQuery{}); err != nil {
		t.Fatal(err)
	}
	// A budget too small for even the job's index: answered, not kept.
	tiny := r.service(history.Options{CacheBytes: 8 << 10, NoPersist: true})
	if _, err := tiny.StateAt(ctx, id, last/3); err != nil {
		t.Fatal(err)
	}
	if used, _ := tiny.CacheUsage(); used > 8<<10 {
		t.Errorf("tiny cache holds %d bytes", used)
	}
}

func TestStoredCheckpointsServeARestartedServer(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	id := r.run(r.flow(bigFlow(500)), map[string]any{}) // ~3,000 events
	last, _ := r.st.LastEventSeq(ctx, id)
	before := r.service(history.Options{Interval: 250})
	if _, err := before.StateAt(ctx, id, last-10); err != nil { // folds it whole: stores checkpoints
		t.Fatal(err)
	}
	want := map[int64][]byte{}
	for _, at := range []int64{1, 249, 250, 251, 1234, last - 1, last} {
		st, err := before.StateAt(ctx, id, at)
		if err != nil {
			t.Fatal(err)
		}
		want[at] = mustJSON(t, st)
	}
	r.reopen()
	if cp, ok, err := r.st.LoadCheckpoint(ctx, id, 1, last); err != nil || !ok || cp.Seq != last/250*250 {
		t.Fatalf("stored checkpoint: %v %v seq %d", err, ok, cp.Seq)
	}
	after := r.service(history.Options{Interval: 250})
	for at, w := range want {
		st, err := after.StateAt(ctx, id, at)
		if err != nil {
			t.Fatal(err)
		}
		if got := mustJSON(t, st); string(got) != string(w) {
			t.Errorf("after restart, at %d:\n got %s\nwant %s", at, got, w)
		}
	}
}
