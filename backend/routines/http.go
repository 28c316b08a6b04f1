package routines

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/switchyard/switchyard/backend/engine"
	"github.com/switchyard/switchyard/backend/netguard"
)

// maxResponseBody caps what an http routine reads; a larger response fails
// the activation rather than filling memory and the event log.
var maxResponseBody int64 = 10 << 20

var httpMethods = []string{"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"}

// maxRedirects is how many redirects a request follows; each is checked
// like the first request.
const maxRedirects = 10

// selfReadOnly are the paths of the server's own that an http routine may
// GET: read-only probes with no side effects, so the tour example can show
// a call that works on any port. Nothing else of the server is reachable.
var selfReadOnly = map[string]bool{"/api/health": true, "/healthz": true}

// newHTTPClient returns the client the http routines of one kind share;
// limits come from each request's context. Every connection goes through
// the guard, which checks the address connected to (after resolution, so
// DNS rebinding cannot slip past), and every redirect is a new request
// checked the same way. Proxies from the environment are not used: through
// a proxy the guard would see only the proxy's address.
func newHTTPClient(g *netguard.Guard) *http.Client {
	pooled := http.DefaultTransport.(*http.Transport).Clone()
	pooled.Proxy = nil
	pooled.DialContext = g.DialContext(false)
	// GETs of the server's own probes go through a transport that may
	// connect to the server but never keeps a connection, so no other
	// request can ride on one.
	probes := http.DefaultTransport.(*http.Transport).Clone()
	probes.Proxy = nil
	probes.DisableKeepAlives = true
	probes.DialContext = g.DialContext(true)
	return &http.Client{
		Transport: guardedTransport{pooled: pooled, probes: probes},
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= maxRedirects {
				return &tooManyRedirects{last: req.URL.Redacted()}
			}
			return nil
		},
	}
}

type tooManyRedirects struct{ last string }

func (e *tooManyRedirects) Error() string {
	return fmt.Sprintf("stopped after %d redirects (the last to %s)", maxRedirects, e.last)
}

type guardedTransport struct{ pooled, probes *http.Transport }

func (t guardedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method == http.MethodGet && selfReadOnly[req.URL.Path] {
		return t.probes.RoundTrip(req)
	}
	return t.pooled.RoundTrip(req)
}

// httpKind sends a request and emits the response; g decides where it may
// connect.
func httpKind(g *netguard.Guard) engine.Kind {
	client := newHTTPClient(g)
	return engine.Kind{
		Name: "http",
		Description: "Sends an HTTP request and emits {status, headers, body} on output; honours the time limit and cancel. " +
			"Loopback, private and link-local addresses (the cloud metadata service among them) are refused unless the server allows them with --http-allow; " +
			"of this server itself only GET /api/health and /healthz are reachable.",
		Slots:  []string{slotInput},
		Events: []string{eventOutput},
		Config: []engine.ConfigField{
			{Name: "url", Type: "template", Required: true, Description: `http:// or https:// URL; {{ expr }} segments are evaluated, e.g. "https://api.example.com/orders/{{ data.id }}". Redirects are followed (at most 10) and checked like the URL.`},
			{Name: "method", Type: "string", Default: "GET", Description: "One of GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS."},
			{Name: "headers", Type: "object", Description: "Request headers, name → value (string; {{ expr }} segments allowed)."},
			{Name: "body", Type: "expression", Description: `Expression whose result is sent JSON-encoded, e.g. "data" or "{id: data.id}"; sets Content-Type: application/json unless headers name one.`},
			{Name: "timeout_ms", Type: "number", Default: 10000, Description: "Time limit of the whole request in milliseconds, 1 to 600000."},
			{Name: "fail_on_status", Type: "boolean", Default: false, Description: "Fail the activation when the response status is 400 or above (by default it is emitted like any other response)."},
		},
		Build: func(cfg map[string]any) (engine.Runner, error) {
			r, err := buildHTTP(cfg)
			if err != nil {
				return nil, err
			}
			r.client, r.guard = client, g
			return r, nil
		},
	}
}

type httpHeader struct {
	name  string
	value *Template
}

type httpRunner struct {
	url          *Template
	method       string
	headers      []httpHeader
	body         *Expression
	timeout      time.Duration
	failOnStatus bool
	hasCType     bool
	client       *http.Client
	guard        *netguard.Guard
}

func buildHTTP(cfg map[string]any) (*httpRunner, error) {
	r := &httpRunner{}
	raw, err := reqString(cfg, "url")
	if err != nil {
		return nil, err
	}
	if r.url, err = ParseTemplate(raw); err != nil {
		return nil, fmt.Errorf("config.url: %w", err)
	}
	if s, static := r.url.Static(); static {
		if err := checkURL(s); err != nil {
			return nil, fmt.Errorf("config.url: %w", err)
		}
	}
	method, err := optString(cfg, "method", "GET")
	if err != nil {
		return nil, err
	}
	r.method = strings.ToUpper(strings.TrimSpace(method))
	if r.method == "" {
		r.method = "GET"
	}
	known := false
	for _, m := range httpMethods {
		known = known || m == r.method
	}
	if !known {
		return nil, fmt.Errorf("config.method must be one of %s, not %q", strings.Join(httpMethods, ", "), method)
	}
	if h, ok := cfg["headers"]; ok && h != nil {
		hm, ok := h.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("config.headers must be an object of name → string, not %s", describe(h))
		}
		names := make([]string, 0, len(hm))
		for k := range hm {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, k := range names {
			if !validHeaderName(k) {
				return nil, fmt.Errorf("config.headers: %q is not a valid header name", k)
			}
			v, ok := hm[k].(string)
			if !ok {
				return nil, fmt.Errorf("config.headers.%s must be a string, not %s", k, describe(hm[k]))
			}
			t, err := ParseTemplate(v)
			if err != nil {
				return nil, fmt.Errorf("config.headers.%s: %w", k, err)
			}
			r.headers = append(r.headers, httpHeader{name: k, value: t})
			r.hasCType = r.hasCType || strings.EqualFold(k, "Content-Type")
		}
	}
	if b, ok := cfg["body"]; ok && b != nil {
		if r.body, err = compileConfigExpr(cfg, "body", "", true); err != nil {
			return nil, err
		}
	}
	ms, err := number(cfg, "timeout_ms", 10000, false, 1, 600000)
	if err != nil {
		return nil, err
	}
	r.timeout = time.Duration(ms * float64(time.Millisecond))
	if r.failOnStatus, err = optBool(cfg, "fail_on_status", false); err != nil {
		return nil, err
	}
	return r, nil
}

