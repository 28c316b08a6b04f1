package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/switchyard/switchyard/backend/client"
)

// errJobEnded reports a job that ended failed or cancelled: ExitFailed.
type errJobEnded struct {
	id, state, reason string
}

func (e *errJobEnded) Error() string {
	if e.reason == "" || e.state == "cancelled" {
		return fmt.Sprintf("job %s %s", e.id, e.state)
	}
	return fmt.Sprintf("job %s %s: %s", e.id, e.state, e.reason)
}

// watcher renders one job's stream.
type watcher struct {
	id     string
	out    io.Writer
	errOut io.Writer
	bar    *progressbar.ProgressBar
	raw    bool // print the messages as they came (-o json)

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

// watchJob follows job id from after event since, printing what happens
// (with -o json: each stream message as it came, one a line), and returns
// an *errJobEnded if the job failed or was cancelled.
func watchJob(ctx context.Context, o *options, id string, since int64, bar bool) error {
	// The job's record first: an unknown job or an unreachable server is
	// told at once, where the stream would retry.
	c := o.client()
	if _, err := c.GetJob(ctx, id); err != nil {
		return err
	}
	w := &watcher{id: id, out: o.stdout, errOut: o.stderr, raw: o.json()}
	if bar && !w.raw {
		w.shown = w.describe()
		w.bar = progressbar.NewOptions(100,
			progressbar.OptionSetWriter(o.stderr),
			progressbar.OptionSetWidth(30),
			progressbar.OptionSetDescription(w.shown),
			progressbar.OptionSetPredictTime(false),
			progressbar.OptionSetElapsedTime(true),
			progressbar.OptionClearOnFinish(),
			progressbar.OptionSetRenderBlankState(true),
		)
	}
	lost := false
	ws := &client.Watcher{Token: o.token, OnReconnect: func(err error, wait time.Duration) {
		if !lost {
			w.line(w.errOut, "connection lost (%v); reconnecting…", err)
		}
		lost = true
	}}
	err := ws.Watch(ctx, o.server, id, since, func(m client.Message) {
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
		job, err := c.GetJob(ctx, id)
		if err != nil {
			return err
		}
		if w.raw {
			fmt.Fprintln(w.out, compactJSON(job))
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
	if w.raw && to == w.out {
		return // the messages themselves are printed
	}
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
	if w.raw {
		fmt.Fprintln(w.out, string(m.Raw))
	}
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
	out := w.out
	if w.raw {
		out = io.Discard // the messages said it
	}
	switch {
	case w.final == "completed" || w.result != nil:
		r := w.result
		if r == nil {
			fmt.Fprintf(out, "job %s completed\n", w.id)
			return nil
		}
		fmt.Fprintf(out, "job %s completed in %s: %d routines completed, %d failed\n",
			w.id, seconds(r.Duration), r.NodesCompleted, r.NodesFailed)
		raw, err := json.Marshal(r.Output)
		if err != nil {
			raw = []byte(fmt.Sprint(r.Output))
		}
		fmt.Fprintf(out, "result: %s\n", raw)
		return nil
	case w.state == "cancelled":
		fmt.Fprintf(out, "job %s cancelled\n", w.id)
		return &errJobEnded{id: w.id, state: "cancelled"}
	default:
		fmt.Fprintf(out, "job %s failed: %s\n", w.id, w.errText)
		return &errJobEnded{id: w.id, state: "failed", reason: w.errText}
	}
}
