package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/switchyard/switchyard/backend/apierr"
	"github.com/switchyard/switchyard/backend/auth"
	"github.com/switchyard/switchyard/backend/ui"
)

// CookieName is the cookie a UI page's ?token= is exchanged for.
const CookieName = "switchyard_token"

// cookieMaxAge is how long the browser keeps the token cookie.
const cookieMaxAge = 30 * 24 * time.Hour

// routeRoles is the least role each route needs, by method and Gin route
// pattern. A route missing here needs admin (a test checks every route is
// listed, and that docs/api.md's table says the same).
var routeRoles = map[string]auth.Role{
	"GET /healthz":                auth.None,
	"GET /readyz":                 auth.None,
	"GET /api/health":             auth.None,
	"GET /metrics":                auth.Viewer,
	"GET /api/routines":           auth.Viewer,
	"GET /api/openapi.json":       auth.Viewer,
	"POST /api/expressions/check": auth.Operator,

	"POST /api/flows":                       auth.Admin,
	"GET /api/flows":                        auth.Viewer,
	"GET /api/flows/:id":                    auth.Viewer,
	"PUT /api/flows/:id":                    auth.Admin,
	"DELETE /api/flows/:id":                 auth.Admin,
	"POST /api/flows/:id/validate":          auth.Operator,
	"GET /api/flows/:id/dsl":                auth.Viewer,
	"POST /api/flows/:id/breakpoints":       auth.Operator,
	"GET /api/flows/:id/breakpoints":        auth.Viewer,
	"PUT /api/flows/:id/breakpoints/:bp":    auth.Operator,
	"DELETE /api/flows/:id/breakpoints/:bp": auth.Operator,

	"POST /api/jobs":                          auth.Operator,
	"GET /api/jobs":                           auth.Viewer,
	"GET /api/jobs/:id":                       auth.Viewer,
	"DELETE /api/jobs/:id":                    auth.Admin,
	"POST /api/jobs/:id/pause":                auth.Operator,
	"POST /api/jobs/:id/resume":               auth.Operator,
	"POST /api/jobs/:id/cancel":               auth.Operator,
	"GET /api/jobs/:id/events":                auth.Viewer,
	"GET /api/jobs/:id/logs":                  auth.Viewer,
	"GET /api/jobs/:id/metrics":               auth.Viewer,
	"GET /api/jobs/:id/state":                 auth.Viewer,
	"GET /api/jobs/:id/activations":           auth.Viewer,
	"GET /api/jobs/:id/activations/:aid":      auth.Viewer,
	"POST /api/jobs/:id/breakpoints":          auth.Operator,
	"GET /api/jobs/:id/breakpoints":           auth.Viewer,
	"PUT /api/jobs/:id/breakpoints/:bp":       auth.Operator,
	"DELETE /api/jobs/:id/breakpoints/:bp":    auth.Operator,
	"GET /api/jobs/:id/debug/session":         auth.Viewer,
	"GET /api/jobs/:id/debug/call-stack":      auth.Viewer,
	"GET /api/jobs/:id/debug/variables":       auth.Viewer,
	"PUT /api/jobs/:id/debug/variables/:name": auth.Operator,
	"POST /api/jobs/:id/debug/evaluate":       auth.Operator,
	"POST /api/jobs/:id/debug/resume":         auth.Operator,
	"POST /api/jobs/:id/debug/step-over":      auth.Operator,
	"POST /api/jobs/:id/debug/step-into":      auth.Operator,
	"POST /api/jobs/:id/debug/step-out":       auth.Operator,

	"GET /api/ws/executions/:id":    auth.Viewer,
	"GET /api/ws/jobs/:id/monitor":  auth.Viewer,
	"GET /api/ws/jobs/:id/debug":    auth.Viewer,
	"GET /api/ws/flows/:id/monitor": auth.Viewer,
	"GET /api/ws/monitor":           auth.Viewer,
}

// roleFor is the least role a request needs: its route's; the UI's pages
// and files are public (they hold no data; the UI asks the API); any
// other path (an unknown /api path, a wrong method) needs viewer.
func roleFor(c *gin.Context) auth.Role {
	if route := c.FullPath(); route != "" {
		if role, ok := routeRoles[c.Request.Method+" "+route]; ok {
			return role
		}
		return auth.Admin
	}
	if p := c.Request.URL.Path; !ui.IsAPIPath(p) && p != "/metrics" {
		return auth.None
	}
	return auth.Viewer
}

// authorizer is the middleware that asks requests for a token.
type authorizer struct {
	a *auth.Authenticator
}

