package cli

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchyard/switchyard/backend/client"
	"github.com/switchyard/switchyard/backend/servertest"
)

// jobsCLI runs "switchyard jobs args…" through Run.
func jobsCLI(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	return runCLI(t, append([]string{"jobs"}, args...)...)
}

func TestJobsStartWatchCompleted(t *testing.T) {
	base := startServer(t)
	out, errOut, code := jobsCLI(t, "start", "steps", "--server", base, "--params", `{"name":"ada"}`, "--watch", "--progress", "always")
	if code != ExitOK {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	for _, want := range []string{
		`(?m)^started job \S+ of flow steps$`,
		`(?m)^warning note: hello ada$`,
		`(?m)^✓ start completed \([0-9.]+(µs|ms|s)\)$`,
		`(?m)^✓ wait completed \(\d+(\.\d+)?ms\)$`,
		`(?m)^✓ done completed`,
		`(?m)^job \S+ completed in \d+\.\d\ds: 4 routines completed, 0 failed$`,
		`(?m)^result: \{"name":"ada"\}$`,
	} {
		if !regexp.MustCompile(want).MatchString(out) {
			t.Errorf("stdout lacks %s:\n%s", want, out)
		}
	}
	// Lines come in the stream's order.
	if strings.Index(out, "hello ada") > strings.Index(out, "✓ wait completed") {
		t.Errorf("log after a later completion:\n%s", out)
	}
	// The bar was drawn on stderr and advanced.
	if !strings.Contains(errOut, "50% |") || !strings.Contains(errOut, "running wait") {
		t.Errorf("no progress bar on stderr: %q", errOut)
	}
}

func TestJobsStartPrintsID(t *testing.T) {
	base := startServer(t)
	out, _, code := jobsCLI(t, "start", "--server", base, "steps")
	if code != ExitOK {
		t.Fatalf("exit %d", code)
	}
	id := strings.TrimSpace(out)
	if id == "" || strings.ContainsAny(id, " \n") {
		t.Fatalf("stdout %q, want the job id alone", out)
	}
	// watch of that job, after or while it runs, ends the same way.
	out, errOut, code := jobsCLI(t, "watch", id, "--server", strings.TrimPrefix(base, "http://"))
	if code != ExitOK || !strings.Contains(out, "job "+id+" completed") {
		t.Fatalf("watch: exit %d\n%s\n%s", code, out, errOut)
	}
	if errOut != "" {
		t.Errorf("stderr without a bar: %q", errOut)
	}
	// From past the end: nothing to stream, the record tells.
	out, _, code = jobsCLI(t, "watch", id, "--server", base, "--since", "1000000")
	if code != ExitOK || !strings.Contains(out, "job "+id+" completed") || strings.Contains(out, "✓") {
		t.Fatalf("watch --since past end: exit %d\n%s", code, out)
	}
}

func TestJobsWatchFailed(t *testing.T) {
	base := startServer(t)
	out, errOut, code := jobsCLI(t, "start", "broken", "--watch", "--server", base)
	if code != ExitFailed || !regexp.MustCompile(`(?m)^switchyard: job \S+ failed: .*no luck`).MatchString(errOut) {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	if !strings.Contains(out, "✗ boom failed") || !strings.Contains(out, "no luck") ||
		!regexp.MustCompile(`(?m)^job \S+ failed: .*no luck`).MatchString(out) {
		t.Fatalf("stdout:\n%s", out)
	}
}

func TestJobsWatchCancelled(t *testing.T) {
	base := startServer(t)
	out, _, code := jobsCLI(t, "start", "slow", "--server", base)
	if code != ExitOK {
		t.Fatalf("exit %d", code)
	}
	id := strings.TrimSpace(out)
	done := make(chan int, 1)
	var stdout, stderr servertest.Buffer
	go func() {
		done <- Run([]string{"jobs", "watch", id, "--server", base}, &stdout, &stderr)
	}()
	for !strings.Contains(stdout.String(), "✓ start completed") {
		time.Sleep(5 * time.Millisecond)
	}
	resp, err := http.Post(base+"/api/jobs/"+id+"/cancel", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if code := <-done; code != ExitFailed || stderr.String() != "switchyard: job "+id+" cancelled\n" {
		t.Fatalf("exit %d, stderr %q", code, stderr.String())
	}
	if !strings.Contains(stdout.String(), "job "+id+" cancelled\n") {
		t.Fatalf("stdout:\n%s", stdout.String())
	}
}

func TestJobsErrors(t *testing.T) {
	base := startServer(t)
	cases := []struct {
		args []string
		code int
		want string
	}{
		{nil, ExitUsage, "missing subcommand"},
		{[]string{"frob"}, ExitUsage, `unknown command "frob"`},
		{[]string{"watch", "--server", base}, ExitUsage, "want <job_id>, got 0 arguments"},
		{[]string{"watch", "a", "b", "--server", base}, ExitUsage, "want <job_id>, got 2 arguments"},
		{[]string{"watch", "nope", "--server", base}, ExitRefused, "JOB_NOT_FOUND (HTTP 404)"},
		{[]string{"start", "nope", "--server", base}, ExitRefused, "FLOW_NOT_FOUND"},
		{[]string{"start", "steps", "--server", base, "--params", "{"}, ExitUsage, "not valid JSON"},
		{[]string{"start", "steps", "--server", base, "--params", "@/no/such/file"}, ExitUsage, "--params"},
		{[]string{"start", "steps", "--server", base, "--watch", "--wait"}, ExitUsage, "choose one"},
		{[]string{"start", "steps", "--server", base, "--wait=soon"}, ExitUsage, "--wait=soon"},
		{[]string{"start", "steps", "--server", base, "--wait=11m"}, ExitUsage, "--wait=11m"},
		{[]string{"watch", "x", "--server", base, "--progress", "sometimes"}, ExitUsage, "--progress"},
		{[]string{"watch", "x", "--server", base, "--since", "-1"}, ExitUsage, "--since"},
		{[]string{"watch", "x", "--server", "ftp://x"}, ExitUsage, "want http://"},
		{[]string{"list", "--server", base, "--status", "sleepy"}, ExitRefused, `status "sleepy" is not one of`},
		{[]string{"logs", "x", "--server", base, "--level", "loud"}, ExitRefused, `level "loud" is not one of`},
	}
	for _, c := range cases {
		_, errOut, code := jobsCLI(t, c.args...)
		if code != c.code || !strings.Contains(errOut, c.want) {
			t.Errorf("jobs %q: exit %d, stderr %q; want exit %d and %q", c.args, code, errOut, c.code, c.want)
		}
	}
}

// cutter forwards TCP connections to the server and can cut them all.
type cutter struct {
	ln    net.Listener
	mu    sync.Mutex
	conns []net.Conn
}

func newCutter(t *testing.T, target string) *cutter {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := &cutter{ln: ln}
	t.Cleanup(func() { ln.Close(); c.cut() })
	go func() {
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			out, err := net.Dial("tcp", target)
			if err != nil {
				in.Close()
				continue
			}
			c.mu.Lock()
			c.conns = append(c.conns, in, out)
			c.mu.Unlock()
			go func() { _, _ = io.Copy(out, in); out.Close() }()
			go func() { _, _ = io.Copy(in, out); in.Close() }()
		}
	}()
	return c
}

func (c *cutter) cut() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, conn := range c.conns {
		conn.Close()
	}
	c.conns = nil
}

// A dropped connection mid-job is resumed: every line is printed once.
func TestJobsWatchReconnects(t *testing.T) {
	base := startServer(t)
	px := newCutter(t, strings.TrimPrefix(base, "http://"))
	var out, errOut servertest.Buffer
	done := make(chan int, 1)
	go func() {
		done <- Run([]string{"jobs", "start", "chatty", "--watch", "--server", px.ln.Addr().String()}, &out, &errOut)
	}()
	for _, line := range []string{"info a: first", "info b: second"} {
		for !strings.Contains(out.String(), line) {
			time.Sleep(2 * time.Millisecond)
		}
		px.cut()
	}
	if code := <-done; code != ExitOK {
		t.Fatalf("exit %d\n%s\n%s", code, out.String(), errOut.String())
	}
	for _, line := range []string{"info a: first", "info b: second", "info c: third", "✓ wa completed", "✓ c completed"} {
		if n := strings.Count(out.String(), line+"\n") + strings.Count(out.String(), line+" ("); n != 1 {
			t.Errorf("%q printed %d times:\n%s", line, n, out.String())
		}
	}
	if !strings.Contains(out.String(), "routines completed") || strings.Count(errOut.String(), "connection lost") < 2 {
		t.Errorf("stdout:\n%s\nstderr:\n%s", out.String(), errOut.String())
	}
}

func TestJobsStartWait(t *testing.T) {
	base := startServer(t)
	out := mustRun(t, "jobs", "start", "steps", "--server", base, "--params", `{"name":"bo"}`, "--wait")
	if !regexp.MustCompile(`(?m)^job \S+ completed in \d+\.\d\ds: 4 routines completed, 0 failed\nresult: \{"name":"bo"\}\n$`).MatchString(out) {
		t.Errorf("--wait completed:\n%s", out)
	}
	var job client.Job
	runJSON(t, &job, ExitOK, "jobs", "start", "steps", "--server", base, "--wait=20s")
	if job.Status != "completed" || job.JobID == "" || job.NodesCompleted != 4 {
		t.Errorf("--wait -o json: %+v", job)
	}
	out, errOut, code := runCLI(t, "jobs", "start", "broken", "--server", base, "--wait")
	if code != ExitFailed || !strings.Contains(out, "failed: ") || !strings.Contains(out, "no luck") || !strings.Contains(errOut, "no luck") {
		t.Errorf("--wait failed: exit %d\n%s\n%s", code, out, errOut)
	}
	runJSON(t, &job, ExitFailed, "jobs", "start", "broken", "--server", base, "--wait")
	if job.Status != "failed" {
		t.Errorf("--wait -o json of a failing job: %+v", job)
	}
	// Not ended in time: 1, and it says how to follow it.
	out, errOut, code = runCLI(t, "jobs", "start", "slow", "--server", base, "--wait=200ms")
	if code != ExitFailed || !strings.Contains(out, "is still running after 200ms") || !strings.Contains(errOut, "did not end within 200ms") {
		t.Errorf("--wait too short: exit %d\n%s\n%s", code, out, errOut)
	}
}

func TestJobsListGetControl(t *testing.T) {
	base := startServer(t)
	id := strings.TrimSpace(mustRun(t, "jobs", "start", "slow", "--server", base))
	mustRun(t, "jobs", "start", "steps", "--server", base, "--wait")

	var list client.JobList
	runJSON(t, &list, ExitOK, "jobs", "list", "--server", base, "--flow", "slow", "--status", "running")
	if list.Total != 1 || len(list.Jobs) != 1 || list.Jobs[0].JobID != id {
		t.Fatalf("jobs list --flow slow --status running: %+v", list)
	}
	runJSON(t, &list, ExitOK, "jobs", "list", "--server", base, "--limit", "1")
	if list.Total != 2 || len(list.Jobs) != 1 || list.Limit != 1 {
		t.Fatalf("jobs list --limit 1: %+v", list)
	}
	out, errOut, code := runCLI(t, "jobs", "list", "--server", base)
	if code != ExitOK || !regexp.MustCompile(`(?m)^JOB +FLOW +STATUS +PROGRESS +CREATED +DURATION +ERROR$`).MatchString(out) ||
		!regexp.MustCompile(`(?m)^`+id+` +slow +running +\d+% `).MatchString(out) || strings.Count(out, "\n") != 3 {
		t.Fatalf("jobs list table: exit %d\n%s\n%s", code, out, errOut)
	}
	if _, errOut, _ := runCLI(t, "jobs", "list", "--server", base, "--limit", "1"); !strings.Contains(errOut, "1 of 2 jobs shown") {
		t.Errorf("a partial list does not say so: %q", errOut)
	}

	var job client.Job
	runJSON(t, &job, ExitOK, "jobs", "get", id, "--server", base)
	if job.JobID != id || job.FlowID != "slow" || job.RoutineStates["wait"] == nil {
		t.Fatalf("jobs get -o json: %+v", job)
	}
	out = mustRun(t, "jobs", "get", id, "--server", base)
	for _, want := range []string{`(?m)^job: +` + id + `$`, `(?m)^flow: +slow \(version 1\)$`, `(?m)^status: +running$`,
		`(?m)^ROUTINE +STATUS +ACTIVATIONS +ERROR$`, `(?m)^wait +running +1 +-$`} {
		if !regexp.MustCompile(want).MatchString(out) {
			t.Errorf("jobs get lacks %s:\n%s", want, out)
		}
	}

	// Pause: the running delay finishes first, so the answer may say pausing.
	out = mustRun(t, "jobs", "pause", id, "--server", base)
	if !strings.Contains(out, "job "+id+": paus") {
		t.Errorf("pause: %q", out)
	}
	expectCode(t, ExitRefused, []string{"jobs", "get", "nope", "--server", base}, `JOB_NOT_FOUND (HTTP 404): `)
	_, errOut, code = runCLI(t, "jobs", "pause", id, "--server", base)
	if code != ExitRefused || !strings.Contains(errOut, "JOB_STATE_CONFLICT") {
		t.Errorf("pause twice: exit %d %s", code, errOut)
	}
	runJSON(t, &job, ExitOK, "jobs", "resume", id, "--server", base)
	if job.Status != "running" || job.PauseRequested {
		t.Errorf("resume -o json: %+v", job)
	}
	out = mustRun(t, "jobs", "cancel", id, "--server", base)
	if out != "job "+id+": cancelled\n" {
		t.Errorf("cancel: %q", out)
	}
	_, errOut, code = runCLI(t, "jobs", "cancel", id, "--server", base)
	if code != ExitRefused || !strings.Contains(errOut, "cannot cancel: job is cancelled") {
		t.Errorf("cancel a cancelled job: exit %d %s", code, errOut)
	}
	// watch of a cancelled job: exit 1.
	if _, _, code := runCLI(t, "jobs", "watch", id, "--server", base); code != ExitFailed {
		t.Errorf("watch of a cancelled job: exit %d", code)
	}
}

func TestJobsLogs(t *testing.T) {
	base := startServer(t)
	id := strings.TrimSpace(mustRun(t, "jobs", "start", "steps", "--server", base, "--params", `{"name":"ada"}`, "--wait", "-o", "json"))
	var job client.Job
	if err := json.Unmarshal([]byte(id), &job); err != nil {
		t.Fatal(err)
	}
	out := mustRun(t, "jobs", "logs", job.JobID, "--server", base)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) < 3 || !regexp.MustCompile(`^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}  warning  note +hello ada$`).MatchString(lines[1]) ||
		!strings.Contains(lines[0], "job started") || !strings.Contains(lines[len(lines)-1], "job completed") {
		t.Errorf("jobs logs:\n%s", out)
	}
	out = mustRun(t, "jobs", "logs", job.JobID, "--server", base, "--level", "warning")
	if strings.Count(out, "\n") != 1 || !strings.Contains(out, "hello ada") {
		t.Errorf("jobs logs --level warning:\n%s", out)
	}
	out = mustRun(t, "jobs", "logs", job.JobID, "--server", base, "--routine", "note", "-q", "HELLO")
	if strings.Count(out, "\n") != 1 || !strings.Contains(out, "hello ada") {
		t.Errorf("jobs logs --routine note -q HELLO:\n%s", out)
	}
	var page client.LogPage
	runJSON(t, &page, ExitOK, "jobs", "logs", job.JobID, "--server", base)
	if page.Total != len(lines) || page.Logs[1].RoutineID != "note" || page.Logs[1].Level != "warning" || page.Logs[1].Message != "hello ada" {
		t.Errorf("jobs logs -o json: %+v", page)
	}
	expectCode(t, ExitRefused, []string{"jobs", "logs", "nope", "--server", base}, "JOB_NOT_FOUND")

	// --follow prints the lines as they come and ends with the job.
	id = strings.TrimSpace(mustRun(t, "jobs", "start", "chatty", "--server", base))
	// b logs 150 ms into the job: a follow that did not wait lacks it.
	out = mustRun(t, "jobs", "logs", id, "--follow", "--server", base, "--routine", "b")
	if !strings.HasSuffix(out, "second\n") || strings.Count(out, "\n") != 1 {
		t.Errorf("jobs logs --follow --routine b:\n%s", out)
	}
	out = mustRun(t, "jobs", "logs", id, "-f", "--server", base, "-o", "json")
	var msgs []string
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var l client.LogLine
		if err := json.Unmarshal([]byte(line), &l); err != nil {
			t.Fatalf("--follow -o json line %q: %v", line, err)
		}
		msgs = append(msgs, l.Message)
	}
	if len(msgs) != 5 || msgs[1] != "first" || msgs[3] != "third" {
		t.Errorf("--follow -o json of an ended job: %q", msgs)
	}
}

