package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/gin-gonic/gin"

	"github.com/switchyard/switchyard/backend/apierr"
)

// The OpenAPI 3.0 description of the REST API. It is built from kin-openapi
// types so it can be validated, and it must list exactly the routes Register
// mounts (openapi_test.go checks both, and checks real responses against it).

func (a *API) openAPI(c *gin.Context) {
	body, err := openAPIJSON(a.Version)
	if err != nil {
		a.internal(c, err)
		return
	}
	c.Data(http.StatusOK, "application/json; charset=utf-8", body)
}

// openAPIDocs caches the marshalled document per server version.
var openAPIDocs sync.Map // version → func() ([]byte, error)

func openAPIJSON(version string) ([]byte, error) {
	build, _ := openAPIDocs.LoadOrStore(version, sync.OnceValues(func() ([]byte, error) {
		b, err := json.Marshal(OpenAPI(version))
		if err != nil {
			return nil, fmt.Errorf("encode openapi document: %w", err)
		}
		return b, nil
	}))
	return build.(func() ([]byte, error))()
}

// Bounds of query parameters, as the handlers enforce them.
const (
	oaMaxLimit       = 1000
	oaMaxEventsLimit = 10000
	oaMaxInt32       = 1<<31 - 1
	oaMaxQ           = 500
)

// oaIDPattern is flow.ValidID's pattern (flow and routine ids).
const oaIDPattern = `^[A-Za-z0-9_][A-Za-z0-9_-]{0,127}$`

// OpenAPI returns a new OpenAPI 3.0 document describing the REST API of a
// server of the given version.
func OpenAPI(version string) *openapi3.T {
	if version == "" {
		version = "dev"
	}
	b := &specBuilder{doc: &openapi3.T{
		OpenAPI: "3.0.3",
		Info: &openapi3.Info{
			Title:   "Switchyard",
			Version: version,
			Description: "REST API of Switchyard: flow definitions (JSON or the YAML DSL), jobs that run them, " +
				"and each job's events, logs and metrics. Every error is answered as " +
				"`{\"error\": {\"code\", \"message\", \"details\"?}}`. " +
				"Once the server has an API token (always, when it listens beyond loopback), every call but the health probes " +
				"needs one, as `Authorization: Bearer <token>` or the UI's cookie; each endpoint needs a role " +
				"(viewer, operator or admin: docs/api.md, Authentication).",
		},
		Components: &openapi3.Components{
			Schemas:   openapi3.Schemas{},
			Responses: openapi3.ResponseBodies{},
			SecuritySchemes: openapi3.SecuritySchemes{
				"bearerToken": &openapi3.SecuritySchemeRef{Value: openapi3.NewJWTSecurityScheme().WithBearerFormat("sy_<id>_<secret>").
					WithDescription("An API token (switchyard tokens create).")},
				"tokenCookie": &openapi3.SecuritySchemeRef{Value: openapi3.NewSecurityScheme().WithType("apiKey").WithIn("cookie").
					WithName("switchyard_token").WithDescription("The cookie a UI page's ?token= is exchanged for.")},
			},
		},
		// A server on loopback without tokens needs none: hence the empty requirement.
		Security: openapi3.SecurityRequirements{{"bearerToken": {}}, {"tokenCookie": {}}, {}},
		Paths:    openapi3.NewPaths(),
		Tags: openapi3.Tags{
			{Name: "system", Description: "Health, the routine catalogue and this document."},
			{Name: "flows", Description: "Flow definitions and their versions."},
			{Name: "jobs", Description: "Jobs: runs of a flow version, with their events, logs and metrics."},
			{Name: "debugger", Description: "Breakpoints, stepping, variables and evaluate (docs/debugger.md)."},
			{Name: "streams", Description: "WebSocket streams of job events (docs/streams.md): a GET with the WebSocket upgrade headers."},
		},
	}}
	b.schemas()
	b.errorResponses()
	b.systemPaths()
	b.flowPaths()
	b.jobPaths()
	b.debugPaths()
	b.historyPaths()
	b.streamPaths()
	return b.doc
}

type specBuilder struct {
	doc *openapi3.T
}

// define adds a named component schema.
func (b *specBuilder) define(name string, s *openapi3.Schema) {
	b.doc.Components.Schemas[name] = &openapi3.SchemaRef{Value: s}
}

// ref refers to a component schema; it must be defined already, so the
// reference also carries the value (the in-memory document stays resolved).
func (b *specBuilder) ref(name string) *openapi3.SchemaRef {
	s, ok := b.doc.Components.Schemas[name]
	if !ok {
		panic("openapi: schema " + name + " is used before it is defined")
	}
	return &openapi3.SchemaRef{Ref: "#/components/schemas/" + name, Value: s.Value}
}

// Schema helpers.

func oaStr(desc string) *openapi3.Schema {
	s := openapi3.NewStringSchema()
	s.Description = desc
	return s
}

func oaInt(desc string) *openapi3.Schema {
	s := openapi3.NewIntegerSchema()
	s.Description = desc
	return s
}

func oaNum(desc string) *openapi3.Schema {
	s := openapi3.NewFloat64Schema()
	s.Description = desc
	return s
}

func oaBool(desc string) *openapi3.Schema {
	s := openapi3.NewBoolSchema()
	s.Description = desc
	return s
}

func oaTime(desc string) *openapi3.Schema {
	s := openapi3.NewDateTimeSchema()
	s.Description = desc
	return s
}

// anyValue is any JSON value, null included.
func oaAny(desc string) *openapi3.Schema {
	return &openapi3.Schema{Description: desc, Nullable: true}
}

func oaArray(items *openapi3.SchemaRef, desc string) *openapi3.Schema {
	s := openapi3.NewArraySchema()
	s.Items = items
	s.Description = desc
	return s
}

