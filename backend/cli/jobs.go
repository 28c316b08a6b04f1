package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/switchyard/switchyard/backend/client"
	"github.com/switchyard/switchyard/backend/events"
)

// maxWait is the server's bound of POST /api/jobs?wait=.
const maxWait = 10 * time.Minute

func newJobsCmd(o *options) *cobra.Command {
	cmd := group(&cobra.Command{
		Use:   "jobs",
		Short: "Start, list, follow and control jobs",
	})
	cmd.AddCommand(newJobsStartCmd(o), newJobsListCmd(o), newJobsGetCmd(o),
		newJobsControlCmd(o, "pause", "Pause a running job", (*client.Client).PauseJob),
		newJobsControlCmd(o, "resume", "Resume a paused job (or one held by the debugger)", (*client.Client).ResumeJob),
		newJobsControlCmd(o, "cancel", "Cancel an active job", (*client.Client).CancelJob),
		newJobsWatchCmd(o), newJobsLogsCmd(o))
	return cmd
}

// argsNamed accepts exactly the positional arguments named.
func argsNamed(names ...string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) == len(names) {
			return nil
		}
		want := "<" + strings.Join(names, "> <") + ">"
		return usagef("want %s, got %d arguments", want, len(args))
	}
}

// progressFlag adds --progress; bar reads it.
func progressFlag(cmd *cobra.Command, o *options) {
	cmd.Flags().StringVar(&o.progress, "progress", "auto", "progress bar on stderr: auto (when stderr is a terminal), always or never")
}

func (o *options) bar() (bool, error) {
	switch o.progress {
	case "auto", "":
		return o.terminal, nil
	case "always":
		return true, nil
	case "never":
		return false, nil
	}
	return false, usagef("--progress: want auto, always or never, got %q", o.progress)
}

func newJobsStartCmd(o *options) *cobra.Command {
	var params, wait string
	var watch bool
	cmd := &cobra.Command{
		Use:   "start <flow_id>",
		Short: "Start a job of a flow",
		Long: `Start a job of a flow and print its id.

--watch then follows the job as "jobs watch" does; --wait waits for it to
end on the server (POST /api/jobs?wait=…; at most 10m) and prints the
outcome. With either, the exit status is 1 when the job failed, was
cancelled or (--wait) had not ended in time.`,
		Example: `  switchyard jobs start orders --params '{"value": 21}' --watch
  switchyard jobs start orders --params @params.json --wait=1m -o json`,
		Args: argsNamed("flow_id"),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := readParams(o, params)
			if err != nil {
				return err
			}
			bar, err := o.bar()
			if err != nil {
				return err
			}
			var waitFor time.Duration
			if cmd.Flags().Changed("wait") {
				if watch {
					return usagef("--watch and --wait: choose one")
				}
				if waitFor, err = time.ParseDuration(wait); err != nil || waitFor <= 0 || waitFor > maxWait {
					return usagef("--wait=%s: want a duration between 1s and %s such as 30s", wait, maxWait)
				}
			}
			c := o.client()
			ctx := cmd.Context()
			if waitFor > 0 {
				job, ended, err := c.StartJobWait(ctx, args[0], p, waitFor)
				if err != nil {
					return fmt.Errorf("start job of flow %s: %w", args[0], err)
				}
				return reportJob(o, job, ended, waitFor)
			}
			job, err := c.StartJob(ctx, args[0], p)
			if err != nil {
				return fmt.Errorf("start job of flow %s: %w", args[0], err)
			}
			if !watch {
				if o.json() {
					return printValue(o.stdout, job)
				}
				fmt.Fprintln(o.stdout, job.JobID)
				return nil
			}
			if !o.json() {
				fmt.Fprintf(o.stdout, "started job %s of flow %s\n", job.JobID, job.FlowID)
			}
			return watchJob(ctx, o, job.JobID, 0, bar)
		},
	}
	f := cmd.Flags()
	f.StringVar(&params, "params", "", "job parameters: JSON, or @file holding JSON (@- reads stdin)")
	f.BoolVar(&watch, "watch", false, "follow the job until it ends (progress, logs, routines, result)")
	f.StringVar(&wait, "wait", "", "wait this long for the job to end (--wait alone: 30s; give a value as --wait=1m)")
	f.Lookup("wait").NoOptDefVal = "30s"
	progressFlag(cmd, o)
	return cmd
}

// readParams reads --params: JSON, or @file, or @- for stdin.
func readParams(o *options, s string) (any, error) {
	if s == "" {
		return nil, nil
	}
	raw := []byte(s)
	if name, ok := strings.CutPrefix(s, "@"); ok {
		var err error
		if raw, err = readSource(o, name); err != nil {
			return nil, usagef("--params: %v", err)
		}
	}
	var p any
	if err := json.Unmarshal(raw, &p); err != nil {
		return nil, usagef("--params: not valid JSON: %v", err)
	}
	return p, nil
}

