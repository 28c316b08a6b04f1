package routines

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/switchyard/switchyard/backend/events"
)

const httpFlow = `
flow_id: web
routines:
  start: {kind: input}
  call:  {kind: http, config: CONFIG}
  done:  {kind: output}
connections:
  - {from: start.output, to: call.input}
  - {from: call.output,  to: done.input}
`

func httpJob(h *harness, config string, params any) (string, *events.JobState) {
	h.t.Helper()
	return h.run(strings.Replace(httpFlow, "CONFIG", config, 1), params)
}

func newServer(t *testing.T) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("/orders/{id}", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var sent any
		_ = json.Unmarshal(body, &sent)
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Header().Set("X-Trace", "t1")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"id": r.PathValue("id"), "method": r.Method, "sent": sent,
			"auth": r.Header.Get("Authorization"), "ctype": r.Header.Get("Content-Type"),
		})
	})
	mux.HandleFunc("/text", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(http.StatusNotFound)
		_, _ = io.WriteString(w, "no such thing")
	})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(30 * time.Second):
		}
	})
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write(make([]byte, 2048))
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func TestHTTPJSON(t *testing.T) {
	h := newHarness(t)
	srv := newServer(t)
	_, st := httpJob(h, `{url: "`+srv.URL+`/orders/{{ data.id }}", method: post, headers: {Authorization: "Bearer {{ data.token }}"}, body: "{qty: data.qty}"}`,
		map[string]any{"id": "A7", "token": "s3cret", "qty": 2.0})
	if st.Status != events.StatusCompleted {
		t.Fatalf("status %s: %s", st.Status, st.Error)
	}
	res := st.Result.(map[string]any)
	if res["status"] != 200 {
		t.Errorf("status = %v", res["status"])
	}
	if hdr := res["headers"].(map[string]any); hdr["x-trace"] != "t1" {
		t.Errorf("headers = %v", hdr)
	}
	want := map[string]any{"id": "A7", "method": "POST", "sent": map[string]any{"qty": 2.0}, "auth": "Bearer s3cret", "ctype": "application/json"}
	if !reflect.DeepEqual(res["body"], want) {
		t.Errorf("body = %#v", res["body"])
	}
}

func TestHTTPStatus(t *testing.T) {
	h := newHarness(t)
	srv := newServer(t)
	_, st := httpJob(h, `{url: "`+srv.URL+`/text"}`, nil)
	res, _ := st.Result.(map[string]any)
	if st.Status != events.StatusCompleted || res["status"] != 404 || res["body"] != "no such thing" {
		t.Fatalf("status %s result %v error %q", st.Status, st.Result, st.Error)
	}
	_, st = httpJob(h, `{url: "`+srv.URL+`/text", fail_on_status: true}`, nil)
	if st.Status != events.StatusFailed || !strings.Contains(st.Error, "returned status 404") {
		t.Fatalf("fail_on_status: status %s error %q", st.Status, st.Error)
	}
}

func TestHTTPTimeout(t *testing.T) {
	h := newHarness(t)
	srv := newServer(t)
	began := time.Now()
	id, st := httpJob(h, `{url: "`+srv.URL+`/slow", timeout_ms: 100}`, nil)
	if el := time.Since(began); el > 3*time.Second {
		t.Fatalf("timeout took %s", el)
	}
	if st.Status != events.StatusFailed || !strings.Contains(st.Error, "timed out after 100ms") {
		t.Fatalf("status %s error %q", st.Status, st.Error)
	}
	if f := h.rec.of(id, events.RoutineFailed); len(f) != 1 || f[0].ErrorType != "TimeoutError" {
		t.Fatalf("failures %+v", f)
	}
}

func TestHTTPCancelIsPrompt(t *testing.T) {
	h := newHarness(t)
	srv := newServer(t)
	id := h.start(strings.Replace(httpFlow, "CONFIG", `{url: "`+srv.URL+`/slow", timeout_ms: 60000}`, 1), nil)
	at := h.cancelWhenRunning(id, "call")
	st := h.wait(id)
	if el := time.Since(at); el > 2*time.Second {
		t.Fatalf("cancel took %s", el)
	}
	if st.Status != events.StatusCancelled {
		t.Fatalf("status %s", st.Status)
	}
}

func TestHTTPBodyCap(t *testing.T) {
	old := maxResponseBody
	maxResponseBody = 1024
	defer func() { maxResponseBody = old }()
	h := newHarness(t)
	srv := newServer(t)
	_, st := httpJob(h, `{url: "`+srv.URL+`/big"}`, nil)
	if st.Status != events.StatusFailed || !strings.Contains(st.Error, "response body exceeds 1024 bytes") {
		t.Fatalf("status %s error %q", st.Status, st.Error)
	}
}

func TestHTTPBadRenderedURL(t *testing.T) {
	h := newHarness(t)
	_, st := httpJob(h, `{url: "{{ data.u }}"}`, map[string]any{"u": "ftp://example.com/x"})
	if st.Status != events.StatusFailed || !strings.Contains(st.Error, "must start with http:// or https://") {
		t.Fatalf("status %s error %q", st.Status, st.Error)
	}
}
