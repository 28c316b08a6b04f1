package server_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/gorilla/websocket"

	"github.com/switchyard/switchyard/backend/auth"
	"github.com/switchyard/switchyard/backend/server"
	"github.com/switchyard/switchyard/backend/servertest"
)

// mint stores a new token of the role and returns it; the server sees it at once.
func mint(t *testing.T, in *servertest.Instance, name string, role auth.Role) (id, token string) {
	t.Helper()
	tok, text, err := auth.NewToken(name, role, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := in.Server.Store.CreateToken(context.Background(), tok); err != nil {
		t.Fatal(err)
	}
	in.Server.Auth.Invalidate()
	return tok.ID, text
}

func revoke(t *testing.T, in *servertest.Instance, id string) {
	t.Helper()
	if _, err := in.Server.Store.RevokeToken(context.Background(), id, time.Now()); err != nil {
		t.Fatal(err)
	}
	in.Server.Auth.Invalidate()
}

// call sends a request with an optional bearer token and cookie; redirects are not followed.
func call(t *testing.T, method, url, token, cookie, body string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if cookie != "" {
		req.AddCookie(&http.Cookie{Name: server.CookieName, Value: cookie})
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }, Timeout: 20 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp, string(raw)
}

// dialWS opens a stream; it returns the status of a refused upgrade (101 on success) and its body.
func dialWS(t *testing.T, url string, header http.Header) (int, string) {
	t.Helper()
	d := websocket.Dialer{HandshakeTimeout: 10 * time.Second}
	conn, resp, err := d.Dial("ws"+strings.TrimPrefix(url, "http"), header)
	if err == nil {
		conn.Close()
		return http.StatusSwitchingProtocols, ""
	}
	if resp == nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(raw)
}

func bearer(token string) http.Header {
	if token == "" {
		return nil
	}
	return http.Header{"Authorization": {"Bearer " + token}}
}

// errorCode is the code of an error body ("" if the body is not one).
func errorCode(body string) (code, message string) {
	var e apiError
	_ = json.Unmarshal([]byte(body), &e)
	return e.Error.Code, e.Error.Message
}

func TestLoopbackWithoutTokensNeedsNone(t *testing.T) {
	in := start(t, t.TempDir())
	if code := in.json("POST", "/api/flows", dsl(ordersYAML), nil); code != http.StatusCreated {
		t.Fatalf("create flow without a token: %d", code)
	}
	if code := in.json("GET", "/api/flows", "", nil); code != 200 {
		t.Fatalf("list flows without a token: %d", code)
	}
	j := in.startJob("orders", `{"value": 2}`)
	if code, body := dialWS(t, in.URL+"/api/ws/jobs/"+j.JobID+"/monitor", nil); code != 101 {
		t.Fatalf("stream without a token: %d %s", code, body)
	}
	if resp, _ := call(t, "GET", in.URL+"/metrics", "", "", ""); resp.StatusCode != 200 {
		t.Fatalf("metrics without a token: %d", resp.StatusCode)
	}
	// A token that is revoked again leaves the server open as before.
	id, _ := mint(t, in.Instance, "ci", auth.Viewer)
	if resp, _ := call(t, "GET", in.URL+"/api/flows", "", "", ""); resp.StatusCode != 401 {
		t.Fatalf("with a token stored, a request without one: %d", resp.StatusCode)
	}
	revoke(t, in.Instance, id)
	if resp, _ := call(t, "GET", in.URL+"/api/flows", "", "", ""); resp.StatusCode != 200 {
		t.Fatalf("with the only token revoked: %d", resp.StatusCode)
	}
}

// Every route, REST and streams: no, wrong and revoked tokens are 401, a
// role below the route's is 403 naming the role needed, a role at or
// above it passes.
func TestEveryRouteAsksForItsRole(t *testing.T) {
	in := start(t, t.TempDir())
	if code := in.json("POST", "/api/flows", dsl(ordersYAML), nil); code != http.StatusCreated {
		t.Fatalf("create flow: %d", code)
	}
	j := in.startJob("orders", `{"value": 2}`)
	in.waitJob(j.JobID, status("completed"))

	tokens := map[auth.Role]string{}
	for _, r := range []auth.Role{auth.Viewer, auth.Operator, auth.Admin} {
		_, tokens[r] = mint(t, in.Instance, r.String(), r)
	}
	revokedID, revoked := mint(t, in.Instance, "old", auth.Admin)
	revoke(t, in.Instance, revokedID)
	adminID, _, _ := strings.Cut(strings.TrimPrefix(tokens[auth.Admin], auth.Prefix), "_")
	wrongSecret := auth.Prefix + adminID + "_" + strings.Repeat("0", 64)
	unknown := auth.Prefix + "000000000000_" + strings.Repeat("a", 64)

	routes := in.Server.Handler.(*gin.Engine).Routes()
	if len(routes) < 40 {
		t.Fatalf("only %d routes", len(routes))
	}
	// Writes run last (DELETE last of all), so reads see the flow and job.
	order := map[string]int{"GET": 0, "PUT": 1, "POST": 1, "DELETE": 2}
	for pass := 0; pass <= 2; pass++ {
		for _, rt := range routes {
			if order[rt.Method] != pass {
				continue
			}
			need, listed := server.RouteRole(rt.Method, rt.Path)
			if !listed {
				t.Errorf("%s %s has no role in the table", rt.Method, rt.Path)
				continue
			}
			id := "orders"
			if strings.Contains(rt.Path, "/jobs/:id") || strings.HasPrefix(rt.Path, "/api/ws/executions") {
				id = j.JobID
			}
			path := strings.NewReplacer(":id", id, ":bp", "bp_nope", ":aid", "1", ":name", "x").Replace(rt.Path)
			ws := strings.HasPrefix(path, "/api/ws/")
			try := func(token string) (int, string) {
				if ws {
					return dialWS(t, in.URL+path, bearer(token))
				}
				body := ""
				if rt.Method == "POST" || rt.Method == "PUT" {
					body = "{}"
				}
				resp, b := call(t, rt.Method, in.URL+path, token, "", body)
				return resp.StatusCode, b
			}
			name := rt.Method + " " + path
			if need == auth.None {
				if code, body := try(""); code == 401 || code == 403 {
					t.Errorf("%s is public but answered %d %s", name, code, body)
				}
				continue
			}
			for label, tok := range map[string]string{"no token": "", "garbage": "letmein", "unknown id": unknown,
				"wrong secret": wrongSecret, "revoked": revoked} {
				code, body := try(tok)
				if c, _ := errorCode(body); code != 401 || c != "UNAUTHORIZED" {
					t.Errorf("%s with %s: %d %s, want 401 UNAUTHORIZED", name, label, code, body)
				}
			}
			for _, r := range []auth.Role{auth.Viewer, auth.Operator, auth.Admin} {
				code, body := try(tokens[r])
				c, msg := errorCode(body)
				switch {
				case r < need && (code != 403 || c != "FORBIDDEN" || !strings.Contains(msg, "needs the "+need.String()+" role")):
					t.Errorf("%s as %s: %d %s, want 403 FORBIDDEN naming %s", name, r, code, body, need)
				case r >= need && (code == 401 || code == 403):
					t.Errorf("%s as %s (needs %s): %d %s", name, r, need, code, body)
				}
			}
		}
	}
	// The roles the issue names, spelled out.
	for _, c := range []struct {
		method, path string
		role         auth.Role
	}{
		{"POST", "/api/flows", auth.Admin}, {"PUT", "/api/flows/:id", auth.Admin}, {"DELETE", "/api/flows/:id", auth.Admin},
		{"DELETE", "/api/jobs/:id", auth.Admin}, {"POST", "/api/jobs", auth.Operator}, {"POST", "/api/jobs/:id/pause", auth.Operator},
		{"POST", "/api/jobs/:id/debug/step-over", auth.Operator}, {"PUT", "/api/jobs/:id/debug/variables/:name", auth.Operator},
		{"POST", "/api/jobs/:id/debug/evaluate", auth.Operator}, {"POST", "/api/flows/:id/breakpoints", auth.Operator},
		{"GET", "/api/jobs/:id", auth.Viewer}, {"GET", "/api/ws/jobs/:id/monitor", auth.Viewer}, {"GET", "/metrics", auth.Viewer},
		{"GET", "/healthz", auth.None}, {"GET", "/readyz", auth.None},
	} {
		if got, _ := server.RouteRole(c.method, c.path); got != c.role {
			t.Errorf("%s %s needs %s, want %s", c.method, c.path, got, c.role)
		}
	}
	// Unknown API paths need a token too; the UI's pages do not.
	if resp, _ := call(t, "GET", in.URL+"/api/nope", "", "", ""); resp.StatusCode != 401 {
		t.Errorf("unknown API path without a token: %d", resp.StatusCode)
	}
	if resp, _ := call(t, "GET", in.URL+"/flows/orders", "", "", ""); resp.StatusCode != 200 {
		t.Errorf("a UI page without a token: %d", resp.StatusCode)
	}
	// REST takes no ?token= (URLs end up in logs).
	if resp, body := call(t, "GET", in.URL+"/api/flows?token="+tokens[auth.Admin], "", "", ""); resp.StatusCode != 401 ||
		resp.Header.Get("WWW-Authenticate") == "" {
		t.Errorf("REST with ?token=: %d %s %v", resp.StatusCode, body, resp.Header)
	}
}

func TestStreamsTakeTokenInHeaderQueryOrCookie(t *testing.T) {
	in := start(t, t.TempDir())
	if code := in.json("POST", "/api/flows", dsl(ordersYAML), nil); code != http.StatusCreated {
		t.Fatalf("create flow: %d", code)
	}
	j := in.startJob("orders", `{"value": 2}`)
	_, token := mint(t, in.Instance, "viewer", auth.Viewer)
	for _, path := range []string{"/api/ws/jobs/" + j.JobID + "/monitor", "/api/ws/executions/" + j.JobID, "/api/ws/flows/orders/monitor"} {
		if code, body := dialWS(t, in.URL+path, nil); code != 401 {
			t.Errorf("%s without a token: %d %s", path, code, body)
		}
		if code, body := dialWS(t, in.URL+path+"?token=nope", nil); code != 401 {
			t.Errorf("%s with a bad ?token=: %d %s", path, code, body)
		}
		if code, body := dialWS(t, in.URL+path+"?token="+token, nil); code != 101 {
			t.Errorf("%s with ?token=: %d %s", path, code, body)
		}
		if code, body := dialWS(t, in.URL+path, bearer(token)); code != 101 {
			t.Errorf("%s with Authorization: Bearer: %d %s", path, code, body)
		}
		cookie := http.Header{"Cookie": {server.CookieName + "=" + token}}
		if code, body := dialWS(t, in.URL+path, cookie); code != 101 {
			t.Errorf("%s with the cookie: %d %s", path, code, body)
		}
	}
	// A stream that opened reads its job.
	d := websocket.Dialer{HandshakeTimeout: 10 * time.Second}
	conn, _, err := d.Dial("ws"+strings.TrimPrefix(in.URL, "http")+"/api/ws/executions/"+j.JobID+"?token="+token, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	var m map[string]any
	if err := conn.ReadJSON(&m); err != nil || m["type"] == nil {
		t.Fatalf("first message: %v %v", m, err)
	}
}

func TestUITokenIsExchangedForACookie(t *testing.T) {
	in := start(t, t.TempDir())
	_, token := mint(t, in.Instance, "browser", auth.Operator)
	resp, _ := call(t, "GET", in.URL+"/jobs?status=failed&token="+token, "", "", "")
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/jobs?status=failed" {
		t.Fatalf("exchange: %d, Location %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	var ck *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == server.CookieName {
			ck = c
		}
	}
	if ck == nil || ck.Value != token || !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode || ck.Path != "/" || ck.MaxAge <= 0 {
		t.Fatalf("cookie: %+v (Set-Cookie %q)", ck, resp.Header.Values("Set-Cookie"))
	}
	if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("redirect Cache-Control %q", cc)
	}
	// The cookie then stands for the token: the UI's calls and its streams work.
	if resp, body := call(t, "GET", in.URL+"/api/flows", "", ck.Value, ""); resp.StatusCode != 200 {
		t.Fatalf("API with the cookie: %d %s", resp.StatusCode, body)
	}
	if code, body := dialWS(t, in.URL+"/api/ws/monitor", http.Header{"Cookie": {ck.String()}}); code != 101 {
		t.Fatalf("stream with the cookie: %d %s", code, body)
	}
	// The page the redirect names loads without the token.
	if resp, _ := call(t, "GET", in.URL+"/jobs?status=failed", "", "", ""); resp.StatusCode != 200 {
		t.Fatalf("the UI page: %d", resp.StatusCode)
	}
	// A bad token sets no cookie, but leaves the address bar all the same.
	resp, _ = call(t, "GET", in.URL+"/?token=nope", "", "", "")
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/" || len(resp.Cookies()) != 0 {
		t.Fatalf("bad token: %d %q %v", resp.StatusCode, resp.Header.Get("Location"), resp.Cookies())
	}
	// The redirect stays on this server.
	req, _ := http.NewRequest("GET", in.URL+"/?token="+token, nil)
	req.URL.Path = "//evil.example/x"
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	r2, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	r2.Body.Close()
	if loc := r2.Header.Get("Location"); r2.StatusCode != http.StatusSeeOther || loc != "/evil.example/x" {
		t.Fatalf("//evil.example/x?token=: %d, Location %q (must stay on this server)", r2.StatusCode, loc)
	}
}

