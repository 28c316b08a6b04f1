package docs

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/switchyard/switchyard/backend/flow"
	"github.com/switchyard/switchyard/backend/server"
	"github.com/switchyard/switchyard/backend/servertest"
)

// catalogueKind is one kind of GET /api/routines.
type catalogueKind struct {
	Kind   string   `json:"kind"`
	Slots  []string `json:"slots"`
	Events []string `json:"events"`
	Config []struct {
		Name string `json:"name"`
	} `json:"config"`
	BoundsCycles bool `json:"bounds_cycles"`
}

// TestFlowsDocCoversTheCatalogue: docs/flows.md has a "### kind" section
// under "## Routine kinds" for every kind of GET /api/routines (and none
// for a kind the server does not have), naming each of its slots, events
// and config fields as `name`, saying whether it bounds cycles, with an
// example flow that uses it.
func TestFlowsDocCoversTheCatalogue(t *testing.T) {
	doc := readDoc(t, "flows.md")
	in := servertest.Start(t, server.Config{})
	var cat struct {
		Routines []catalogueKind `json:"routines"`
	}
	call(t, "GET", in.URL+"/api/routines", nil, http.StatusOK, &cat)
	if len(cat.Routines) == 0 {
		t.Fatal("GET /api/routines lists no kind")
	}

	chapter := section(doc, "## Routine kinds")
	if chapter == "" {
		t.Fatal(`docs/flows.md has no "## Routine kinds" chapter`)
	}
	sections := map[string]string{}
	for _, part := range strings.Split("\n"+chapter, "\n### ")[1:] {
		name, body, _ := strings.Cut(part, "\n")
		sections[strings.Trim(strings.TrimSpace(name), "`")] = body
	}
	for _, k := range cat.Routines {
		body, ok := sections[k.Kind]
		if !ok {
			t.Errorf("docs/flows.md: no \"### %s\" section for kind %s of GET /api/routines", k.Kind, k.Kind)
			continue
		}
		delete(sections, k.Kind)
		for _, name := range k.Slots {
			if !strings.Contains(body, "slot `"+name+"`") {
				t.Errorf("docs/flows.md, ### %s: slot `%s` is not named (as \"slot `%s`\")", k.Kind, name, name)
			}
		}
		for _, name := range k.Events {
			if !strings.Contains(body, "`"+name+"`") {
				t.Errorf("docs/flows.md, ### %s: event `%s` is not named", k.Kind, name)
			}
		}
		if len(k.Events) == 0 && !strings.Contains(body, "no events") {
			t.Errorf("docs/flows.md, ### %s: the kind has no events; say \"no events\"", k.Kind)
		}
		for _, f := range k.Config {
			if !strings.Contains(body, "| `"+f.Name+"` |") {
				t.Errorf("docs/flows.md, ### %s: config field `%s` has no row in the section's table", k.Kind, f.Name)
			}
		}
		if len(k.Config) == 0 && !strings.Contains(body, "no config") {
			t.Errorf("docs/flows.md, ### %s: the kind has no config; say \"no config\"", k.Kind)
		}
		if k.BoundsCycles != boundsCycles.MatchString(body) {
			t.Errorf("docs/flows.md, ### %s: bounds_cycles is %v; the section must say it bounds cycles exactly when it does", k.Kind, k.BoundsCycles)
		}
		uses := regexp.MustCompile(`kind:\s*` + regexp.QuoteMeta(k.Kind) + `\b`)
		found := false
		for _, b := range fencedBlocks(body) {
			if b.lang == "yaml" && uses.MatchString(b.text) && strings.Contains(b.text, "flow_id:") {
				found = true
			}
		}
		if !found {
			t.Errorf("docs/flows.md, ### %s: no example flow (```yaml with flow_id) uses the kind", k.Kind)
		}
	}
	for name := range sections {
		t.Errorf("docs/flows.md: \"### %s\" under Routine kinds is no kind of GET /api/routines", name)
	}
}

