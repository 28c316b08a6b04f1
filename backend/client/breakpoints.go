package client

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"time"
)

// Scope is what a breakpoint belongs to: one job, or a flow (then every
// new job of the flow gets a copy).
type Scope string

// Breakpoint scopes, as they appear in the paths.
const (
	ScopeJob  Scope = "jobs"
	ScopeFlow Scope = "flows"
)

// Breakpoint types.
const (
	BreakpointRoutine = "routine" // before any activation of a routine
	BreakpointSlot    = "slot"    // before an activation at one slot
	BreakpointEvent   = "event"   // before an emit of one event
)

// Breakpoint is a breakpoint as the API shows it. Raw is the answer as it
// came (unset for the items of a BreakpointList).
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

	Raw json.RawMessage `json:"-"`
}

// BreakpointInput is a new breakpoint. Type defaults to routine; a slot
// breakpoint names SlotName, an event one EventName. Enabled defaults to
// true.
type BreakpointInput struct {
	Type         string  `json:"type,omitempty"`
	RoutineID    string  `json:"routine_id"`
	SlotName     *string `json:"slot_name,omitempty"`
	EventName    *string `json:"event_name,omitempty"`
	Condition    *string `json:"condition,omitempty"`
	HitCondition *string `json:"hit_condition,omitempty"`
	LogMessage   *string `json:"log_message,omitempty"`
	Enabled      *bool   `json:"enabled,omitempty"`
}

// BreakpointList is the answer of GET …/breakpoints. Raw is the answer as
// it came.
type BreakpointList struct {
	Breakpoints []Breakpoint `json:"breakpoints"`
	Total       int          `json:"total"`

	Raw json.RawMessage `json:"-"`
}

func breakpointsPath(scope Scope, id string) string {
	return "/api/" + string(scope) + "/" + url.PathEscape(id) + "/breakpoints"
}

// Breakpoints lists the breakpoints of a job or a flow.
func (c *Client) Breakpoints(ctx context.Context, scope Scope, id string) (BreakpointList, error) {
	var l BreakpointList
	err := c.getRaw(ctx, breakpointsPath(scope, id), &l, &l.Raw)
	return l, err
}

// CreateBreakpoint sets a breakpoint on a job or a flow.
func (c *Client) CreateBreakpoint(ctx context.Context, scope Scope, id string, in BreakpointInput) (Breakpoint, error) {
	body, err := json.Marshal(in)
	if err != nil {
		return Breakpoint{}, err
	}
	var bp Breakpoint
	err = c.sendRaw(ctx, http.MethodPost, breakpointsPath(scope, id), "application/json", body, &bp, &bp.Raw)
	return bp, err
}

// DeleteBreakpoint removes a breakpoint of a job or a flow.
func (c *Client) DeleteBreakpoint(ctx context.Context, scope Scope, id, breakpointID string) error {
	_, err := c.send(ctx, http.MethodDelete, breakpointsPath(scope, id)+"/"+url.PathEscape(breakpointID), "", nil, nil)
	return err
}