// The cache reads the stored tokens every auth.CacheTTL (2 s); the margin is
// for a slow machine.
func TestTokensStoredElsewhereCountWithinTwoSeconds(t *testing.T) {
	in := start(t, t.TempDir())
	if code := in.json("GET", "/api/flows", "", nil); code != 200 {
		t.Fatalf("open server: %d", code)
	}
	// Stored as switchyard tokens create would, from another process: no Invalidate.
	tok, text, _ := auth.NewToken("cli", auth.Viewer, time.Now())
	if err := in.Server.Store.CreateToken(context.Background(), tok); err != nil {
		t.Fatal(err)
	}
	stored := time.Now()
	for {
		resp, _ := call(t, "GET", in.URL+"/api/flows", "", "", "")
		if resp.StatusCode == 401 {
			break
		}
		if time.Since(stored) > auth.CacheTTL+1500*time.Millisecond {
			t.Fatalf("a new token did not count after %s", time.Since(stored))
		}
		time.Sleep(50 * time.Millisecond)
	}
	if resp, _ := call(t, "GET", in.URL+"/api/flows", text, "", ""); resp.StatusCode != 200 {
		t.Fatalf("with the token: %d", resp.StatusCode)
	}
	// Its use is recorded (off the request's path).
	deadline := time.Now().Add(5 * time.Second)
	for {
		list, err := in.Server.Store.ListTokens(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if list[0].LastUsedAt != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("last_used_at not recorded")
		}
		time.Sleep(20 * time.Millisecond)
	}
	// A revoke from elsewhere counts as fast (another token keeps the
	// server asking for one: with none left, loopback needs none).
	mint(t, in.Instance, "keeper", auth.Admin)
	if _, err := in.Server.Store.RevokeToken(context.Background(), tok.ID, time.Now()); err != nil {
		t.Fatal(err)
	}
	revoked := time.Now()
	for {
		resp, body := call(t, "GET", in.URL+"/api/flows", text, "", "")
		if resp.StatusCode == 401 {
			if _, msg := errorCode(body); !strings.Contains(msg, "revoked") {
				t.Errorf("revoked token's message: %s", body)
			}
			break
		}
		if time.Since(revoked) > auth.CacheTTL+1500*time.Millisecond {
			t.Fatalf("a revoke did not count after %s", time.Since(revoked))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// A server listening beyond loopback asks every request for a token; with
// none stored, it makes an admin token at start.
func TestNonLoopbackBindMakesAnAdminToken(t *testing.T) {
	dir := t.TempDir()
	runOnce := func() (port, token string) {
		srv, err := server.New(context.Background(), server.Config{Addr: "0.0.0.0:0", DataDir: dir, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		addr := make(chan string, 1)
		done := make(chan error, 1)
		go func() { done <- srv.Run(ctx, func(a string) { addr <- a }) }()
		var bound string
		select {
		case bound = <-addr:
		case err := <-done:
			t.Fatalf("run: %v", err)
		}
		t.Cleanup(func() { cancel(); <-done })
		_, port, _ = net.SplitHostPort(bound)
		return port, srv.GeneratedToken()
	}
	port, token := runOnce()
	if _, _, ok := auth.Parse(token); !ok {
		t.Fatalf("generated token %q", token)
	}
	base := "http://127.0.0.1:" + port
	if resp, body := call(t, "GET", base+"/api/flows", "", "", ""); resp.StatusCode != 401 {
		t.Fatalf("without the token: %d %s", resp.StatusCode, body)
	}
	if resp, body := call(t, "POST", base+"/api/flows", token, "", dsl(ordersYAML)); resp.StatusCode != 201 {
		t.Fatalf("admin with the generated token: %d %s", resp.StatusCode, body)
	}
	for _, p := range []string{"/healthz", "/readyz", "/api/health"} {
		if resp, _ := call(t, "GET", base+p, "", "", ""); resp.StatusCode != 200 {
			t.Errorf("%s: %d", p, resp.StatusCode)
		}
	}
	// A second start over the same data has its token: none is made.
	port2, again := runOnce()
	if again != "" {
		t.Fatalf("a second token was made: %q", again)
	}
	if resp, _ := call(t, "GET", "http://127.0.0.1:"+port2+"/api/flows", token, "", ""); resp.StatusCode != 200 {
		t.Fatalf("the first token on the second start: %d", resp.StatusCode)
	}
}

// Configured for a non-loopback address, the server needs a token even
// before any exists (servertest serves it without Run).
func TestNonLoopbackConfigNeedsATokenFromTheStart(t *testing.T) {
	in := servertest.Start(t, server.Config{Addr: "0.0.0.0:20555"})
	if resp, body := call(t, "GET", in.URL+"/api/flows", "", "", ""); resp.StatusCode != 401 {
		t.Fatalf("no token stored, wildcard address: %d %s", resp.StatusCode, body)
	}
	if code, _ := dialWS(t, in.URL+"/api/ws/monitor", nil); code != 401 {
		t.Fatalf("stream: %d", code)
	}
	_, token := mint(t, in, "admin", auth.Admin)
	if resp, body := call(t, "GET", in.URL+"/api/flows", token, "", ""); resp.StatusCode != 200 {
		t.Fatalf("with a token: %d %s", resp.StatusCode, body)
	}
}
