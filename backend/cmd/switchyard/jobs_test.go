package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchyard/switchyard/backend/server"
	"github.com/switchyard/switchyard/backend/servertest"
)

func startServer(t *testing.T) string {
	t.Helper()
	ts := servertest.Start(t, server.Config{}).HTTP
	for _, dsl := range []string{
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
	} {
		resp, err := http.Post(ts.URL+"/api/flows", "application/json", strings.NewReader(fmt.Sprintf(`{"dsl":%q}`, dsl)))
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("create flow: %d %s", resp.StatusCode, raw)
		}
	}
	return ts.URL
}

// syncBuffer is written by the command while the test reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func runCLI(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var out, errOut syncBuffer
	err = runJobs(ctx, args, &out, &errOut, false)
	return out.String(), errOut.String(), err
}

func TestJobsStartWatchCompleted(t *testing.T) {
	base := startServer(t)
	out, errOut, err := runCLI(t, "start", "steps", "--server", base, "--params", `{"name":"ada"}`, "--watch", "--progress", "always")
	if err != nil {
		t.Fatalf("err %v\nstdout:\n%s\nstderr:\n%s", err, out, errOut)
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
	out, _, err := runCLI(t, "start", "--server", base, "steps")
	if err != nil {
		t.Fatal(err)
	}
	id := strings.TrimSpace(out)
	if id == "" || strings.ContainsAny(id, " \n") {
		t.Fatalf("stdout %q, want the job id alone", out)
	}
	// watch of that job, after or while it runs, ends the same way.
	out, errOut, err := runCLI(t, "watch", id, "--server", strings.TrimPrefix(base, "http://"))
	if err != nil || !strings.Contains(out, "job "+id+" completed") {
		t.Fatalf("watch: %v\n%s\n%s", err, out, errOut)
	}
	if errOut != "" {
		t.Errorf("stderr without a bar: %q", errOut)
	}
	// From past the end: nothing to stream, the record tells.
	out, _, err = runCLI(t, "watch", id, "--server", base, "--since", "1000000")
	if err != nil || !strings.Contains(out, "job "+id+" completed") || strings.Contains(out, "✓") {
		t.Fatalf("watch --since past end: %v\n%s", err, out)
	}
}

func TestJobsWatchFailed(t *testing.T) {
	base := startServer(t)
	out, errOut, err := runCLI(t, "start", "broken", "--watch", "--server", base)
	var ended *errJobEnded
	if !errors.As(err, &ended) || ended.state != "failed" {
		t.Fatalf("err = %v\n%s\n%s", err, out, errOut)
	}
	if !strings.Contains(out, "✗ boom failed") || !strings.Contains(out, "no luck") ||
		!regexp.MustCompile(`(?m)^job \S+ failed: .*no luck`).MatchString(out) {
		t.Fatalf("stdout:\n%s", out)
	}
}

func TestJobsWatchCancelled(t *testing.T) {
	base := startServer(t)
	out, _, err := runCLI(t, "start", "slow", "--server", base)
	if err != nil {
		t.Fatal(err)
	}
	id := strings.TrimSpace(out)
	done := make(chan error, 1)
	var stdout syncBuffer
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		done <- runJobs(ctx, []string{"watch", id, "--server", base}, &stdout, io.Discard, false)
	}()
	for !strings.Contains(stdout.String(), "✓ start completed") {
		time.Sleep(5 * time.Millisecond)
	}
	resp, err := http.Post(base+"/api/jobs/"+id+"/cancel", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	err = <-done
	var ended *errJobEnded
	if !errors.As(err, &ended) || ended.state != "cancelled" || err.Error() != "job "+id+" cancelled" {
		t.Fatalf("err = %v", err)
	}
	if !strings.Contains(stdout.String(), "job "+id+" cancelled\n") {
		t.Fatalf("stdout:\n%s", stdout.String())
	}
}

func TestJobsErrors(t *testing.T) {
	base := startServer(t)
	cases := []struct {
		args []string
		want string
	}{
		{nil, "missing subcommand"},
		{[]string{"frob"}, `unknown subcommand "frob"`},
		{[]string{"watch", "--server", base}, "want exactly one id"},
		{[]string{"watch", "nope", "--server", base}, "404"},
		{[]string{"start", "nope", "--server", base}, "FLOW_NOT_FOUND"},
		{[]string{"start", "steps", "--server", base, "--params", "{"}, "not valid JSON"},
		{[]string{"watch", "x", "--server", base, "--progress", "sometimes"}, "--progress"},
		{[]string{"watch", "x", "--server", "ftp://x"}, "want http://"},
	}
	for _, c := range cases {
		_, _, err := runCLI(t, c.args...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("jobs %q: err = %v, want %q", c.args, err, c.want)
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
	var out, errOut syncBuffer
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		done <- runJobs(ctx, []string{"start", "chatty", "--watch", "--server", px.ln.Addr().String()}, &out, &errOut, false)
	}()
	for _, line := range []string{"info a: first", "info b: second"} {
		for !strings.Contains(out.String(), line) {
			time.Sleep(2 * time.Millisecond)
		}
		px.cut()
	}
	if err := <-done; err != nil {
		t.Fatalf("%v\n%s\n%s", err, out.String(), errOut.String())
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
