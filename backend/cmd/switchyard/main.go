// Command switchyard is the flow execution server.
//
//	switchyard serve [--addr 127.0.0.1:20555] [--data ./data] [--examples=true] [--log-level info]
//
// Every flag has a SWITCHYARD_* environment equivalent (SWITCHYARD_ADDR,
// SWITCHYARD_DATA, SWITCHYARD_EXAMPLES, SWITCHYARD_LOG_LEVEL); a flag given on
// the command line wins.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/switchyard/switchyard/backend/server"
	"github.com/switchyard/switchyard/backend/ws"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "switchyard:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) == 0 {
		usage()
		return errors.New("missing command")
	}
	switch args[0] {
	case "jobs":
		return jobs(args[1:])
	case "serve":
		return serve(args[1:])
	case "version", "--version":
		fmt.Println(version)
		return nil
	case "help", "-h", "--help":
		usage()
		return nil
	default:
		usage()
		return fmt.Errorf("unknown command %q", args[0])
	}
}

func usage() {
	fmt.Fprint(os.Stderr, `usage: switchyard <command> [flags]

commands:
  serve     run the server (switchyard serve --help for flags)
  jobs      start and watch jobs of a running server (switchyard jobs help)
  version   print the version
`)
}

func serve(args []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:20555", "listen address (SWITCHYARD_ADDR)")
	data := fs.String("data", "./data", "data directory holding the SQLite file (SWITCHYARD_DATA)")
	examples := fs.Bool("examples", true, "load the example flows into an empty database (SWITCHYARD_EXAMPLES)")
	level := fs.String("log-level", "info", "debug, info, warn or error (SWITCHYARD_LOG_LEVEL)")
	maxConc := fs.Int("max-concurrent", 256, "activations running at once over all jobs (SWITCHYARD_MAX_CONCURRENT)")
	pingEvery := fs.Duration("ws-ping-interval", 20*time.Second, "WebSocket ping interval (SWITCHYARD_WS_PING_INTERVAL)")
	wsTimeout := fs.Duration("ws-timeout", 60*time.Second, "close a WebSocket peer silent this long (SWITCHYARD_WS_TIMEOUT)")
	heartbeat := fs.Duration("ws-heartbeat-interval", 30*time.Second, "seed 004 JSON ping interval (SWITCHYARD_WS_HEARTBEAT_INTERVAL)")
	origins := fs.String("allowed-origins", "", "comma-separated browser origins allowed to open streams and write to the API besides the server's own (SWITCHYARD_ALLOWED_ORIGINS)")
	hosts := fs.String("allowed-hosts", "", "comma-separated host names the server answers to besides loopback ones and its listen address (SWITCHYARD_ALLOWED_HOSTS)")
	if err := settingsFromEnv(fs); err != nil {
		return err
	}
	if err := fs.Parse(args); errors.Is(err, flag.ErrHelp) {
		return nil // the flags were printed, as asked
	} else if err != nil {
		return err
	}
	if *maxConc < 1 {
		return fmt.Errorf("--max-concurrent (SWITCHYARD_MAX_CONCURRENT) must be at least 1, got %d", *maxConc)
	}
	for name, d := range map[string]time.Duration{"ws-ping-interval": *pingEvery, "ws-timeout": *wsTimeout, "ws-heartbeat-interval": *heartbeat} {
		if d <= 0 {
			return fmt.Errorf("--%s (%s) must be a positive duration, got %s", name, envName(name), d)
		}
	}
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(*level)); err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: lvl}))
	slog.SetDefault(logger)
	server.TuneGC()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	srv, err := server.New(ctx, server.Config{
		Addr: *addr, DataDir: *data, Examples: *examples, MaxConcurrent: *maxConc, Version: version, Logger: logger,
		Streams:      ws.Config{PingInterval: *pingEvery, PongTimeout: *wsTimeout, HeartbeatInterval: *heartbeat, AllowedOrigins: splitList(*origins)},
		AllowedHosts: splitList(*hosts),
	})
	if err != nil {
		return err
	}
	return srv.Run(ctx, func(bound string) {
		logger.Info("switchyard is running", "url", "http://"+bound+"/", "data", *data)
		fmt.Fprintf(os.Stderr, "\n  Switchyard is ready: open http://%s/\n\n", bound)
	})
}

// envName is the environment variable of a flag: SWITCHYARD_ and its name
// in capitals, dashes as underscores.
func envName(flagName string) string {
	return "SWITCHYARD_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// settingsFromEnv sets each flag that has its environment variable set, so
// that the command line, parsed next, overrides the environment, which
// overrides the defaults. A bad value is an error naming the variable.
func settingsFromEnv(fs *flag.FlagSet) error {
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		v, ok := os.LookupEnv(envName(f.Name))
		if !ok || v == "" || err != nil {
			return
		}
		if e := fs.Set(f.Name, strings.TrimSpace(v)); e != nil {
			err = fmt.Errorf("%s=%q: %v", envName(f.Name), v, e)
		}
	})
	return err
}

func splitList(s string) []string {
	var out []string
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}
