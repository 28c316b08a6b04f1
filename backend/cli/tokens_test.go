package cli

import (
	"context"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/switchyard/switchyard/backend/server"
	"github.com/switchyard/switchyard/backend/servertest"
)

type tokenList struct {
	Tokens []struct {
		ID         string     `json:"token_id"`
		Name       string     `json:"name"`
		Role       string     `json:"role"`
		LastUsedAt *time.Time `json:"last_used_at"`
		Revoked    bool       `json:"revoked"`
	} `json:"tokens"`
	Total int `json:"total"`
}

// The tokens commands work on the database of a running server, which
// then asks for them; --token and SWITCHYARD_TOKEN carry them on REST
// calls and on the stream.
func TestTokensEndToEnd(t *testing.T) {
	dir := t.TempDir()
	in := servertest.Start(t, server.Config{DataDir: dir})
	resp, err := http.Post(in.URL+"/api/flows", "application/yaml", strings.NewReader(testFlows[0]))
	if err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("create flow: %v %v", resp, err)
	}
	resp.Body.Close()
	base := in.URL

	var list tokenList
	runJSON(t, &list, ExitOK, "tokens", "list", "--data", dir)
	if list.Total != 0 {
		t.Fatalf("fresh database: %+v", list)
	}
	out, errOut, code := runCLI(t, "tokens", "create", "--name", "ci", "--role", "admin", "--data", dir)
	admin := strings.TrimSpace(out)
	if code != ExitOK || !strings.HasPrefix(admin, "sy_") || strings.Contains(admin, "\n") || !strings.Contains(errOut, "shown only now") {
		t.Fatalf("create: %d %q %q", code, out, errOut)
	}
	var created struct {
		ID    string `json:"token_id"`
		Role  string `json:"role"`
		Token string `json:"token"`
	}
	t.Setenv("SWITCHYARD_DATA", dir) // as serve reads it
	runJSON(t, &created, ExitOK, "tokens", "create", "--name", "watcher", "--role", "viewer")
	viewer := created.Token
	if created.Role != "viewer" || !strings.HasPrefix(viewer, "sy_"+created.ID+"_") {
		t.Fatalf("create -o json: %+v", created)
	}

	// The server asks for a token within its cache time (2 s).
	eventually(t, "the server to ask for a token", func() bool {
		_, errOut, code := runCLI(t, "flows", "list", "--server", base)
		return code == ExitRefused && strings.Contains(errOut, "UNAUTHORIZED (HTTP 401)")
	})
	mustRun(t, "flows", "list", "--server", base, "--token", admin)
	t.Setenv("SWITCHYARD_TOKEN", viewer)
	mustRun(t, "flows", "list", "--server", base)
	expectCode(t, ExitRefused, []string{"jobs", "start", "steps", "--server", base}, "FORBIDDEN (HTTP 403)", "needs the operator role")
	// The stream takes the token on its handshake.
	out = mustRun(t, "jobs", "start", "steps", "--watch", "--progress", "never", "--server", base, "--token", admin)
	if !strings.Contains(out, "completed") {
		t.Errorf("watch as admin: %q", out)
	}
	jobID := ""
	var jobs struct {
		Jobs []struct {
			JobID string `json:"job_id"`
		} `json:"jobs"`
	}
	runJSON(t, &jobs, ExitOK, "jobs", "list", "--server", base)
	if len(jobs.Jobs) == 1 {
		jobID = jobs.Jobs[0].JobID
	}
	if out := mustRun(t, "jobs", "watch", jobID, "--progress", "never", "--server", base); !strings.Contains(out, "completed") {
		t.Errorf("watch as viewer (SWITCHYARD_TOKEN): %q", out)
	}
	expectCode(t, ExitRefused, []string{"flows", "list", "--server", base, "--token", "sy_nope"}, "UNAUTHORIZED", "malformed")

	// Their use is recorded; list shows it, never a secret.
	eventually(t, "last_used_at", func() bool {
		runJSON(t, &list, ExitOK, "tokens", "list")
		return list.Total == 2 && list.Tokens[0].LastUsedAt != nil && list.Tokens[1].LastUsedAt != nil
	})
	table := mustRun(t, "tokens", "list")
	if !strings.Contains(table, "LAST USED") || !strings.Contains(table, "watcher") || strings.Contains(table, admin[16:]) {
		t.Errorf("tokens list:\n%s", table)
	}

	out = mustRun(t, "tokens", "revoke", created.ID)
	if !strings.Contains(out, "revoked token "+created.ID) {
		t.Errorf("revoke: %q", out)
	}
	eventually(t, "the revoked token to be refused", func() bool {
		_, errOut, code := runCLI(t, "flows", "list", "--server", base)
		return code == ExitRefused && strings.Contains(errOut, "revoked")
	})
	runJSON(t, &list, ExitOK, "tokens", "list")
	if !list.Tokens[1].Revoked || list.Tokens[0].Revoked {
		t.Errorf("after revoke: %+v", list)
	}
	mustRun(t, "flows", "list", "--server", base, "--token", admin)

	expectCode(t, ExitFailed, []string{"tokens", "revoke", "nope"}, `no token "nope"`)
	expectCode(t, ExitUsage, []string{"tokens", "create", "--name", "x", "--role", "root"}, "--role: unknown role")
	expectCode(t, ExitUsage, []string{"tokens", "create", "--role", "viewer"}, "--name")
	expectCode(t, ExitUsage, []string{"tokens", "revoke"}, "want <token_id>, got 0 arguments")
	expectCode(t, ExitFailed, []string{"tokens", "list", "--data", t.TempDir()}, "no database at")
	// The tokens commands need no server: a bad --server does not matter.
	mustRun(t, "tokens", "list", "--server", "ftp://x")
}

// serve on a non-loopback address with no token makes an admin token and
// prints the UI's URL with it.
func TestServeBeyondLoopbackPrintsATokenURL(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dir := t.TempDir()
	var out, logs servertest.Buffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--addr", "0.0.0.0:0", "--data", dir, "--examples=false"},
			strings.NewReader(""), &out, &logs, false)
	}()
	printed := regexp.MustCompile(`http://127\.0\.0\.1:(\d+)/\?token=(sy_[0-9a-f_]+)`)
	var m []string
	eventually(t, "serve to print the token URL", func() bool {
		select {
		case code := <-done:
			t.Fatalf("serve ended with %d:\n%s", code, logs.String())
		default:
		}
		m = printed.FindStringSubmatch(logs.String())
		return m != nil
	})
	base, token := "http://127.0.0.1:"+m[1], m[2]
	expectCode(t, ExitRefused, []string{"flows", "list", "--server", base}, "UNAUTHORIZED")
	mustRun(t, "flows", "list", "--server", base, "--token", token)
	var list tokenList
	runJSON(t, &list, ExitOK, "tokens", "list", "--data", dir)
	if list.Total != 1 || list.Tokens[0].Role != "admin" {
		t.Errorf("tokens: %+v", list)
	}
	cancel()
	select {
	case code := <-done:
		if code != ExitOK {
			t.Fatalf("serve ended with %d:\n%s", code, logs.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("serve did not stop")
	}
}