// mapOf is an object whose values all have schema v.
func oaMap(v *openapi3.SchemaRef, desc string) *openapi3.Schema {
	s := &openapi3.Schema{Type: &openapi3.Types{openapi3.TypeObject}, Description: desc}
	s.AdditionalProperties = openapi3.AdditionalProperties{Schema: v}
	return s
}

func oaObject(desc string, required []string, props openapi3.Schemas) *openapi3.Schema {
	s := openapi3.NewObjectSchema()
	s.Description = desc
	s.Required = required
	s.Properties = props
	return s
}

// closed forbids properties the server does not know (it rejects them).
func oaClosed(s *openapi3.Schema) *openapi3.Schema {
	return s.WithoutAdditionalProperties()
}

func oaEnum(s *openapi3.Schema, values ...string) *openapi3.Schema {
	for _, v := range values {
		s.Enum = append(s.Enum, v)
	}
	return s
}

func (b *specBuilder) schemas() {
	durationDesc := `A Go duration such as "250ms" or "1m30s", or a number of seconds; the server writes it back as a string.`
	duration := &openapi3.Schema{
		Description: durationDesc,
		AnyOf: openapi3.SchemaRefs{
			oaStr("").NewRef(),
			openapi3.NewFloat64Schema().WithMin(0).NewRef(),
		},
	}
	b.define("Duration", duration)

	b.define("ErrorPolicy", oaClosed(oaObject("What a failed activation of the routine does to its job.", nil, openapi3.Schemas{
		"strategy": oaEnum(oaStr(`"stop" fails the job (the default, also meant by ""), "continue" records the failure and emits nothing, `+
			`"skip" records the failure and passes the input on, "retry" runs the activation again up to max_retries times, then stops.`),
			"", "stop", "continue", "skip", "retry").NewRef(),
		"max_retries":   oaInt("Retries before giving up (retry strategy).").WithMin(0).WithMax(100).NewRef(),
		"retry_delay":   b.ref("Duration"),
		"retry_backoff": oaNum("Factor applied to retry_delay after each retry (0 or unset means 1).").WithMin(0).WithMax(10).NewRef(),
	})))

	b.define("RoutineSpec", oaClosed(oaObject("One routine of a flow: a kind from the catalogue (GET /api/routines) and its configuration.",
		[]string{"kind"}, openapi3.Schemas{
			"kind":         oaStr("Routine kind, e.g. input, transform, output.").NewRef(),
			"description":  oaStr("").NewRef(),
			"config":       oaMap(&openapi3.SchemaRef{Value: oaAny("")}, "Kind-specific configuration; see the kind's config fields.").NewRef(),
			"error_policy": b.ref("ErrorPolicy"),
		})))

	b.define("Connection", oaClosed(oaObject("Delivers what routine.event emits to routine.slot.", []string{"from", "to"}, openapi3.Schemas{
		"from": oaStr(`Emitting end as "routine.event", e.g. "start.output".`).NewRef(),
		"to":   oaStr(`Receiving end as "routine.slot", e.g. "double.input".`).NewRef(),
		"param_mapping": oaMap(oaStr("").NewRef(),
			"Renames fields of the emitted object: key is the emitted field, value the name the slot sees. Unmapped fields pass through.").NewRef(),
	})))

	b.define("Execution", oaClosed(oaObject("How a job of the flow runs.", nil, openapi3.Schemas{
		"strategy": oaEnum(oaStr(`"sequential" (the default, also meant by "") runs one activation at a time; "concurrent" up to max_workers.`),
			"", "sequential", "concurrent").NewRef(),
		"max_workers": oaInt("Activations of one job running at once with the concurrent strategy (0 means 4).").WithMin(0).WithMax(1024).NewRef(),
		"timeout":     b.ref("Duration"),
	})))

	flowProps := func() openapi3.Schemas {
		return openapi3.Schemas{
			"flow_id":     oaStr("Flow id: 1-128 letters, digits, '_' or '-'.").WithPattern(oaIDPattern).NewRef(),
			"name":        oaStr("").NewRef(),
			"description": oaStr("").NewRef(),
			"version":     oaInt("Version number, set by the server (1 on create, +1 on every update).").WithMin(1).NewRef(),
			"routines":    oaMap(b.ref("RoutineSpec"), "Routines by id (1-128 letters, digits, '_' or '-').").NewRef(),
			"connections": oaArray(b.ref("Connection"), "Empty when the flow was defined without connections.").NewRef(),
			"execution":   b.ref("Execution"),
			"created_at":  oaTime("Set by the server.").NewRef(),
			"updated_at":  oaTime("Set by the server.").NewRef(),
		}
	}
	b.define("Flow", oaObject("A flow definition as the server returns it. The YAML DSL has the same fields "+
		"(without created_at and updated_at, which only stored flows have).",
		[]string{"flow_id", "version", "routines", "connections"}, flowProps()))
	b.define("FlowInput", oaClosed(oaObject("A flow definition as a request body. flow_id is required on create; on update it "+
		"may be omitted (the path names the flow). version, created_at and updated_at are ignored. "+
		"A definition that fails validation is answered with 422 FLOW_INVALID.",
		[]string{"routines"}, flowProps())))
	b.define("FlowDSL", oaClosed(oaObject("A flow definition as text.", []string{"dsl"}, openapi3.Schemas{
		"dsl": oaStr("The definition as YAML (the DSL) or JSON.").NewRef(),
	})))

	b.define("FlowSummary", oaObject("A flow without its routines and connections.",
		[]string{"flow_id", "name", "description", "version", "routine_count", "created_at", "updated_at"}, openapi3.Schemas{
			"flow_id":       oaStr("").NewRef(),
			"name":          oaStr("").NewRef(),
			"description":   oaStr("").NewRef(),
			"version":       oaInt("Current version.").WithMin(1).NewRef(),
			"routine_count": oaInt("").WithMin(0).NewRef(),
			"created_at":    oaTime("").NewRef(),
			"updated_at":    oaTime("").NewRef(),
		}))
	b.define("FlowList", oaPage("flows", b.ref("FlowSummary"), "Current flows ordered by id."))

	b.define("ValidationIssue", oaObject("One validation finding, located at a routine or a connection.", []string{"code", "message"}, openapi3.Schemas{
		"code": oaStr("e.g. MISSING_FLOW_ID, BAD_ID, NO_ROUTINES, UNKNOWN_KIND, BAD_CONFIG, BAD_ERROR_POLICY, BAD_ENDPOINT, " +
			"DANGLING_CONNECTION, UNKNOWN_SLOT, UNKNOWN_EVENT, DUPLICATE_CONNECTION, UNBOUNDED_CYCLE, NO_ENTRY_ROUTINE, " +
			"BAD_EXECUTION, UNREACHABLE_ROUTINE, UNCONNECTED_ROUTINE.").NewRef(),
		"message":    oaStr("").NewRef(),
		"routine_id": oaStr("The routine concerned, if any.").NewRef(),
		"connection": oaInt("Index in connections of the connection concerned, if any.").WithMin(0).NewRef(),
	}))
	b.define("ValidationResult", oaObject("Outcome of validating a flow.", []string{"valid", "errors", "warnings"}, openapi3.Schemas{
		"valid":    oaBool("True when there are no errors (warnings do not count).").NewRef(),
		"errors":   oaArray(b.ref("ValidationIssue"), "").NewRef(),
		"warnings": oaArray(b.ref("ValidationIssue"), "").NewRef(),
	}))

	b.define("RoutineState", oaObject("One routine's state within a job.",
		[]string{"status", "output", "error", "started_at", "completed_at", "activations"}, openapi3.Schemas{
			"status":       oaEnum(oaStr("cancelled: it was running when the job ended."), "pending", "running", "completed", "failed", "skipped", "cancelled").NewRef(),
			"output":       oaAny("What the routine last emitted.").NewRef(),
			"error":        oaStr("The last failure, null if none.").WithNullable().NewRef(),
			"started_at":   oaTime("").WithNullable().NewRef(),
			"completed_at": oaTime("").WithNullable().NewRef(),
			"activations":  oaInt("").WithMin(0).NewRef(),
			"emitted":      oaMap(oaInt("").WithMin(0).NewRef(), "Emits so far by event name; absent before the first.").NewRef(),
		}))
	b.define("PausedAt", oaObject("Where a debugger stop holds the job (docs/debugger.md).",
		[]string{"breakpoint_id", "type", "activation_id", "routine_id", "slot_name", "event_name", "pause_id"}, openapi3.Schemas{
			"breakpoint_id": oaStr("The breakpoint hit; null for a step or stop_on_entry.").WithNullable().NewRef(),
			"type":          oaEnum(oaStr(""), "routine", "slot", "event", "step").NewRef(),
			"activation_id": oaInt("The activation held.").WithFormat("int64").NewRef(),
			"routine_id":    oaStr("").NewRef(),
			"slot_name":     oaStr("").WithNullable().NewRef(),
			"event_name":    oaStr("The emit held, at an event breakpoint.").WithNullable().NewRef(),
			"pause_id":      oaStr("Names this stop; debug commands may send it to guard against stepping twice.").NewRef(),
		}))
	b.define("Job", oaObject("A job: one run of a flow version. Lists leave out routine_states.",
		[]string{"job_id", "flow_id", "flow_version", "status", "entry_routine_id", "params", "result", "error", "created_at",
			"started_at", "completed_at", "progress", "current_node", "nodes_completed", "nodes_failed", "duration", "activations", "events"},
		openapi3.Schemas{
			"job_id":           oaStr("").NewRef(),
			"flow_id":          oaStr("").NewRef(),
			"flow_version":     oaInt("The flow version the job runs.").WithMin(1).NewRef(),
			"status":           oaEnum(oaStr(""), "pending", "running", "paused", "completed", "failed", "cancelled").NewRef(),
			"pause_requested":  oaBool("Present (true) while a running job is pausing: it pauses once its running activations end.").NewRef(),
			"pause_reason":     oaEnum(oaStr("Why the job is paused or pausing: by the API, or at a debugger stop."), "api", "breakpoint").NewRef(),
			"paused_at":        b.ref("PausedAt"),
			"entry_routine_id": oaStr("").NewRef(),
			"params":           oaAny("The job's input as given when it was started ({} if none was given).").NewRef(),
			"result":           oaAny("What the output routines produced; null until there is a result.").NewRef(),
			"error":            oaStr("Why the job failed or was cancelled; empty otherwise.").NewRef(),
			"created_at":       oaTime("").NewRef(),
			"started_at":       oaTime("").WithNullable().NewRef(),
			"completed_at":     oaTime("").WithNullable().NewRef(),
			"progress":         oaNum("Share of routines that have ended, 0 to 1.").WithMin(0).WithMax(1).NewRef(),
			"current_node":     oaStr("Routine of the latest activation.").NewRef(),
			"nodes_completed":  oaInt("").WithMin(0).NewRef(),
			"nodes_failed":     oaInt("").WithMin(0).NewRef(),
			"duration":         oaNum("Seconds since the job started (until it ended).").WithMin(0).NewRef(),
			"activations":      oaInt("").WithMin(0).NewRef(),
			"events":           oaInt("Events in the job's log.").WithMin(0).NewRef(),
			"routine_states":   oaMap(b.ref("RoutineState"), "State of each routine by id (only on single-job answers).").NewRef(),
		}))
	jobList := oaPage("jobs", b.ref("Job"), "Jobs newest first, without routine_states.")
	b.define("JobList", jobList)

	eventTypes := []string{"job_started", "job_paused", "job_resumed", "job_completed", "job_failed", "job_cancelled",
		"routine_started", "routine_completed", "routine_failed", "event_emit", "log",
		"breakpoint_hit", "breakpoint_resumed", "variable_changed", "shared_set"}
	b.define("Event", oaObject("One entry of a job's event log. Fields that do not apply to the type (or are zero) are left out.",
		[]string{"seq", "type", "job_id", "time"}, openapi3.Schemas{
			"seq":            oaInt("Position in the job's log, from 1 without gaps.").WithFormat("int64").WithMin(1).NewRef(),
			"type":           oaEnum(oaStr(""), eventTypes...).NewRef(),
			"job_id":         oaStr("").NewRef(),
			"flow_id":        oaStr("").NewRef(),
			"time":           oaTime("").NewRef(),
			"routine_id":     oaStr("").NewRef(),
			"activation_id":  oaInt("").WithFormat("int64").NewRef(),
			"parent_id":      oaInt("The activation whose emit caused this one.").WithFormat("int64").NewRef(),
			"slot":           oaStr("").NewRef(),
			"event":          oaStr("Event name (event_emit).").NewRef(),
			"data":           oaAny("Input (routine_started) or emitted data (event_emit).").NewRef(),
			"status":         oaStr("New status (job_* events; \"retrying\" or the routine's status on routine_failed).").NewRef(),
			"error":          oaStr("").NewRef(),
			"error_type":     oaStr("").NewRef(),
			"level":          oaStr("Log level (log).").NewRef(),
			"message":        oaStr("Log message (log).").NewRef(),
			"duration":       oaNum("Seconds: of the activation on routine_completed/failed, of the job on job_completed/failed/cancelled.").NewRef(),
			"attempt":        oaInt("Failure count of the activation on routine_failed (1 = first failure).").NewRef(),
			"events_emitted": oaInt("Events the activation emitted (routine_completed).").NewRef(),
			"targets":        oaInt("Activations the emit queued (event_emit).").NewRef(),
			"result_mode":    oaEnum(oaStr("Set on routine_completed when the activation set the job's result to data."), "last", "append").NewRef(),
			"state":          oaObject("The routine's private state after this activation (routine_completed/failed of kinds that keep one, e.g. merge); what a job continues from after a crash.", nil, nil).NewRef(),
			"progress":       oaNum("The job's progress after this event; sent on routine_completed, routine_failed and job_* events when not 0.").NewRef(),
		}))
	b.define("EventPage", oaObject("A page of a job's events in seq order.", []string{"events", "next_since", "has_more"}, openapi3.Schemas{
		"events":     oaArray(b.ref("Event"), "").NewRef(),
		"next_since": oaInt("Pass as since to get the following events.").WithFormat("int64").WithMin(0).NewRef(),
		"has_more":   oaBool("True when the page is full, so more events may follow.").NewRef(),
	}))

	b.define("LogLine", oaObject("One log line of a job.", []string{"seq", "time", "level", "routine_id", "message"}, openapi3.Schemas{
		"seq":        oaInt("Seq of the event the line stands for.").WithFormat("int64").NewRef(),
		"time":       oaTime("").NewRef(),
		"level":      oaEnum(oaStr(""), "debug", "info", "warning", "error").NewRef(),
		"routine_id": oaStr("Empty for lines about the job itself.").NewRef(),
		"message":    oaStr("").NewRef(),
	}))
	b.define("LogPage", oaPage("logs", b.ref("LogLine"), "A job's log lines in seq order."))

	b.define("RoutineMetrics", oaObject("Activation counts and timings of one routine.",
		[]string{"activations", "completed", "failed", "retries", "events_emitted", "total_time", "avg_time", "max_time"}, openapi3.Schemas{
			"activations":    oaInt("").WithMin(0).NewRef(),
			"completed":      oaInt("").WithMin(0).NewRef(),
			"failed":         oaInt("").WithMin(0).NewRef(),
			"retries":        oaInt("").WithMin(0).NewRef(),
			"events_emitted": oaInt("").WithMin(0).NewRef(),
			"total_time":     oaNum("Seconds.").WithMin(0).NewRef(),
			"avg_time":       oaNum("Seconds per ended activation.").WithMin(0).NewRef(),
			"max_time":       oaNum("Seconds.").WithMin(0).NewRef(),
		}))
	b.define("JobMetrics", oaObject("A summary of a job's event log: totals by event type, activation counts and timings per routine.",
		[]string{"job_id", "status", "start_time", "end_time", "duration", "total_events", "total_slot_calls", "total_event_emits",
			"activations", "nodes_completed", "nodes_failed", "events_by_type", "routines"}, openapi3.Schemas{
			"job_id":            oaStr("").NewRef(),
			"status":            oaEnum(oaStr(""), "pending", "running", "paused", "completed", "failed", "cancelled").NewRef(),
			"start_time":        oaTime("").WithNullable().NewRef(),
			"end_time":          oaTime("").WithNullable().NewRef(),
			"duration":          oaNum("Seconds.").WithMin(0).NewRef(),
			"total_events":      oaInt("").WithMin(0).NewRef(),
			"total_slot_calls":  oaInt("").WithMin(0).NewRef(),
			"total_event_emits": oaInt("").WithMin(0).NewRef(),
			"activations":       oaInt("").WithMin(0).NewRef(),
			"nodes_completed":   oaInt("").WithMin(0).NewRef(),
			"nodes_failed":      oaInt("").WithMin(0).NewRef(),
			"events_by_type":    oaMap(oaInt("").WithMin(0).NewRef(), "Event count by type.").NewRef(),
			"routines":          oaMap(b.ref("RoutineMetrics"), "Metrics by routine id.").NewRef(),
		}))

	b.define("ConfigField", oaObject("One configuration key of a routine kind.", []string{"name", "type", "required", "description"}, openapi3.Schemas{
		"name":        oaStr("").NewRef(),
		"type":        oaStr("e.g. string, number, boolean, object, list, expression, template.").NewRef(),
		"default":     oaAny("Value used when the key is not set (left out when there is none).").NewRef(),
		"required":    oaBool("").NewRef(),
		"description": oaStr("").NewRef(),
	}))
	b.define("RoutineKind", oaObject("A routine kind of the catalogue.", []string{"kind", "description", "slots", "events", "config", "bounds_cycles"},
		openapi3.Schemas{
			"kind":          oaStr("").NewRef(),
			"description":   oaStr("").NewRef(),
			"slots":         oaArray(oaStr("").NewRef(), "Input slots.").NewRef(),
			"events":        oaArray(oaStr("").NewRef(), "Events it emits (for kinds whose events depend on config, those without config).").NewRef(),
			"config":        oaArray(b.ref("ConfigField"), "").NewRef(),
			"bounds_cycles": oaBool("True for kinds that decide at run time whether to emit, so a cycle through them can end.").NewRef(),
		}))

	b.define("Health", oaObject("", []string{"status", "version", "time", "event_backlog"}, openapi3.Schemas{
		"status":        oaEnum(oaStr(""), "ok").NewRef(),
		"version":       oaStr("Server version.").NewRef(),
		"time":          oaTime("Server time (UTC).").NewRef(),
		"event_backlog": oaInt("Events published but not yet stored; it stays near 0 unless the disk cannot keep up.").WithMin(0).NewRef(),
	}))

	b.define("Error", oaObject("Every error answer.", []string{"error"}, openapi3.Schemas{
		"error": oaObject("", []string{"code", "message"}, openapi3.Schemas{
			"code":    oaErrorCode().NewRef(),
			"message": oaStr("Human-readable explanation.").NewRef(),
			"details": oaAny("More about the error; for FLOW_INVALID the ValidationResult.").NewRef(),
		}).NewRef(),
	}))
}

