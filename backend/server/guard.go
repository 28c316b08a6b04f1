package server

import (
	"fmt"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/switchyard/switchyard/backend/apierr"
)

// guard keeps browsers from being used against the server: a page on
// another site may not write to it (cross-origin, or with a body that is
// not JSON or YAML: text/plain is what a form or a no-preflight fetch
// sends), and a page reached through another host name (DNS rebinding)
// may not use it at all. The UI's answers carry headers that keep it out
// of frames and limit what it may load.
type guard struct {
	anyHost bool            // the server listens on every interface and no host list was given
	hosts   map[string]bool // host names (without port) besides loopback ones
	origins []string        // browser origins allowed to write besides the server's own
}

func newGuard(addr string, allowedHosts, allowedOrigins []string) *guard {
	g := &guard{hosts: map[string]bool{}, origins: allowedOrigins}
	for _, h := range allowedHosts {
		g.hosts[strings.ToLower(strings.TrimSpace(h))] = true
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	ip := net.ParseIP(host)
	switch {
	case host == "" || (ip != nil && ip.IsUnspecified()):
		g.anyHost = len(allowedHosts) == 0
	case ip == nil || !ip.IsLoopback():
		g.hosts[strings.ToLower(host)] = true // a specific address or name it was told to listen on
	}
	return g
}

// uiHeaders go on the UI's answers (the API's are JSON, never rendered):
// the UI loads only its own files and talks only to its own origin; React
// and the graph set inline styles.
var uiHeaders = map[string]string{
	"Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
		"connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'; object-src 'none'",
	"X-Frame-Options": "DENY",
	"Referrer-Policy": "no-referrer",
}

func (g *guard) handle(c *gin.Context) {
	r := c.Request
	c.Header("X-Content-Type-Options", "nosniff")
	if !strings.HasPrefix(r.URL.Path, "/api/") {
		for k, v := range uiHeaders {
			c.Header(k, v)
		}
	}
	if !g.hostAllowed(r.Host) {
		apierr.Abort(c, apierr.HostNotAllowed,
			fmt.Sprintf("host %q is not a name of this server (allow it with --allowed-hosts)", r.Host))
		return
	}
	if writes(r.Method) && strings.HasPrefix(r.URL.Path, "/api/") {
		if origin := r.Header.Get("Origin"); origin != "" && !g.originAllowed(origin, r.Host) {
			apierr.Abort(c, apierr.OriginNotAllowed,
				fmt.Sprintf("origin %q may not change this server (allow it with --allowed-origins)", origin))
			return
		}
		if hasBody(r) && !acceptedBody(r.Header.Get("Content-Type")) {
			apierr.Abort(c, apierr.UnsupportedMediaType,
				fmt.Sprintf("Content-Type %q is not accepted: send JSON with Content-Type: application/json (curl: -H 'Content-Type: application/json'), or a flow as application/yaml", r.Header.Get("Content-Type")))
			return
		}
	}
	c.Next()
}

func writes(method string) bool {
	return method != http.MethodGet && method != http.MethodHead && method != http.MethodOptions
}

func hasBody(r *http.Request) bool { return r.ContentLength != 0 }

// acceptedBody reports the media types the API reads: JSON, and YAML for
// flows. Browsers cannot send them cross-origin without a preflight.
func acceptedBody(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	switch mt {
	case "application/json", "application/yaml", "application/x-yaml", "text/yaml":
		return true
	}
	return false
}

func (g *guard) hostAllowed(hostport string) bool {
	if g.anyHost {
		return true
	}
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.ToLower(strings.Trim(host, "[]"))
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return true
	}
	return g.hosts[host]
}

// originAllowed accepts the server's own origin (the host the request was
// sent to) and the configured ones.
func (g *guard) originAllowed(origin, host string) bool {
	if u, err := url.Parse(origin); err == nil && strings.EqualFold(u.Host, host) {
		return true
	}
	for _, allowed := range g.origins {
		if allowed == "*" || strings.EqualFold(strings.TrimSuffix(allowed, "/"), origin) {
			return true
		}
	}
	return false
}
