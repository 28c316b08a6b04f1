package flow

import (
	"fmt"
	"regexp"
	"sort"
)

// KindInfo is what validation needs to know about a routine kind.
type KindInfo interface {
	// Slots and Events list the ports a routine of this kind has with config.
	Slots(config map[string]any) []string
	Events(config map[string]any) []string
	// CheckConfig reports a configuration the kind cannot run with,
	// including expressions that do not compile.
	CheckConfig(config map[string]any) error
	// BoundsCycles is true for kinds that decide at run time whether to
	// emit (filter, switch), so a cycle through them can terminate.
	BoundsCycles() bool
}

// Catalogue resolves kind names.
type Catalogue interface {
	Kind(name string) (KindInfo, bool)
}

// Issue is one validation finding, located at a routine or a connection.
type Issue struct {
	Code       string `json:"code"`
	Message    string `json:"message"`
	RoutineID  string `json:"routine_id,omitempty"`
	Connection *int   `json:"connection,omitempty"`
}

// Result is the outcome of Validate.
type Result struct {
	Valid    bool    `json:"valid"`
	Errors   []Issue `json:"errors"`
	Warnings []Issue `json:"warnings"`
}

// Validation issue codes.
const (
	CodeMissingID        = "MISSING_FLOW_ID"
	CodeBadID            = "BAD_ID"
	CodeNoRoutines       = "NO_ROUTINES"
	CodeUnknownKind      = "UNKNOWN_KIND"
	CodeBadConfig        = "BAD_CONFIG"
	CodeBadPolicy        = "BAD_ERROR_POLICY"
	CodeBadEndpoint      = "BAD_ENDPOINT"
	CodeDangling         = "DANGLING_CONNECTION"
	CodeUnknownSlot      = "UNKNOWN_SLOT"
	CodeUnknownEvent     = "UNKNOWN_EVENT"
	CodeDuplicateConn    = "DUPLICATE_CONNECTION"
	CodeUnboundedCycle   = "UNBOUNDED_CYCLE"
	CodeNoEntry          = "NO_ENTRY_ROUTINE"
	CodeBadExecution     = "BAD_EXECUTION"
	CodeUnreachable      = "UNREACHABLE_ROUTINE"
	CodeUnusedEvent      = "UNCONNECTED_ROUTINE"
	maxWorkersLimit      = 1024
	maxRetriesLimit      = 100
	maxRoutinesPerFlow   = 1000
	maxConnectionsInFlow = 5000
)