// oaErrorCode lists every code (backend/apierr) with its status and meaning.
func oaErrorCode() *openapi3.Schema {
	var desc strings.Builder
	desc.WriteString("Machine-readable code:")
	names := make([]any, 0, len(apierr.All()))
	for _, c := range apierr.All() {
		fmt.Fprintf(&desc, "\n- %s (%d): %s", c, c.Status(), c.Meaning())
		names = append(names, c.String())
	}
	s := oaStr(desc.String())
	s.Enum = names
	return s
}

// page is the shape of list answers: {"<items>": [...], "total", "limit", "offset"}.
func oaPage(items string, item *openapi3.SchemaRef, desc string) *openapi3.Schema {
	return oaObject(desc, []string{items, "total", "limit", "offset"}, openapi3.Schemas{
		items:    oaArray(item, "").NewRef(),
		"total":  oaInt("Matching items in all.").WithMin(0).NewRef(),
		"limit":  oaInt("").WithMin(1).NewRef(),
		"offset": oaInt("").WithMin(0).NewRef(),
	})
}

// Shared error responses, by status.
var oaErrors = []struct {
	status int
	name   string
	desc   string
}{
	{http.StatusBadRequest, "BadRequest", "Malformed input: a bad query parameter or body."},
	{http.StatusUnauthorized, "Unauthorized", "No valid token: none was sent while the server asks for one, or it is malformed, unknown or revoked (code UNAUTHORIZED)."},
	{http.StatusForbidden, "Forbidden", "The token's role is below the one the endpoint needs (code FORBIDDEN; the message names the role), or the browser origin may not write or open streams."},
	{http.StatusNotFound, "NotFound", "The flow or job does not exist."},
	{http.StatusConflict, "Conflict", "State conflict: the flow id is taken, or the job is not in a state that allows the action."},
	{http.StatusRequestEntityTooLarge, "PayloadTooLarge", "The request body exceeds the limit (1 MiB by default)."},
	{http.StatusUnprocessableEntity, "Unprocessable", "Well-formed but invalid, e.g. a flow that fails validation (details holds the ValidationResult)."},
	{http.StatusInternalServerError, "Internal", "Unexpected server error; see the server log."},
	{http.StatusServiceUnavailable, "Unavailable", "The request was cancelled or timed out, or the server is shutting down."},
}

