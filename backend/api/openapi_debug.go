package api

import (
	"net/http"

	"github.com/getkin/kin-openapi/openapi3"
)

// debugPaths describes breakpoints and debug sessions (docs/debugger.md).
func (b *specBuilder) debugPaths() {
	nullStr := func(desc string) *openapi3.SchemaRef { return oaStr(desc).WithNullable().NewRef() }
	b.define("Breakpoint", oaObject("A breakpoint of a job or of a flow (copied into each job started afterwards).",
		[]string{"breakpoint_id", "type", "routine_id", "slot_name", "event_name", "condition", "hit_condition", "log_message",
			"enabled", "hit_count", "inherited_from", "created_at"}, openapi3.Schemas{
			"breakpoint_id":  oaStr("").NewRef(),
			"job_id":         oaStr("Set on a job's breakpoint.").NewRef(),
			"flow_id":        oaStr("Set on a flow's breakpoint.").NewRef(),
			"type":           oaEnum(oaStr("routine: before any activation; slot: before an activation at slot_name; event: before an emit of event_name."), "routine", "slot", "event").NewRef(),
			"routine_id":     oaStr("").NewRef(),
			"slot_name":      nullStr(""),
			"event_name":     nullStr(""),
			"condition":      nullStr("Boolean expression (data, job, routine, slot, shared in scope); null always matches."),
			"hit_condition":  nullStr(`Stop only at some matching hits: "5" (the 5th), ">= 3", "% 10".`),
			"log_message":    nullStr("A template written as a log line instead of pausing: the breakpoint is a logpoint."),
			"enabled":        oaBool("").NewRef(),
			"hit_count":      oaInt("Matching hits so far.").WithFormat("int64").WithMin(0).NewRef(),
			"inherited_from": nullStr("On a job, the flow breakpoint this one was copied from."),
			"created_at":     oaTime("").NewRef(),
		}))
	b.define("BreakpointList", oaObject("", []string{"breakpoints", "total"}, openapi3.Schemas{
		"breakpoints": oaArray(b.ref("Breakpoint"), "Oldest first.").NewRef(),
		"total":       oaInt("").WithMin(0).NewRef(),
	}))
	editable := openapi3.Schemas{
		"condition":     oaStr("An empty string removes it.").NewRef(),
		"hit_condition": oaStr("An empty string removes it.").NewRef(),
		"log_message":   oaStr("An empty string makes it a plain breakpoint again.").NewRef(),
		"enabled":       oaBool("").NewRef(),
	}
	create := openapi3.Schemas{
		"type":       oaEnum(oaStr("Default routine."), "routine", "slot", "event").NewRef(),
		"routine_id": oaStr("").NewRef(),
		"slot_name":  oaStr("Required for type slot.").NewRef(),
		"event_name": oaStr("Required for type event.").NewRef(),
	}
	for k, v := range editable {
		create[k] = v
	}
	b.define("PauseID", oaClosed(oaObject("Optional: the pause_id this command answers; a stale one is refused with 409 PAUSE_STALE.", nil,
		openapi3.Schemas{"pause_id": oaStr("").NewRef()})))
	b.define("DebugSession", oaObject("A job's debug state.", []string{"job_id", "status", "paused_at", "pause_id", "call_stack_depth", "waiting", "breakpoints"},
		openapi3.Schemas{
			"job_id":           oaStr("").NewRef(),
			"status":           oaStr(`"paused" at a debugger stop; otherwise the job's status.`).NewRef(),
			"paused_at":        &openapi3.SchemaRef{Value: &openapi3.Schema{Nullable: true, AllOf: openapi3.SchemaRefs{b.ref("PausedAt")}}},
			"pause_id":         nullStr(""),
			"call_stack_depth": oaInt("Frames of the call stack (0 when not paused).").WithMin(0).NewRef(),
			"waiting":          oaInt("Stops of other activations queued behind this one (concurrent flows).").WithMin(0).NewRef(),
			"breakpoints":      oaInt("Breakpoints the job is checked against.").WithMin(0).NewRef(),
		}))
	b.define("Frame", oaObject("A call stack frame: an activation.", []string{"frame_index", "activation_id", "routine_id", "slot_name", "event_name", "data"},
		openapi3.Schemas{
			"frame_index":   oaInt("0 is the paused activation, then the one whose emit caused it, … up to the entry.").WithMin(0).NewRef(),
			"activation_id": oaInt("").WithFormat("int64").NewRef(),
			"routine_id":    oaStr("").NewRef(),
			"slot_name":     oaStr("The slot its data arrived at.").NewRef(),
			"event_name":    oaStr("Frame 0: the emit held at an event breakpoint; above: the event whose emit caused the frame below.").NewRef(),
			"data":          oaAny("The frame's input (frame 0 at an event breakpoint: the data about to be emitted).").NewRef(),
		}))
	b.define("CallStack", oaObject("", []string{"job_id", "call_stack"}, openapi3.Schemas{
		"job_id":     oaStr("").NewRef(),
		"call_stack": oaArray(b.ref("Frame"), "").NewRef(),
	}))
	b.define("Variables", oaObject("The variables of a frame.", []string{"frame_index", "data", "routine", "shared", "job"}, openapi3.Schemas{
		"frame_index": oaInt("").WithMin(0).NewRef(),
		"data":        oaAny("The frame's data.").NewRef(),
		"routine": oaObject("The frame's routine.", []string{"id", "kind", "config", "state"}, openapi3.Schemas{
			"id":     oaStr("").NewRef(),
			"kind":   oaStr("").NewRef(),
			"config": oaObject("Its config in the job's flow version.", nil, nil).NewRef(),
			"state":  oaObject("Frame 0: the routine's private state in this job (what a merge has collected); null above.", nil, nil).WithNullable().NewRef(),
		}).NewRef(),
		"shared": oaObject("The job's shared data.", nil, nil).NewRef(),
		"job": oaObject("", []string{"id", "flow_id", "params"}, openapi3.Schemas{
			"id":      oaStr("").NewRef(),
			"flow_id": oaStr("").NewRef(),
			"params":  oaAny("").NewRef(),
		}).NewRef(),
	}))
	b.define("ExpressionCheck", oaObject("", []string{"ok", "error"}, openapi3.Schemas{
		"ok":    oaBool("").NewRef(),
		"error": nullStr(""),
	}))
	b.define("EvalResult", oaObject("Evaluate's answer: a failure is in error, never an HTTP error.", []string{"result", "type"}, openapi3.Schemas{
		"result": oaAny("").NewRef(),
		"type":   oaStr("JSON type of the result: null, boolean, number, string, array, object (empty on error).").NewRef(),
		"error":  oaStr("Compile or run-time error, or the time-out.").NewRef(),
	}))

	b.add(http.MethodPost, "/api/expressions/check", oaOp{
		id: "checkExpression", tag: "debugger", summary: "Compile an expression, condition or template as the server would",
		body: &openapi3.RequestBody{Required: true, Content: openapi3.NewContentWithJSONSchema(oaClosed(oaObject("", []string{"expression"}, openapi3.Schemas{
			"expression": oaStr("").NewRef(),
			"as":         oaEnum(oaStr("Default expression; condition must be boolean; template is {{ }} text."), "expression", "condition", "template").NewRef(),
		})))},
		ok: http.StatusOK, okResp: oaJSON("Whether it compiles; error is the compiler's message with its position.", b.ref("ExpressionCheck")),
		errors: []int{http.StatusBadRequest, http.StatusRequestEntityTooLarge},
	})

	for _, scope := range []struct{ path, name, what string }{{"/api/jobs/{id}", "Job", "job"}, {"/api/flows/{id}", "Flow", "flow"}} {
		id := oaPathID(scope.name + " id.")
		bp := &openapi3.ParameterRef{Value: openapi3.NewPathParameter("bp").WithDescription("Breakpoint id.").WithSchema(openapi3.NewStringSchema())}
		b.add(http.MethodPost, scope.path+"/breakpoints", oaOp{
			id: "create" + scope.name + "Breakpoint", tag: "debugger", summary: "Set a breakpoint on a " + scope.what,
			params: openapi3.Parameters{id},
			body: &openapi3.RequestBody{Required: true, Content: openapi3.NewContentWithJSONSchema(oaClosed(oaObject("",
				[]string{"routine_id"}, create)))},
			ok: http.StatusCreated, okResp: oaJSON("The breakpoint.", b.ref("Breakpoint")),
			errors: []int{http.StatusBadRequest, http.StatusNotFound, http.StatusConflict, http.StatusRequestEntityTooLarge, http.StatusUnprocessableEntity},
		})
		b.add(http.MethodGet, scope.path+"/breakpoints", oaOp{
			id: "list" + scope.name + "Breakpoints", tag: "debugger", summary: "List a " + scope.what + "'s breakpoints",
			params: openapi3.Parameters{id},
			ok:     http.StatusOK, okResp: oaJSON("Its breakpoints with their hit counts.", b.ref("BreakpointList")),
			errors: []int{http.StatusNotFound},
		})
		b.add(http.MethodPut, scope.path+"/breakpoints/{bp}", oaOp{
			id: "update" + scope.name + "Breakpoint", tag: "debugger", summary: "Change a breakpoint",
			params: openapi3.Parameters{id, bp},
			body:   &openapi3.RequestBody{Required: true, Content: openapi3.NewContentWithJSONSchema(oaClosed(oaObject("", nil, editable)))},
			ok:     http.StatusOK, okResp: oaJSON("The breakpoint.", b.ref("Breakpoint")),
			errors: []int{http.StatusBadRequest, http.StatusNotFound, http.StatusConflict, http.StatusRequestEntityTooLarge},
		})
		b.add(http.MethodDelete, scope.path+"/breakpoints/{bp}", oaOp{
			id: "delete" + scope.name + "Breakpoint", tag: "debugger", summary: "Remove a breakpoint",
			params: openapi3.Parameters{id, bp},
			ok:     http.StatusNoContent, okResp: openapi3.NewResponse().WithDescription("Removed."),
			errors: []int{http.StatusNotFound, http.StatusConflict},
		})
	}

	jobID := openapi3.Parameters{oaPathID("Job id.")}
	b.add(http.MethodGet, "/api/jobs/{id}/debug/session", oaOp{
		id: "getDebugSession", tag: "debugger", summary: "Where the job is stopped, if it is",
		params: jobID, ok: http.StatusOK, okResp: oaJSON("", b.ref("DebugSession")),
		errors: []int{http.StatusNotFound},
	})
	b.add(http.MethodGet, "/api/jobs/{id}/debug/call-stack", oaOp{
		id: "getCallStack", tag: "debugger", summary: "The causal chain of the paused activation",
		params: jobID, ok: http.StatusOK, okResp: oaJSON("", b.ref("CallStack")),
		errors: []int{http.StatusNotFound, http.StatusConflict},
	})
	b.add(http.MethodGet, "/api/jobs/{id}/debug/variables", oaOp{
		id: "getVariables", tag: "debugger", summary: "Variables of a frame",
		params: openapi3.Parameters{jobID[0], oaQueryInt("frame_index", "Frame of the call stack; 0 is the paused activation.", 0, oaMaxInt32, 0, "int32")},
		ok:     http.StatusOK, okResp: oaJSON("", b.ref("Variables")),
		errors: []int{http.StatusBadRequest, http.StatusNotFound, http.StatusConflict},
	})
	b.add(http.MethodPut, "/api/jobs/{id}/debug/variables/{name}", oaOp{
		id: "setVariable", tag: "debugger", summary: "Change data, a key path in it, or a shared key at the stop",
		params: openapi3.Parameters{jobID[0], &openapi3.ParameterRef{Value: openapi3.NewPathParameter("name").
			WithDescription(`"data", "data.<key>.<key|index>…" or "shared.<key>".`).WithSchema(openapi3.NewStringSchema())}},
		body: &openapi3.RequestBody{Required: true, Content: openapi3.NewContentWithJSONSchema(oaClosed(oaObject("", []string{"value"}, openapi3.Schemas{
			"value":    oaAny("The new value (any JSON).").NewRef(),
			"pause_id": oaStr("").NewRef(),
		})))},
		ok: http.StatusOK, okResp: oaJSON("The variables of frame 0 after the change.", b.ref("Variables")),
		errors: []int{http.StatusBadRequest, http.StatusNotFound, http.StatusConflict, http.StatusRequestEntityTooLarge},
	})
	b.add(http.MethodPost, "/api/jobs/{id}/debug/evaluate", oaOp{
		id: "evaluate", tag: "debugger", summary: "Evaluate an expression in a frame (time-limited, no side effects)",
		params: jobID,
		body: &openapi3.RequestBody{Required: true, Content: openapi3.NewContentWithJSONSchema(oaClosed(oaObject("", []string{"expression"}, openapi3.Schemas{
			"expression":  oaStr("").NewRef(),
			"frame_index": oaInt("").WithMin(0).NewRef(),
		})))},
		ok: http.StatusOK, okResp: oaJSON("", b.ref("EvalResult")),
		errors: []int{http.StatusBadRequest, http.StatusNotFound, http.StatusConflict, http.StatusRequestEntityTooLarge},
	})
	for _, cmd := range []struct{ path, id, summary string }{
		{"resume", "debugResume", "Continue to the next breakpoint"},
		{"step-over", "debugStepOver", "Run the activation and everything it causes; stop at the next activation not descended from it"},
		{"step-into", "debugStepInto", "Stop at the next activation caused by this one"},
		{"step-out", "debugStepOut", "Stop at the next activation of a shallower frame"},
	} {
		b.add(http.MethodPost, "/api/jobs/{id}/debug/"+cmd.path, oaOp{
			id: cmd.id, tag: "debugger", summary: cmd.summary, params: jobID,
			body: &openapi3.RequestBody{Content: openapi3.NewContentWithJSONSchemaRef(b.ref("PauseID"))},
			ok:   http.StatusOK, okResp: oaJSON("The session after the command.", b.ref("DebugSession")),
			errors: []int{http.StatusBadRequest, http.StatusNotFound, http.StatusConflict, http.StatusRequestEntityTooLarge},
		})
	}
}
