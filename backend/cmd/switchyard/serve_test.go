package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/switchyard/switchyard/backend/servertest"
)

// binDir holds the command built for this test binary's tests.
var binDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "switchyard-bin-")
	if err != nil {
		panic(err)
	}
	binDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

var buildBinary = sync.OnceValues(func() (string, error) {
	bin := filepath.Join(binDir, "switchyard")
	if out, err := exec.Command("go", "build", "-trimpath", "-o", bin, ".").CombinedOutput(); err != nil {
		return "", fmt.Errorf("build: %v\n%s", err, out)
	}
	return bin, nil
})

// binary builds the switchyard command once for this test binary's tests.
func binary(t *testing.T) string {
	t.Helper()
	bin, err := buildBinary()
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

// startSlowJob starts a job of the slow-steps example and returns its id.
func startSlowJob(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Post(url+"/api/jobs", "application/json", strings.NewReader(`{"flow_id":"slow-steps","params":{"name":"ada"}}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var job struct {
		JobID string `json:"job_id"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&job); err != nil || job.JobID == "" {
		t.Fatalf("no job started: %v", err)
	}
	return job.JobID
}

var readyLine = regexp.MustCompile(`Switchyard is ready: open (http://[^/\s]+)/`)

// serveProcess starts `switchyard serve` on a free port and returns its URL.
func serveProcess(t *testing.T, bin, data string) (*exec.Cmd, string) {
	t.Helper()
	cmd := exec.Command(bin, "serve", "--addr", "127.0.0.1:0", "--data", data)
	cmd.Env = append(os.Environ(), "SWITCHYARD_EXAMPLES=true")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	log := &servertest.Buffer{}
	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			log.Write([]byte(sc.Text() + "\n"))
			if m := readyLine.FindStringSubmatch(sc.Text()); m != nil {
				urls <- m[1]
			}
		}
	}()
	select {
	case u := <-urls:
		return cmd, u
	case <-time.After(30 * time.Second):
		t.Fatalf("server did not start:\n%s", log.String())
	}
	return nil, ""
}

func getJSON(t *testing.T, url string, out any) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	_ = json.Unmarshal(body, out)
	return resp.StatusCode
}

// TestServeShutsDownCleanlyOnSIGTERM runs the real binary: SIGTERM ends it
// with status 0, the database is left as one file (WAL folded in), and the
// job it was running is found after a restart, failed as interrupted.
func TestServeShutsDownCleanlyOnSIGTERM(t *testing.T) {
	bin := binary(t)
	data := t.TempDir()
	cmd, url := serveProcess(t, bin, data)
	var job struct {
		JobID  string `json:"job_id"`
		Status string `json:"status"`
		Error  string `json:"error"`
	}
	job.JobID = startSlowJob(t, url)

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	select {
	case err := <-waited:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("server did not stop within 20 s of SIGTERM")
	}
	if st, err := os.Stat(filepath.Join(data, "switchyard.db-wal")); err == nil && st.Size() > 0 {
		t.Fatalf("WAL left with %d bytes after a clean shutdown", st.Size())
	}

	_, url2 := serveProcess(t, bin, data)
	if code := getJSON(t, url2+"/api/jobs/"+job.JobID, &job); code != 200 || job.Status != "failed" || !strings.Contains(job.Error, "interrupted") {
		t.Fatalf("after restart: %d %+v", code, job)
	}
}

// TestJobsLeftActiveByACrashContinue kills the real binary (SIGKILL) while a
// job runs a delay: after a restart the job continues where it was and
// completes. The delay that was running runs again (once); nothing that had
// completed runs again; the log has no gap.
func TestJobsLeftActiveByACrashContinue(t *testing.T) {
	bin := binary(t)
	data := t.TempDir()
	cmd, url := serveProcess(t, bin, data)
	var job struct {
		JobID  string `json:"job_id"`
		Status string `json:"status"`
		Error  string `json:"error"`
		Result any    `json:"result"`
	}
	job.JobID = startSlowJob(t, url)
	// Let it reach step1 and its events reach the store (a read syncs the log).
	time.Sleep(300 * time.Millisecond)
	var before struct {
		Events []map[string]any `json:"events"`
	}
	getJSON(t, url+"/api/jobs/"+job.JobID+"/events", &before)
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()

	_, url2 := serveProcess(t, bin, data)
	deadline := time.Now().Add(30 * time.Second)
	for getJSON(t, url2+"/api/jobs/"+job.JobID, &job); job.Status == "running" && time.Now().Before(deadline); {
		time.Sleep(100 * time.Millisecond)
		getJSON(t, url2+"/api/jobs/"+job.JobID, &job)
	}
	if job.Status != "completed" || fmt.Sprint(job.Result) != "map[name:ada]" {
		t.Fatalf("after the crash: %+v", job)
	}
	var after struct {
		Events []map[string]any `json:"events"`
	}
	getJSON(t, url2+"/api/jobs/"+job.JobID+"/events?limit=1000", &after)
	completed := map[float64]int{}
	started := map[string]int{}
	for i, ev := range after.Events {
		if ev["seq"] != float64(i+1) {
			t.Fatalf("event %d has seq %v", i+1, ev["seq"])
		}
		switch ev["type"] {
		case "routine_completed":
			completed[ev["activation_id"].(float64)]++
		case "routine_started":
			started[ev["routine_id"].(string)]++
		}
	}
	for aid, n := range completed {
		if n != 1 {
			t.Errorf("activation %v completed %d times", aid, n)
		}
	}
	if len(completed) != 6 || started["start"] != 1 || started["step1"] != 1 {
		t.Errorf("completed %v, started %v", completed, started)
	}
	if len(after.Events) <= len(before.Events) || after.Events[len(after.Events)-1]["type"] != "job_completed" {
		t.Fatalf("events: %d before the crash, %d after", len(before.Events), len(after.Events))
	}
}

// The binary's exit codes come from cli.Run (backend/cli tests them
// in process); here the process's own.
func TestBinaryExitCodes(t *testing.T) {
	bin := binary(t)
	for _, c := range []struct {
		args []string
		code int
		out  string
	}{
		{[]string{"version"}, 0, "dev\n"},
		{[]string{"serve", "--help"}, 0, ""},
		{[]string{"serve", "--no-such-flag"}, 2, ""},
		{[]string{"frob"}, 2, ""},
		{[]string{"flows", "list", "--server", "127.0.0.1:1"}, 3, ""},
	} {
		cmd := exec.Command(bin, c.args...)
		cmd.Env = os.Environ()
		out, err := cmd.Output()
		code := 0
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			code = exit.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		if code != c.code || (c.out != "" && string(out) != c.out) {
			t.Errorf("switchyard %q: exit %d, stdout %q; want %d", c.args, code, out, c.code)
		}
	}
}