func (b *specBuilder) errorResponses() {
	for _, e := range oaErrors {
		b.doc.Components.Responses[e.name] = &openapi3.ResponseRef{
			Value: openapi3.NewResponse().WithDescription(e.desc).WithJSONSchemaRef(b.ref("Error")),
		}
	}
}

// Operation building.

type oaOp struct {
	id, tag, summary, desc string
	params                 openapi3.Parameters
	body                   *openapi3.RequestBody
	ok                     int // success status
	okResp                 *openapi3.Response
	alsoOK                 map[int]*openapi3.Response // other success statuses
	errors                 []int
}

func (b *specBuilder) add(method, path string, o oaOp) {
	op := &openapi3.Operation{
		OperationID: o.id,
		Tags:        []string{o.tag},
		Summary:     o.summary,
		Description: o.desc,
		Parameters:  o.params,
		Responses:   openapi3.NewResponses(),
	}
	if o.body != nil {
		op.RequestBody = &openapi3.RequestBodyRef{Value: o.body}
	}
	if path == "/api/health" || path == "/healthz" || path == "/readyz" {
		op.Security = &openapi3.SecurityRequirements{} // the probes are public
	} else {
		o.errors = append(o.errors, http.StatusUnauthorized, http.StatusForbidden)
	}
	op.Responses.Set(strconv.Itoa(o.ok), &openapi3.ResponseRef{Value: o.okResp})
	for status, resp := range o.alsoOK {
		op.Responses.Set(strconv.Itoa(status), &openapi3.ResponseRef{Value: resp})
	}
	for _, status := range append(o.errors, http.StatusInternalServerError) {
		for _, e := range oaErrors {
			if e.status == status {
				op.Responses.Set(strconv.Itoa(status), &openapi3.ResponseRef{
					Ref: "#/components/responses/" + e.name, Value: b.doc.Components.Responses[e.name].Value,
				})
			}
		}
	}
	b.doc.AddOperation(path, method, op)
}

