package cli

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/switchyard/switchyard/backend/client"
)

func TestBreakpoints(t *testing.T) {
	base := startServer(t)
	// A flow breakpoint at steps' wait slot, one logpoint at note's output
	// event, and a routine breakpoint with conditions.
	slotBP := strings.TrimSpace(mustRun(t, "breakpoints", "add", "--flow", "steps", "--routine", "wait", "--slot", "input",
		"--condition", `data.name == "ada"`, "--server", base))
	if !regexp.MustCompile(`^bp_\w+$`).MatchString(slotBP) {
		t.Fatalf("add printed %q, want the id", slotBP)
	}
	var bp client.Breakpoint
	runJSON(t, &bp, ExitOK, "bp", "add", "--flow", "steps", "--routine", "note", "--event", "output", "--log-message", "saw {{ data.name }}", "--server", base)
	if bp.Type != "event" || deref(bp.EventName) != "output" || deref(bp.LogMessage) != "saw {{ data.name }}" || !bp.Enabled || bp.FlowID != "steps" {
		t.Errorf("add -o json: %+v", bp)
	}
	runJSON(t, &bp, ExitOK, "breakpoints", "add", "--flow", "steps", "--routine", "done", "--hit-condition", ">= 2", "--condition", "true",
		"--disabled", "--server", base)
	if bp.Type != "routine" || deref(bp.HitCondition) != ">= 2" || deref(bp.Condition) != "true" || bp.Enabled || bp.SlotName != nil {
		t.Errorf("add routine -o json: %+v", bp)
	}
	disabledBP := bp.ID

	var list client.BreakpointList
	runJSON(t, &list, ExitOK, "breakpoints", "list", "--flow", "steps", "--server", base)
	if list.Total != 3 || len(list.Breakpoints) != 3 {
		t.Fatalf("list -o json: %+v", list)
	}
	out := mustRun(t, "breakpoints", "list", "--flow", "steps", "--server", base)
	for _, want := range []string{
		`(?m)^BREAKPOINT +TYPE +ROUTINE +PORT +CONDITION +HIT CONDITION +LOG MESSAGE +ENABLED +HITS +FROM$`,
		`(?m)^` + slotBP + ` +slot +wait +input +data\.name == "ada" +- +- +true +0 +-$`,
		`(?m)^bp_\w+ +event +note +output +- +- +saw \{\{ data\.name \}\} +true +0 +-$`,
		`(?m)^` + disabledBP + ` +routine +done +- +true +>= 2 +- +false +0 +-$`,
	} {
		if !regexp.MustCompile(want).MatchString(out) {
			t.Errorf("list lacks %s:\n%s", want, out)
		}
	}

	// A job of the flow gets copies, stops at the slot breakpoint, and
	// goes on with resume.
	id := strings.TrimSpace(mustRun(t, "jobs", "start", "steps", "--params", `{"name":"ada"}`, "--server", base))
	var job client.Job
	eventually(t, "the job to stop at the breakpoint", func() bool {
		runJSON(t, &job, ExitOK, "jobs", "get", id, "--server", base)
		return job.Status == "paused"
	})
	if job.PauseReason != "breakpoint" || job.PausedAt == nil {
		t.Fatalf("stopped job: %+v", job)
	}
	// It names the job's copy of the breakpoint (checked below to be the
	// slot breakpoint's).
	stopped := fmt.Sprintf(`(?m)^stopped at: +wait on slot input, activation %d \(slot breakpoint %s\)$`,
		job.PausedAt.ActivationID, deref(job.PausedAt.BreakpointID))
	if out := mustRun(t, "jobs", "get", id, "--server", base); !regexp.MustCompile(stopped).MatchString(out) ||
		strings.Contains(out, "current:") {
		t.Errorf("jobs get of the stopped job lacks %s, or names another routine current:\n%s", stopped, out)
	}
	runJSON(t, &list, ExitOK, "breakpoints", "list", "--job", id, "--server", base)
	if list.Total != 3 {
		t.Fatalf("job breakpoints: %+v", list)
	}
	for _, b := range list.Breakpoints {
		if b.InheritedFrom == nil || b.JobID != id {
			t.Errorf("job breakpoint not inherited: %+v", b)
		}
		if deref(b.InheritedFrom) == slotBP && (b.HitCount != 1 || b.ID != deref(job.PausedAt.BreakpointID)) {
			t.Errorf("the slot breakpoint's copy (the job stopped at %s): %+v", deref(job.PausedAt.BreakpointID), b)
		}
	}
	// A job breakpoint of its own, then removed.
	own := strings.TrimSpace(mustRun(t, "breakpoints", "add", "--job", id, "--routine", "done", "--server", base))
	if out := mustRun(t, "breakpoints", "rm", own, "--job", id, "--server", base); out != "breakpoint "+own+" of job "+id+" removed\n" {
		t.Errorf("rm: %q", out)
	}
	mustRun(t, "jobs", "resume", id, "--server", base)
	out = mustRun(t, "jobs", "watch", id, "--server", base)
	if !strings.Contains(out, "info note: saw ada") || !strings.Contains(out, "job "+id+" completed") {
		t.Errorf("after resume:\n%s", out)
	}

	// Removing from the flow; -o json.
	var removed map[string]any
	runJSON(t, &removed, ExitOK, "breakpoints", "rm", slotBP, "--flow", "steps", "--server", base)
	if removed["breakpoint_id"] != slotBP || removed["deleted"] != true {
		t.Errorf("rm -o json: %v", removed)
	}
	runJSON(t, &list, ExitOK, "breakpoints", "list", "--flow", "steps", "--server", base)
	if list.Total != 2 {
		t.Errorf("after rm: %+v", list)
	}

	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"breakpoints", "list"}, ExitUsage, "name the job (--job ID) or the flow (--flow ID)"},
		{[]string{"breakpoints", "list", "--job", "a", "--flow", "b"}, ExitUsage, "--job and --flow: choose one"},
		{[]string{"breakpoints", "add", "--flow", "steps"}, ExitUsage, "--routine is required"},
		{[]string{"breakpoints", "add", "--flow", "steps", "--routine", "wait", "--slot", "input", "--event", "output"}, ExitUsage, "--slot and --event: choose one"},
		{[]string{"breakpoints", "rm", "--flow", "steps"}, ExitUsage, "want <breakpoint_id>"},
		{[]string{"breakpoints", "frob"}, ExitUsage, `unknown command "frob"`},
		{[]string{"breakpoints", "add", "--flow", "steps", "--routine", "nope"}, ExitRefused, `UNKNOWN_TARGET (HTTP 422): flow "steps" (version 1) has no routine "nope"`},
		{[]string{"breakpoints", "add", "--flow", "steps", "--routine", "wait", "--condition", "data.("}, ExitRefused, "BAD_REQUEST (HTTP 400): "},
		{[]string{"breakpoints", "add", "--job", id, "--routine", "wait"}, ExitRefused, "JOB_FINISHED"},
		{[]string{"breakpoints", "list", "--flow", "nope"}, ExitRefused, "FLOW_NOT_FOUND"},
		{[]string{"breakpoints", "rm", "bp_nope", "--flow", "steps"}, ExitRefused, "BREAKPOINT_NOT_FOUND"},
	} {
		expectCode(t, c.code, append(c.args, "--server", base), c.want)
	}
}
