package api

import (
	"maps"
	"net/http"
	"slices"

	"github.com/getkin/kin-openapi/openapi3"
)

// historyPaths describes the post-mortem endpoints (backend/history): a
// job's state at any seq of its log, and its activations.
func (b *specBuilder) historyPaths() {
	job := b.ref("Job").Value
	props := maps.Clone(job.Properties)
	props["at"] = oaInt("The seq of the event the state follows.").WithFormat("int64").WithMin(1).NewRef()
	props["shared"] = oaMap(&openapi3.SchemaRef{Value: oaAny("")}, "The job's shared data (set by routines or the debugger).").NewRef()
	required := append(slices.Clone(job.Required), "routine_states", "at", "shared")
	b.define("JobStateAt", oaObject("A job as it was right after event `at` of its log, folded from the log: the fields of "+
		"GET /api/jobs/{id} (events is at; duration, for a job still running then, is the time from its start to that event), "+
		"plus its shared data. Payloads are never truncated.", required, props))

	b.define("Emit", oaObject("One event an activation emitted.", []string{"event", "data", "targets", "seq"}, openapi3.Schemas{
		"event":   oaStr("Event name.").NewRef(),
		"data":    oaAny("The emitted data, whole.").NewRef(),
		"targets": oaInt("Activations the emit queued (one per connected slot).").WithMin(0).NewRef(),
		"seq":     oaInt("The event_emit's seq.").WithFormat("int64").WithMin(1).NewRef(),
	}))
	b.define("Activation", oaObject("One run of a routine for one payload at one slot, as the log recorded it.",
		[]string{"activation_id", "routine_id", "slot", "parent_id", "children", "input", "emitted", "status", "attempts",
			"error", "error_type", "started_at", "completed_at", "duration", "started_seq", "ended_seq"}, openapi3.Schemas{
			"activation_id": oaInt("Numbered from 1 (the entry) in the order activations were queued.").WithFormat("int64").WithMin(1).NewRef(),
			"routine_id":    oaStr("").NewRef(),
			"slot":          oaStr("The slot the input arrived at.").NewRef(),
			"parent_id":     oaInt("The activation whose emit caused this one; null for the entry.").WithFormat("int64").WithNullable().NewRef(),
			"children": oaArray(oaInt("").WithFormat("int64").NewRef(),
				"Ids of the activations its emits queued, in order; one that never started (the job ended first, or it waits at a breakpoint) has no record of its own.").NewRef(),
			"input":        oaAny("The data that arrived, whole.").NewRef(),
			"emitted":      oaArray(b.ref("Emit"), "What it emitted, in order.").NewRef(),
			"status":       oaEnum(oaStr(""), "running", "completed", "failed", "skipped").NewRef(),
			"attempts":     oaInt("1 + the retries of its error policy.").WithMin(1).NewRef(),
			"error":        oaStr("The last failure; null if none, or once it completed.").WithNullable().NewRef(),
			"error_type":   oaStr("").WithNullable().NewRef(),
			"started_at":   oaTime("").NewRef(),
			"completed_at": oaTime("Null while it runs.").WithNullable().NewRef(),
			"duration":     oaNum("Seconds; null while it runs.").WithMin(0).WithNullable().NewRef(),
			"started_seq":  oaInt("Seq of its routine_started.").WithFormat("int64").WithMin(1).NewRef(),
			"ended_seq":    oaInt("Seq of its routine_completed or routine_failed; null while it runs.").WithFormat("int64").WithNullable().NewRef(),
		}))
	b.define("ActivationList", oaPage("activations", b.ref("Activation"), "A page of a job's started activations in id order."))

	jobID := oaPathID("Job id.")
	b.add(http.MethodGet, "/api/jobs/{id}/state", oaOp{
		id: "getJobStateAt", tag: "jobs", summary: "A job's state at any seq of its log (post-mortem)",
		desc: "Works for running and finished jobs. An `at` outside 1..(the job's last seq) is answered with 400 BAD_QUERY naming the range.",
		params: openapi3.Parameters{jobID,
			oaQuery("at", "The seq to show the state after; the latest stored event if omitted.",
				oaInt("").WithFormat("int64").WithMin(1)),
		},
		ok: http.StatusOK, okResp: oaJSON("The job right after event at.", b.ref("JobStateAt")),
		errors: []int{http.StatusBadRequest, http.StatusNotFound, http.StatusServiceUnavailable},
	})
	b.add(http.MethodGet, "/api/jobs/{id}/activations", oaOp{
		id: "listJobActivations", tag: "jobs", summary: "A job's activations with their input and output (post-mortem)",
		params: openapi3.Parameters{jobID,
			oaQuery("routine_id", "Only activations of this routine.", oaStr("")),
			oaLimit(100, oaMaxLimit), oaOffset(),
		},
		ok: http.StatusOK, okResp: oaJSON("A page of activations.", b.ref("ActivationList")),
		errors: []int{http.StatusBadRequest, http.StatusNotFound, http.StatusServiceUnavailable},
	})
	b.add(http.MethodGet, "/api/jobs/{id}/activations/{aid}", oaOp{
		id: "getJobActivation", tag: "jobs", summary: "One activation of a job",
		params: openapi3.Parameters{jobID,
			&openapi3.ParameterRef{Value: openapi3.NewPathParameter("aid").WithDescription("Activation id (an integer).").
				WithSchema(openapi3.NewInt64Schema())},
		},
		ok: http.StatusOK, okResp: oaJSON("The activation.", b.ref("Activation")),
		errors: []int{http.StatusBadRequest, http.StatusNotFound, http.StatusServiceUnavailable},
	})
}
