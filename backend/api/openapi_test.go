package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"github.com/gin-gonic/gin"

	"github.com/switchyard/switchyard/backend/api"
	"github.com/switchyard/switchyard/backend/server"
	"github.com/switchyard/switchyard/backend/servertest"
	"github.com/switchyard/switchyard/backend/ws"
)

// startServer runs a real server over a SQLite file in a temporary directory.

// servedDocument fetches GET /api/openapi.json and loads it, resolving refs.
func servedDocument(t *testing.T, ts *httptest.Server) *openapi3.T {
	t.Helper()
	resp, err := http.Get(ts.URL + "/api/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /api/openapi.json: %d %s", resp.StatusCode, raw)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("GET /api/openapi.json: Content-Type %q", ct)
	}
	doc, err := openapi3.NewLoader().LoadFromData(raw)
	if err != nil {
		t.Fatalf("load served document: %v", err)
	}
	return doc
}

func TestOpenAPIDocumentIsValid(t *testing.T) {
	ts := servertest.Start(t, server.Config{}).HTTP
	ctx := context.Background()
	doc := servedDocument(t, ts)
	if err := doc.Validate(ctx); err != nil {
		t.Fatalf("served document: %v", err)
	}
	if !doc.IsOpenAPI30() || doc.Info.Title != "Switchyard" || doc.Info.Version != "test" {
		t.Fatalf("openapi %q, info %+v", doc.OpenAPI, doc.Info)
	}
	// The in-memory document is valid as built, and serving does not change it.
	built := api.OpenAPI("")
	if err := built.Validate(ctx); err != nil {
		t.Fatalf("built document: %v", err)
	}
	if built.Info.Version != "dev" {
		t.Fatalf("version of an unversioned server: %q", built.Info.Version)
	}
	for _, name := range []string{"Flow", "RoutineSpec", "Connection", "ErrorPolicy", "Execution", "FlowSummary", "FlowList",
		"ValidationResult", "ValidationIssue", "Job", "JobList", "RoutineState", "Event", "EventPage", "LogLine", "LogPage",
		"JobMetrics", "RoutineKind", "Health", "Error"} {
		if doc.Components.Schemas[name] == nil {
			t.Errorf("component schema %s is missing", name)
		}
	}
}

var ginParam = regexp.MustCompile(`[:*]([A-Za-z0-9_]+)`)

func TestOpenAPIListsEveryRoute(t *testing.T) {
	// The routes the API and the streams mount, on an engine of their own:
	// the server also mounts the UI, which is not part of the API.
	// Only the document's handler is called, so the other dependencies can
	// be empty.
	gin.SetMode(gin.ReleaseMode)
	engine := gin.New()
	api.New(api.Deps{Engine: struct{ api.Engine }{}, Version: "test"}).Register(engine)
	streams := ws.New(ws.Config{}, nil, nil, nil, nil)
	defer streams.Close()
	streams.Register(engine)
	ts := httptest.NewServer(engine)
	defer ts.Close()
	mounted := map[string]bool{}
	for _, r := range engine.Routes() {
		if strings.HasPrefix(r.Path, "/api/") || r.Path == "/healthz" || r.Path == "/readyz" {
			mounted[r.Method+" "+ginParam.ReplaceAllString(r.Path, "{$1}")] = true
		}
	}
	documented := map[string]bool{}
	doc := servedDocument(t, ts)
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			documented[method+" "+path] = true
		}
	}
	if len(mounted) == 0 {
		t.Fatal("no routes under /api")
	}
	for r := range mounted {
		if !documented[r] {
			t.Errorf("route %s is not in the document", r)
		}
	}
	for r := range documented {
		if !mounted[r] {
			t.Errorf("the document has %s, which the router lacks", r)
		}
	}
}

// contract sends requests to a real server and checks every answer against
// the document: the status must be documented for the operation and the
// content type and body must match its schema.
type contract struct {
	t       *testing.T
	ts      *httptest.Server
	router  routers.Router
	covered map[string]bool // "METHOD path status"
}

const (
	jsonCT = "application/json"
	yamlCT = "application/yaml"
)

var responseOptions = &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true}