func oaJSON(desc string, s *openapi3.SchemaRef) *openapi3.Response {
	return openapi3.NewResponse().WithDescription(desc).WithJSONSchemaRef(s)
}

func oaPathID(desc string) *openapi3.ParameterRef {
	return &openapi3.ParameterRef{Value: openapi3.NewPathParameter("id").WithDescription(desc).WithSchema(openapi3.NewStringSchema())}
}

func oaQuery(name, desc string, s *openapi3.Schema) *openapi3.ParameterRef {
	return &openapi3.ParameterRef{Value: openapi3.NewQueryParameter(name).WithDescription(desc).WithSchema(s)}
}

func oaQueryInt(name, desc string, lo, hi, def int64, format string) *openapi3.ParameterRef {
	s := openapi3.NewIntegerSchema().WithMin(float64(lo)).WithMax(float64(hi)).WithDefault(def)
	s.Format = format
	return oaQuery(name, desc, s)
}

func oaLimit(def, hi int64) *openapi3.ParameterRef {
	return oaQueryInt("limit", "Page size.", 1, hi, def, "int32")
}

func oaOffset() *openapi3.ParameterRef {
	return oaQueryInt("offset", "Items to skip.", 0, oaMaxInt32, 0, "int32")
}

func oaVersion() *openapi3.ParameterRef {
	s := openapi3.NewIntegerSchema().WithMin(1).WithMax(oaMaxInt32)
	s.Format = "int32"
	return oaQuery("version", "A stored version of the flow; the current one if omitted.", s)
}

