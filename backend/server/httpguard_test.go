package server_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/switchyard/switchyard/backend/server"
	"github.com/switchyard/switchyard/backend/servertest"
)

// callFlow is a flow whose http routine has config; the job fails with the
// routine's error if the request does.
func callFlow(id, config string) string {
	return fmt.Sprintf(`flow_id: %s
routines:
  start: {kind: input}
  call:  {kind: http, config: %s}
  done:  {kind: output}
connections:
  - {from: start.output, to: call.input}
  - {from: call.output,  to: done.input}
`, id, config)
}

var flowSeq atomic.Int64

// call runs a job of a new flow with that http config and returns it ended.
func (in *instance) call(config string) job {
	in.t.Helper()
	id := fmt.Sprintf("call-%d", flowSeq.Add(1))
	if code := in.json("POST", "/api/flows", dsl(callFlow(id, config)), nil); code != http.StatusCreated {
		in.t.Fatalf("create %s: %d", config, code)
	}
	j := in.startJob(id, `{}`)
	return in.waitJob(j.JobID, func(j job) bool { return j.Status != "running" && j.Status != "pending" })
}

func callError(j job) string {
	if st, _ := j.RoutineStates["call"].(map[string]any); st != nil {
		if e, _ := st["error"].(string); e != "" {
			return e
		}
	}
	return ""
}

// mustRefuse runs config, which must fail at the guard as the server's own
// address.
func (in *instance) mustRefuse(config string) {
	in.t.Helper()
	j := in.call(config)
	if j.Status != "failed" || !strings.Contains(callError(j), "this server's own address: an http routine may only GET its /api/health or /healthz") {
		in.t.Errorf("%s: status %s, routine error %q", config, j.Status, callError(j))
	}
}

func (in *instance) mustReachHealth(config string) {
	in.t.Helper()
	j := in.call(config)
	body, _ := j.Result.(map[string]any)["body"].(map[string]any)
	if j.Status != "completed" || body["status"] != "ok" {
		in.t.Errorf("%s: status %s, result %v, error %q", config, j.Status, j.Result, callError(j))
	}
}

func (in *instance) jobCount() int {
	in.t.Helper()
	var list struct {
		Total int `json:"total"`
	}
	in.json("GET", "/api/jobs", "", &list)
	return list.Total
}

// elsewhere is another local HTTP service; /go?to= redirects.
func elsewhere(t *testing.T) *httptest.Server {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if to := r.URL.Query().Get("to"); to != "" {
			http.Redirect(w, r, to, http.StatusFound)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"status":"ok","from":"elsewhere"}`)
	}))
	t.Cleanup(ts.Close)
	return ts
}

// TestHTTPRoutineCannotUseTheServer: with all of loopback allowed, the
// server's API stays out of reach of its own flows, its probes do not.
func TestHTTPRoutineCannotUseTheServer(t *testing.T) {
	in := startWith(t, server.Config{HTTPAllow: []string{"127.0.0.0/8", "localhost"}})
	other := elsewhere(t)
	in.mustReachHealth(`{url: "` + other.URL + `/"}`) // the allow list works
	in.mustReachHealth(`{url: "{{ job.server }}/api/health"}`)
	in.mustReachHealth(`{url: "{{ job.server }}/healthz"}`)
	jobs := in.jobCount()
	in.mustRefuse(`{url: "{{ job.server }}/api/flows"}`)
	in.mustRefuse(`{url: "{{ job.server }}/api/jobs", method: POST, body: "{flow_id: 'call-1'}"}`)
	in.mustRefuse(`{url: "{{ job.server }}/api/health", method: POST}`)
	in.mustRefuse(`{url: "` + strings.Replace(in.URL, "127.0.0.1", "localhost", 1) + `/api/flows"}`)
	// A redirect from an allowed service into the server is refused too.
	j := in.call(`{url: "` + other.URL + `/?to=` + in.URL + `/api/flows"}`)
	if j.Status != "failed" || !strings.Contains(callError(j), "redirected to "+in.URL+"/api/flows: ") || !strings.Contains(callError(j), "own address") {
		t.Errorf("redirect into the server: %s %q", j.Status, callError(j))
	}
	// Five refused calls, five jobs: the POST /api/jobs started none.
	if n := in.jobCount() - jobs; n != 5 {
		t.Fatalf("%d jobs since, want the 5 that called", n)
	}
}

func TestHTTPRoutineDefaultDeniesLoopback(t *testing.T) {
	in := start(t, t.TempDir())
	other := elsewhere(t)
	j := in.call(`{url: "` + other.URL + `/"}`)
	addr := strings.TrimPrefix(other.URL, "http://")
	if want := addr + " is a loopback address; allow it with --http-allow 127.0.0.1/32"; j.Status != "failed" || !strings.Contains(callError(j), want) {
		t.Fatalf("status %s, error %q, want %q", j.Status, callError(j), want)
	}
	j = in.call(`{url: "http://169.254.169.254/latest/meta-data/", timeout_ms: 2000}`)
	if !strings.Contains(callError(j), "169.254.169.254:80 is a link-local address (the cloud metadata service)") {
		t.Fatalf("metadata: %s %q", j.Status, callError(j))
	}
	// The tour's health check works without any allow list.
	in.mustReachHealth(`{url: "{{ job.server }}/api/health"}`)
}

// TestHTTPRoutineCannotUseTheServerThroughRun: the address Run listens on
// is the server's own.
func TestHTTPRoutineCannotUseTheServerThroughRun(t *testing.T) {
	addr := runServer(t, server.Config{HTTPAllow: []string{"127.0.0.0/8"}})
	in := &instance{t: t, Instance: &servertest.Instance{URL: "http://" + addr}}
	in.mustRefuse(`{url: "http://` + addr + `/api/flows"}`)
	in.mustRefuse(`{url: "{{ job.server }}/api/jobs", method: POST, body: "{flow_id: 'call-1'}"}`)
	in.mustReachHealth(`{url: "http://` + addr + `/api/health"}`)
}

func TestBadHTTPAllowEntryFailsStart(t *testing.T) {
	_, err := server.New(context.Background(), server.Config{DataDir: t.TempDir(), HTTPAllow: []string{"10.0.0.0/8", "10.0.0.0/33"}})
	if err == nil || !strings.Contains(err.Error(), `--http-allow "10.0.0.0/33"`) {
		t.Fatalf("error %v", err)
	}
}
