package debug

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/switchyard/switchyard/backend/engine"
	"github.com/switchyard/switchyard/backend/routines"
	"github.com/switchyard/switchyard/backend/store"
)

// Breakpoint types.
const (
	TypeRoutine = "routine" // before any activation of a routine
	TypeSlot    = "slot"    // before an activation at one slot
	TypeEvent   = "event"   // before an emit of one event
	TypeStep    = "step"    // a stop of a step or of stop_on_entry (not a stored breakpoint)
)

// Breakpoint is a breakpoint as the API shows it: seed 004's fields plus
// the debugger's own. Absent optional fields are null.
type Breakpoint struct {
	ID            string    `json:"breakpoint_id"`
	JobID         string    `json:"job_id,omitempty"`
	FlowID        string    `json:"flow_id,omitempty"`
	Type          string    `json:"type"`
	RoutineID     string    `json:"routine_id"`
	SlotName      *string   `json:"slot_name"`
	EventName     *string   `json:"event_name"`
	Condition     *string   `json:"condition"`
	HitCondition  *string   `json:"hit_condition"`
	LogMessage    *string   `json:"log_message"`
	Enabled       bool      `json:"enabled"`
	HitCount      int64     `json:"hit_count"`
	InheritedFrom *string   `json:"inherited_from"`
	CreatedAt     time.Time `json:"created_at"`
}

// BreakpointInput is what a client sends to create a breakpoint.
type BreakpointInput struct {
	Type         string  `json:"type"`
	RoutineID    string  `json:"routine_id"`
	SlotName     *string `json:"slot_name"`
	EventName    *string `json:"event_name"`
	Condition    *string `json:"condition"`
	HitCondition *string `json:"hit_condition"`
	LogMessage   *string `json:"log_message"`
	Enabled      *bool   `json:"enabled"`
}

// BreakpointPatch changes a breakpoint; absent fields stay, an empty string
// removes a condition, hit condition or log message.
type BreakpointPatch struct {
	Enabled      *bool   `json:"enabled"`
	Condition    *string `json:"condition"`
	HitCondition *string `json:"hit_condition"`
	LogMessage   *string `json:"log_message"`
}

// compiled is a breakpoint ready to be checked against activations. It is
// immutable: an edit replaces it, carrying its hit counter over, so the
// engine's goroutines read it without locks.
type compiled struct {
	rec       store.Breakpoint
	condition *routines.Expression // nil: always matches
	hitCond   hitCondition
	logTmpl   *routines.Template // non-nil: a logpoint, which never pauses
	hits      *atomic.Int64
	warned    *atomic.Bool // a run-time condition failure was logged
	tail      []byte       // a flow breakpoint's part of its copies' record (recordTail)
}

// compile checks a breakpoint's expressions. Errors are InvalidErrors: the
// compiler's message, with the position.
func compile(rec store.Breakpoint) (*compiled, error) {
	c := &compiled{rec: rec, hits: new(atomic.Int64), warned: new(atomic.Bool)}
	c.hits.Store(rec.HitCount)
	if rec.Scope == store.ScopeFlow {
		c.tail = recordTail(rec)
	}
	var err error
	if rec.Condition != "" {
		if c.condition, err = routines.CompileCondition(rec.Condition); err != nil {
			return nil, invalid("condition: %v", err)
		}
	}
	if c.hitCond, err = parseHitCondition(rec.HitCondition); err != nil {
		return nil, err
	}
	if rec.LogMessage != "" {
		if c.logTmpl, err = routines.ParseTemplate(rec.LogMessage); err != nil {
			return nil, invalid("log_message: %v", err)
		}
	}
	return c, nil
}

// withRecord returns an edited copy sharing the hit counter.
func (c *compiled) withRecord(rec store.Breakpoint) (*compiled, error) {
	n, err := compile(rec)
	if err != nil {
		return nil, err
	}
	n.hits, n.warned = c.hits, new(atomic.Bool)
	return n, nil
}

// copyAs is the breakpoint under another record (a job's copy of a flow
// breakpoint), sharing the compiled expressions and with its own counters.
func (c *compiled) copyAs(rec store.Breakpoint) *compiled {
	n := *c
	n.rec, n.hits, n.warned = rec, new(atomic.Int64), new(atomic.Bool)
	return &n
}

// view is the API shape with the live hit count.
func (c *compiled) view() Breakpoint {
	r := c.rec
	b := Breakpoint{
		ID: r.ID, Type: r.Type, RoutineID: r.RoutineID, Enabled: r.Enabled, HitCount: c.hits.Load(),
		SlotName: optional(r.Slot), EventName: optional(r.Event), Condition: optional(r.Condition),
		HitCondition: optional(r.HitCondition), LogMessage: optional(r.LogMessage),
		InheritedFrom: optional(r.InheritedFrom), CreatedAt: r.CreatedAt,
	}
	if r.Scope == store.ScopeJob {
		b.JobID = r.ScopeID
	} else {
		b.FlowID = r.ScopeID
	}
	return b
}