// reportJob prints the outcome of a job run with --wait: the job's record
// with -o json, else a summary as watch ends with.
func reportJob(o *options, job client.Job, ended bool, waited time.Duration) error {
	if o.json() {
		if err := printValue(o.stdout, job); err != nil {
			return err
		}
	}
	w := &watcher{id: job.JobID, out: o.stdout, raw: o.json(), final: job.Status, errText: job.Error}
	switch {
	case !ended && !events.Finished(job.Status):
		if !o.json() {
			fmt.Fprintf(o.stdout, "job %s is still %s after %s (%s done); follow it with: switchyard jobs watch %s\n",
				job.JobID, job.Status, waited, percent(job.Progress), job.JobID)
		}
		return &failure{fmt.Sprintf("job %s did not end within %s", job.JobID, waited)}
	case job.Status == events.StatusCompleted:
		w.result = &client.Result{Status: job.Status, Output: job.Result, NodesCompleted: job.NodesCompleted,
			NodesFailed: job.NodesFailed, Duration: job.Duration}
	case job.Status == events.StatusCancelled:
		w.state = "cancelled"
	default:
		w.final = events.StatusFailed
	}
	return w.report()
}

func newJobsListCmd(o *options) *cobra.Command {
	var f client.JobFilter
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List jobs, newest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			l, err := o.client().ListJobs(cmd.Context(), f)
			if err != nil {
				return err
			}
			if o.json() {
				return printRaw(o.stdout, l.Raw)
			}
			t := newTable(o.stdout, "JOB", "FLOW", "STATUS", "PROGRESS", "CREATED", "DURATION", "ERROR")
			for _, j := range l.Jobs {
				t.row(j.JobID, j.FlowID, j.Status, percent(j.Progress), when(&j.CreatedAt), seconds(j.Duration), truncate(orDash(j.Error), 60))
			}
			if err := t.flush(); err != nil {
				return err
			}
			if l.Total > l.Offset+len(l.Jobs) {
				fmt.Fprintf(o.stderr, "%d of %d jobs shown (--limit, --offset for more)\n", len(l.Jobs), l.Total)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&f.FlowID, "flow", "", "only jobs of this flow")
	cmd.Flags().StringVar(&f.Status, "status", "", "only jobs in this status: pending, running, paused, completed, failed or cancelled")
	cmd.Flags().IntVar(&f.Limit, "limit", 0, "at most this many jobs (server default 50, at most 1000)")
	cmd.Flags().IntVar(&f.Offset, "offset", 0, "skip this many jobs")
	return cmd
}

