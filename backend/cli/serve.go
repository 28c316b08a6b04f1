package cli

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/spf13/cobra"

	"github.com/switchyard/switchyard/backend/server"
	"github.com/switchyard/switchyard/backend/store"
	"github.com/switchyard/switchyard/backend/ws"
)

func newServeCmd(o *options) *cobra.Command {
	var printConfig bool
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the server",
		Long: `Run the Switchyard server: the REST API, the WebSocket streams and the web UI.

Each setting is a flag, an environment variable (SWITCHYARD_ and the flag
name in capitals, - as _) and a key of the optional YAML config file
(--config or SWITCHYARD_CONFIG; keys are the flag names). A flag overrides
the environment, which overrides the file, which overrides the defaults.
A bad value anywhere is an error (exit 2) naming the setting and where it
came from; so is an unknown key in the file.`,
		Example: `  switchyard serve --addr 127.0.0.1:20555 --data ./data
  SWITCHYARD_MAX_CONCURRENT=64 switchyard serve --config switchyard.yaml
  switchyard serve --config switchyard.yaml --print-config`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := loadServeConfig(cmd.Flags(), osEnviron)
			if err != nil {
				return err
			}
			if printConfig {
				return cfg.print(o.stdout, o.json())
			}
			if err := serve(cmd.Context(), cfg, o.stderr); err != nil {
				return &exitError{ExitFailed, err} // not a client's error: no server to reach
			}
			return nil
		},
	}
	addServeFlags(cmd.Flags())
	cmd.Flags().BoolVar(&printConfig, "print-config", false, "print the effective settings, each with where it comes from, and exit")
	return cmd
}

// serve runs the server until ctx ends, logging to logOut.
func serve(ctx context.Context, cfg *serveConfig, logOut io.Writer) error {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(cfg.String("log-level"))); err != nil {
		return usagef("log-level: %v", err) // checked by convert already
	}
	logger := slog.New(slog.NewTextHandler(logOut, &slog.HandlerOptions{Level: lvl}))
	slog.SetDefault(logger)
	server.TuneGC()
	server.SetMemoryLimit(ctx, cfg.Bytes("memory-limit"))
	if cfg.file != "" {
		logger.Info("settings", "config", cfg.file)
	}

	data := cfg.String("data")
	srv, err := server.New(ctx, server.Config{
		Addr:          cfg.String("addr"),
		DataDir:       data,
		Examples:      cfg.Bool("examples"),
		MaxConcurrent: cfg.Int("max-concurrent"),
		Version:       Version,
		Logger:        logger,
		Streams: ws.Config{
			PingInterval:      cfg.Duration("ws-ping-interval"),
			PongTimeout:       cfg.Duration("ws-timeout"),
			HeartbeatInterval: cfg.Duration("ws-heartbeat-interval"),
			AllowedOrigins:    nilIfEmpty(cfg.Strings("allowed-origins")),
		},
		AllowedHosts: nilIfEmpty(cfg.Strings("allowed-hosts")),
		HTTPAllow:    nilIfEmpty(cfg.Strings("http-allow")),
		Retention:    retention(cfg),
		// 0 in the setting is no limit; in server.Config, the default.
		MaxOutputBytes: cmp.Or(cfg.Bytes("max-output-bytes"), -1),
	})
	if err != nil {
		return err
	}
	return srv.Run(ctx, func(bound string) {
		logger.Info("switchyard is running", "url", "http://"+bound+"/", "data", data)
		fmt.Fprintf(logOut, "\n  Switchyard is ready: open http://%s/\n\n", bound)
		if token := srv.GeneratedToken(); token != "" {
			printTokenURLs(logOut, bound, token, data)
		}
	})
}

// nilIfEmpty keeps the server.Config of an empty list what it was before
// the lists came from koanf: nil.
func nilIfEmpty(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}

// retention is the policy of retention-days and retention-jobs (more than
// 100 years is taken as 100 years, within a time.Duration).
func retention(cfg *serveConfig) store.RetentionPolicy {
	days := min(cfg.Int("retention-days"), 36500)
	return store.RetentionPolicy{MaxAge: time.Duration(days) * 24 * time.Hour, MaxJobs: cfg.Int("retention-jobs")}
}
