// Package server wires the store, the event bus, the engine, the API and the
// UI into one HTTP server and runs it until its context ends.
package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"time"

	"github.com/gin-gonic/gin"

	switchyard "github.com/switchyard/switchyard"
	"github.com/switchyard/switchyard/backend/api"
	"github.com/switchyard/switchyard/backend/apierr"
	"github.com/switchyard/switchyard/backend/auth"
	"github.com/switchyard/switchyard/backend/debug"
	"github.com/switchyard/switchyard/backend/engine"
	"github.com/switchyard/switchyard/backend/events"
	"github.com/switchyard/switchyard/backend/history"
	"github.com/switchyard/switchyard/backend/metrics"
	"github.com/switchyard/switchyard/backend/netguard"
	"github.com/switchyard/switchyard/backend/restart"
	"github.com/switchyard/switchyard/backend/routines"
	"github.com/switchyard/switchyard/backend/store"
	"github.com/switchyard/switchyard/backend/ui"
	"github.com/switchyard/switchyard/backend/ws"
)

// maxEventBacklog is how many events may wait for the disk before
// activations wait for it: a few of the writer's batches. Measured with a
// 250,000-step loop carrying 2 KB: peak RSS 268 MB at 5,000, ~1 GB at
// 50,000, past 8 GB without a bound.
const maxEventBacklog = 10_000

// maxBacklogBytes bounds the same backlog by what its payloads weigh, so
// 10,000 events of a megabyte each cannot pile up either.
const maxBacklogBytes = 64 << 20

// Config is the server's configuration.
type Config struct {
	Addr    string // listen address, e.g. 127.0.0.1:20555
	DataDir string // directory of the SQLite file
	// Examples loads the example flows into an empty database at start.
	Examples bool
	// MaxConcurrent bounds activations running at once over all jobs.
	MaxConcurrent int
	Version       string
	Logger        *slog.Logger
	// Streams tunes the WebSocket endpoints (heartbeat, origins, queues);
	// its AllowedOrigins may also write to the REST API.
	Streams ws.Config
	// AllowedHosts are host names the server answers to besides loopback
	// ones (and the address it listens on); other Host headers are refused,
	// which stops DNS rebinding. Listening on every interface without a
	// list accepts any host.
	AllowedHosts []string
	// ReadTimeout bounds the time a request takes to arrive, body included
	// [1m].
	ReadTimeout time.Duration
	// HTTPAllow opens addresses to the http routine, which by default
	// reaches only public ones (no loopback, private, link-local — the
	// cloud metadata service — CGNAT, multicast or reserved address). Each
	// entry is a CIDR ("10.0.0.0/8"), an IP (any port), a host name (any
	// port, whatever it resolves to) or either with a port
	// ("10.1.2.3:8080", "[::1]:9000", "api.internal:8443"); blank entries
	// are ignored, a bad one fails New naming it. No entry opens the
	// server's own address, of which a flow may only GET /api/health and
	// /healthz.
	HTTPAllow []string
	// Retention deletes finished jobs past an age or beyond a count in the
	// background (retention.go); zero keeps every job.
	Retention store.RetentionPolicy
	// MaxOutputBytes bounds the value one activation may emit, as JSON
	// (engine.Options.MaxOutputBytes): 0 is the engine's default, 1 MiB;
	// negative, no limit.
	MaxOutputBytes int64
}

// Server is a running Switchyard instance.
type Server struct {
	cfg      Config
	guard    *netguard.Guard // where http routines may connect
	Store    *store.Store
	Bus      *events.Bus
	Engine   *engine.Engine
	Debugger *debug.Debugger
	Streams  *ws.Server
	Handler  http.Handler
	// Auth checks API tokens (auth.go: which route needs which role).
	Auth      *auth.Authenticator
	generated string // the admin token Run created, if it did
	log       *slog.Logger
	history   *history.Service
	retainer  *retainer
}

// New opens the database and builds every component.
func New(ctx context.Context, cfg Config) (*Server, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	guard, err := netguard.New(cfg.HTTPAllow)
	if err != nil {
		return nil, err
	}
	migrations, err := fs.Sub(switchyard.Migrations, "migrations")
	if err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	st, err := store.Open(ctx, cfg.DataDir, migrations, cfg.Logger)
	if err != nil {
		return nil, err
	}
	hist := history.New(st, st.Writer, history.Options{Logger: cfg.Logger})
	reg := engine.NewRegistry()
	routines.Register(reg, routines.HTTPGuard(guard))
	bus := events.NewBus(st.Writer)
	dbg, err := debug.New(ctx, st, historyFrames{hist}, debug.Options{Logger: cfg.Logger})
	if err != nil {
		st.Close()
		return nil, err
	}
	var eng *engine.Engine
	var streams *ws.Server
	// The metrics' gauges read the engine and the streams when scraped.
	m := metrics.New(metrics.Sources{
		ActiveJobs: func() int { return len(eng.Active()) },
		Backlog:    st.Writer.Backlog,
		Streams: func() (map[string]int64, int64, int64) {
			s := streams.Stats()
			return s.Connections, s.Sent, s.LaggingCloses
		},
		HistoryCache: hist.CacheUsage,
		DBFile:       filepath.Join(cfg.DataDir, store.FileName),
	})
	st.Writer.ObserveBatches(m.BatchWritten)
	eng = engine.New(reg, bus, engine.Options{MaxConcurrent: cfg.MaxConcurrent, Logger: cfg.Logger, Hooks: dbg, Observer: m, MaxOutputBytes: cfg.MaxOutputBytes,
		Throttle: func(ctx context.Context) error { return st.Writer.WaitBacklog(ctx, maxEventBacklog, maxBacklogBytes) }})
	dbg.Attach(eng)

	if cfg.Examples {
		if err := loadExamples(ctx, st, reg, cfg.Logger); err != nil {
			st.Close()
			return nil, err
		}
	}
	uiHandler, err := ui.Default()
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("ui: %w", err)
	}
	authn := auth.New(st, cfg.Logger)
	if !isLoopback(cfg.Addr) {
		authn.RequireAlways()
	}
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.HandleMethodNotAllowed = true
	r.ContextWithFallback = true
	r.Use(requestLog(cfg.Logger), recovery(cfg.Logger), newGuard(cfg.Addr, cfg.AllowedHosts, cfg.Streams.AllowedOrigins).handle,
		(&authorizer{authn}).handle)
	api.New(api.Deps{Flows: st, Jobs: st, Log: st.Writer, Engine: eng, Debug: dbg, History: hist, Ready: st, Logger: cfg.Logger, Version: cfg.Version}).Register(r)
	if cfg.Streams.Logger == nil {
		cfg.Streams.Logger = cfg.Logger
	}
	streams = ws.New(cfg.Streams, st, st.Writer, eng, bus)
	streams.Register(r)
	r.GET("/metrics", gin.WrapH(m.Handler()))
	r.NoMethod(api.MethodNotAllowed)
	uiHandler.Register(r)
	ret := newRetainer(cfg.Retention, st, eng, dbg, hist, cfg.Logger, m.RetentionDeleted)
	ret.start()
	return &Server{cfg: cfg, guard: guard, Store: st, Bus: bus, Engine: eng, Debugger: dbg, Streams: streams, Handler: r, Auth: authn, log: cfg.Logger, history: hist, retainer: ret}, nil
}