// flowBody is a flow as JSON, {"dsl": "<yaml or json>"}, or YAML.
func (b *specBuilder) flowBody(desc string, required bool) *openapi3.RequestBody {
	yaml := openapi3.NewMediaType().WithSchemaRef(b.ref("FlowInput"))
	return &openapi3.RequestBody{
		Description: desc,
		Required:    required,
		Content: openapi3.Content{
			"application/json": openapi3.NewMediaType().WithSchema(&openapi3.Schema{
				OneOf: openapi3.SchemaRefs{b.ref("FlowInput"), b.ref("FlowDSL")},
			}),
			"application/yaml": yaml,
			"text/yaml":        yaml,
		},
	}
}

func (b *specBuilder) systemPaths() {
	b.add(http.MethodGet, "/api/health", oaOp{
		id: "getHealth", tag: "system", summary: "Server health and version",
		ok: http.StatusOK, okResp: oaJSON("The server is up.", b.ref("Health")),
	})
	b.add(http.MethodGet, "/api/routines", oaOp{
		id: "listRoutineKinds", tag: "system", summary: "The catalogue of routine kinds",
		ok: http.StatusOK, okResp: oaJSON("Every kind, sorted by name.", oaObject("", []string{"routines"}, openapi3.Schemas{
			"routines": oaArray(b.ref("RoutineKind"), "").NewRef(),
		}).NewRef()),
	})
	probe := oaObject("", []string{"status"}, openapi3.Schemas{"status": oaStr("").NewRef()})
	b.add(http.MethodGet, "/healthz", oaOp{
		id: "healthz", tag: "system", summary: "Liveness: the process answers",
		ok: http.StatusOK, okResp: oaJSON(`{"status": "ok"}`, probe.NewRef()),
	})
	b.add(http.MethodGet, "/readyz", oaOp{
		id: "readyz", tag: "system", summary: "Readiness: the database is migrated and writable",
		ok: http.StatusOK, okResp: oaJSON(`{"status": "ready"}`, probe.NewRef()),
		errors: []int{http.StatusServiceUnavailable},
	})
	b.add(http.MethodGet, "/api/openapi.json", oaOp{
		id: "getOpenAPI", tag: "system", summary: "This document",
		ok: http.StatusOK, okResp: oaJSON("The OpenAPI 3.0 document of the API.", openapi3.NewObjectSchema().NewRef()),
	})
}