func (z *authorizer) handle(c *gin.Context) {
	r := c.Request
	if (r.Method == http.MethodGet || r.Method == http.MethodHead) && !ui.IsAPIPath(r.URL.Path) && r.URL.Path != "/metrics" && r.URL.Query().Has("token") {
		z.exchange(c)
		return
	}
	need := roleFor(c)
	if need == auth.None {
		c.Next()
		return
	}
	required, err := z.a.Required(r.Context())
	if err != nil {
		apierr.Abort(c, apierr.Unavailable, "cannot read the API tokens; see the server log")
		return
	}
	if !required {
		c.Next()
		return
	}
	token, err := credential(r)
	if err == nil && token == "" {
		err = errors.New("this server needs a token: send Authorization: Bearer <token> " +
			"(switchyard tokens create makes one; the UI takes it once as ?token=)")
	}
	if err != nil {
		unauthorized(c, err.Error())
		return
	}
	id, err := z.a.Check(r.Context(), token)
	switch {
	case errors.Is(err, auth.ErrMalformed), errors.Is(err, auth.ErrInvalid), errors.Is(err, auth.ErrRevoked):
		unauthorized(c, err.Error())
		return
	case err != nil:
		apierr.Abort(c, apierr.Unavailable, "cannot read the API tokens; see the server log")
		return
	}
	if id.Role < need {
		apierr.Abort(c, apierr.Forbidden, fmt.Sprintf("%s %s needs the %s role; token %s (%q) has the %s role",
			r.Method, r.URL.Path, need, id.TokenID, id.Name, id.Role))
		return
	}
	c.Next()
}

func unauthorized(c *gin.Context, msg string) {
	c.Header("WWW-Authenticate", `Bearer realm="switchyard"`)
	apierr.Abort(c, apierr.Unauthorized, msg)
}

// credential is the token a request carries: Authorization: Bearer, else
// (for a stream, whose browser or seed clients may set no header) ?token=,
// else the UI's cookie. REST calls do not take ?token=: URLs end up in logs.
func credential(r *http.Request) (string, error) {
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, token, _ := strings.Cut(strings.TrimSpace(h), " ")
		if !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
			return "", errors.New("Authorization: want Bearer <token>")
		}
		return strings.TrimSpace(token), nil
	}
	if strings.HasPrefix(r.URL.Path, "/api/ws/") {
		if t := r.URL.Query().Get("token"); t != "" {
			return t, nil
		}
	}
	if ck, err := r.Cookie(CookieName); err == nil && ck.Value != "" {
		return ck.Value, nil
	}
	return "", nil
}

// exchange turns a UI page's ?token= into an HttpOnly, SameSite=Strict
// cookie and redirects to the same URL without it, so the token leaves the
// address bar and the history. A token that is not valid sets no cookie;
// the page then shows the API's 401.
func (z *authorizer) exchange(c *gin.Context) {
	r := c.Request
	q := r.URL.Query()
	token := q.Get("token")
	q.Del("token")
	if _, err := z.a.Check(r.Context(), token); err == nil {
		http.SetCookie(c.Writer, &http.Cookie{Name: CookieName, Value: token, Path: "/", MaxAge: int(cookieMaxAge.Seconds()),
			HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil})
	}
	// A path of "//host" would redirect to another site.
	target := url.URL{Path: "/" + strings.TrimLeft(r.URL.Path, "/\\"), RawQuery: q.Encode()}
	c.Header("Cache-Control", "no-store")
	c.Redirect(http.StatusSeeOther, target.String())
	c.Abort()
}

// isLoopback reports whether a listen address is loopback only; an empty
// one counts (servertest serves the handler on loopback itself).
func isLoopback(addr string) bool {
	if addr == "" {
		return true
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}

// requireTokens makes a server listening beyond loopback ask every
// request for a token; when none is stored it creates an admin token,
// which GeneratedToken returns for the start message.
func (s *Server) requireTokens(ctx context.Context, addr string) error {
	if isLoopback(addr) {
		return nil
	}
	s.Auth.RequireAlways()
	has, err := s.Auth.HasTokens(ctx)
	if err != nil {
		return fmt.Errorf("read the API tokens: %w", err)
	}
	if has {
		return nil
	}
	t, token, err := auth.NewToken("admin (created at start)", auth.Admin, time.Now())
	if err != nil {
		return err
	}
	if err := s.Store.CreateToken(ctx, t); err != nil {
		return fmt.Errorf("create an admin token: %w", err)
	}
	s.Auth.Invalidate()
	s.generated = token
	s.log.Warn("the server listens beyond loopback and had no API token: created an admin token (its URL is printed at start)",
		"addr", addr, "token_id", t.ID)
	return nil
}

// GeneratedToken is the admin token Run created because the server
// listens beyond loopback and had none ("" if it did not); it is valid
// until revoked (switchyard tokens revoke).
func (s *Server) GeneratedToken() string { return s.generated }

// RouteRole is the least role of a route (method and Gin pattern, e.g.
// "GET", "/api/jobs/:id") and whether the table lists it.
func RouteRole(method, route string) (auth.Role, bool) {
	role, ok := routeRoles[method+" "+route]
	return role, ok
}
