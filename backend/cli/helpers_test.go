package cli

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/switchyard/switchyard/backend/server"
	"github.com/switchyard/switchyard/backend/servertest"
)

// TestMain runs without the SWITCHYARD_ variables of the environment.
func TestMain(m *testing.M) {
	servertest.ClearEnv()
	os.Exit(m.Run())
}

// testFlows are loaded into every test server.
var testFlows = []string{
	`flow_id: steps
routines:
  start: {kind: input}
  note:  {kind: log, config: {level: warning, message: "hello {{ data.name }}"}}
  wait:  {kind: delay, config: {ms: 50}}
  done:  {kind: output}
connections:
  - {from: start.output, to: note.input}
  - {from: note.output,  to: wait.input}
  - {from: wait.output,  to: done.input}
`,
	`flow_id: broken
routines:
  start: {kind: input}
  boom:  {kind: fail, config: {message: "no luck"}}
connections:
  - {from: start.output, to: boom.input}
`,
	`flow_id: chatty
routines:
  start: {kind: input}
  a:     {kind: log, config: {message: "first"}}
  wa:    {kind: delay, config: {ms: 150}}
  b:     {kind: log, config: {message: "second"}}
  wb:    {kind: delay, config: {ms: 150}}
  c:     {kind: log, config: {message: "third"}}
connections:
  - {from: start.output, to: a.input}
  - {from: a.output,     to: wa.input}
  - {from: wa.output,    to: b.input}
  - {from: b.output,     to: wb.input}
  - {from: wb.output,    to: c.input}
`,
	`flow_id: slow
routines:
  start: {kind: input}
  wait:  {kind: delay, config: {ms: 5000}}
  done:  {kind: output}
connections:
  - {from: start.output, to: wait.input}
  - {from: wait.output,  to: done.input}
`,
}

// startServer runs a real server (servertest: SQLite in a temp dir)
// holding testFlows and returns its URL.
func startServer(t *testing.T) string {
	t.Helper()
	return startInstance(t).URL
}

func startInstance(t *testing.T) *servertest.Instance {
	t.Helper()
	in := servertest.Start(t, server.Config{})
	for _, dsl := range testFlows {
		resp, err := http.Post(in.URL+"/api/flows", "application/yaml", strings.NewReader(dsl))
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("create flow: %d %s", resp.StatusCode, raw)
		}
	}
	return in
}

// runCLI runs the command line through Run.
func runCLI(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errOut servertest.Buffer
	done := make(chan int, 1)
	go func() { done <- Run(args, &out, &errOut) }()
	select {
	case code = <-done:
	case <-time.After(30 * time.Second):
		t.Fatalf("switchyard %q did not end within 30 s\nstdout:\n%s\nstderr:\n%s", args, out.String(), errOut.String())
	}
	return out.String(), errOut.String(), code
}

// runStdin runs the command line with stdin.
func runStdin(t *testing.T, stdin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out, errOut servertest.Buffer
	code = run(ctx, args, strings.NewReader(stdin), &out, &errOut, false)
	return out.String(), errOut.String(), code
}

// mustRun runs a command line that must exit 0.
func mustRun(t *testing.T, args ...string) string {
	t.Helper()
	out, errOut, code := runCLI(t, args...)
	if code != ExitOK {
		t.Fatalf("switchyard %q: exit %d\nstdout:\n%s\nstderr:\n%s", args, code, out, errOut)
	}
	return out
}

// runJSON runs a command line with -o json that must exit want, and
// decodes its output into v.
func runJSON(t *testing.T, v any, want int, args ...string) {
	t.Helper()
	out, errOut, code := runCLI(t, append(args, "-o", "json")...)
	if code != want {
		t.Fatalf("switchyard %q: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", args, code, want, out, errOut)
	}
	if err := json.Unmarshal([]byte(out), v); err != nil {
		t.Fatalf("switchyard %q -o json: %v\n%s", args, err, out)
	}
}

// writeFile writes a file in the test's temp dir and returns its path.
func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// expectCode checks a command line's exit code and that its stderr holds
// each of want.
func expectCode(t *testing.T, code int, args []string, want ...string) {
	t.Helper()
	out, errOut, got := runCLI(t, args...)
	if got != code {
		t.Errorf("switchyard %q: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", args, got, code, out, errOut)
		return
	}
	for _, w := range want {
		if !strings.Contains(errOut, w) {
			t.Errorf("switchyard %q: stderr lacks %q:\n%s", args, w, errOut)
		}
	}
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
