// Package servertest starts a real Switchyard server for tests: a fresh
// SQLite file in the test's temp dir, served by httptest, shut down
// gracefully when the test ends.
package servertest

import (
	"bytes"
	"context"
	"log/slog"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchyard/switchyard/backend/server"
)

// Instance is a running server.
type Instance struct {
	Server *server.Server
	HTTP   *httptest.Server
	URL    string // e.g. http://127.0.0.1:41234
	t      testing.TB
}

// Start runs a server with cfg; an empty DataDir becomes a temp dir, a nil
// Logger discards logs.
func Start(t testing.TB, cfg server.Config) *Instance {
	t.Helper()
	if cfg.DataDir == "" {
		cfg.DataDir = t.TempDir()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Version == "" {
		cfg.Version = "test"
	}
	srv, err := server.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler)
	srv.Engine.SetServerURL(ts.URL)
	if err := srv.ContinueJobs(context.Background()); err != nil {
		t.Fatal(err)
	}
	in := &Instance{Server: srv, HTTP: ts, URL: ts.URL, t: t}
	t.Cleanup(in.Stop)
	return in
}

// Stop shuts the server down (as on SIGTERM); later calls do nothing.
func (in *Instance) Stop() {
	if in.HTTP == nil {
		return
	}
	in.HTTP.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := in.Server.Close(ctx); err != nil {
		in.t.Errorf("server close: %v", err)
	}
	in.HTTP = nil
}

// Buffer is an output written by a goroutine (a command, a server's log)
// while the test reads it.
type Buffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// ClearEnv unsets the SWITCHYARD_ variables of the environment tests run
// in (a SWITCHYARD_TOKEN there would be sent to the test's server): call it
// from TestMain; each test sets those it is about.
func ClearEnv() {
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "SWITCHYARD_") {
			os.Unsetenv(k)
		}
	}
}
