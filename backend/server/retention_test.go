package server_test

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/switchyard/switchyard/backend/server"
	"github.com/switchyard/switchyard/backend/store"
)

const quickYAML = `flow_id: quick
routines:
  start: {kind: input}
  note:  {kind: log, config: {message: "value {{ data.value }}"}}
  done:  {kind: output}
connections:
  - {from: start.output, to: note.input}
  - {from: note.output,  to: done.input}
`

const holdYAML = `flow_id: hold
routines:
  start: {kind: input}
  wait:  {kind: delay, config: {ms: 60000}}
  done:  {kind: output}
connections:
  - {from: start.output, to: wait.input}
  - {from: wait.output,  to: done.input}
`

func (in *instance) jobStatus(id string) int {
	in.t.Helper()
	return in.json("GET", "/api/jobs/"+id, "", nil)
}

func (in *instance) metric(series string) string {
	in.t.Helper()
	resp, err := http.Get(in.URL + "/metrics")
	if err != nil {
		in.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(series) + ` (\S+)$`).FindStringSubmatch(string(raw))
	if m == nil {
		in.t.Fatalf("no %s in /metrics", series)
	}
	return m[1]
}

func TestRetentionKeepsTheNewestFinishedJobsAndEveryActiveOne(t *testing.T) {
	in := startWith(t, server.Config{Retention: store.RetentionPolicy{MaxJobs: 3}})
	in.json("POST", "/api/flows", dsl(quickYAML), nil)
	in.json("POST", "/api/flows", dsl(holdYAML), nil)
	// An active job older than every finished one.
	active := in.startJob("hold", `{}`).JobID
	in.waitJob(active, status("running"))
	var done []string
	for i := 0; i < 7; i++ {
		j := in.startJob("quick", `{"value": 1}`)
		in.waitJob(j.JobID, status("completed"))
		done = append(done, j.JobID)
	}
	// A stored breakpoint of a job that goes (the API takes them for
	// active jobs only).
	bp := store.Breakpoint{ID: "bp_old", Scope: store.ScopeJob, ScopeID: done[0], Type: "routine", RoutineID: "note", Enabled: true, CreatedAt: time.Now()}
	if err := in.Server.Store.PutBreakpoints(context.Background(), []store.Breakpoint{bp}); err != nil {
		t.Fatal(err)
	}

	res, err := in.Server.ApplyRetention(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if res.Jobs != 4 || res.Rows <= 4 {
		t.Fatalf("retention removed %+v, want the 4 oldest finished jobs", res)
	}
	for i, id := range done {
		want := http.StatusOK
		if i < 4 {
			want = http.StatusNotFound
		}
		if got := in.jobStatus(id); got != want {
			t.Errorf("job %d (%s): %d, want %d", i, id, got, want)
		}
		var evs struct {
			Events []any `json:"events"`
		}
		in.json("GET", "/api/jobs/"+id+"/events", "", &evs)
		if i < 4 && len(evs.Events) != 0 {
			t.Errorf("job %d: %d events left", i, len(evs.Events))
		}
	}
	if got := in.jobStatus(active); got != http.StatusOK {
		t.Errorf("the active job: %d", got)
	}
	if bps, _ := in.Server.Store.Breakpoints(context.Background(), store.ScopeJob, done[0]); len(bps) != 0 {
		t.Errorf("breakpoints of a deleted job: %+v", bps)
	}
	if got := in.metric("switchyard_retention_deleted_jobs_total"); got != "4" {
		t.Errorf("switchyard_retention_deleted_jobs_total = %s, want 4", got)
	}
	// A second pass finds nothing more.
	if res, err := in.Server.ApplyRetention(context.Background()); err != nil || res.Jobs != 0 {
		t.Errorf("second pass: %+v %v", res, err)
	}
}

func TestRetentionByAgeRunsInTheBackgroundAfterStart(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for the first background pass (10 s after start)")
	}
	dir := t.TempDir()
	in := startWith(t, server.Config{DataDir: dir})
	in.json("POST", "/api/flows", dsl(quickYAML), nil)
	var ids []string
	for i := 0; i < 3; i++ {
		j := in.startJob("quick", `{"value": 1}`)
		in.waitJob(j.JobID, status("completed"))
		ids = append(ids, j.JobID)
	}
	in.Stop()
	time.Sleep(20 * time.Millisecond)

	// Restarted with a retention of 10 ms: every job is older than that.
	in = startWith(t, server.Config{DataDir: dir, Retention: store.RetentionPolicy{MaxAge: 10 * time.Millisecond}})
	deadline := time.Now().Add(30 * time.Second)
	for in.jobStatus(ids[2]) != http.StatusNotFound {
		if time.Now().After(deadline) {
			t.Fatal("the background pass did not delete the jobs within 30 s")
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, id := range ids {
		if got := in.jobStatus(id); got != http.StatusNotFound {
			t.Errorf("job %s: %d", id, got)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, store.FileName)); err != nil {
		t.Fatal(err)
	}
}