// TestFlowsDocExamplesRun: every example flow of docs/flows.md (a ```yaml
// or ```json block with a flow_id) is valid, without warnings, on a real
// server. An example with a comment "# params: <json>" is also stored and
// run with those params; "# result: <json>" is the job's result, "# error:
// text" the error it fails with.
func TestFlowsDocExamplesRun(t *testing.T) {
	doc := readDoc(t, "flows.md")
	in := servertest.Start(t, server.Config{})
	examples, ran := 0, 0
	for _, b := range fencedBlocks(doc) {
		if (b.lang != "yaml" && b.lang != "json") || !strings.Contains(b.text, "flow_id") {
			continue
		}
		examples++
		f, err := flow.Parse([]byte(b.text))
		if err != nil {
			t.Errorf("docs/flows.md line %d: %v\n%s", b.line, err, b.text)
			continue
		}
		dsl := map[string]string{"dsl": b.text}
		var res flow.Result
		call(t, "POST", in.URL+"/api/flows/"+f.ID+"/validate", dsl, http.StatusOK, &res)
		if !res.Valid || len(res.Warnings) > 0 {
			t.Errorf("docs/flows.md line %d: flow %s: valid %v, errors %+v, warnings %+v", b.line, f.ID, res.Valid, res.Errors, res.Warnings)
			continue
		}
		params, hasParams := comment(b.text, "params")
		if !hasParams {
			continue
		}
		if code := call(t, "POST", in.URL+"/api/flows", dsl, 0, nil); code == http.StatusConflict {
			call(t, "PUT", in.URL+"/api/flows/"+f.ID, dsl, http.StatusOK, nil)
		} else if code != http.StatusCreated {
			t.Fatalf("docs/flows.md line %d: POST /api/flows: %d", b.line, code)
		}
		var job struct {
			Status string `json:"status"`
			Result any    `json:"result"`
			Error  string `json:"error"`
		}
		req := map[string]any{"flow_id": f.ID, "params": json.RawMessage(params)}
		call(t, "POST", in.URL+"/api/jobs?wait=30s", req, http.StatusCreated, &job)
		ran++
		if want, ok := comment(b.text, "error"); ok {
			if job.Status != "failed" || !strings.Contains(job.Error, want) {
				t.Errorf("docs/flows.md line %d: flow %s: job %s with error %q, the page says it fails with %q", b.line, f.ID, job.Status, job.Error, want)
			}
			continue
		}
		if job.Status != "completed" {
			t.Errorf("docs/flows.md line %d: flow %s: job %s (%s)", b.line, f.ID, job.Status, job.Error)
			continue
		}
		if want, ok := comment(b.text, "result"); ok {
			var w any
			if err := json.Unmarshal([]byte(want), &w); err != nil {
				t.Fatalf("docs/flows.md line %d: # result: %v", b.line, err)
			}
			if !reflect.DeepEqual(w, job.Result) {
				got, _ := json.Marshal(job.Result)
				t.Errorf("docs/flows.md line %d: flow %s: result %s, the page says %s", b.line, f.ID, got, want)
			}
		}
	}
	if examples < 12 || ran < 12 {
		t.Errorf("docs/flows.md: %d example flows, %d run; expected at least one per kind", examples, ran)
	}
}

var boundsCycles = regexp.MustCompile(`bounds\s+cycles`)

func readDoc(t *testing.T, name string) string {
	t.Helper()
	raw, err := os.ReadFile("../../docs/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return string(raw)
}

// section is the text under heading (a whole line, e.g. "## Routine
// kinds") up to the next heading of the same or a higher level.
func section(doc, heading string) string {
	level := strings.Index(heading, " ")
	lines := strings.Split(doc, "\n")
	for i, l := range lines {
		if l != heading {
			continue
		}
		end := len(lines)
		for j := i + 1; j < len(lines); j++ {
			if n := strings.IndexFunc(lines[j], func(r rune) bool { return r != '#' }); n > 0 && n <= level && strings.HasPrefix(lines[j][n:], " ") && !inFence(lines[:j]) {
				end = j
				break
			}
		}
		return strings.Join(lines[i+1:end], "\n")
	}
	return ""
}

// inFence reports whether the line after lines is inside a fenced block.
func inFence(lines []string) bool {
	in := false
	for _, l := range lines {
		if strings.HasPrefix(strings.TrimSpace(l), "```") {
			in = !in
		}
	}
	return in
}

type block struct {
	lang, text string
	line       int // of the opening fence, 1-based
}

// fencedBlocks returns the fenced code blocks of a Markdown text.
func fencedBlocks(md string) []block {
	var out []block
	var cur *block
	var body []string
	for i, l := range strings.Split(md, "\n") {
		t := strings.TrimSpace(l)
		switch {
		case cur == nil && strings.HasPrefix(t, "```"):
			cur, body = &block{lang: strings.TrimPrefix(t, "```"), line: i + 1}, nil
		case cur != nil && t == "```":
			cur.text = strings.Join(body, "\n") + "\n"
			out = append(out, *cur)
			cur = nil
		case cur != nil:
			body = append(body, l)
		}
	}
	return out
}

// comment returns the text of a "# name: text" line of an example.
func comment(text, name string) (string, bool) {
	for _, l := range strings.Split(text, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(l), "# "+name+":"); ok {
			return strings.TrimSpace(v), true
		}
	}
	return "", false
}

// call sends body as JSON and returns the answer's status; want 0 accepts
// any, and v (when not nil) gets the answer decoded.
func call(t *testing.T, method, url string, body any, want int, v any) int {
	t.Helper()
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if want != 0 && resp.StatusCode != want {
		t.Fatalf("%s %s: %d, want %d: %s", method, url, resp.StatusCode, want, raw)
	}
	if v != nil {
		if err := json.Unmarshal(raw, v); err != nil {
			t.Fatalf("%s %s: %v: %s", method, url, err, raw)
		}
	}
	return resp.StatusCode
}