func checkURL(s string) error {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil {
		return fmt.Errorf("%q is not a valid URL: %s", clip(s, 200), strings.TrimPrefix(err.Error(), "parse "))
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("%q must start with http:// or https://", clip(s, 200))
	}
	if u.Host == "" {
		return fmt.Errorf("%q has no host", clip(s, 200))
	}
	return nil
}

func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c > 126 || c <= 32 || strings.ContainsRune(`"(),/:;<=>?@[\]{}`, c) {
			return false
		}
	}
	return true
}

func httpError(format string, args ...any) error {
	return &Error{Name: "HTTPError", Err: fmt.Errorf(format, args...)}
}

func (r *httpRunner) Run(ctx context.Context, a *engine.Activation) error {
	env := a.Env()
	if job, ok := env["job"].(map[string]any); ok {
		// job.server is the server's own URL: the guard keeps flows off it
		// even when the server is served by a listener it did not open.
		if server, ok := job["server"].(string); ok {
			r.guard.NoteServerURL(server)
		}
	}
	target, err := r.url.Render(env)
	if err != nil {
		return err
	}
	target = strings.TrimSpace(target)
	if err := checkURL(target); err != nil {
		return httpError("http: url %w", err)
	}
	var body io.Reader
	if r.body != nil {
		v, err := r.body.Eval(env)
		if err != nil {
			return err
		}
		b, err := json.Marshal(v)
		if err != nil {
			return typeError("http: body is not JSON-encodable: %s", strings.TrimPrefix(err.Error(), "json: "))
		}
		body = bytes.NewReader(b)
	}
	rctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, r.method, target, body)
	if err != nil {
		return httpError("http: %s %s: %s", r.method, target, err)
	}
	req.Header.Set("User-Agent", "Switchyard")
	if body != nil && !r.hasCType {
		req.Header.Set("Content-Type", "application/json")
	}
	for _, h := range r.headers {
		v, err := h.value.Render(env)
		if err != nil {
			return err
		}
		req.Header.Set(h.name, v)
	}
	resp, err := r.client.Do(req)
	if err != nil {
		return r.requestError(ctx, rctx, target, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBody+1))
	if err != nil {
		return r.requestError(ctx, rctx, target, err)
	}
	if int64(len(raw)) > maxResponseBody {
		return httpError("http: %s %s: response body exceeds %d bytes", r.method, target, maxResponseBody)
	}
	if r.failOnStatus && resp.StatusCode >= 400 {
		return httpError("http: %s %s returned status %d", r.method, target, resp.StatusCode)
	}
	return a.Emit(ctx, eventOutput, map[string]any{
		"status":  resp.StatusCode,
		"headers": responseHeaders(resp.Header),
		"body":    responseBody(resp.Header.Get("Content-Type"), raw),
	})
}

// requestError tells a cancelled job, an expired time limit and a failed
// request apart.
func (r *httpRunner) requestError(ctx, rctx context.Context, target string, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if errors.Is(rctx.Err(), context.DeadlineExceeded) {
		return &Error{Name: "TimeoutError", Err: fmt.Errorf("http: %s %s timed out after %s", r.method, target, r.timeout)}
	}
	var uerr *url.Error
	redirected := ""
	if errors.As(err, &uerr) {
		err = uerr.Err
		var many *tooManyRedirects
		if !sameURL(uerr.URL, target) && !errors.As(err, &many) {
			redirected = " redirected to " + uerr.URL + ":"
		}
	}
	var denied *netguard.DeniedError
	if errors.As(err, &denied) {
		err = denied // without "dial tcp …: " in front
	}
	return httpError("http: %s %s:%s %s", r.method, target, redirected, err)
}

// sameURL compares URLs without their user info (url.Error masks a
// password).
func sameURL(a, b string) bool {
	ua, errA := url.Parse(a)
	ub, errB := url.Parse(b)
	if errA != nil || errB != nil {
		return a == b
	}
	ua.User, ub.User = nil, nil
	return ua.String() == ub.String()
}

// responseHeaders lowercases names and joins repeated values with ", ".
func responseHeaders(h http.Header) map[string]any {
	out := make(map[string]any, len(h))
	for k, vs := range h {
		out[strings.ToLower(k)] = strings.Join(vs, ", ")
	}
	return out
}

// responseBody parses JSON responses (application/json, …+json) into JSON
// values and returns anything else, or JSON that does not parse, as text.
func responseBody(contentType string, raw []byte) any {
	mt, _, _ := mime.ParseMediaType(contentType)
	if mt == "application/json" || strings.HasSuffix(mt, "+json") {
		if len(bytes.TrimSpace(raw)) == 0 {
			return nil
		}
		var v any
		if err := json.Unmarshal(raw, &v); err == nil {
			return v
		}
	}
	return string(raw)
}