func (b *specBuilder) flowPaths() {
	flowID := oaPathID("Flow id.")
	b.add(http.MethodPost, "/api/flows", oaOp{
		id: "createFlow", tag: "flows", summary: "Create a flow",
		desc: "Stores a new flow as version 1 (or, for the id of a deleted flow, as the version after its last one).",
		body: b.flowBody(`The flow as JSON, as {"dsl": "<yaml or json>"}, or as YAML (Content-Type application/yaml or text/yaml).`, true),
		ok:   http.StatusCreated, okResp: oaJSON("The stored flow.", b.ref("Flow")),
		errors: []int{http.StatusBadRequest, http.StatusConflict, http.StatusRequestEntityTooLarge,
			http.StatusUnprocessableEntity, http.StatusServiceUnavailable},
	})
	b.add(http.MethodGet, "/api/flows", oaOp{
		id: "listFlows", tag: "flows", summary: "List flows",
		params: openapi3.Parameters{oaLimit(50, oaMaxLimit), oaOffset()},
		ok:     http.StatusOK, okResp: oaJSON("A page of flow summaries.", b.ref("FlowList")),
		errors: []int{http.StatusBadRequest},
	})
	b.add(http.MethodGet, "/api/flows/{id}", oaOp{
		id: "getFlow", tag: "flows", summary: "Get a flow",
		params: openapi3.Parameters{flowID, oaVersion()},
		ok:     http.StatusOK, okResp: oaJSON("The flow (at the requested version).", b.ref("Flow")),
		errors: []int{http.StatusBadRequest, http.StatusNotFound, http.StatusServiceUnavailable},
	})
	b.add(http.MethodPut, "/api/flows/{id}", oaOp{
		id: "updateFlow", tag: "flows", summary: "Update a flow",
		desc:   "Stores the body as the flow's next version. Running jobs keep the version they started with.",
		params: openapi3.Parameters{flowID},
		body:   b.flowBody("As for createFlow; flow_id may be omitted but must match the path if given.", true),
		ok:     http.StatusOK, okResp: oaJSON("The stored flow with its new version.", b.ref("Flow")),
		errors: []int{http.StatusBadRequest, http.StatusNotFound, http.StatusRequestEntityTooLarge,
			http.StatusUnprocessableEntity, http.StatusServiceUnavailable},
	})
	b.add(http.MethodDelete, "/api/flows/{id}", oaOp{
		id: "deleteFlow", tag: "flows", summary: "Delete a flow",
		desc:   "Hides the flow; its versions stay so its jobs keep their history.",
		params: openapi3.Parameters{flowID},
		ok:     http.StatusNoContent, okResp: openapi3.NewResponse().WithDescription("Deleted."),
		errors: []int{http.StatusNotFound, http.StatusServiceUnavailable},
	})
	b.add(http.MethodPost, "/api/flows/{id}/validate", oaOp{
		id: "validateFlow", tag: "flows", summary: "Validate a flow",
		desc: "Validates the flow in the body if there is one (its flow_id defaults to the path's), " +
			"else the stored flow (at ?version). An invalid flow is still a 200 answer with valid false.",
		params: openapi3.Parameters{flowID, oaVersion()},
		body:   b.flowBody("A flow to validate instead of the stored one.", false),
		ok:     http.StatusOK, okResp: oaJSON("Errors and warnings.", b.ref("ValidationResult")),
		errors: []int{http.StatusBadRequest, http.StatusNotFound, http.StatusRequestEntityTooLarge, http.StatusServiceUnavailable},
	})
	b.add(http.MethodGet, "/api/flows/{id}/dsl", oaOp{
		id: "getFlowDSL", tag: "flows", summary: "Get a flow's definition as YAML or JSON",
		params: openapi3.Parameters{flowID, oaVersion(),
			oaQuery("format", "Output format.", oaEnum(oaStr(""), "yaml", "json").WithDefault("yaml"))},
		ok: http.StatusOK, okResp: openapi3.NewResponse().
			WithDescription("The definition without created_at and updated_at: YAML for format=yaml, JSON for format=json.").
			WithContent(openapi3.Content{
				"application/yaml": openapi3.NewMediaType().WithSchemaRef(b.ref("Flow")),
				"application/json": openapi3.NewMediaType().WithSchemaRef(b.ref("Flow")),
			}),
		errors: []int{http.StatusBadRequest, http.StatusNotFound, http.StatusServiceUnavailable},
	})
}

