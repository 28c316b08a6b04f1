// Package cli is the switchyard command: the server (serve) and a client
// of a running server's REST API and streams (flows, jobs, breakpoints),
// built with cobra. Run is the whole command, testable in process.
//
// Exit codes: ExitOK, ExitFailed, ExitUsage, ExitUnreachable, ExitRefused
// (docs/cli.md).
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/switchyard/switchyard/backend/client"
)

// Exit codes of the command.
const (
	// ExitOK: done.
	ExitOK = 0
	// ExitFailed: a job watched or waited for failed, was cancelled or
	// did not end in time; validate found the flow invalid; serve could
	// not start or stopped on an error.
	ExitFailed = 1
	// ExitUsage: the command line or a setting is wrong (unknown command
	// or flag, missing argument, bad value in a flag, the environment or
	// the config file).
	ExitUsage = 2
	// ExitUnreachable: the server could not be reached (connection
	// refused, unknown host, timeout).
	ExitUnreachable = 3
	// ExitRefused: the server answered with an error (any 4xx or 5xx);
	// its message is printed as it came.
	ExitRefused = 4
)

// DefaultServer is the server the client commands talk to when neither
// --server nor SWITCHYARD_SERVER says otherwise.
const DefaultServer = "http://127.0.0.1:20555"

// Version is the version the command reports (set by main from its
// build-time version).
var Version = "dev"

// Run runs the command line args (without the program name) and returns
// the exit code. SIGINT and SIGTERM end it: serve shuts down gracefully,
// a watch stops.
func Run(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return run(ctx, args, os.Stdin, stdout, stderr, isTerminal(stderr))
}

// options are the global flags and the command's streams.
type options struct {
	server, token, output string
	progress              string

	stdin          io.Reader
	stdout, stderr io.Writer
	terminal       bool // stderr is a terminal (the progress bar's auto mode)
}

func (o *options) json() bool { return o.output == "json" }

// client is a REST client of the --server.
func (o *options) client() *client.Client {
	c := client.New(o.server)
	c.Token = o.token
	return c
}

// run is Run with its context and streams given.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, terminal bool) int {
	o := &options{stdin: stdin, stdout: stdout, stderr: stderr, terminal: terminal}
	root := newRoot(o)
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return ExitOK
	}
	code := exitCode(err)
	switch code {
	case ExitUsage:
		fmt.Fprintf(stderr, "switchyard: %v\n", err)
		if cmd != nil {
			fmt.Fprintf(stderr, "Run '%s --help' for usage.\n", cmd.CommandPath())
		}
	case ExitUnreachable:
		fmt.Fprintf(stderr, "switchyard: cannot reach the server at %s: %v\n"+
			"(is `switchyard serve` running there? --server or SWITCHYARD_SERVER name another)\n", o.server, err)
	default:
		fmt.Fprintf(stderr, "switchyard: %v\n", err)
	}
	return code
}

func newRoot(o *options) *cobra.Command {
	root := &cobra.Command{
		Use:   "switchyard",
		Short: "Switchyard: a flow execution server with a live debugger, and its client",
		Long: `Switchyard runs flows (graphs of routines) as jobs, with a web UI and a live debugger.

"switchyard serve" runs the server. The other commands talk to a running
server (--server, SWITCHYARD_SERVER, default ` + DefaultServer + `).

Exit codes: 0 ok, 1 a job failed or was cancelled (--watch, --wait) or a
flow is invalid (validate), 2 usage error, 3 server unreachable, 4 the
server refused the request (its message is printed).`,
		Version:           Version,
		SilenceErrors:     true,
		SilenceUsage:      true,
		DisableAutoGenTag: true,
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			return o.resolve(cmd)
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			cmd.SetOut(o.stderr)
			_ = cmd.Help()
			return usagef("missing command")
		},
	}
	root.SetVersionTemplate("{{.Version}}\n")
	pf := root.PersistentFlags()
	pf.StringVar(&o.server, "server", DefaultServer, "address of the server (env SWITCHYARD_SERVER)")
	pf.StringVar(&o.token, "token", "", "API token, sent as Authorization: Bearer (env SWITCHYARD_TOKEN)")
	pf.StringVarP(&o.output, "output", "o", "table", "output format: table or json")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &usageError{err} })

	root.AddCommand(newServeCmd(o), newFlowsCmd(o), newJobsCmd(o), newBreakpointsCmd(o), newTokensCmd(o), newBackupCmd(o), newVersionCmd(o))
	wrapRuns(root)
	return root
}

