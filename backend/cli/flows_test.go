package cli

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/switchyard/switchyard/backend/client"
)

const greetYAML = `flow_id: greet
name: Greeter
routines:
  start: {kind: input}
  shout: {kind: transform, config: {expr: "{greeting: upper('hello, ' + data.name)}"}}
  done:  {kind: output}
connections:
  - {from: start.output, to: shout.input}
  - {from: shout.output, to: done.input}
`

func TestFlowsApplyListGetExportDelete(t *testing.T) {
	base := startServer(t)
	file := writeFile(t, "greet.yaml", greetYAML)

	out := mustRun(t, "flows", "apply", "-f", file, "--server", base)
	if out != "flow greet created (version 1)\n" {
		t.Errorf("apply (create): %q", out)
	}
	// Again: the id exists (409 to POST), so it is an update.
	out = mustRun(t, "flows", "apply", "-f", file, "--server", base)
	if out != "flow greet updated (version 2)\n" {
		t.Errorf("apply (update): %q", out)
	}
	// From stdin, as JSON, and as {"dsl": …}; -o json is the stored flow.
	var f client.Flow
	stdout, errOut, code := runStdin(t, `{"flow_id":"greet","routines":{"start":{"kind":"input"}},"connections":[]}`,
		"flows", "apply", "-f", "-", "--server", base, "-o", "json")
	if code != ExitOK || json.Unmarshal([]byte(stdout), &f) != nil || f.ID != "greet" || f.Version != 3 || len(f.Routines) != 1 {
		t.Fatalf("apply -f - (JSON): exit %d %+v\n%s\n%s", code, f, stdout, errOut)
	}
	wrapped, _ := json.Marshal(map[string]string{"dsl": strings.Replace(greetYAML, "greet", "greet2", 1)})
	if stdout, errOut, code = runStdin(t, string(wrapped), "flows", "apply", "-f", "-", "--server", base); code != ExitOK || stdout != "flow greet2 created (version 1)\n" {
		t.Fatalf("apply {dsl}: exit %d\n%s\n%s", code, stdout, errOut)
	}
	if stdout, _, code = runStdin(t, string(wrapped), "flows", "apply", "-f", "-", "--server", base); code != ExitOK || stdout != "flow greet2 updated (version 2)\n" {
		t.Fatalf("apply {dsl} again: exit %d\n%s", code, stdout)
	}

	var list client.FlowList
	runJSON(t, &list, ExitOK, "flows", "list", "--server", base)
	ids := []string{}
	for _, s := range list.Flows {
		ids = append(ids, s.ID)
	}
	if list.Total != 6 || !strings.Contains(strings.Join(ids, ","), "greet") {
		t.Errorf("flows list -o json: %+v", list)
	}
	out = mustRun(t, "flows", "list", "--server", base)
	if !regexp.MustCompile(`(?m)^FLOW +NAME +VERSION +ROUTINES +UPDATED$`).MatchString(out) ||
		!regexp.MustCompile(`(?m)^greet +- +3 +1 +\d{4}-`).MatchString(out) || !regexp.MustCompile(`(?m)^greet2 +Greeter +2 +3 `).MatchString(out) {
		t.Errorf("flows list:\n%s", out)
	}
	if _, errOut, _ := runCLI(t, "flows", "list", "--server", base, "--limit", "2"); !strings.Contains(errOut, "2 of 6 flows shown") {
		t.Errorf("flows list --limit 2: %q", errOut)
	}

	runJSON(t, &f, ExitOK, "flows", "get", "greet2", "--server", base)
	if f.ID != "greet2" || f.Name != "Greeter" || f.Routines["shout"].Kind != "transform" || len(f.Connections) != 2 {
		t.Errorf("flows get -o json: %+v", f)
	}
	out = mustRun(t, "flows", "get", "greet2", "--server", base)
	for _, want := range []string{`(?m)^flow: +greet2$`, `(?m)^version: +2$`, `(?m)^shout +transform +\{"expr":`, `(?m)^start\.output +shout\.input +-$`} {
		if !regexp.MustCompile(want).MatchString(out) {
			t.Errorf("flows get lacks %s:\n%s", want, out)
		}
	}

	// export is YAML that apply takes back (an update, as the id exists).
	yaml := mustRun(t, "flows", "export", "greet2", "--server", base)
	if !strings.HasPrefix(yaml, "flow_id: greet2\n") || !strings.Contains(yaml, "kind: transform") {
		t.Errorf("flows export:\n%s", yaml)
	}
	if stdout, _, code = runStdin(t, yaml, "flows", "apply", "-f", "-", "--server", base); code != ExitOK || stdout != "flow greet2 updated (version 3)\n" {
		t.Errorf("apply of an export: exit %d %q", code, stdout)
	}
	runJSON(t, &f, ExitOK, "flows", "export", "greet2", "--server", base)
	if f.ID != "greet2" || len(f.Routines) != 3 {
		t.Errorf("flows export -o json: %+v", f)
	}

	if out = mustRun(t, "flows", "delete", "greet2", "--server", base); out != "flow greet2 deleted\n" {
		t.Errorf("delete: %q", out)
	}
	var deleted map[string]any
	runJSON(t, &deleted, ExitOK, "flows", "delete", "greet", "--server", base)
	if deleted["flow_id"] != "greet" || deleted["deleted"] != true {
		t.Errorf("delete -o json: %v", deleted)
	}
	expectCode(t, ExitRefused, []string{"flows", "get", "greet2", "--server", base}, "FLOW_NOT_FOUND (HTTP 404): ")
	expectCode(t, ExitRefused, []string{"flows", "delete", "greet2", "--server", base}, "FLOW_NOT_FOUND")
	expectCode(t, ExitRefused, []string{"flows", "export", "nope", "--server", base}, "FLOW_NOT_FOUND")
	// A deleted id can be applied again: created anew.
	if out = mustRun(t, "flows", "apply", "-f", file, "--server", base); !strings.HasPrefix(out, "flow greet created") {
		t.Errorf("apply after delete: %q", out)
	}
}