func newJobsGetCmd(o *options) *cobra.Command {
	return &cobra.Command{
		Use:   "get <job_id>",
		Short: "Show a job: status, progress, result or error, and its routines",
		Args:  argsNamed("job_id"),
		RunE: func(cmd *cobra.Command, args []string) error {
			j, err := o.client().GetJob(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if o.json() {
				return printValue(o.stdout, j)
			}
			return printJob(o, j)
		},
	}
}

// stoppedAt says where the debugger holds a job: the routine, the slot it
// was given or the event it emits, the activation, and what stopped it.
func stoppedAt(p *events.PausedAt) string {
	where := p.RoutineID
	switch {
	case p.EventName != nil:
		where += " emitting " + *p.EventName
	case p.SlotName != nil:
		where += " on slot " + *p.SlotName
	}
	by := "a step"
	if p.BreakpointID != nil {
		by = p.Type + " breakpoint " + *p.BreakpointID
	}
	return fmt.Sprintf("%s, activation %d (%s)", where, p.ActivationID, by)
}

func printJob(o *options, j client.Job) error {
	status := j.Status
	if j.PauseRequested && j.Status == events.StatusRunning {
		status += " (pausing)"
	}
	if j.PauseReason != "" && (j.Status == events.StatusPaused || j.PauseRequested) {
		status += ", by " + j.PauseReason
	}
	t := newTable(o.stdout)
	t.row("job:", j.JobID)
	t.row("flow:", j.FlowID+" (version "+strconv.Itoa(j.FlowVersion)+")")
	t.row("status:", status)
	t.row("progress:", percent(j.Progress)+fmt.Sprintf(" (%d routines completed, %d failed)", j.NodesCompleted, j.NodesFailed))
	switch {
	case j.PausedAt != nil: // current_node is the routine that ran last, not the one held
		t.row("stopped at:", stoppedAt(j.PausedAt))
	case j.CurrentNode != "" && !events.Finished(j.Status):
		t.row("current:", j.CurrentNode)
	}
	t.row("created:", when(&j.CreatedAt))
	t.row("started:", when(j.StartedAt))
	t.row("completed:", when(j.CompletedAt))
	t.row("duration:", seconds(j.Duration))
	t.row("params:", compactJSON(j.Params))
	if j.Status == events.StatusCompleted {
		t.row("result:", compactJSON(j.Result))
	}
	if j.Error != "" {
		t.row("error:", j.Error)
	}
	if err := t.flush(); err != nil {
		return err
	}
	if len(j.RoutineStates) == 0 {
		return nil
	}
	fmt.Fprintln(o.stdout)
	names := make([]string, 0, len(j.RoutineStates))
	for name := range j.RoutineStates {
		names = append(names, name)
	}
	slices.Sort(names)
	rt := newTable(o.stdout, "ROUTINE", "STATUS", "ACTIVATIONS", "ERROR")
	for _, name := range names {
		st := j.RoutineStates[name]
		rt.row(name, st.Status, strconv.Itoa(st.Activations), truncate(orDash(deref(st.Error)), 80))
	}
	return rt.flush()
}

func newJobsControlCmd(o *options, action, short string, op func(*client.Client, context.Context, string) (client.Job, error)) *cobra.Command {
	return &cobra.Command{
		Use:   action + " <job_id>",
		Short: short,
		Args:  argsNamed("job_id"),
		RunE: func(cmd *cobra.Command, args []string) error {
			j, err := op(o.client(), cmd.Context(), args[0])
			if err != nil {
				return fmt.Errorf("%s job %s: %w", action, args[0], err)
			}
			if o.json() {
				return printValue(o.stdout, j)
			}
			status := j.Status
			if j.PauseRequested && j.Status == events.StatusRunning {
				status = "pausing (activations running now finish first)"
			}
			fmt.Fprintf(o.stdout, "job %s: %s\n", j.JobID, status)
			return nil
		},
	}
}

func newJobsWatchCmd(o *options) *cobra.Command {
	var since int64
	cmd := &cobra.Command{
		Use:   "watch <job_id>",
		Short: "Follow a job live until it ends",
		Long: `Follow a job live, its history first: a progress bar (on stderr, when it is
a terminal), log lines ("level routine: message"), routine completions
and failures, then the final status and result. It reconnects by itself
if the connection drops, without losing or repeating a line. With -o json
it prints each message of the stream as it came, one a line.

The exit status is 0 when the job completed, 1 when it failed or was
cancelled.`,
		Args: argsNamed("job_id"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if since < 0 {
				return usagef("--since must not be negative")
			}
			bar, err := o.bar()
			if err != nil {
				return err
			}
			return watchJob(cmd.Context(), o, args[0], since, bar)
		},
	}
	cmd.Flags().Int64Var(&since, "since", 0, "follow from after this event seq")
	progressFlag(cmd, o)
	return cmd
}

// logPoll is how often jobs logs --follow asks for new lines.
var logPoll = 250 * time.Millisecond

func newJobsLogsCmd(o *options) *cobra.Command {
	var f client.LogFilter
	var follow bool
	cmd := &cobra.Command{
		Use:   "logs <job_id>",
		Short: "Print a job's log lines",
		Long: `Print a job's log lines in order: time, level, routine, message.

--follow keeps printing new lines until the job ends. With -o json the
lines are the API's JSON (with --follow: one line object a line).`,
		Args: argsNamed("job_id"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return jobLogs(cmd.Context(), o, args[0], f, follow)
		},
	}
	cmd.Flags().BoolVarP(&follow, "follow", "f", false, "keep printing new lines until the job ends")
	cmd.Flags().StringVar(&f.Level, "level", "", "the lowest level shown: debug, info, warning or error")
	cmd.Flags().StringVar(&f.RoutineID, "routine", "", "only the lines of this routine")
	cmd.Flags().StringVarP(&f.Query, "query", "q", "", "only lines whose message holds this text (case-insensitive)")
	return cmd
}

const logPage = 1000

func jobLogs(ctx context.Context, o *options, id string, f client.LogFilter, follow bool) error {
	c := o.client()
	f.Limit = logPage
	if !follow {
		var all []client.LogLine
		var first client.LogPage
		for {
			p, err := c.Logs(ctx, id, f)
			if err != nil {
				return err
			}
			if f.Offset == 0 {
				first = p
			}
			all = append(all, p.Logs...)
			f.Offset += len(p.Logs)
			if len(p.Logs) < logPage || f.Offset >= p.Total {
				if o.json() {
					if len(all) == len(first.Logs) {
						return printRaw(o.stdout, first.Raw)
					}
					return printValue(o.stdout, map[string]any{"logs": all, "total": len(all)})
				}
				for _, l := range all {
					printLogLine(o, l)
				}
				return nil
			}
		}
	}
	for {
		// The job's status before the lines: once it has ended, the lines
		// read after hold its last ones.
		j, err := c.GetJob(ctx, id)
		if err != nil {
			return err
		}
		for {
			p, err := c.Logs(ctx, id, f)
			if err != nil {
				return err
			}
			for _, l := range p.Logs {
				if o.json() {
					fmt.Fprintln(o.stdout, compactJSON(l))
				} else {
					printLogLine(o, l)
				}
			}
			f.Offset += len(p.Logs)
			if len(p.Logs) < logPage {
				break
			}
		}
		if events.Finished(j.Status) {
			return nil
		}
		t := time.NewTimer(logPoll)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("stopped following the logs of job %s: %w", id, ctx.Err())
		case <-t.C:
		}
	}
}

func printLogLine(o *options, l client.LogLine) {
	fmt.Fprintf(o.stdout, "%s  %-7s  %-12s  %s\n", l.Time.Local().Format("2006-01-02 15:04:05.000"), l.Level, orDash(l.RoutineID), l.Message)
}