// resolve applies the environment to the global flags not given and
// checks them.
func (o *options) resolve(cmd *cobra.Command) error {
	flags := cmd.Flags()
	if !flags.Changed("server") {
		if v := strings.TrimSpace(os.Getenv("SWITCHYARD_SERVER")); v != "" {
			o.server = v
		}
	}
	if !flags.Changed("token") {
		o.token = strings.TrimSpace(os.Getenv("SWITCHYARD_TOKEN"))
	}
	switch o.output {
	case "table", "json":
	default:
		return usagef("--output: want table or json, got %q", o.output)
	}
	if cmd.Name() == "serve" || cmd.Annotations[localAnnotation] != "" {
		return nil // it talks to no server
	}
	base, err := serverURL(o.server)
	if err != nil {
		return &usageError{err}
	}
	o.server = base
	return nil
}

func newVersionCmd(o *options) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version of this command",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.json() {
				return printValue(o.stdout, map[string]string{"version": Version})
			}
			fmt.Fprintln(o.stdout, Version)
			return nil
		},
	}
}

// group makes cmd a command that only holds subcommands: alone, or with
// an unknown subcommand, it is a usage error.
func group(cmd *cobra.Command) *cobra.Command {
	cmd.Args = cobra.NoArgs
	cmd.RunE = func(c *cobra.Command, args []string) error {
		c.SetOut(c.ErrOrStderr())
		_ = c.Help()
		return usagef("missing subcommand")
	}
	return cmd
}

// serverURL accepts "http://host:port", "https://…" or a bare "host:port".
func serverURL(s string) (string, error) {
	s = strings.TrimRight(strings.TrimSpace(s), "/")
	if s == "" {
		return "", errors.New("--server is empty")
	}
	if !strings.Contains(s, "://") {
		s = "http://" + s
	}
	if !strings.HasPrefix(s, "http://") && !strings.HasPrefix(s, "https://") {
		return "", fmt.Errorf("--server %q: want http://host:port", s)
	}
	if u, err := url.Parse(s); err != nil || u.Host == "" {
		return "", fmt.Errorf("--server %q: want http://host:port", s)
	}
	return s, nil
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// usageError is a wrong command line or setting: ExitUsage.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error {
	return &usageError{fmt.Errorf(format, args...)}
}

// failure is an outcome the command reports as ExitFailed: a job that
// failed or was cancelled, a flow found invalid. What happened was
// printed already; the error is the summary.
type failure struct{ msg string }

func (e *failure) Error() string { return e.msg }

// exitError is an error with its exit code decided.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// runError marks an error returned by a command's RunE; any other error
// out of cobra is about the command line.
type runError struct{ err error }

func (e *runError) Error() string { return e.err.Error() }
func (e *runError) Unwrap() error { return e.err }

// wrapRuns marks the errors of every command's RunE as runErrors.
func wrapRuns(cmd *cobra.Command) {
	if f := cmd.RunE; f != nil {
		cmd.RunE = func(c *cobra.Command, args []string) error {
			if err := f(c, args); err != nil {
				return &runError{err}
			}
			return nil
		}
	}
	for _, sub := range cmd.Commands() {
		wrapRuns(sub)
	}
}

// exitCode classifies an error of the command.
func exitCode(err error) int {
	var ue *usageError
	var ae *client.APIError
	var fe *failure
	var je *errJobEnded
	var re *runError
	var ee *exitError
	switch {
	case errors.As(err, &ee):
		return ee.code
	case errors.As(err, &ue):
		return ExitUsage
	case !errors.As(err, &re):
		return ExitUsage // from cobra: unknown command or flag, bad arguments
	case errors.As(err, &fe), errors.As(err, &je):
		return ExitFailed
	case errors.As(err, &ae):
		return ExitRefused
	case unreachable(err):
		return ExitUnreachable
	default:
		return ExitFailed
	}
}

// unreachable reports an error of reaching the server: a failed request
// (connection refused, unknown host, timeout, a connection cut before the
// answer) rather than an answer.
func unreachable(err error) bool {
	if errors.Is(err, context.Canceled) {
		return false
	}
	var ue *url.Error
	var oe *net.OpError
	var de *net.DNSError
	return errors.As(err, &ue) || errors.As(err, &oe) || errors.As(err, &de) || errors.Is(err, syscall.ECONNREFUSED)
}
