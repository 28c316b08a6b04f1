package history_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchyard/switchyard/backend/engine"
	"github.com/switchyard/switchyard/backend/events"
	"github.com/switchyard/switchyard/backend/history"
)

// snapper is the ground truth: engine hooks that take the engine's own live
// snapshot of a job whenever an activation is about to run, to emit, or has
// run. A snapshot is taken under the job's lock, and the engine changes a
// job's state only together with publishing an event, so each one is the
// job exactly as it was right after event snapshot.Events.
type snapper struct {
	eng *engine.Engine

	mu    sync.Mutex
	snaps map[string]map[int64]events.JobState
}

func newSnapper() *snapper { return &snapper{snaps: map[string]map[int64]events.JobState{}} }

func (s *snapper) take(jobID string) {
	js, ok := s.eng.Job(jobID)
	// Two fields change without an event, so those moments are left out:
	// a requested pause (pause_requested, pause_reason) and a decided end
	// whose terminal event is still to come (error).
	if !ok || js.PauseRequested || (js.Error != "" && !events.Finished(js.Status)) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.snaps[jobID] == nil {
		s.snaps[jobID] = map[int64]events.JobState{}
	}
	s.snaps[jobID][js.Events] = js
}

func (s *snapper) of(jobID string) map[int64]events.JobState {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.snaps[jobID]
}

func (s *snapper) JobStarting(engine.StartedJob) map[string]any { return nil }
func (s *snapper) JobRestored(engine.StartedJob)                {}
func (s *snapper) BeforeActivation(_ context.Context, a *engine.Activation) error {
	s.take(a.JobID())
	return nil
}
func (s *snapper) BeforeEmit(_ context.Context, a *engine.Activation, _ string, data any) (any, error) {
	s.take(a.JobID())
	return data, nil
}
func (s *snapper) AfterActivation(a *engine.Activation) { s.take(a.JobID()) }
func (s *snapper) JobEnded(string)                      {}

// shareKind sets shared[key] to the payload's n and passes the payload on.
func shareKind() engine.Kind {
	return engine.Kind{
		Name: "share", Description: "sets a shared key (tests)", Slots: []string{"input"}, Events: []string{"output"},
		Build: func(cfg map[string]any) (engine.Runner, error) {
			key, _ := cfg["key"].(string)
			return engine.RunnerFunc(func(ctx context.Context, a *engine.Activation) error {
				n := any(nil)
				if m, ok := a.Data.(map[string]any); ok {
					n = m["n"]
				}
				a.SetShared(key, map[string]any{"n": n, "by": a.ID})
				return a.Emit(ctx, "output", a.Data)
			}), nil
		},
	}
}