// ContinueJobs continues the jobs the last run was running when it stopped
// without ending them (a crash), and ends those that cannot continue
// (backend/restart). It runs once the engine knows its server URL (job.server
// of a continued job is what it is from then on) and before requests are
// served; Run calls it.
func (s *Server) ContinueJobs(ctx context.Context) error {
	rep, err := restart.Run(ctx, s.Store, s.history, s.Engine, s.log)
	if err != nil {
		return fmt.Errorf("continue the jobs of the last run: %w", err)
	}
	if rep.Continued+rep.Failed > 0 {
		s.log.Warn("the last run stopped with jobs active", "continued", rep.Continued, "failed", rep.Failed)
	}
	return nil
}

// Run serves until ctx is cancelled, then shuts down gracefully: stop
// accepting requests, end active jobs as interrupted, flush the event log
// and close the database.
func (s *Server) Run(ctx context.Context, ready func(addr string)) error {
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		s.Close(context.Background())
		return fmt.Errorf("listen on %s: %w", s.cfg.Addr, err)
	}
	// http routines may not reach the server through the address it
	// listens on (every local address, if it is a wildcard), whatever
	// HTTPAllow says; its job.server URL is refused too, from the routine.
	s.guard.SetListenAddr(ln.Addr().String())
	// Beyond loopback every request needs a token; with none stored, one is made.
	if err := s.requireTokens(ctx, ln.Addr().String()); err != nil {
		ln.Close()
		s.Close(context.Background())
		return err
	}
	// A request has ReadTimeout to arrive whole (a client trickling a body
	// must not hold a connection for ever); answers are not bounded, as
	// streams and long waits are answers: there is deliberately no
	// WriteTimeout, which would cut WebSocket streams and ?wait= requests
	// short. IdleTimeout closes kept connections left unused. WebSockets
	// clear the read deadline when they upgrade.
	readTimeout := s.cfg.ReadTimeout
	if readTimeout <= 0 {
		readTimeout = time.Minute
	}
	srv := &http.Server{Handler: s.Handler, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: readTimeout, IdleTimeout: 2 * time.Minute}
	s.Engine.SetServerURL(serverURL(ln.Addr().String()))
	if err := s.ContinueJobs(ctx); err != nil {
		ln.Close()
		s.Close(context.Background())
		return err
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	if ready != nil {
		ready(ln.Addr().String())
	}
	select {
	case err := <-errc:
		s.Close(context.Background())
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	s.log.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	errHTTP := srv.Shutdown(shutdownCtx)
	if errors.Is(errHTTP, http.ErrServerClosed) {
		errHTTP = nil
	}
	return errors.Join(errHTTP, s.Close(shutdownCtx))
}

// Close ends the streams, stops the engine (active jobs end as
// interrupted) and closes the store.
func (s *Server) Close(ctx context.Context) error {
	s.retainer.close()
	s.Streams.Close()
	errEngine := s.Engine.Shutdown(ctx)
	errDebug := s.Debugger.Close()
	s.Auth.Close()
	return errors.Join(errEngine, errDebug, s.Store.Close())
}

func requestLog(log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		c.Next()
		log.Debug("request", "method", c.Request.Method, "path", c.Request.URL.Path,
			"status", c.Writer.Status(), "duration", time.Since(start))
	}
}

// recovery turns a handler panic into a logged 500 instead of a dropped
// connection; a panic is always a bug to fix.
func recovery(log *slog.Logger) gin.HandlerFunc {
	return gin.CustomRecoveryWithWriter(io.Discard, func(c *gin.Context, err any) {
		log.Error("handler panic", "method", c.Request.Method, "path", c.Request.URL.Path, "panic", err)
		apierr.Abort(c, apierr.Internal, "internal error; see the server log")
	})
}

// serverURL is the base URL of a listening address; a wildcard host is
// reached on loopback.
func serverURL(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "http://" + addr
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port)
}
