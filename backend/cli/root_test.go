package cli

import (
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// Each exit code, from one command line that earns it.
func TestExitCodes(t *testing.T) {
	base := startServer(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close() // nothing listens there now
	invalid := writeFile(t, "bad.yaml", "flow_id: x\nroutines: {a: {kind: nope}}\nconnections: []\n")
	for _, c := range []struct {
		code int
		args []string
		want string
	}{
		{ExitOK, []string{"version"}, ""},
		{ExitOK, []string{"flows", "list", "--server", base}, ""},
		{ExitFailed, []string{"jobs", "start", "broken", "--wait", "--server", base}, "no luck"},
		{ExitFailed, []string{"flows", "validate", "-f", invalid, "--server", base}, "the flow is invalid"},
		{ExitUsage, nil, "missing command"},
		{ExitUsage, []string{"frob"}, `unknown command "frob" for "switchyard"`},
		{ExitUsage, []string{"flows", "lst"}, `unknown command "lst" for "switchyard flows"`},
		{ExitUsage, []string{"flows", "list", "--nope"}, "unknown flag: --nope"},
		{ExitUsage, []string{"jobs", "get"}, "want <job_id>, got 0 arguments"},
		{ExitUsage, []string{"jobs", "list", "--limit", "many"}, `invalid argument "many" for "--limit"`},
		{ExitUsage, []string{"flows", "list", "-o", "xml"}, "--output: want table or json"},
		{ExitUsage, []string{"flows", "list", "--server", "ftp://x"}, "want http://host:port"},
		{ExitUsage, []string{"version", "extra"}, `unknown command "extra"`},
		{ExitUnreachable, []string{"flows", "list", "--server", closed}, "cannot reach the server at http://" + closed},
		{ExitUnreachable, []string{"jobs", "watch", "x", "--server", closed}, "connection refused"},
		{ExitUnreachable, []string{"jobs", "get", "x", "--server", "http://no-such-host.invalid:1"}, "cannot reach the server"},
		{ExitRefused, []string{"jobs", "get", "nope", "--server", base}, `JOB_NOT_FOUND (HTTP 404): `},
		{ExitRefused, []string{"jobs", "start", "nope", "--server", base}, "start job of flow nope: FLOW_NOT_FOUND (HTTP 404): "},
	} {
		expectCode(t, c.code, c.args, c.want)
	}
	// Usage errors point at help.
	if _, errOut, _ := runCLI(t, "jobs", "get"); !strings.Contains(errOut, "Run 'switchyard jobs get --help' for usage.") {
		t.Errorf("no pointer at help: %q", errOut)
	}
}

func TestVersionHelpCompletion(t *testing.T) {
	if out := mustRun(t, "version"); out != Version+"\n" {
		t.Errorf("version: %q", out)
	}
	if out := mustRun(t, "--version"); out != Version+"\n" {
		t.Errorf("--version: %q", out)
	}
	var v map[string]string
	runJSON(t, &v, ExitOK, "version")
	if v["version"] != Version {
		t.Errorf("version -o json: %v", v)
	}
	out := mustRun(t, "--help")
	for _, cmd := range []string{"serve", "flows", "jobs", "breakpoints", "version", "completion", "--server", "--token", "--output"} {
		if !strings.Contains(out, cmd) {
			t.Errorf("help lacks %s:\n%s", cmd, out)
		}
	}
	for _, sub := range []string{"jobs --help", "flows apply --help", "breakpoints add --help", "jobs logs --help"} {
		mustRun(t, strings.Fields(sub)...)
	}
	for shell, want := range map[string]string{"bash": "__start_switchyard", "zsh": "#compdef switchyard", "fish": "complete -c switchyard"} {
		if out := mustRun(t, "completion", shell); !strings.Contains(out, want) {
			t.Errorf("completion %s lacks %q", shell, want)
		}
	}
	// Completion of commands, through cobra's hidden __complete.
	if out := mustRun(t, "__complete", "jobs", ""); !strings.Contains(out, "watch") || !strings.Contains(out, "logs") {
		t.Errorf("__complete jobs: %q", out)
	}
}

// --server and --token come from the environment unless given; the token
// goes in an Authorization header (the server does not check it yet).
func TestServerAndTokenFromEnv(t *testing.T) {
	in := startInstance(t)
	var mu sync.Mutex
	var auth []string
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		auth = append(auth, r.Header.Get("Authorization"))
		mu.Unlock()
		in.Server.Handler.ServeHTTP(w, r)
	}))
	t.Cleanup(ts.Close)
	last := func() string {
		mu.Lock()
		defer mu.Unlock()
		return auth[len(auth)-1]
	}

	t.Setenv("SWITCHYARD_SERVER", strings.TrimPrefix(ts.URL, "http://"))
	var list struct{ Total int }
	runJSON(t, &list, ExitOK, "flows", "list")
	if list.Total != len(testFlows) || last() != "" {
		t.Errorf("via SWITCHYARD_SERVER: %+v, Authorization %q", list, last())
	}
	t.Setenv("SWITCHYARD_TOKEN", "s3cret")
	mustRun(t, "flows", "list")
	if last() != "Bearer s3cret" {
		t.Errorf("Authorization %q, want the token of SWITCHYARD_TOKEN", last())
	}
	mustRun(t, "flows", "list", "--token", "other")
	if last() != "Bearer other" {
		t.Errorf("Authorization %q, want --token's", last())
	}
	// The stream gets it too.
	mustRun(t, "jobs", "start", "steps", "--watch")
	mu.Lock()
	n := 0
	for _, a := range auth {
		if a == "Bearer s3cret" {
			n++
		}
	}
	mu.Unlock()
	if n < 4 { // list, start, the job's record, the stream
		t.Errorf("the token was sent %d times: %q", n, auth)
	}
	// --server beats SWITCHYARD_SERVER.
	t.Setenv("SWITCHYARD_SERVER", "127.0.0.1:1")
	runJSON(t, &list, ExitOK, "flows", "list", "--server", in.URL)
	expectCode(t, ExitUnreachable, []string{"flows", "list"}, "http://127.0.0.1:1")
}
