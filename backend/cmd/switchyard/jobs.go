package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/switchyard/switchyard/backend/client"
)

const jobsUsage = `usage:
  switchyard jobs start <flow_id> [--params JSON|@file] [--watch] [--server URL]
  switchyard jobs watch <job_id> [--since SEQ] [--server URL]

start prints the new job's id; with --watch it then follows the job like watch.
watch follows a job live (its history first): a progress bar, log lines
("level routine: message"), routine completions and failures, then the final
status and result. It reconnects by itself if the connection drops. The exit
status is 0 when the job completed, 1 when it failed or was cancelled.

flags:
  --server URL        the server (SWITCHYARD_SERVER, default http://127.0.0.1:20555)
  --progress MODE     auto (a bar when stderr is a terminal), always or never
`

// errJobEnded reports a job that ended failed or cancelled; the CLI exits 1.
type errJobEnded struct {
	id, state, reason string
}

func (e *errJobEnded) Error() string {
	if e.reason == "" || e.state == "cancelled" {
		return fmt.Sprintf("job %s %s", e.id, e.state)
	}
	return fmt.Sprintf("job %s %s: %s", e.id, e.state, e.reason)
}

// jobs runs "switchyard jobs …" against a running server.
func jobs(args []string) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return runJobs(ctx, args, os.Stdout, os.Stderr, isTerminal(os.Stderr))
}

// runJobs is the jobs command with its streams given; terminal says whether
// errOut is a terminal (where the progress bar goes in auto mode).
func runJobs(ctx context.Context, args []string, out, errOut io.Writer, terminal bool) error {
	if len(args) == 0 {
		fmt.Fprint(errOut, jobsUsage)
		return errors.New("jobs: missing subcommand (start or watch)")
	}
	sub, rest := args[0], args[1:]
	fs := flag.NewFlagSet("jobs "+sub, flag.ContinueOnError)
	fs.SetOutput(errOut)
	fs.Usage = func() { fmt.Fprint(errOut, jobsUsage) }
	server := fs.String("server", "http://127.0.0.1:20555", "server address (SWITCHYARD_SERVER)")
	if v := os.Getenv("SWITCHYARD_SERVER"); v != "" {
		_ = fs.Set("server", v) // a string flag takes any value
	}
	progress := fs.String("progress", "auto", "auto, always or never")
	var params *string
	var watch *bool
	var since *int64
	switch sub {
	case "start":
		params = fs.String("params", "", "job parameters as JSON, or @file")
		watch = fs.Bool("watch", false, "follow the job until it ends")
	case "watch":
		since = fs.Int64("since", 0, "follow from after this event seq")
	case "help", "-h", "--help":
		fmt.Fprint(out, jobsUsage)
		return nil
	default:
		fmt.Fprint(errOut, jobsUsage)
		return fmt.Errorf("jobs: unknown subcommand %q", sub)
	}
	pos, err := parseInterspersed(fs, rest)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if len(pos) != 1 {
		fs.Usage()
		return fmt.Errorf("jobs %s: want exactly one id, got %d arguments", sub, len(pos))
	}
	base, err := serverURL(*server)
	if err != nil {
		return err
	}
	var bar bool
	switch *progress {
	case "auto":
		bar = terminal
	case "always":
		bar = true
	case "never":
	default:
		return fmt.Errorf("--progress: want auto, always or never, got %q", *progress)
	}
	c := client.New(base)

	if sub == "watch" {
		if *since < 0 {
			return errors.New("--since must not be negative")
		}
		return watchJob(ctx, base, pos[0], *since, out, errOut, bar)
	}
	var p any
	if *params != "" {
		raw := []byte(*params)
		if name, ok := strings.CutPrefix(*params, "@"); ok {
			if raw, err = os.ReadFile(name); err != nil {
				return fmt.Errorf("--params: %w", err)
			}
		}
		if err := json.Unmarshal(raw, &p); err != nil {
			return fmt.Errorf("--params: not valid JSON: %w", err)
		}
	}
	job, err := c.StartJob(ctx, pos[0], p)
	if err != nil {
		return fmt.Errorf("start job of flow %s: %w", pos[0], err)
	}
	if !*watch {
		fmt.Fprintln(out, job.JobID)
		return nil
	}
	fmt.Fprintf(out, "started job %s of flow %s\n", job.JobID, job.FlowID)
	return watchJob(ctx, base, job.JobID, 0, out, errOut, bar)
}

// parseInterspersed parses flags placed before, between or after the
// positional arguments, which it returns.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		if args[0] == "--" {
			return append(pos, args[1:]...), nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
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
	return s, nil
}

func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// watcher renders one job's stream.
type watcher struct {
	id     string
	out    io.Writer
	errOut io.Writer
	bar    *progressbar.ProgressBar

	progress float64
	current  string
	shown    string // the bar's description
	shownPct int
	paused   bool
	final    string // status of the job's end, "" while it runs
	state    string // data.state of the final status ("cancelled")
	result   *client.Result
	errText  string
}