// With -o json, watch prints the stream's messages as they came.
func TestJobsWatchJSON(t *testing.T) {
	base := startServer(t)
	out, errOut, code := runCLI(t, "jobs", "start", "steps", "--watch", "--server", base, "-o", "json", "--progress", "always")
	if code != ExitOK || errOut != "" {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	var types []string
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var m client.Message
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		types = append(types, m.Type)
	}
	if len(types) < 5 || types[len(types)-1] != "completion" || !strings.Contains(strings.Join(types, ","), "log") {
		t.Errorf("message types: %v", types)
	}
}

// A signal (here: the context) stops a watch with ExitFailed.
func TestJobsWatchInterrupted(t *testing.T) {
	base := startServer(t)
	id := strings.TrimSpace(mustRun(t, "jobs", "start", "slow", "--server", base))
	ctx, cancel := context.WithCancel(context.Background())
	var out, errOut servertest.Buffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"jobs", "watch", id, "--server", base}, strings.NewReader(""), &out, &errOut, false)
	}()
	eventually(t, "the watch to start", func() bool { return strings.Contains(out.String(), "✓ start completed") })
	cancel()
	if code := <-done; code != ExitFailed || !strings.Contains(errOut.String(), "stopped watching job "+id) {
		t.Fatalf("exit %d, stderr %q", code, errOut.String())
	}
}