func TestFlowsApplyRefused(t *testing.T) {
	base := startServer(t)
	bad := writeFile(t, "bad.yaml", strings.Replace(greetYAML, "kind: transform", "kind: nope", 1))
	// The server's message, verbatim, and exit 4.
	expectCode(t, ExitRefused, []string{"flows", "apply", "-f", bad, "--server", base},
		`apply `+bad+`: FLOW_INVALID (HTTP 422): flow is invalid: routine "shout" has unknown kind "nope" (see GET /api/routines)`)
	expectCode(t, ExitRefused, []string{"flows", "apply", "-f", writeFile(t, "x.yaml", "flow_id: [\n"), "--server", base}, "BAD_FLOW (HTTP 400): ")
	expectCode(t, ExitUsage, []string{"flows", "apply", "--server", base}, "-f: name the flow file")
	expectCode(t, ExitUsage, []string{"flows", "apply", "-f", "/no/such.yaml", "--server", base}, "no such file")
	expectCode(t, ExitUsage, []string{"flows", "apply", "-f", writeFile(t, "e.yaml", "\n\n"), "--server", base}, "is empty")
	if _, errOut, code := runStdin(t, "", "flows", "apply", "-f", "-", "--server", base); code != ExitUsage || !strings.Contains(errOut, "-f stdin: the definition is empty") {
		t.Errorf("apply of empty stdin: exit %d %s", code, errOut)
	}
	expectCode(t, ExitUsage, []string{"flows", "get", "--server", base}, "want <flow_id>, got 0 arguments")
	expectCode(t, ExitUsage, []string{"flows"}, "missing subcommand")
}

func TestFlowsValidate(t *testing.T) {
	base := startServer(t)
	good := writeFile(t, "good.yaml", greetYAML)
	out := mustRun(t, "flows", "validate", "-f", good, "--server", base)
	if out != good+": the flow is valid\n" {
		t.Errorf("validate of a good flow: %q", out)
	}
	// Validating does not store.
	expectCode(t, ExitRefused, []string{"flows", "get", "greet", "--server", base}, "FLOW_NOT_FOUND")

	bad := writeFile(t, "bad.yaml", strings.Replace(strings.Replace(greetYAML, "kind: transform", "kind: nope", 1),
		"to: done.input", "to: done.nowhere", 1))
	out, errOut, code := runCLI(t, "flows", "validate", "-f", bad, "--server", base)
	if code != ExitFailed || !strings.Contains(errOut, bad+": the flow is invalid (2 problems)") ||
		!regexp.MustCompile(`(?m)^error +UNKNOWN_KIND +routine shout +routine "shout" has unknown kind "nope"`).MatchString(out) ||
		!regexp.MustCompile(`(?m)^error +\S+ +connection 1 +.*nowhere`).MatchString(out) {
		t.Errorf("validate of a bad flow: exit %d\n%s\n%s", code, out, errOut)
	}
	var v client.Validation
	runJSON(t, &v, ExitFailed, "flows", "validate", "-f", bad, "--server", base)
	if v.Valid || len(v.Errors) != 2 || v.Errors[0].Code == "" {
		t.Errorf("validate -o json: %+v", v)
	}
	// A definition that does not parse is invalid, with the parser's word.
	out, _, code = runStdin(t, "routines: [\n", "flows", "validate", "-f", "-", "--server", base)
	if code != ExitFailed || !regexp.MustCompile(`(?m)^error +BAD_FLOW +- +invalid YAML`).MatchString(out) {
		t.Errorf("validate of broken YAML: exit %d\n%s", code, out)
	}
	// No flow_id: a problem, and the rest is still validated.
	noID := strings.Replace(greetYAML, "flow_id: greet\n", "", 1)
	out, _, code = runStdin(t, noID, "flows", "validate", "-f", "-", "--server", base)
	if code != ExitFailed || !regexp.MustCompile(`(?m)^error +MISSING_FLOW_ID +- +flow_id is required$`).MatchString(out) || strings.Count(out, "\n") != 1 {
		t.Errorf("validate without flow_id: exit %d\n%s", code, out)
	}
	// The stored flow, by id.
	if out = mustRun(t, "flows", "validate", "steps", "--server", base); out != "steps: the flow is valid\n" {
		t.Errorf("validate steps: %q", out)
	}
	runJSON(t, &v, ExitOK, "flows", "validate", "steps", "--server", base)
	if !v.Valid {
		t.Errorf("validate steps -o json: %+v", v)
	}
	expectCode(t, ExitRefused, []string{"flows", "validate", "nope", "--server", base}, "FLOW_NOT_FOUND")
}
