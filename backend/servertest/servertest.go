// Package servertest starts a real Switchyard server for tests: a fresh
// SQLite file in the test's temp dir, served by httptest, shut down
// gracefully when the test ends.
package servertest

import (
	"context"
	"log/slog"
	"net/http/httptest"
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
