package debug_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/switchyard/switchyard/backend/server"
	"github.com/switchyard/switchyard/backend/servertest"
)

// srv is a real server over a real SQLite file, driven over HTTP.
type srv struct {
	t *testing.T
	*servertest.Instance
}

func startServer(t *testing.T, dir string) *srv {
	t.Helper()
	return &srv{t: t, Instance: servertest.Start(t, server.Config{DataDir: dir})}
}

// call sends a JSON request and decodes the answer into out (if non-nil);
// it fails the test unless the status is want.
func (s *srv) call(want int, method, path, body string, out any) {
	s.t.Helper()
	req, err := http.NewRequest(method, s.URL+path, strings.NewReader(body))
	if err != nil {
		s.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		s.t.Fatalf("%s %s: status %d, want %d: %s", method, path, resp.StatusCode, want, raw)
	}
	if out != nil && len(raw) > 0 {
		if err := json.Unmarshal(raw, out); err != nil {
			s.t.Fatalf("%s %s: decode %s: %v", method, path, raw, err)
		}
	}
}

func (s *srv) flow(yaml string) {
	s.t.Helper()
	b, _ := json.Marshal(map[string]string{"dsl": yaml})
	s.call(http.StatusCreated, http.MethodPost, "/api/flows", string(b), nil)
}

type job struct {
	JobID       string `json:"job_id"`
	Status      string `json:"status"`
	Result      any    `json:"result"`
	Error       string `json:"error"`
	PauseReason string `json:"pause_reason"`
	PausedAt    *struct {
		BreakpointID *string `json:"breakpoint_id"`
		Type         string  `json:"type"`
		ActivationID int64   `json:"activation_id"`
		RoutineID    string  `json:"routine_id"`
		PauseID      string  `json:"pause_id"`
	} `json:"paused_at"`
}

func (s *srv) start(flowID, params string, stopOnEntry bool) string {
	s.t.Helper()
	var j job
	s.call(http.StatusCreated, http.MethodPost, "/api/jobs",
		fmt.Sprintf(`{"flow_id": %q, "params": %s, "stop_on_entry": %t}`, flowID, params, stopOnEntry), &j)
	return j.JobID
}

func (s *srv) job(id string) job {
	s.t.Helper()
	var j job
	s.call(http.StatusOK, http.MethodGet, "/api/jobs/"+id, "", &j)
	return j
}

// wait polls the job until ready says so.
func (s *srv) wait(id string, ready func(job) bool) job {
	s.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		j := s.job(id)
		if ready(j) {
			return j
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("job %s: gave up waiting, last state %+v", id, j)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func paused(j job) bool { return j.Status == "paused" && j.PausedAt != nil }
func finished(j job) bool {
	return j.Status == "completed" || j.Status == "failed" || j.Status == "cancelled"
}

type breakpoint struct {
	ID            string  `json:"breakpoint_id"`
	JobID         string  `json:"job_id"`
	FlowID        string  `json:"flow_id"`
	Type          string  `json:"type"`
	RoutineID     string  `json:"routine_id"`
	HitCount      int64   `json:"hit_count"`
	Enabled       bool    `json:"enabled"`
	InheritedFrom *string `json:"inherited_from"`
}

func (s *srv) breakpoints(path string) []breakpoint {
	s.t.Helper()
	var out struct {
		Breakpoints []breakpoint `json:"breakpoints"`
		Total       int          `json:"total"`
	}
	s.call(http.StatusOK, http.MethodGet, path+"/breakpoints", "", &out)
	if out.Total != len(out.Breakpoints) {
		s.t.Fatalf("%s: total %d for %d breakpoints", path, out.Total, len(out.Breakpoints))
	}
	return out.Breakpoints
}

func (s *srv) addBreakpoint(path, body string) breakpoint {
	s.t.Helper()
	var bp breakpoint
	s.call(http.StatusCreated, http.MethodPost, path+"/breakpoints", body, &bp)
	return bp
}

type apiError struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// refused sends a request that must fail with status and code.
func (s *srv) refused(status int, code, method, path, body string) string {
	s.t.Helper()
	var e apiError
	s.call(status, method, path, body, &e)
	if e.Error.Code != code {
		s.t.Fatalf("%s %s: code %q, want %q (%s)", method, path, e.Error.Code, code, e.Error.Message)
	}
	return e.Error.Message
}
