package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchyard/switchyard/backend/events"
	"github.com/switchyard/switchyard/backend/server"
	"github.com/switchyard/switchyard/backend/servertest"
	"github.com/switchyard/switchyard/backend/store"
)

const quickFlow = `flow_id: quick
routines:
  start: {kind: input}
  note:  {kind: log, config: {message: "value {{ data.value }}"}}
  done:  {kind: output}
connections:
  - {from: start.output, to: note.input}
  - {from: note.output,  to: done.input}
`

// startJobHTTP starts a job of flow quick; it returns the job's id once
// the server acknowledged it (201: the job is stored).
func startJobHTTP(base string, n int) (string, error) {
	resp, err := http.Post(base+"/api/jobs", "application/json", strings.NewReader(fmt.Sprintf(`{"flow_id":"quick","params":{"value":%d}}`, n)))
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusCreated {
		return "", fmt.Errorf("start job: %d %s", resp.StatusCode, raw)
	}
	var j struct {
		JobID string `json:"job_id"`
	}
	if err := json.Unmarshal(raw, &j); err != nil {
		return "", err
	}
	return j.JobID, nil
}

// TestBackupWhileJobsRunThenRestore backs up a running server's database
// while clients keep starting jobs, restores the copy into a new data
// directory as docs/operations.md says, starts a server on it and finds
// every job acknowledged before the backup began.
func TestBackupWhileJobsRunThenRestore(t *testing.T) {
	dir := t.TempDir()
	in := servertest.Start(t, server.Config{DataDir: dir})
	resp, err := http.Post(in.URL+"/api/flows", "application/yaml", strings.NewReader(quickFlow))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()

	// Bulk, so the copy takes several steps: finished jobs written
	// straight to the server's event log.
	now := time.Now()
	for i := 0; i < 4000; i++ {
		id := fmt.Sprintf("job_%012x%08x", now.UnixMilli()-int64(i), i)
		js := &events.JobState{JobID: id, FlowID: "quick", FlowVersion: 1, Status: events.StatusRunning, CreatedAt: now, StartedAt: &now}
		in.Server.Store.Writer.Publish(&events.Event{Seq: 1, JobID: id, FlowID: "quick", Time: now, Type: events.JobStarted, Job: js})
		for seq := int64(2); seq < 60; seq++ {
			in.Server.Store.Writer.Publish(&events.Event{Seq: seq, JobID: id, FlowID: "quick", Time: now, Type: events.Log,
				RoutineID: "note", Level: "info", Message: strings.Repeat("bulk ", 20)})
		}
		end := *js
		end.Status, end.CompletedAt = events.StatusCompleted, &now
		in.Server.Store.Writer.Publish(&events.Event{Seq: 60, JobID: id, FlowID: "quick", Time: now, Type: events.JobCompleted, Job: &end})
	}
	if err := in.Server.Store.Writer.Sync(t.Context()); err != nil {
		t.Fatal(err)
	}

	var mu sync.Mutex
	var acked []string
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				id, err := startJobHTTP(in.URL, n)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				acked = append(acked, id)
				mu.Unlock()
			}
		}()
	}
	count := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(acked)
	}
	eventually(t, "300 jobs started", func() bool { return count() >= 300 })
	mu.Lock()
	before := append([]string(nil), acked...)
	mu.Unlock()

	file := filepath.Join(t.TempDir(), "backup.db")
	var out, errOut servertest.Buffer
	code := run(t.Context(), []string{"backup", "--data", dir, "--progress", "always", file}, strings.NewReader(""), &out, &errOut, false)
	during := count() - len(before)
	close(stop)
	wg.Wait()
	if code != ExitOK {
		t.Fatalf("backup: exit %d\n%s\n%s", code, out.String(), errOut.String())
	}
	t.Logf("%s(%d jobs acknowledged before it began, %d more while it ran)", out.String(), len(before), during)
	if !strings.Contains(out.String(), "integrity_check ok") || !strings.Contains(errOut.String(), "backup") {
		t.Errorf("stdout:\n%s\nstderr:\n%s", out.String(), errOut.String())
	}
	if during == 0 {
		t.Log("no job was acknowledged while the backup ran (it was quicker than one job start)")
	}

	// Restore: a new data directory holding the copy as its database.
	restored := t.TempDir()
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(restored, store.FileName), raw, 0o600); err != nil {
		t.Fatal(err)
	}
	again := servertest.Start(t, server.Config{DataDir: restored})
	for _, id := range before {
		resp, err := http.Get(again.URL + "/api/jobs/" + id)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("job %s, acknowledged before the backup began, is not in the restored server: %d", id, resp.StatusCode)
		}
	}

	// The file is not replaced without --force; with it, it is, also from
	// a stopped server's database.
	expectCode(t, ExitUsage, []string{"backup", "--data", dir, "--progress", "never", file}, "exists", "--force")
	in.Stop()
	var got struct {
		File     string `json:"file"`
		Bytes    int64  `json:"bytes"`
		Verified bool   `json:"verified"`
	}
	runJSON(t, &got, ExitOK, "backup", "--data", dir, "--force", file)
	if got.File != file || got.Bytes <= 0 || !got.Verified {
		t.Errorf("backup -o json: %+v", got)
	}
	expectCode(t, ExitUsage, []string{"backup", "--data", t.TempDir(), file + ".2"}, "no database at")
	expectCode(t, ExitUsage, []string{"backup", "--data", dir}, "want <file>")
}

func TestRetentionSettings(t *testing.T) {
	check := func(got map[string]printedSetting, name string, value any, source string) {
		t.Helper()
		if g := got[name]; compactJSON(g.Value) != compactJSON(value) || g.Source != source {
			t.Errorf("%s = %v from %s, want %v from %s", name, g.Value, g.Source, value, source)
		}
	}
	got := printConfig(t)
	check(got, "retention-days", 0, "default")
	check(got, "retention-jobs", 0, "default")
	t.Setenv("SWITCHYARD_RETENTION_DAYS", "30")
	file := writeFile(t, "switchyard.yaml", "retention-jobs: 10000\n")
	got = printConfig(t, "--config", file)
	check(got, "retention-days", 30, "SWITCHYARD_RETENTION_DAYS")
	check(got, "retention-jobs", 10000, file)
	got = printConfig(t, "--config", file, "--retention-jobs", "0")
	check(got, "retention-jobs", 0, "--retention-jobs")
	expectCode(t, ExitUsage, []string{"serve", "--retention-days", "-1"}, "--retention-days=-1: invalid retention-days: must be at least 0")
	expectCode(t, ExitUsage, []string{"serve", "--config", writeFile(t, "bad.yaml", "retention-jobs: many\n")}, "retention-jobs: invalid value")

	// What the server is given.
	cmd := newServeCmd(&options{})
	if err := cmd.Flags().Parse([]string{"--retention-days", "7", "--retention-jobs", "500"}); err != nil {
		t.Fatal(err)
	}
	cfg, err := loadServeConfig(cmd.Flags(), func() []string { return nil })
	if err != nil {
		t.Fatal(err)
	}
	if p := retention(cfg); p.MaxAge != 7*24*time.Hour || p.MaxJobs != 500 {
		t.Errorf("policy %+v", p)
	}
}