// send makes one request and returns the body of the answer. Requests that
// should succeed are checked against the document too.
func (c *contract) send(want int, method, path, contentType, body string, chunked bool) []byte {
	c.t.Helper()
	newRequest := func() *http.Request {
		var r io.Reader = strings.NewReader(body)
		if chunked {
			r = io.MultiReader(r) // unknown length: sent chunked
		}
		req, err := http.NewRequest(method, c.ts.URL+path, r)
		if err != nil {
			c.t.Fatal(err)
		}
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		return req
	}
	resp, err := http.DefaultClient.Do(newRequest())
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	raw, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		c.t.Fatalf("%s %s: read: %v", method, path, err)
	}
	if resp.StatusCode != want {
		c.t.Errorf("%s %s: status %d, want %d: %s", method, path, resp.StatusCode, want, clip(raw))
	}

	req := newRequest()
	route, params, err := c.router.FindRoute(req)
	if err != nil {
		c.t.Errorf("%s %s: no operation in the document: %v", method, path, err)
		return raw
	}
	c.covered[fmt.Sprintf("%s %s %d", method, route.Path, resp.StatusCode)] = true
	reqInput := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route,
		// The test servers have no token: security is not what is checked here.
		Options: &openapi3filter.Options{MultiError: true, AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}}
	ctx := context.Background()
	if want < 400 {
		if err := openapi3filter.ValidateRequest(ctx, reqInput); err != nil {
			c.t.Errorf("%s %s: request does not match the document: %v", method, path, err)
		}
	}
	if ref := route.Operation.Responses.Status(resp.StatusCode); ref != nil && ref.Value != nil && len(ref.Value.Content) == 0 && len(raw) > 0 {
		c.t.Errorf("%s %s: %d has a body the document does not describe: %s", method, path, resp.StatusCode, clip(raw))
	}
	err = openapi3filter.ValidateResponse(ctx, &openapi3filter.ResponseValidationInput{
		RequestValidationInput: reqInput,
		Status:                 resp.StatusCode,
		Header:                 resp.Header,
		Body:                   io.NopCloser(bytes.NewReader(raw)),
		Options:                responseOptions,
	})
	if err != nil {
		c.t.Errorf("%s %s: %d answer does not match the document: %v\nbody: %s", method, path, resp.StatusCode, err, clip(raw))
	}
	return raw
}

func (c *contract) get(want int, path string) []byte {
	c.t.Helper()
	return c.send(want, http.MethodGet, path, "", "", false)
}

func (c *contract) post(want int, path, contentType, body string) []byte {
	c.t.Helper()
	return c.send(want, http.MethodPost, path, contentType, body, false)
}

func (c *contract) put(want int, path, contentType, body string) []byte {
	c.t.Helper()
	return c.send(want, http.MethodPut, path, contentType, body, false)
}

// object decodes a JSON object answer.
func (c *contract) object(raw []byte) map[string]any {
	c.t.Helper()
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		c.t.Fatalf("decode %s: %v", clip(raw), err)
	}
	return m
}

func (c *contract) startJob(body string) string {
	c.t.Helper()
	id, _ := c.object(c.post(http.StatusCreated, "/api/jobs", jsonCT, body))["job_id"].(string)
	if id == "" {
		c.t.Fatal("no job_id")
	}
	return id
}