// appliesTo reports whether the breakpoint watches this activation (before
// it runs) or, with event set, this emit.
func (c *compiled) appliesTo(a *engine.Activation, event string) bool {
	r := &c.rec
	if !r.Enabled || r.RoutineID != a.RoutineID {
		return false
	}
	switch r.Type {
	case TypeEvent:
		return event != "" && r.Event == event
	case TypeSlot:
		return event == "" && r.Slot == a.Slot
	default:
		return event == ""
	}
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return strings.TrimSpace(*s)
}

// newRecord validates input against a flow version's routines and builds
// the record of a new breakpoint.
func newRecord(in BreakpointInput, plan *engine.Plan, scope, scopeID string) (store.Breakpoint, error) {
	rec := store.Breakpoint{
		ID: newID("bp_"), Scope: scope, ScopeID: scopeID, Type: strings.TrimSpace(in.Type),
		RoutineID: strings.TrimSpace(in.RoutineID), Slot: deref(in.SlotName), Event: deref(in.EventName),
		Condition: deref(in.Condition), HitCondition: deref(in.HitCondition), LogMessage: deref(in.LogMessage),
		Enabled: in.Enabled == nil || *in.Enabled, CreatedAt: time.Now().UTC(),
	}
	if rec.Type == "" {
		rec.Type = TypeRoutine
	}
	if rec.RoutineID == "" {
		return rec, invalid("routine_id is required")
	}
	switch rec.Type {
	case TypeRoutine:
		if rec.Slot != "" || rec.Event != "" {
			return rec, invalid("a routine breakpoint takes neither slot_name nor event_name (use type slot or event)")
		}
	case TypeSlot:
		if rec.Slot == "" || rec.Event != "" {
			return rec, invalid("a slot breakpoint needs slot_name and no event_name")
		}
	case TypeEvent:
		if rec.Event == "" || rec.Slot != "" {
			return rec, invalid("an event breakpoint needs event_name and no slot_name")
		}
	default:
		return rec, invalid("type %q is not one of routine, slot, event", rec.Type)
	}
	return rec, checkPorts(rec, plan)
}

// checkPorts reports an unknown routine, slot or event as an UnknownError.
func checkPorts(rec store.Breakpoint, plan *engine.Plan) error {
	slots, evs, ok := plan.Ports(rec.RoutineID)
	switch {
	case !ok:
		return &UnknownError{fmt.Sprintf("flow %q (version %d) has no routine %q", plan.Flow.ID, plan.Flow.Version, rec.RoutineID)}
	case rec.Slot != "" && !slices.Contains(slots, rec.Slot):
		return &UnknownError{fmt.Sprintf("routine %q has no slot %q (slots: %s)", rec.RoutineID, rec.Slot, strings.Join(slots, ", "))}
	case rec.Event != "" && !slices.Contains(evs, rec.Event):
		return &UnknownError{fmt.Sprintf("routine %q has no event %q (events: %s)", rec.RoutineID, rec.Event, strings.Join(evs, ", "))}
	}
	return nil
}

// newID returns prefix and 12 random hex digits. Ids name breakpoints, they
// guard nothing: the fast generator does (jobs of a flow with breakpoints
// take one per copy).
func newID(prefix string) string {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], rand.Uint64())
	return prefix + hex.EncodeToString(b[:6])
}

// hitCondition is an IDE debugger's hit count condition: "5" stops at the
// 5th matching hit, ">= 3" from the 3rd on, "% 10" at every 10th.
type hitCondition struct {
	op string // "" (none), "==", "!=", ">", ">=", "<", "<=", "%"
	n  int64
}

func parseHitCondition(src string) (hitCondition, error) {
	s := strings.TrimSpace(src)
	if s == "" {
		return hitCondition{}, nil
	}
	op := "=="
	for _, candidate := range []string{">=", "<=", "==", "!=", ">", "<", "%", "="} {
		if strings.HasPrefix(s, candidate) {
			op, s = candidate, strings.TrimSpace(s[len(candidate):])
			break
		}
	}
	if op == "=" {
		op = "=="
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || (op == "%" && n == 0) {
		return hitCondition{}, invalid(`hit_condition %q: want a hit count such as "5", ">= 3" or "%% 10" (operators == != > >= < <= %%, a non-negative integer, %% needs a positive one)`, src)
	}
	return hitCondition{op: op, n: n}, nil
}

// stops reports whether the hit-th matching hit pauses.
func (h hitCondition) stops(hit int64) bool {
	switch h.op {
	case "":
		return true
	case "==":
		return hit == h.n
	case "!=":
		return hit != h.n
	case ">":
		return hit > h.n
	case ">=":
		return hit >= h.n
	case "<":
		return hit < h.n
	case "<=":
		return hit <= h.n
	default: // "%"
		return hit%h.n == 0
	}
}

// storeCtx bounds store calls made outside a request (hooks, the flusher).
func storeCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 5*time.Second)
}