func watchJob(ctx context.Context, base, id string, since int64, out, errOut io.Writer, bar bool) error {
	w := &watcher{id: id, out: out, errOut: errOut}
	if bar {
		w.shown = w.describe()
		w.bar = progressbar.NewOptions(100,
			progressbar.OptionSetWriter(errOut),
			progressbar.OptionSetWidth(30),
			progressbar.OptionSetDescription(w.shown),
			progressbar.OptionSetPredictTime(false),
			progressbar.OptionSetElapsedTime(true),
			progressbar.OptionClearOnFinish(),
			progressbar.OptionSetRenderBlankState(true),
		)
	}
	lost := false
	ws := &client.Watcher{OnReconnect: func(err error, wait time.Duration) {
		if !lost {
			w.line(w.errOut, "connection lost (%v); reconnecting…", err)
		}
		lost = true
	}}
	err := ws.Watch(ctx, base, id, since, func(m client.Message) {
		if lost {
			w.line(w.errOut, "reconnected")
			lost = false
		}
		w.handle(m)
	})
	if w.bar != nil {
		if w.final == "completed" {
			_ = w.bar.Finish()
		} else {
			_ = w.bar.Clear()
			_ = w.bar.Exit()
		}
	}
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("stopped watching job %s: %w", id, ctx.Err())
		}
		return err
	}
	if w.final == "" {
		// Watched from past the end of a finished job: nothing came, so
		// report the job's record.
		job, err := client.New(base).GetJob(ctx, id)
		if err != nil {
			return err
		}
		w.final, w.errText = job.Status, job.Error
		switch job.Status {
		case "completed":
			w.result = &client.Result{Status: job.Status, Output: job.Result, NodesCompleted: job.NodesCompleted,
				NodesFailed: job.NodesFailed, Duration: job.Duration}
		case "cancelled":
			w.state = "cancelled"
		}
	}
	return w.report()
}

// line prints one line above the progress bar.
func (w *watcher) line(to io.Writer, format string, args ...any) {
	if w.bar != nil {
		_ = w.bar.Clear()
	}
	fmt.Fprintf(to, format+"\n", args...)
	if w.bar != nil && w.final == "" {
		_ = w.bar.RenderBlank()
	}
}

func (w *watcher) describe() string {
	state := "running"
	switch {
	case w.paused:
		state = "paused "
	case w.final != "":
		state = w.final
	}
	node := w.current
	if node == "" {
		node = "-"
	}
	if len(node) > 20 {
		node = node[:19] + "…"
	}
	return fmt.Sprintf("%s %-20s", state, node)
}

func (w *watcher) redraw() {
	if w.bar == nil || w.final != "" {
		return
	}
	if d := w.describe(); d != w.shown {
		w.shown = d
		w.bar.Describe(d)
	}
	if pct := int(w.progress*100 + 0.5); pct != w.shownPct {
		w.shownPct = pct
		_ = w.bar.Set(pct)
	}
}

func (w *watcher) handle(m client.Message) {
	switch m.Type {
	case "status":
		if m.Data != nil {
			w.progress = m.Data.Progress
			if m.Data.CurrentNode != "" {
				w.current = m.Data.CurrentNode
			}
		}
		switch m.Status {
		case "completed", "failed":
			w.final = m.Status
			if m.Data != nil && m.Data.State == "cancelled" {
				w.state = "cancelled"
			}
		case "running":
			if m.Data != nil && m.Data.State == "paused" && !w.paused {
				w.paused = true
				w.line(w.out, "job paused")
			} else if m.Data != nil && m.Data.State == "running" && w.paused {
				w.paused = false
				w.line(w.out, "job resumed")
			}
		}
		w.redraw()
	case "node_update":
		if m.NodeState == nil {
			return
		}
		switch m.NodeState.Status {
		case "running":
			w.current = m.NodeID
			w.redraw()
		case "completed":
			w.line(w.out, "✓ %s completed%s", m.NodeID, took(m.NodeState))
		case "failed":
			reason := ""
			if m.NodeState.Error != nil {
				reason = ": " + *m.NodeState.Error
			}
			w.line(w.out, "✗ %s failed%s%s", m.NodeID, took(m.NodeState), reason)
		}
	case "log":
		if m.Log == nil {
			return
		}
		node := m.Log.NodeID
		if node == "" {
			node = "job"
		}
		w.line(w.out, "%s %s: %s", m.Log.Level, node, m.Log.Message)
	case "completion":
		w.result = m.Result
	case "error":
		w.errText = m.Error
	}
}

// took is " (1.25s)" from a node state's timestamps, or "".
func took(ns *client.NodeState) string {
	start, ok1 := ns.StartedAt.Time()
	end, ok2 := ns.CompletedAt.Time()
	if !ok1 || !ok2 || end.Before(start) {
		return ""
	}
	return " (" + end.Sub(start).Round(time.Millisecond).String() + ")"
}

// report prints the job's end and returns the command's result.
func (w *watcher) report() error {
	switch {
	case w.final == "completed" || w.result != nil:
		r := w.result
		if r == nil {
			fmt.Fprintf(w.out, "job %s completed\n", w.id)
			return nil
		}
		fmt.Fprintf(w.out, "job %s completed in %s: %d routines completed, %d failed\n",
			w.id, seconds(r.Duration), r.NodesCompleted, r.NodesFailed)
		raw, err := json.Marshal(r.Output)
		if err != nil {
			raw = []byte(fmt.Sprint(r.Output))
		}
		fmt.Fprintf(w.out, "result: %s\n", raw)
		return nil
	case w.state == "cancelled":
		fmt.Fprintf(w.out, "job %s cancelled\n", w.id)
		return &errJobEnded{id: w.id, state: "cancelled"}
	default:
		fmt.Fprintf(w.out, "job %s failed: %s\n", w.id, w.errText)
		return &errJobEnded{id: w.id, state: "failed", reason: w.errText}
	}
}

func seconds(s float64) string {
	return strconv.FormatFloat(s, 'f', 2, 64) + "s"
}