// The flows of the fold tests: every event type the engine writes, each
// error policy, fan-out and fan-in, loops, results of both modes.
var foldFlows = map[string]struct {
	yaml   string
	params any
	status string
}{
	"chain": {`flow_id: chain
routines:
  start:  {kind: input}
  double: {kind: transform, config: {expr: "{value: data.value * 2, tags: ['a', 'b\"<>&'], nested: {deep: [1, {x: nil}]}}"}}
  note:   {kind: log, config: {level: warning, message: "total is {{ data.value }}"}}
  done:   {kind: output}
  never:  {kind: output}
connections:
  - {from: start.output,  to: double.input}
  - {from: double.output, to: note.input}
  - {from: note.output,   to: done.input, param_mapping: {value: total}}
`, map[string]any{"value": 21.0, "text": "line\nbreak \u2028 é"}, events.StatusCompleted},
	"fanout": {`flow_id: fanout
routines:
  start: {kind: input}
  split: {kind: split, config: {expr: "data.items"}}
  left:  {kind: transform, config: {expr: "{l: data}"}}
  right: {kind: transform, config: {expr: "{r: data * 10}"}}
  join:  {kind: merge, config: {strategy: override}}
  done:  {kind: output, config: {mode: append}}
connections:
  - {from: start.output, to: split.input}
  - {from: split.item, to: left.input}
  - {from: split.item, to: right.input}
  - {from: left.output, to: join.input}
  - {from: right.output, to: join.input}
  - {from: join.output, to: done.input}
execution: {strategy: concurrent, max_workers: 3}
`, map[string]any{"items": []any{1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0}}, events.StatusCompleted},
	"loop": {`flow_id: loop
routines:
  start: {kind: input}
  inc:   {kind: transform, config: {expr: "{n: data.n + 1}"}}
  more:  {kind: filter, config: {expr: "data.n < 40"}}
  share: {kind: share, config: {key: counter}}
  done:  {kind: output}
connections:
  - {from: start.output, to: inc.input}
  - {from: inc.output, to: share.input}
  - {from: share.output, to: more.input}
  - {from: more.true, to: inc.input}
  - {from: more.false, to: done.input}
`, map[string]any{"n": 0.0}, events.StatusCompleted},
	"policies": {`flow_id: policies
routines:
  start: {kind: input}
  split: {kind: split, config: {expr: "[1, 2, 3]"}}
  skipper: {kind: transform, config: {expr: "data == 2 ? int('nope') : {v: data}"}, error_policy: {strategy: skip}}
  carry:   {kind: transform, config: {expr: "data == 3 ? int('no') : data"}, error_policy: {strategy: continue}}
  done:    {kind: output, config: {mode: append}}
connections:
  - {from: start.output, to: split.input}
  - {from: split.item, to: skipper.input}
  - {from: skipper.output, to: carry.input}
  - {from: carry.output, to: done.input}
`, map[string]any{}, events.StatusCompleted},
	"lastwins": {`flow_id: lastwins
routines:
  start: {kind: input}
  split: {kind: split, config: {expr: "1..9"}}
  label: {kind: transform, config: {expr: "{item: data, text: 'n' + string(data)}"}}
  done:  {kind: output}
connections:
  - {from: start.output, to: split.input}
  - {from: split.item, to: label.input}
  - {from: label.output, to: done.input}
`, map[string]any{}, events.StatusCompleted},
	"retry": {`flow_id: retry
routines:
  start: {kind: input}
  check: {kind: filter, config: {expr: "data.value"}, error_policy: {strategy: retry, max_retries: 2, retry_delay: 5ms, retry_backoff: 2}}
  done:  {kind: output}
connections:
  - {from: start.output, to: check.input}
  - {from: check.true, to: done.input}
`, map[string]any{"value": "not a bool"}, events.StatusFailed},
}

func TestFoldMatchesTheEngine(t *testing.T) {
	snap := newSnapper()
	r := newRigWith(t, snap, shareKind())
	ctx := context.Background()
	names := make([]string, 0, len(foldFlows))
	for name := range foldFlows {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			ff := foldFlows[name]
			r := r.with(t)
			id := r.start(r.flow(ff.yaml), ff.params)
			rec := r.ended(id)
			if rec.Status != ff.status {
				t.Fatalf("job: %s (want %s): %s", rec.Status, ff.status, rec.Error)
			}
			// The final state is the engine's, duration and end included.
			s := r.service(history.Options{})
			got, err := s.State(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if got.At != rec.Events {
				t.Errorf("at %d, the record counts %d events", got.At, rec.Events)
			}
			sameState(t, "final", rec, got, true)
			// Every intermediate state the engine showed, from a fold
			// with checkpoints every 7 events (so most answers start at
			// one) and from one without.
			snaps := snap.of(id)
			if len(snaps) < 3 {
				t.Fatalf("only %d snapshots", len(snaps))
			}
			small := r.service(history.Options{Interval: 7})
			for seq, want := range snaps {
				for label, svc := range map[string]*history.Service{"default": s, "interval 7": small} {
					got, err := svc.StateAt(ctx, id, seq)
					if err != nil {
						t.Fatal(err)
					}
					sameState(t, fmt.Sprintf("%s at %d", label, seq), want, got, false)
				}
			}
			sameEverywhere(t, r, id)
		})
	}
}

