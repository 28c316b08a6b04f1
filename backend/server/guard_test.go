package server_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/switchyard/switchyard/backend/server"
	"github.com/switchyard/switchyard/backend/servertest"
)

// send makes a request with the given Host, Origin and Content-Type.
func send(t *testing.T, base, method, path, host, origin, contentType, body string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if host != "" {
		req.Host = host
	}
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp, string(raw)
}

func TestBrowsersCannotBeUsedAgainstTheServer(t *testing.T) {
	in := servertest.Start(t, server.Config{Addr: "127.0.0.1:20555", AllowedHosts: []string{"switchyard.lan"}})
	base := in.URL
	flow := `{"dsl": "flow_id: g\nroutines:\n  start: {kind: input}\n"}`
	cases := []struct {
		name, method, path, host, origin, ct, body string
		status                                     int
		code                                       string
	}{
		{"rebound host, UI", "GET", "/", "evil.example", "", "", "", 403, "HOST_NOT_ALLOWED"},
		{"rebound host, API", "GET", "/api/health", "evil.example:20555", "", "", "", 403, "HOST_NOT_ALLOWED"},
		{"rebound host, stream", "GET", "/api/ws/monitor", "evil.example", "", "", "", 403, "HOST_NOT_ALLOWED"},
		{"localhost", "GET", "/api/health", "localhost:20555", "", "", "", 200, ""},
		{"loopback v6", "GET", "/api/health", "[::1]:20555", "", "", "", 200, ""},
		{"listed host", "GET", "/api/health", "switchyard.lan", "", "", "", 200, ""},
		{"cross-origin write", "POST", "/api/flows", "", "http://evil.example", "application/json", flow, 403, "ORIGIN_NOT_ALLOWED"},
		{"text/plain write", "POST", "/api/flows", "", "", "text/plain", flow, 415, "UNSUPPORTED_MEDIA_TYPE"},
		{"form write", "POST", "/api/flows", "", "", "application/x-www-form-urlencoded", flow, 415, "UNSUPPORTED_MEDIA_TYPE"},
		{"no content type", "POST", "/api/flows", "", "", "", flow, 415, "UNSUPPORTED_MEDIA_TYPE"},
		{"same-origin JSON write", "POST", "/api/flows", "", base, "application/json; charset=utf-8", flow, 201, ""},
		{"bodiless command", "POST", "/api/jobs/job_ghost/pause", "", "", "", "", 404, "JOB_NOT_FOUND"},
		{"cross-origin read", "GET", "/api/flows", "", "http://evil.example", "", "", 200, ""},
	}
	for _, c := range cases {
		resp, body := send(t, base, c.method, c.path, c.host, c.origin, c.ct, c.body)
		if resp.StatusCode != c.status || (c.code != "" && !strings.Contains(body, `"code":"`+c.code+`"`)) {
			t.Errorf("%s: %d %s, want %d %s", c.name, resp.StatusCode, body, c.status, c.code)
		}
	}
	if _, body := send(t, base, "POST", "/api/flows", "", "", "text/plain", flow); !strings.Contains(body, "Content-Type: application/json") {
		t.Errorf("the 415 does not say what to send: %s", body)
	}
	resp, _ := send(t, base, "GET", "/jobs", "", "", "", "")
	for _, h := range []string{"Content-Security-Policy", "X-Frame-Options", "Referrer-Policy", "X-Content-Type-Options"} {
		if resp.Header.Get(h) == "" {
			t.Errorf("the UI answer lacks %s", h)
		}
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") || !strings.Contains(csp, "script-src 'self'") {
		t.Errorf("CSP %q", csp)
	}
	if resp, _ := send(t, base, "GET", "/api/health", "", "", "", ""); resp.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("the API answer lacks nosniff: %v", resp.Header)
	}
}

func TestWildcardListenAcceptsAnyHostUnlessListed(t *testing.T) {
	open := servertest.Start(t, server.Config{Addr: "0.0.0.0:20555"})
	if resp, body := send(t, open.URL, "GET", "/api/health", "box.example", "", "", ""); resp.StatusCode != 200 {
		t.Fatalf("wildcard listen: %d %s", resp.StatusCode, body)
	}
	listed := servertest.Start(t, server.Config{Addr: "0.0.0.0:20555", AllowedHosts: []string{"box.example"}})
	if resp, _ := send(t, listed.URL, "GET", "/api/health", "other.example", "", "", ""); resp.StatusCode != 403 {
		t.Fatalf("wildcard listen with a host list: %d", resp.StatusCode)
	}
	specific := servertest.Start(t, server.Config{Addr: "10.1.2.3:20555"})
	if resp, _ := send(t, specific.URL, "GET", "/api/health", "10.1.2.3:20555", "", "", ""); resp.StatusCode != 200 {
		t.Fatalf("its own listen address: %d", resp.StatusCode)
	}
}