func (c *contract) waitJob(id string, status string) map[string]any {
	c.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		j := c.object(c.get(http.StatusOK, "/api/jobs/"+id))
		if j["status"] == status {
			return j
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("job %s is %v, want %s", id, j["status"], status)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func clip(b []byte) string {
	if len(b) > 600 {
		return string(b[:600]) + "…"
	}
	return string(b)
}

func dsl(text string) string {
	b, _ := json.Marshal(map[string]string{"dsl": text})
	return string(b)
}

const ordersYAML = `flow_id: orders
name: Orders
description: doubles the value, waits a little and logs it
routines:
  start:  {kind: input}
  double: {kind: transform, config: {expr: "{value: data.value * 2}"}}
  wait:   {kind: delay, config: {ms: 150}}
  note:   {kind: log, config: {level: warning, message: "total is {{ data.value }}"}}
  done:   {kind: output}
connections:
  - {from: start.output,  to: double.input}
  - {from: double.output, to: wait.input}
  - {from: wait.output,   to: note.input}
  - {from: note.output,   to: done.input, param_mapping: {value: total}}
execution: {strategy: sequential, timeout: 30s}
`

const slowYAML = `flow_id: slow
routines:
  start: {kind: input}
  wait:  {kind: delay, config: {ms: 3000}}
  done:  {kind: output}
connections:
  - {from: start.output, to: wait.input}
  - {from: wait.output,  to: done.input}
`

// flakyJSON fails: a filter whose expression is not a boolean, retried once.
const flakyJSON = `{
  "flow_id": "flaky", "name": "Flaky",
  "routines": {
    "start": {"kind": "input"},
    "check": {"kind": "filter", "description": "not a condition", "config": {"expr": "data.value"},
              "error_policy": {"strategy": "retry", "max_retries": 1, "retry_delay": "10ms", "retry_backoff": 2}},
    "done":  {"kind": "output"}
  },
  "connections": [
    {"from": "start.output", "to": "check.input"},
    {"from": "check.true", "to": "done.input"}
  ],
  "execution": {"strategy": "concurrent", "max_workers": 2, "timeout": 30}
}`

// closeObjects makes every object schema that lists its properties refuse
// others, so an answer carrying a field the document does not describe
// fails the contract (the document drifted from the Go types). Objects that
// list none (free-form data) stay open.
func closeObjects(doc *openapi3.T) {
	seen := map[*openapi3.Schema]bool{}
	var walk func(ref *openapi3.SchemaRef)
	walk = func(ref *openapi3.SchemaRef) {
		if ref == nil || ref.Value == nil || seen[ref.Value] {
			return
		}
		s := ref.Value
		seen[s] = true
		if len(s.Properties) > 0 && s.AdditionalProperties.Schema == nil && s.AdditionalProperties.Has == nil {
			closed := false
			s.AdditionalProperties.Has = &closed
		}
		for _, p := range s.Properties {
			walk(p)
		}
		walk(s.Items)
		walk(s.AdditionalProperties.Schema)
		for _, list := range [][]*openapi3.SchemaRef{s.OneOf, s.AnyOf, s.AllOf} {
			for _, sub := range list {
				walk(sub)
			}
		}
	}
	for _, ref := range doc.Components.Schemas {
		walk(ref)
	}
}

func TestOpenAPIContract(t *testing.T) {
	ts := servertest.Start(t, server.Config{}).HTTP
	doc := servedDocument(t, ts)
	closeObjects(doc)
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	c := &contract{t: t, ts: ts, router: router, covered: map[string]bool{}}

	c.get(http.StatusOK, "/api/health")
	c.get(http.StatusOK, "/healthz")
	c.get(http.StatusOK, "/readyz")
	c.get(http.StatusOK, "/api/routines")
	c.get(http.StatusOK, "/api/openapi.json")

	// Flows: create in every accepted form, and the ways creating fails.
	created := c.object(c.post(http.StatusCreated, "/api/flows", jsonCT, dsl(ordersYAML)))
	if created["version"] != 1.0 {
		t.Fatalf("created %v", created)
	}
	c.post(http.StatusCreated, "/api/flows", yamlCT, slowYAML)
	c.post(http.StatusCreated, "/api/flows", jsonCT, flakyJSON)
	solo := c.object(c.post(http.StatusCreated, "/api/flows", yamlCT, "flow_id: solo\nroutines: {only: {kind: input}}\n"))
	if list, ok := solo["connections"].([]any); !ok || len(list) != 0 {
		t.Errorf("solo connections: %v", solo["connections"])
	}
	c.post(http.StatusConflict, "/api/flows", jsonCT, dsl(ordersYAML))
	invalid := c.object(c.post(http.StatusUnprocessableEntity, "/api/flows", jsonCT,
		dsl("flow_id: broken\nroutines:\n  a: {kind: nope}\n  b: {kind: output}\nconnections:\n  - {from: a.output, to: ghost.input}\n")))
	if e, _ := invalid["error"].(map[string]any); e["code"] != "FLOW_INVALID" || e["details"] == nil {
		t.Errorf("invalid flow: %v", invalid)
	}
	c.post(http.StatusBadRequest, "/api/flows", jsonCT, `{`)
	c.post(http.StatusBadRequest, "/api/flows", jsonCT, ``)
	c.post(http.StatusBadRequest, "/api/flows", jsonCT, `{"dsl": "flow_id: x", "name": "y"}`)
	c.post(http.StatusBadRequest, "/api/flows", jsonCT, `{"dsl": 42}`)
	c.post(http.StatusBadRequest, "/api/flows", yamlCT, "flow_id: x\nroutinez: {}\n")
	huge := `{"flow_id": "huge", "description": "` + strings.Repeat("x", 1<<20) + `"}`
	c.post(http.StatusRequestEntityTooLarge, "/api/flows", jsonCT, huge)
	c.send(http.StatusRequestEntityTooLarge, http.MethodPost, "/api/flows", jsonCT, huge, true)

	c.get(http.StatusOK, "/api/flows")
	c.get(http.StatusOK, "/api/flows?limit=2&offset=1")
	c.get(http.StatusOK, "/api/flows?offset=100")
	c.get(http.StatusBadRequest, "/api/flows?limit=0")
	c.get(http.StatusBadRequest, "/api/flows?limit=1001")
	c.get(http.StatusBadRequest, "/api/flows?offset=-1")
	c.get(http.StatusBadRequest, "/api/flows?limit=many")

	c.get(http.StatusOK, "/api/flows/orders")
	c.get(http.StatusOK, "/api/flows/solo")
	c.get(http.StatusOK, "/api/flows/orders?version=1")
	c.get(http.StatusBadRequest, "/api/flows/orders?version=0")
	c.get(http.StatusNotFound, "/api/flows/orders?version=99")
	c.get(http.StatusNotFound, "/api/flows/ghost")

	// Updates: JSON without flow_id, YAML, {"dsl"}; and failures.
	v2 := strings.Replace(strings.Replace(flakyJSON, `"flow_id": "flaky", `, "", 1), `"max_retries": 1`, `"max_retries": 2`, 1)
	if updated := c.object(c.put(http.StatusOK, "/api/flows/flaky", jsonCT, v2)); updated["version"] != 2.0 {
		t.Errorf("updated %v", updated)
	}
	c.put(http.StatusOK, "/api/flows/orders", yamlCT, strings.Replace(ordersYAML, "name: Orders", "name: Orders v2", 1))
	c.put(http.StatusOK, "/api/flows/orders", jsonCT, dsl(ordersYAML))
	c.put(http.StatusBadRequest, "/api/flows/orders", yamlCT, strings.Replace(slowYAML, "flow_id: slow", "flow_id: other", 1))
	c.put(http.StatusBadRequest, "/api/flows/orders", jsonCT, `[1, 2]`)
	c.put(http.StatusNotFound, "/api/flows/ghost", yamlCT, strings.Replace(slowYAML, "flow_id: slow", "flow_id: ghost", 1))
	c.put(http.StatusUnprocessableEntity, "/api/flows/orders", yamlCT, "routines: {a: {kind: input, error_policy: {strategy: sometimes}}}\n")
	c.put(http.StatusRequestEntityTooLarge, "/api/flows/orders", jsonCT, huge)

	// Definitions as YAML and JSON.
	c.get(http.StatusOK, "/api/flows/orders/dsl")
	c.get(http.StatusOK, "/api/flows/orders/dsl?format=yaml&version=1")
	c.get(http.StatusOK, "/api/flows/flaky/dsl?format=yaml")
	c.get(http.StatusOK, "/api/flows/orders/dsl?format=json")
	c.get(http.StatusOK, "/api/flows/solo/dsl?format=json")
	c.get(http.StatusBadRequest, "/api/flows/orders/dsl?format=xml")
	c.get(http.StatusBadRequest, "/api/flows/orders/dsl?version=-2")
	c.get(http.StatusNotFound, "/api/flows/ghost/dsl")

	// Validation of the stored flow or of a body.
	if res := c.object(c.post(http.StatusOK, "/api/flows/orders/validate", "", "")); res["valid"] != true {
		t.Errorf("validate orders: %v", res)
	}
	c.post(http.StatusOK, "/api/flows/orders/validate?version=1", "", "")
	res := c.object(c.post(http.StatusOK, "/api/flows/draft/validate", yamlCT,
		"routines:\n  start: {kind: input}\n  lost: {kind: output}\n  bad: {kind: transform}\nconnections:\n  - {from: start.output, to: nowhere.input}\n"))
	if res["valid"] != false {
		t.Errorf("validate draft: %v", res)
	}
	c.post(http.StatusOK, "/api/flows/orders/validate", jsonCT, dsl(slowYAML))
	c.post(http.StatusOK, "/api/flows/orders/validate", jsonCT, flakyJSON)
	c.post(http.StatusNotFound, "/api/flows/ghost/validate", "", "")
	c.post(http.StatusBadRequest, "/api/flows/orders/validate?version=0", "", "")
	c.post(http.StatusBadRequest, "/api/flows/orders/validate", jsonCT, `{"routines": 1}`)
	c.post(http.StatusRequestEntityTooLarge, "/api/flows/orders/validate", jsonCT, huge)

	// A job that completes, observed while it runs.
	done := c.startJob(`{"flow_id": "orders", "params": {"value": 21}}`)
	c.get(http.StatusOK, "/api/jobs/"+done)
	c.get(http.StatusOK, "/api/jobs/"+done+"/events")
	c.get(http.StatusOK, "/api/jobs/"+done+"/metrics")
	finished := c.waitJob(done, "completed")
	if r, _ := finished["result"].(map[string]any); r["total"] != 42.0 {
		t.Errorf("result %v", finished["result"])
	}

	// A job that fails after a retry, started at an explicit version, with null params.
	failed := c.startJob(`{"flow_id": "flaky", "flow_version": 1, "entry_routine_id": "start", "params": null}`)
	c.waitJob(failed, "failed")

	// Pause, resume and cancel a slow job, with the conflicts on the way.
	slow := c.startJob(`{"flow_id": "slow"}`)
	if j := c.object(c.post(http.StatusOK, "/api/jobs/"+slow+"/pause", "", "")); j["pause_requested"] != true && j["status"] != "paused" {
		t.Errorf("pause: %v", j)
	}
	c.post(http.StatusConflict, "/api/jobs/"+slow+"/pause", "", "")
	c.post(http.StatusOK, "/api/jobs/"+slow+"/resume", "", "")
	c.post(http.StatusConflict, "/api/jobs/"+slow+"/resume", "", "")
	c.get(http.StatusOK, "/api/jobs?status=running")
	c.post(http.StatusOK, "/api/jobs/"+slow+"/cancel", "", "")
	c.post(http.StatusConflict, "/api/jobs/"+slow+"/cancel", "", "")
	c.waitJob(slow, "cancelled")
	c.post(http.StatusConflict, "/api/jobs/"+slow+"/resume", "", "")
	c.post(http.StatusConflict, "/api/jobs/"+done+"/pause", "", "")
	c.post(http.StatusConflict, "/api/jobs/"+failed+"/cancel", "", "")
	c.post(http.StatusNotFound, "/api/jobs/j_ghost/pause", "", "")
	c.post(http.StatusNotFound, "/api/jobs/j_ghost/resume", "", "")
	c.post(http.StatusNotFound, "/api/jobs/j_ghost/cancel", "", "")

	// Starting a job that cannot start.
	c.post(http.StatusBadRequest, "/api/jobs", jsonCT, `{}`)
	c.post(http.StatusBadRequest, "/api/jobs", jsonCT, `{"flow_id": "orders", "speed": "fast"}`)
	c.post(http.StatusBadRequest, "/api/jobs", jsonCT, `{"flow_id": "not an id!"}`)
	c.post(http.StatusBadRequest, "/api/jobs", jsonCT, `{"flow_id": "orders", "flow_version": -1}`)
	c.post(http.StatusBadRequest, "/api/jobs", jsonCT, `{"flow_id": "orders"`)
	c.post(http.StatusNotFound, "/api/jobs", jsonCT, `{"flow_id": "ghost"}`)
	c.post(http.StatusNotFound, "/api/jobs", jsonCT, `{"flow_id": "orders", "flow_version": 99}`)
	c.post(http.StatusUnprocessableEntity, "/api/jobs", jsonCT, `{"flow_id": "orders", "entry_routine_id": "ghost"}`)
	c.post(http.StatusRequestEntityTooLarge, "/api/jobs", jsonCT, huge)

	// Lists, events, logs and metrics of finished jobs.
	for _, id := range []string{done, failed, slow} {
		c.get(http.StatusOK, "/api/jobs/"+id)
		c.get(http.StatusOK, "/api/jobs/"+id+"/events")
		c.get(http.StatusOK, "/api/jobs/"+id+"/logs")
		c.get(http.StatusOK, "/api/jobs/"+id+"/metrics")
	}
	c.get(http.StatusOK, "/api/jobs")
	c.get(http.StatusOK, "/api/jobs?flow_id=orders&status=completed&limit=1&offset=0")
	c.get(http.StatusOK, "/api/jobs?flow_id=ghost")
	c.get(http.StatusBadRequest, "/api/jobs?status=sleeping")
	c.get(http.StatusBadRequest, "/api/jobs?limit=1001")
	// A time range: [created_after, created_before).
	all := c.object(c.get(http.StatusOK, "/api/jobs"))["total"].(float64)
	if all < 3 {
		t.Fatalf("total %v, want at least the 3 jobs started here", all)
	}
	now := time.Now().UTC()
	for q, want := range map[string]float64{
		"created_after=" + now.Add(time.Hour).Format(time.RFC3339):                                                                 0,
		"created_before=" + now.Add(time.Hour).Format(time.RFC3339):                                                                all,
		"created_after=" + now.Add(-time.Hour).Format(time.RFC3339) + "&created_before=" + now.Add(time.Hour).Format(time.RFC3339): all,
		"created_before=" + now.Add(-time.Hour).Format(time.RFC3339Nano):                                                           0,
	} {
		if got := c.object(c.get(http.StatusOK, "/api/jobs?"+q))["total"]; got != want {
			t.Errorf("%s: total %v, want %v", q, got, want)
		}
	}
	c.get(http.StatusBadRequest, "/api/jobs?created_after=yesterday")
	c.get(http.StatusBadRequest, "/api/jobs?created_before=2026-13-01T00:00:00Z")

	page := c.object(c.get(http.StatusOK, "/api/jobs/"+done+"/events?since=0&limit=2"))
	if page["has_more"] != true {
		t.Errorf("events page: %v", page)
	}
	next := strconv.FormatFloat(page["next_since"].(float64), 'f', -1, 64)
	c.get(http.StatusOK, "/api/jobs/"+done+"/events?since="+next+"&limit=10000")
	c.get(http.StatusOK, "/api/jobs/"+done+"/events?since=100000")
	c.get(http.StatusBadRequest, "/api/jobs/"+done+"/events?since=-1")
	c.get(http.StatusBadRequest, "/api/jobs/"+done+"/events?limit=0")
	c.get(http.StatusBadRequest, "/api/jobs/"+done+"/events?limit=10001")
	c.get(http.StatusNotFound, "/api/jobs/j_ghost/events")

	logs := c.object(c.get(http.StatusOK, "/api/jobs/"+done+"/logs?level=warn&routine_id=note&q=TOTAL&limit=5&offset=0"))
	if logs["total"] != 1.0 {
		t.Errorf("warning logs: %v", logs)
	}
	c.get(http.StatusOK, "/api/jobs/"+failed+"/logs?level=error")
	c.get(http.StatusOK, "/api/jobs/"+done+"/logs?level=debug")
	c.get(http.StatusBadRequest, "/api/jobs/"+done+"/logs?level=loud")
	c.get(http.StatusBadRequest, "/api/jobs/"+done+"/logs?q="+strings.Repeat("q", 501))
	c.get(http.StatusBadRequest, "/api/jobs/"+done+"/logs?limit=0")
	c.get(http.StatusNotFound, "/api/jobs/j_ghost/logs")
	c.get(http.StatusNotFound, "/api/jobs/j_ghost/metrics")
	c.get(http.StatusNotFound, "/api/jobs/j_ghost")

	exerciseDebugger(c)
	exerciseHistory(c, done, failed, slow)

	// Deleting a flow keeps its jobs readable.
	c.send(http.StatusNoContent, http.MethodDelete, "/api/flows/orders", "", "", false)
	c.send(http.StatusNotFound, http.MethodDelete, "/api/flows/orders", "", "", false)
	c.get(http.StatusNotFound, "/api/flows/orders")
	c.get(http.StatusOK, "/api/jobs/"+done)

	// Every operation was exercised with its success status.
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			for _, status := range op.Responses.Keys() {
				if status[0] == '2' && !c.covered[method+" "+path+" "+status] {
					t.Errorf("%s %s was never answered with %s", method, path, status)
				}
			}
		}
	}
	var untested []string
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			for _, status := range op.Responses.Keys() {
				if !c.covered[method+" "+path+" "+status] {
					untested = append(untested, method+" "+path+" "+status)
				}
			}
		}
	}
	slices.Sort(untested)
	t.Logf("documented answers not exercised: %s", strings.Join(untested, ", "))
}