func (b *specBuilder) jobPaths() {
	jobID := oaPathID("Job id.")
	b.add(http.MethodPost, "/api/jobs", oaOp{
		id: "createJob", tag: "jobs", summary: "Start a job",
		body: &openapi3.RequestBody{Required: true, Content: openapi3.NewContentWithJSONSchema(oaClosed(oaObject("",
			[]string{"flow_id"}, openapi3.Schemas{
				"flow_id":          oaStr("The flow to run.").WithPattern(oaIDPattern).NewRef(),
				"flow_version":     oaInt("The version to run; the current one if omitted or 0.").WithMin(0).NewRef(),
				"entry_routine_id": oaStr("The routine to start at (its first slot); by default the flow's input routine, which must then be the only one.").NewRef(),
				"params":           oaAny("The job's input, passed to the entry routine ({} if omitted or null).").NewRef(),
				"stop_on_entry":    oaBool("Pause in the debugger before the first activation.").NewRef(),
			})))},
		params: openapi3.Parameters{oaQuery("wait", "Answer when the job ends, waiting at most this long (a duration such as 30s, up to 10m).", oaStr(""))},
		ok:     http.StatusCreated, okResp: oaJSON("The started job; with wait, the ended job (status, result, error).", b.ref("Job")),
		alsoOK: map[int]*openapi3.Response{http.StatusAccepted: oaJSON("With wait: the job still runs after that long; its state now.", b.ref("Job"))},
		errors: []int{http.StatusBadRequest, http.StatusNotFound, http.StatusRequestEntityTooLarge,
			http.StatusUnprocessableEntity, http.StatusServiceUnavailable},
	})
	b.add(http.MethodGet, "/api/jobs", oaOp{
		id: "listJobs", tag: "jobs", summary: "List jobs, newest first",
		params: openapi3.Parameters{
			oaQuery("flow_id", "Only jobs of this flow.", oaStr("")),
			oaQuery("status", "Only jobs with this status.", oaEnum(oaStr(""), "pending", "running", "paused", "completed", "failed", "cancelled")),
			oaQuery("created_after", "Only jobs created at or after this time (RFC 3339).", oaTime("")),
			oaQuery("created_before", "Only jobs created before this time (RFC 3339).", oaTime("")),
			oaLimit(50, oaMaxLimit), oaOffset(),
		},
		ok: http.StatusOK, okResp: oaJSON("A page of jobs.", b.ref("JobList")),
		errors: []int{http.StatusBadRequest},
	})
	b.add(http.MethodGet, "/api/jobs/{id}", oaOp{
		id: "getJob", tag: "jobs", summary: "Get a job with its routine states",
		params: openapi3.Parameters{jobID},
		ok:     http.StatusOK, okResp: oaJSON("The job (live state while it is active).", b.ref("Job")),
		errors: []int{http.StatusNotFound, http.StatusServiceUnavailable},
	})
	b.add(http.MethodDelete, "/api/jobs/{id}", oaOp{
		id: "deleteJob", tag: "jobs", summary: "Delete a finished job with its events, logs, breakpoints and history",
		desc:   "An active job must be cancelled first (409 JOB_ACTIVE).",
		params: openapi3.Parameters{jobID},
		ok:     http.StatusNoContent, okResp: openapi3.NewResponse().WithDescription("Deleted."),
		errors: []int{http.StatusNotFound, http.StatusConflict},
	})
	for _, c := range []struct{ action, summary, desc string }{
		{"pause", "Pause a job", "Only a running job can be paused; it pauses once its running activations end (pause_requested meanwhile)."},
		{"resume", "Resume a job", "Only a paused (or pausing) job can be resumed."},
		{"cancel", "Cancel a job", "Only an active job can be cancelled; running activations see their context cancelled."},
	} {
		b.add(http.MethodPost, "/api/jobs/{id}/"+c.action, oaOp{
			id: c.action + "Job", tag: "jobs", summary: c.summary, desc: c.desc + " Otherwise 409 JOB_STATE_CONFLICT says which state the job is in.",
			params: openapi3.Parameters{jobID},
			ok:     http.StatusOK, okResp: oaJSON("The job after the action.", b.ref("Job")),
			errors: []int{http.StatusNotFound, http.StatusConflict, http.StatusServiceUnavailable},
		})
	}
	b.add(http.MethodGet, "/api/jobs/{id}/events", oaOp{
		id: "listJobEvents", tag: "jobs", summary: "A job's events",
		params: openapi3.Parameters{jobID,
			oaQuery("since", "Only events with a seq greater than this (at most 2^62).",
				oaInt("").WithFormat("int64").WithMin(0).WithDefault(0)),
			oaQueryInt("limit", "Page size.", 1, oaMaxEventsLimit, 1000, "int32"),
		},
		ok: http.StatusOK, okResp: oaJSON("A page of events.", b.ref("EventPage")),
		errors: []int{http.StatusBadRequest, http.StatusNotFound, http.StatusServiceUnavailable},
	})
	b.add(http.MethodGet, "/api/jobs/{id}/logs", oaOp{
		id: "listJobLogs", tag: "jobs", summary: "A job's log lines",
		params: openapi3.Parameters{jobID,
			oaQuery("level", "Minimum level (debug < info < warning < error; warn means warning).",
				oaEnum(oaStr(""), "debug", "info", "warning", "warn", "error")),
			oaQuery("routine_id", "Only lines of this routine.", oaStr("")),
			oaQuery("q", "Case-insensitive substring of the message.", oaStr("").WithMaxLength(oaMaxQ)),
			oaLimit(100, oaMaxLimit), oaOffset(),
		},
		ok: http.StatusOK, okResp: oaJSON("A page of log lines.", b.ref("LogPage")),
		errors: []int{http.StatusBadRequest, http.StatusNotFound, http.StatusServiceUnavailable},
	})
	b.add(http.MethodGet, "/api/jobs/{id}/metrics", oaOp{
		id: "getJobMetrics", tag: "jobs", summary: "A job's metrics",
		params: openapi3.Parameters{jobID},
		ok:     http.StatusOK, okResp: oaJSON("Activation counts and timings per routine and for the job.", b.ref("JobMetrics")),
		errors: []int{http.StatusNotFound, http.StatusServiceUnavailable},
	})
}

// streamPaths lists the WebSocket endpoints. OpenAPI cannot describe the
// messages of a socket; docs/streams.md does.
func (b *specBuilder) streamPaths() {
	sinceSchema := openapi3.NewStringSchema().WithPattern(`^[0-9]{1,18}(\.[0-9]{1,10})?$`)
	since := oaQuery("since", "Replay only what comes after this point of the job's stream: a seq (57: after every message of event 57) or a message's pos (57.1: after the first message of event 57). See docs/streams.md, Positions.", sinceSchema)
	upgraded := openapi3.NewResponse().WithDescription("Switching Protocols: the stream (see docs/streams.md).")
	streams := []struct{ path, id, summary string }{
		{"/api/ws/executions/{id}", "streamExecution", "A job's stream in the seed 000 protocol (status, node_update, log, completion, error)"},
		{"/api/ws/jobs/{id}/monitor", "streamJobMonitor", "A job's stream in the seed 004 protocol"},
		{"/api/ws/jobs/{id}/debug", "streamJobDebug", "A job's seed 004 stream with log and debugger messages"},
		{"/api/ws/flows/{id}/monitor", "streamFlowMonitor", "Every job of a flow, seed 004 protocol, also jobs started later"},
		{"/api/ws/monitor", "streamAllJobs", "Lifecycle messages (job_*) of every job, live only"},
	}
	for _, st := range streams {
		params := openapi3.Parameters{}
		if strings.Contains(st.path, "{id}") {
			params = append(params, oaPathID("Job or flow id."))
		}
		if strings.HasPrefix(st.path, "/api/ws/executions/") || strings.HasPrefix(st.path, "/api/ws/jobs/") {
			params = append(params, since)
		}
		b.add(http.MethodGet, st.path, oaOp{
			id: st.id, tag: "streams", summary: st.summary, params: params,
			ok: http.StatusSwitchingProtocols, okResp: upgraded,
			errors: []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound},
		})
	}
}