// sameEverywhere checks that every way of answering gives the same state
// at every seq: folded whole, from memory checkpoints in any order, from
// thinned ones (a tiny cache), from stored ones after a restart.
func sameEverywhere(t *testing.T, r *rig, id string) {
	t.Helper()
	ctx := context.Background()
	last, err := r.st.LastEventSeq(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	ref := r.service(history.Options{NoPersist: true, Interval: 1 << 20})
	log, err := r.st.Events(ctx, id, 0, 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	want := make([][]byte, last+1)
	for seq := int64(1); seq <= last; seq++ {
		st, err := ref.StateAt(ctx, id, seq)
		if err != nil {
			t.Fatal(err)
		}
		want[seq] = mustJSON(t, st)
		// A live job's duration is the time from its start to the event.
		if !events.Finished(st.Status) {
			d := log[seq-1].Time.Sub(*st.StartedAt).Seconds()
			if diff := st.Duration - d; diff > 1e-6 || diff < -1e-6 {
				t.Fatalf("duration at %d: %v, event time says %v", seq, st.Duration, d)
			}
		}
	}
	rng := rand.New(rand.NewPCG(7, uint64(last)))
	order := rng.Perm(int(last))
	others := map[string]*history.Service{
		"interval 3":   r.service(history.Options{Interval: 3, NoPersist: true}),
		"tiny cache":   r.service(history.Options{Interval: 2, CacheBytes: 4 << 10, NoPersist: true}),
		"stored, by 5": r.service(history.Options{Interval: 5}),
	}
	for label, svc := range others {
		if _, _, err := svc.Activations(ctx, id, history.ActivationQuery{}); err != nil { // builds (and stores) the whole fold
			t.Fatal(err)
		}
		for _, i := range order {
			seq := int64(i + 1)
			st, err := svc.StateAt(ctx, id, seq)
			if err != nil {
				t.Fatal(err)
			}
			if got := mustJSON(t, st); string(got) != string(want[seq]) {
				t.Fatalf("%s at %d:\n got %s\nwant %s", label, seq, got, want[seq])
			}
		}
	}
	// Stored checkpoints serve a new service (a restarted server) alone.
	fresh := r.service(history.Options{Interval: 5})
	for _, i := range order {
		seq := int64(i + 1)
		st, err := fresh.StateAt(ctx, id, seq)
		if err != nil {
			t.Fatal(err)
		}
		if got := mustJSON(t, st); string(got) != string(want[seq]) {
			t.Fatalf("stored checkpoints at %d:\n got %s\nwant %s", seq, got, want[seq])
		}
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// sameState compares a fold with the engine's state through their JSON,
// with times as instants. Duration is the time so far for a live job, so
// it is compared only when final.
func sameState(t *testing.T, label string, want events.JobState, got *history.State, final bool) {
	t.Helper()
	w, g := normalized(t, want), normalized(t, got.JobState)
	for _, m := range []map[string]any{w, g} {
		delete(m, "pause_requested")
		if !final {
			delete(m, "duration")
		}
	}
	if !final && !events.Finished(want.Status) {
		delete(w, "completed_at")
		delete(g, "completed_at")
	}
	if !reflect.DeepEqual(w, g) {
		var diffs []string
		for k := range w {
			if !reflect.DeepEqual(w[k], g[k]) {
				diffs = append(diffs, fmt.Sprintf("%s: engine %v, fold %v", k, w[k], g[k]))
			}
		}
		for k := range g {
			if _, ok := w[k]; !ok {
				diffs = append(diffs, fmt.Sprintf("%s: only in the fold: %v", k, g[k]))
			}
		}
		sort.Strings(diffs)
		t.Errorf("%s:\n%s", label, strings.Join(diffs, "\n"))
	}
}

// normalized is v through JSON, with every RFC 3339 time as UTC.
func normalized(t *testing.T, v any) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(mustJSON(t, v), &m); err != nil {
		t.Fatal(err)
	}
	return utcTimes(m).(map[string]any)
}

func utcTimes(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = utcTimes(e)
		}
	case []any:
		for i, e := range x {
			x[i] = utcTimes(e)
		}
	case string:
		if tm, err := time.Parse(time.RFC3339Nano, x); err == nil {
			return tm.UTC().Format(time.RFC3339Nano)
		}
	}
	return v
}