var idPattern = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_-]{0,127}$`)

// ValidID reports whether s can name a flow or routine (also used in URLs).
func ValidID(s string) bool { return idPattern.MatchString(s) }

// Validate checks a flow against the catalogue and reports every problem it
// finds, each naming the routine or connection it concerns.
func Validate(f *Flow, cat Catalogue) Result {
	return validate(f, cat, true)
}

// ValidateStructure is Validate without the kinds' config checks, for a
// caller that builds the routines itself and adds a ConfigIssue for each
// config a kind refuses (so expressions are compiled once, not twice).
func ValidateStructure(f *Flow, cat Catalogue) Result {
	return validate(f, cat, false)
}

func validate(f *Flow, cat Catalogue, configs bool) Result {
	v := &validator{flow: f, cat: cat, kinds: map[string]KindInfo{}, configs: configs}
	v.run()
	sortIssues(v.errors)
	sortIssues(v.warnings)
	return Result{Valid: len(v.errors) == 0, Errors: nonNil(v.errors), Warnings: nonNil(v.warnings)}
}

// ConfigIssue is the error for a routine whose kind refuses its config.
func ConfigIssue(routineID, kind string, err error) Issue {
	return Issue{Code: CodeBadConfig, RoutineID: routineID, Message: fmt.Sprintf("routine %q (%s): %v", routineID, kind, err)}
}

// Add records an error issue; the result is then invalid.
func (r *Result) Add(issue Issue) {
	r.Errors = append(r.Errors, issue)
	sortIssues(r.Errors)
	r.Valid = false
}

type validator struct {
	flow     *Flow
	cat      Catalogue
	kinds    map[string]KindInfo
	configs  bool // run the kinds' config checks
	errors   []Issue
	warnings []Issue
}

func (v *validator) errorf(code, routine string, conn *int, format string, args ...any) {
	v.errors = append(v.errors, Issue{Code: code, RoutineID: routine, Connection: conn, Message: fmt.Sprintf(format, args...)})
}

func (v *validator) warnf(code, routine string, format string, args ...any) {
	v.warnings = append(v.warnings, Issue{Code: code, RoutineID: routine, Message: fmt.Sprintf(format, args...)})
}

func (v *validator) run() {
	f := v.flow
	switch {
	case f.ID == "":
		v.errorf(CodeMissingID, "", nil, "flow_id is required")
	case !ValidID(f.ID):
		v.errorf(CodeBadID, "", nil, "flow_id %q must be 1-128 letters, digits, '_' or '-'", f.ID)
	}
	if len(f.Routines) == 0 {
		v.errorf(CodeNoRoutines, "", nil, "the flow has no routines")
		return
	}
	if len(f.Routines) > maxRoutinesPerFlow {
		v.errorf(CodeNoRoutines, "", nil, "the flow has %d routines; at most %d are allowed", len(f.Routines), maxRoutinesPerFlow)
		return
	}
	if len(f.Connections) > maxConnectionsInFlow {
		v.errorf(CodeBadEndpoint, "", nil, "the flow has %d connections; at most %d are allowed", len(f.Connections), maxConnectionsInFlow)
		return
	}
	v.checkExecution()
	for _, id := range sortedKeys(f.Routines) {
		v.checkRoutine(id, f.Routines[id])
	}
	edges := v.checkConnections()
	v.checkEntry()
	v.checkCycles(edges)
	v.checkReachability(edges)
}

func (v *validator) checkExecution() {
	e := v.flow.Execution
	if e == nil {
		return
	}
	if e.Strategy != "" && e.Strategy != StrategySequential && e.Strategy != StrategyConcurrent {
		v.errorf(CodeBadExecution, "", nil, "execution.strategy %q must be %q or %q", e.Strategy, StrategySequential, StrategyConcurrent)
	}
	if e.MaxWorkers < 0 || e.MaxWorkers > maxWorkersLimit {
		v.errorf(CodeBadExecution, "", nil, "execution.max_workers must be between 0 and %d", maxWorkersLimit)
	}
}

func (v *validator) checkRoutine(id string, r RoutineSpec) {
	if !ValidID(id) {
		v.errorf(CodeBadID, id, nil, "routine id %q must be 1-128 letters, digits, '_' or '-'", id)
	}
	k, ok := v.cat.Kind(r.Kind)
	if !ok {
		if r.Kind == "" {
			v.errorf(CodeUnknownKind, id, nil, "routine %q has no kind", id)
		} else {
			v.errorf(CodeUnknownKind, id, nil, "routine %q has unknown kind %q (see GET /api/routines)", id, r.Kind)
		}
	} else {
		v.kinds[id] = k
		if v.configs {
			if err := k.CheckConfig(r.Config); err != nil {
				v.errors = append(v.errors, ConfigIssue(id, r.Kind, err))
			}
		}
	}
	if p := r.ErrorPolicy; p != nil {
		switch p.Strategy {
		case "", OnErrorStop, OnErrorContinue, OnErrorSkip, OnErrorRetry:
		default:
			v.errorf(CodeBadPolicy, id, nil, "routine %q: error_policy.strategy %q must be stop, continue, skip or retry", id, p.Strategy)
		}
		if p.MaxRetries < 0 || p.MaxRetries > maxRetriesLimit {
			v.errorf(CodeBadPolicy, id, nil, "routine %q: error_policy.max_retries must be between 0 and %d", id, maxRetriesLimit)
		}
		if p.RetryBackoff < 0 || p.RetryBackoff > 10 {
			v.errorf(CodeBadPolicy, id, nil, "routine %q: error_policy.retry_backoff must be between 0 and 10", id)
		}
	}
}

// checkConnections validates both ends of every connection and returns the
// routine graph (from → to) built from the valid ones.
func (v *validator) checkConnections() map[string][]string {
	edges := map[string][]string{}
	seen := map[string]int{}
	for i, c := range v.flow.Connections {
		idx := i
		from, errFrom := ParseEndpoint(c.From)
		to, errTo := ParseEndpoint(c.To)
		if errFrom != nil || errTo != nil {
			v.errorf(CodeBadEndpoint, "", &idx, "connection %d: from %q / to %q must both be routine.port", i, c.From, c.To)
			continue
		}
		ok := v.checkEnd(idx, from, "from", func(k KindInfo, cfg map[string]any) []string { return k.Events(cfg) }, CodeUnknownEvent, "event")
		ok = v.checkEnd(idx, to, "to", func(k KindInfo, cfg map[string]any) []string { return k.Slots(cfg) }, CodeUnknownSlot, "slot") && ok
		key := c.From + "->" + c.To
		if prev, dup := seen[key]; dup {
			v.errorf(CodeDuplicateConn, "", &idx, "connection %d repeats connection %d (%s → %s)", i, prev, c.From, c.To)
			continue
		}
		seen[key] = i
		if ok {
			edges[from.Routine] = append(edges[from.Routine], to.Routine)
		}
	}
	return edges
}

func (v *validator) checkEnd(idx int, ep Endpoint, side string, ports func(KindInfo, map[string]any) []string, code, portWord string) bool {
	spec, exists := v.flow.Routines[ep.Routine]
	if !exists {
		v.errorf(CodeDangling, "", &idx, "connection %d: %s routine %q does not exist", idx, side, ep.Routine)
		return false
	}
	k, known := v.kinds[ep.Routine]
	if !known {
		return false // already reported as unknown kind
	}
	names := ports(k, spec.Config)
	for _, n := range names {
		if n == ep.Port {
			return true
		}
	}
	v.errorf(code, ep.Routine, &idx, "connection %d: routine %q (%s) has no %s %q (it has %v)", idx, ep.Routine, spec.Kind, portWord, ep.Port, names)
	return false
}

func (v *validator) checkEntry() {
	for _, r := range v.flow.Routines {
		if r.Kind == "input" {
			return
		}
	}
	v.errorf(CodeNoEntry, "", nil, "the flow has no entry routine: add a routine of kind input")
}

// checkCycles reports every strongly connected component that contains no
// routine of a kind that bounds cycles.
func (v *validator) checkCycles(edges map[string][]string) {
	for _, scc := range stronglyConnected(sortedKeys(v.flow.Routines), edges) {
		if len(scc) == 1 && !contains(edges[scc[0]], scc[0]) {
			continue
		}
		bounded := false
		for _, id := range scc {
			if k, ok := v.kinds[id]; ok && k.BoundsCycles() {
				bounded = true
				break
			}
		}
		if !bounded {
			sort.Strings(scc)
			v.errorf(CodeUnboundedCycle, scc[0], nil, "unbounded cycle through %v: a cycle needs a filter or switch routine to end it", scc)
		}
	}
}

func (v *validator) checkReachability(edges map[string][]string) {
	reached := map[string]bool{}
	var stack []string
	for id, r := range v.flow.Routines {
		if r.Kind == "input" {
			stack = append(stack, id)
			reached[id] = true
		}
	}
	for len(stack) > 0 {
		id := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, n := range edges[id] {
			if !reached[n] {
				reached[n] = true
				stack = append(stack, n)
			}
		}
	}
	for _, id := range sortedKeys(v.flow.Routines) {
		if !reached[id] {
			v.warnf(CodeUnreachable, id, "routine %q cannot be reached from an input routine", id)
		}
	}
}

// stronglyConnected is Tarjan's algorithm over the routine graph.
func stronglyConnected(nodes []string, edges map[string][]string) [][]string {
	index := map[string]int{}
	low := map[string]int{}
	onStack := map[string]bool{}
	var stack []string
	var out [][]string
	next := 0
	var visit func(string)
	visit = func(n string) {
		index[n], low[n] = next, next
		next++
		stack = append(stack, n)
		onStack[n] = true
		for _, m := range edges[n] {
			if _, seen := index[m]; !seen {
				visit(m)
				low[n] = min(low[n], low[m])
			} else if onStack[m] {
				low[n] = min(low[n], index[m])
			}
		}
		if low[n] == index[n] {
			var comp []string
			for {
				m := stack[len(stack)-1]
				stack = stack[:len(stack)-1]
				onStack[m] = false
				comp = append(comp, m)
				if m == n {
					break
				}
			}
			out = append(out, comp)
		}
	}
	for _, n := range nodes {
		if _, seen := index[n]; !seen {
			visit(n)
		}
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func sortIssues(issues []Issue) {
	sort.SliceStable(issues, func(i, j int) bool {
		return issues[i].RoutineID < issues[j].RoutineID
	})
}

func nonNil(issues []Issue) []Issue {
	if issues == nil {
		return []Issue{}
	}
	return issues
}
