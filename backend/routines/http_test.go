package routines

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchyard/switchyard/backend/engine"
	"github.com/switchyard/switchyard/backend/events"
	"github.com/switchyard/switchyard/backend/netguard"
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

// newHTTPHarness is a harness whose http kind may connect where allow
// says (--http-allow entries) besides public addresses.
func newHTTPHarness(t *testing.T, allow ...string) *harness {
	t.Helper()
	g, err := netguard.New(allow)
	if err != nil {
		t.Fatal(err)
	}
	reg := engine.NewRegistry()
	Register(reg, HTTPGuard(g))
	rec := &recorder{}
	return &harness{t: t, eng: engine.New(reg, rec, engine.Options{}), rec: rec}
}

// testServer is an httptest server on 127.0.0.1 that counts requests.
type testServer struct {
	*httptest.Server
	Addr string // 127.0.0.1:port, the --http-allow entry of this server only
	hits atomic.Int64
}

func newServer(t *testing.T) *testServer {
	t.Helper()
	ts := &testServer{}
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
	// /go?to=URL redirects there; /loop redirects to itself for ever.
	mux.HandleFunc("/go", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, r.URL.Query().Get("to"), http.StatusFound)
	})
	mux.HandleFunc("/loop", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/loop", http.StatusFound)
	})
	// The probes a flow may GET on its own server; ?to= redirects.
	probe := func(w http.ResponseWriter, r *http.Request) {
		if to := r.URL.Query().Get("to"); to != "" {
			http.Redirect(w, r, to, http.StatusFound)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"status":"ok"}`)
	}
	mux.HandleFunc("/api/health", probe)
	mux.HandleFunc("/healthz", probe)
	ts.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ts.hits.Add(1)
		mux.ServeHTTP(w, r)
	}))
	ts.Addr = ts.Listener.Addr().String()
	t.Cleanup(ts.Close)
	return ts
}

func TestHTTPJSON(t *testing.T) {
	srv := newServer(t)
	h := newHTTPHarness(t, srv.Addr)
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
	srv := newServer(t)
	h := newHTTPHarness(t, srv.Addr)
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
	srv := newServer(t)
	h := newHTTPHarness(t, srv.Addr)
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
	srv := newServer(t)
	h := newHTTPHarness(t, srv.Addr)
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
	srv := newServer(t)
	h := newHTTPHarness(t, srv.Addr)
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

// failure runs an http routine that must fail and returns its error.
func failure(t *testing.T, h *harness, config string) string {
	t.Helper()
	id, st := httpJob(h, config, nil)
	if st.Status != events.StatusFailed {
		t.Fatalf("%s: status %s, result %v", config, st.Status, st.Result)
	}
	if f := h.rec.of(id, events.RoutineFailed); len(f) != 1 || f[0].ErrorType != "HTTPError" {
		t.Fatalf("%s: failures %+v", config, f)
	}
	return st.Error
}

func TestHTTPDeniesInternalAddressesByDefault(t *testing.T) {
	srv := newServer(t) // listening, so a refusal is the guard's, not the network's
	_, port, _ := net.SplitHostPort(srv.Addr)
	h := newHTTPHarness(t)
	for _, tc := range []struct{ url, want string }{
		{srv.URL + "/orders/1", srv.Addr + " is a loopback address; allow it with --http-allow 127.0.0.1/32"},
		{"http://127.0.0.1:" + port + "/orders/1", "is a loopback address"},
		{"http://[::1]:" + port + "/", "[::1]:" + port + " is a loopback address; allow it with --http-allow ::1/128"},
		{"http://[::ffff:127.0.0.1]:" + port + "/", "is a loopback address; allow it with --http-allow 127.0.0.1/32"},
		{"http://0.0.0.0:" + port + "/", "is an unspecified address"},
		{"http://10.1.2.3/", "10.1.2.3:80 is a private address; allow it with --http-allow 10.1.2.3/32"},
		{"https://192.168.1.1/", "192.168.1.1:443 is a private address"},
		{"http://172.16.0.1:8080/", "172.16.0.1:8080 is a private address"},
		{"http://[fd00::1]/", "[fd00::1]:80 is a private address; allow it with --http-allow fd00::1/128"},
		{"http://100.64.0.1/", "100.64.0.1:80 is a shared (CGNAT) address"},
		{"http://169.254.169.254/latest/meta-data/", "169.254.169.254:80 is a link-local address (the cloud metadata service); allow it with --http-allow 169.254.169.254/32"},
		{"http://[fe80::1]/", "[fe80::1]:80 is a link-local address"},
		{"http://224.0.0.1/", "224.0.0.1:80 is a multicast address"},
	} {
		msg := failure(t, h, `{url: "`+tc.url+`"}`)
		if !strings.Contains(msg, "http: GET "+tc.url+": ") || !strings.Contains(msg, tc.want) {
			t.Errorf("%s:\n got %s\nwant %s", tc.url, msg, tc.want)
		}
	}
	if n := srv.hits.Load(); n != 0 {
		t.Fatalf("the server got %d requests", n)
	}
}

// TestHTTPDeniesNamesThatResolveInside: the address connected to is
// checked, not the name in the URL.
func TestHTTPDeniesNamesThatResolveInside(t *testing.T) {
	srv := newServer(t)
	_, port, _ := net.SplitHostPort(srv.Addr)
	h := newHTTPHarness(t)
	msg := failure(t, h, `{url: "http://localhost:`+port+`/orders/1"}`)
	if !strings.Contains(msg, "localhost:"+port+" resolves to ") || !strings.Contains(msg, "a loopback address; allow it with --http-allow ") ||
		!strings.Contains(msg, " or --http-allow localhost:"+port) {
		t.Fatalf("error %q", msg)
	}
	if n := srv.hits.Load(); n != 0 {
		t.Fatalf("the server got %d requests", n)
	}
}

func TestHTTPAllowList(t *testing.T) {
	srv := newServer(t)
	_, port, _ := net.SplitHostPort(srv.Addr)
	url := `{url: "` + srv.URL + `/orders/7"}`
	for _, allow := range [][]string{{"127.0.0.0/8"}, {"127.0.0.1/32"}, {srv.Addr}, {"127.0.0.1"}, {"::ffff:127.0.0.0/104"}} {
		res := newHTTPHarness(t, allow...).mustComplete(strings.Replace(httpFlow, "CONFIG", url, 1), nil)
		if body := res.(map[string]any)["body"].(map[string]any); body["id"] != "7" {
			t.Fatalf("%v: %v", allow, res)
		}
	}
	// A name entry allows the name, whatever it resolves to.
	res := newHTTPHarness(t, "localhost:"+port).mustComplete(strings.Replace(httpFlow, "CONFIG", `{url: "http://localhost:`+port+`/orders/8"}`, 1), nil)
	if res.(map[string]any)["status"] != 200 {
		t.Fatalf("localhost: %v", res)
	}
	// Another port, another address or another name is still denied.
	other := newServer(t)
	if msg := failure(t, newHTTPHarness(t, srv.Addr), `{url: "`+other.URL+`/orders/1"}`); !strings.Contains(msg, other.Addr+" is a loopback address") {
		t.Fatalf("another port: %s", msg)
	}
	if msg := failure(t, newHTTPHarness(t, "localhost:"+port), `{url: "`+srv.URL+`/orders/1"}`); !strings.Contains(msg, "is a loopback address") {
		t.Fatalf("a name entry opened the address: %s", msg)
	}
	if msg := failure(t, newHTTPHarness(t, "10.0.0.0/8"), `{url: "`+srv.URL+`/orders/1"}`); !strings.Contains(msg, "is a loopback address") {
		t.Fatalf("another range: %s", msg)
	}
	if other.hits.Load() != 0 {
		t.Fatal("the server on the other port was reached")
	}
}

func TestHTTPRedirectsAreChecked(t *testing.T) {
	srv, inside := newServer(t), newServer(t)
	h := newHTTPHarness(t, srv.Addr)
	// To an allowed address: followed.
	res := h.mustComplete(strings.Replace(httpFlow, "CONFIG", `{url: "`+srv.URL+`/go?to=/orders/9"}`, 1), nil)
	if body := res.(map[string]any)["body"].(map[string]any); body["id"] != "9" {
		t.Fatalf("allowed redirect: %v", res)
	}
	// To a denied one: refused, naming both.
	for _, to := range []string{inside.URL + "/orders/1", "http://169.254.169.254/latest/meta-data/", "http://localhost:" + strings.Split(inside.Addr, ":")[1] + "/"} {
		start := srv.URL + "/go?to=" + to
		msg := failure(t, h, `{url: "`+start+`"}`)
		if !strings.Contains(msg, "http: GET "+start+": redirected to "+to+": ") || !strings.Contains(msg, "; allow it with --http-allow ") {
			t.Errorf("redirect to %s: %s", to, msg)
		}
	}
	if n := inside.hits.Load(); n != 0 {
		t.Fatalf("the denied server got %d requests", n)
	}
	msg := failure(t, h, `{url: "`+srv.URL+`/loop"}`)
	if want := "http: GET " + srv.URL + "/loop: stopped after 10 redirects (the last to " + srv.URL + "/loop)"; !strings.Contains(msg, want) {
		t.Fatalf("redirect loop: %s", msg)
	}
}

// TestHTTPOwnServer: the server (job.server) is out of reach whatever the
// allow list, except a GET of its probes.
func TestHTTPOwnServer(t *testing.T) {
	srv := newServer(t)
	h := newHTTPHarness(t, "127.0.0.0/8", "localhost")
	// Before the engine knows its URL the server is just an allowed
	// address, and the kind keeps a connection to it…
	h.mustComplete(strings.Replace(httpFlow, "CONFIG", `{url: "`+srv.URL+`/orders/0"}`, 1), nil)
	// …which it must not reuse once it does.
	h.eng.SetServerURL(srv.URL)
	_, port, _ := net.SplitHostPort(srv.Addr)
	for _, path := range []string{"/api/health", "/healthz", "/api/health?x=1"} {
		res := h.mustComplete(strings.Replace(httpFlow, "CONFIG", `{url: "{{ job.server }}`+path+`"}`, 1), nil)
		if body := res.(map[string]any)["body"].(map[string]any); body["status"] != "ok" {
			t.Fatalf("GET %s: %v", path, res)
		}
	}
	before := srv.hits.Load()
	for _, config := range []string{
		`{url: "{{ job.server }}/orders/1"}`,
		`{url: "{{ job.server }}/api/jobs", method: POST, body: "{flow_id: 'x'}"}`,
		`{url: "{{ job.server }}/api/health", method: POST}`,
		`{url: "{{ job.server }}/api/health", method: DELETE}`,
		`{url: "{{ job.server }}/api/health/../flows"}`,
		`{url: "http://localhost:` + port + `/orders/1"}`,
	} {
		msg := failure(t, h, config)
		if !strings.Contains(msg, "this server's own address: an http routine may only GET its /api/health or /healthz") {
			t.Errorf("%s: %s", config, msg)
		}
	}
	// A probe that redirects into the server is refused at the redirect.
	msg := failure(t, h, `{url: "{{ job.server }}/api/health?to=/orders/1"}`)
	if !strings.Contains(msg, "redirected to "+srv.URL+"/orders/1: ") || !strings.Contains(msg, "own address") {
		t.Fatalf("probe redirect: %s", msg)
	}
	if n := srv.hits.Load() - before; n != 1 {
		t.Fatalf("the server got %d requests past the guard, want only the probe", n)
	}
}
