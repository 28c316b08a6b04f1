package cli

import (
	"fmt"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/switchyard/switchyard/backend/client"
)

// target is the --job or --flow a breakpoint command is about.
type target struct {
	job, flow string
}

func (t *target) flags(cmd *cobra.Command) {
	cmd.Flags().StringVar(&t.job, "job", "", "the breakpoints of this job")
	cmd.Flags().StringVar(&t.flow, "flow", "", "the breakpoints of this flow (every new job of it gets them)")
}

func (t *target) scope() (client.Scope, string, error) {
	switch {
	case t.job != "" && t.flow != "":
		return "", "", usagef("--job and --flow: choose one")
	case t.job != "":
		return client.ScopeJob, t.job, nil
	case t.flow != "":
		return client.ScopeFlow, t.flow, nil
	}
	return "", "", usagef("name the job (--job ID) or the flow (--flow ID)")
}

func (t *target) String() string {
	if t.job != "" {
		return "job " + t.job
	}
	return "flow " + t.flow
}

func newBreakpointsCmd(o *options) *cobra.Command {
	cmd := group(&cobra.Command{
		Use:     "breakpoints",
		Aliases: []string{"bp"},
		Short:   "List, add and remove the breakpoints of a job or a flow",
		Long: `List, add and remove breakpoints of a job (--job) or of a flow (--flow;
every new job of the flow gets a copy). A breakpoint stops a job before
an activation of a routine, before an activation at one of its slots
(--slot), or before an emit of one of its events (--event).`,
	})
	cmd.AddCommand(newBreakpointsListCmd(o), newBreakpointsAddCmd(o), newBreakpointsRmCmd(o))
	return cmd
}

func newBreakpointsListCmd(o *options) *cobra.Command {
	var t target
	cmd := &cobra.Command{
		Use:   "list (--job ID | --flow ID)",
		Short: "List breakpoints",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			scope, id, err := t.scope()
			if err != nil {
				return err
			}
			l, err := o.client().Breakpoints(cmd.Context(), scope, id)
			if err != nil {
				return err
			}
			if o.json() {
				return printRaw(o.stdout, l.Raw)
			}
			tb := newTable(o.stdout, "BREAKPOINT", "TYPE", "ROUTINE", "PORT", "CONDITION", "HIT CONDITION", "LOG MESSAGE", "ENABLED", "HITS", "FROM")
			for _, bp := range l.Breakpoints {
				port := deref(bp.SlotName)
				if bp.EventName != nil {
					port = *bp.EventName
				}
				tb.row(bp.ID, bp.Type, bp.RoutineID, orDash(port), orDash(deref(bp.Condition)), orDash(deref(bp.HitCondition)),
					orDash(deref(bp.LogMessage)), strconv.FormatBool(bp.Enabled), strconv.FormatInt(bp.HitCount, 10), orDash(deref(bp.InheritedFrom)))
			}
			return tb.flush()
		},
	}
	t.flags(cmd)
	return cmd
}

func newBreakpointsAddCmd(o *options) *cobra.Command {
	var t target
	var routine, slot, event, condition, hitCondition, logMessage string
	var disabled bool
	cmd := &cobra.Command{
		Use:   "add (--job ID | --flow ID) --routine R [--slot S | --event E]",
		Short: "Add a breakpoint and print its id",
		Example: `  switchyard breakpoints add --flow orders --routine double
  switchyard breakpoints add --job 7f3a… --routine double --slot input --condition 'data.value > 10'
  switchyard breakpoints add --flow orders --routine slow --event output --log-message 'total {{ data.total }}'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			scope, id, err := t.scope()
			if err != nil {
				return err
			}
			if routine == "" {
				return usagef("--routine is required")
			}
			in := client.BreakpointInput{Type: client.BreakpointRoutine, RoutineID: routine}
			switch {
			case slot != "" && event != "":
				return usagef("--slot and --event: choose one")
			case slot != "":
				in.Type, in.SlotName = client.BreakpointSlot, &slot
			case event != "":
				in.Type, in.EventName = client.BreakpointEvent, &event
			}
			f := cmd.Flags()
			if f.Changed("condition") {
				in.Condition = &condition
			}
			if f.Changed("hit-condition") {
				in.HitCondition = &hitCondition
			}
			if f.Changed("log-message") {
				in.LogMessage = &logMessage
			}
			if disabled {
				in.Enabled = ptr(false)
			}
			bp, err := o.client().CreateBreakpoint(cmd.Context(), scope, id, in)
			if err != nil {
				return fmt.Errorf("add a breakpoint to %s: %w", t.String(), err)
			}
			if o.json() {
				return printRaw(o.stdout, bp.Raw)
			}
			fmt.Fprintln(o.stdout, bp.ID)
			return nil
		},
	}
	t.flags(cmd)
	fl := cmd.Flags()
	fl.StringVar(&routine, "routine", "", "the routine (required)")
	fl.StringVar(&slot, "slot", "", "stop before an activation at this input slot only")
	fl.StringVar(&event, "event", "", "stop before an emit of this event only")
	fl.StringVar(&condition, "condition", "", "stop only when this expression is true (data, job, routine, shared in scope)")
	fl.StringVar(&hitCondition, "hit-condition", "", "stop only at these hits, e.g. \">= 3\" or \"% 2\"")
	fl.StringVar(&logMessage, "log-message", "", "a logpoint: log this template and do not stop")
	fl.BoolVar(&disabled, "disabled", false, "add it disabled")
	return cmd
}

func newBreakpointsRmCmd(o *options) *cobra.Command {
	var t target
	cmd := &cobra.Command{
		Use:     "rm <breakpoint_id> (--job ID | --flow ID)",
		Aliases: []string{"remove", "delete"},
		Short:   "Remove a breakpoint",
		Args:    argsNamed("breakpoint_id"),
		RunE: func(cmd *cobra.Command, args []string) error {
			scope, id, err := t.scope()
			if err != nil {
				return err
			}
			if err := o.client().DeleteBreakpoint(cmd.Context(), scope, id, args[0]); err != nil {
				return fmt.Errorf("remove breakpoint %s of %s: %w", args[0], t.String(), err)
			}
			if o.json() {
				return printValue(o.stdout, map[string]any{"breakpoint_id": args[0], "deleted": true})
			}
			fmt.Fprintf(o.stdout, "breakpoint %s of %s removed\n", args[0], t.String())
			return nil
		},
	}
	t.flags(cmd)
	return cmd
}
