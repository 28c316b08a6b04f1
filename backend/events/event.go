// Package events defines the job event log's records — one Event per state
// change, numbered by a per-job gap-free seq — and the in-process bus that
// fans them out to the store and to live subscribers without blocking the
// engine.
package events

import "time"

// Event types. The seed protocols' messages are derived from these.
const (
	JobStarted       = "job_started"
	JobPaused        = "job_paused"
	JobResumed       = "job_resumed"
	JobCompleted     = "job_completed"
	JobFailed        = "job_failed"
	JobCancelled     = "job_cancelled"
	RoutineStarted   = "routine_started" // an activation began: routine, slot, input data
	RoutineCompleted = "routine_completed"
	RoutineFailed    = "routine_failed"
	EventEmit        = "event_emit" // an activation emitted an event
	Log              = "log"
	// Debugger events (emitted by the debugger through the engine's hooks).
	// breakpoint_hit: Data {"breakpoint": {breakpoint_id, type, routine_id,
	// slot_name, event_name}, "variables": {…}}; breakpoint_resumed: Data
	// {"breakpoint_id", "step_mode": over|into|out|continue}.
	BreakpointHit     = "breakpoint_hit"
	BreakpointResumed = "breakpoint_resumed"
	// variable_changed: the debugger changed a variable at a pause; Data
	// {"name", "old", "new"} (name "data", "data.a.b" or "shared.key").
	VariableChanged = "variable_changed"
	// shared_set: a routine set a key of the job's shared data; Data
	// {"key", "value"}.
	SharedSet = "shared_set"
)

// Pause reasons (JobState.PauseReason, job_paused data.pause_reason).
const (
	PauseAPI        = "api"
	PauseBreakpoint = "breakpoint"
)

// PausedAt is where a debugger pause holds a job: the activation waiting at
// a breakpoint (or a step), before it runs or, for an event breakpoint,
// before it emits.
type PausedAt struct {
	BreakpointID *string `json:"breakpoint_id"` // nil for a step or stop_on_entry
	Type         string  `json:"type"`          // routine | slot | event | step
	ActivationID int64   `json:"activation_id"`
	RoutineID    string  `json:"routine_id"`
	SlotName     *string `json:"slot_name"`
	EventName    *string `json:"event_name"`
	PauseID      string  `json:"pause_id"`
}

// Job statuses.
const (
	StatusPending   = "pending"
	StatusRunning   = "running"
	StatusPaused    = "paused"
	StatusCompleted = "completed"
	StatusFailed    = "failed"
	StatusCancelled = "cancelled"
)

// Routine statuses (per-routine state inside a job).
const (
	StatePending   = "pending"
	StateRunning   = "running"
	StateCompleted = "completed"
	StateFailed    = "failed"
	StateSkipped   = "skipped"
	// StateCancelled: the routine was running when its job ended (failed
	// elsewhere, cancelled, timed out); its activation was stopped.
	StateCancelled = "cancelled"
)

// Finished reports whether a job status is terminal.
func Finished(status string) bool {
	return status == StatusCompleted || status == StatusFailed || status == StatusCancelled
}

// Event is one entry of a job's log. Fields not relevant to a type are empty.
type Event struct {
	Seq          int64     `json:"seq"`
	Type         string    `json:"type"`
	JobID        string    `json:"job_id"`
	FlowID       string    `json:"flow_id,omitempty"`
	Time         time.Time `json:"time"`
	RoutineID    string    `json:"routine_id,omitempty"`
	ActivationID int64     `json:"activation_id,omitempty"`
	ParentID     int64     `json:"parent_id,omitempty"`
	Slot         string    `json:"slot,omitempty"`
	Event        string    `json:"event,omitempty"`
	Data         any       `json:"data,omitempty"`
	Status       string    `json:"status,omitempty"`
	Error        string    `json:"error,omitempty"`
	ErrorType    string    `json:"error_type,omitempty"`
	Level        string    `json:"level,omitempty"`
	Message      string    `json:"message,omitempty"`
	// Duration is seconds: of the activation on routine_completed/failed,
	// of the job on job_completed/failed/cancelled.
	Duration float64 `json:"duration,omitempty"`
	// Attempt counts retries on routine_failed (1 = first failure).
	Attempt int `json:"attempt,omitempty"`
	// Emitted counts the events an activation emitted (routine_completed).
	Emitted int `json:"events_emitted,omitempty"`
	// Targets counts the activations an emit queued (event_emit).
	Targets int `json:"targets,omitempty"`
	// ResultMode is set on routine_completed when the activation set the
	// job's result to Data: "last" replaces it, "append" adds to the list.
	ResultMode string `json:"result_mode,omitempty"`
	// State is the routine's private state after this activation, on the
	// routine_completed/failed of an activation that used it (merge's
	// waiting payloads), so a job can continue after a crash.
	State map[string]any `json:"state,omitempty"`
	// Progress is the job's progress after this event. It only changes
	// when a routine ends, so it is sent on routine_completed,
	// routine_failed and job_* events (the routine_id of the latest
	// routine_started is the job's current node).
	Progress float64 `json:"progress,omitempty"`
	// Job is the job's state on job_* events; the store keeps it as the
	// job's record. It is not part of the event's JSON.
	Job *JobState `json:"-"`
	// Bytes is what Data weighs as JSON when the publisher knows it (the
	// engine does for emits and activation starts), 0 otherwise: the writer
	// bounds its backlog by it. Not part of the event's JSON.
	Bytes int64 `json:"-"`
}

// JobState is a job's record as the API returns it and the store keeps it.
type JobState struct {
	JobID          string                   `json:"job_id" db:"id"`
	FlowID         string                   `json:"flow_id" db:"flow_id"`
	FlowVersion    int                      `json:"flow_version" db:"flow_version"`
	Status         string                   `json:"status" db:"status"`
	PauseRequested bool                     `json:"pause_requested,omitempty" db:"-"`
	PauseReason    string                   `json:"pause_reason,omitempty" db:"-"` // api | breakpoint, while paused or pausing
	PausedAt       *PausedAt                `json:"paused_at,omitempty" db:"-"`
	EntryRoutineID string                   `json:"entry_routine_id" db:"entry_routine_id"`
	Params         any                      `json:"params" db:"-"`
	Result         any                      `json:"result" db:"-"`
	Error          string                   `json:"error" db:"error"`
	CreatedAt      time.Time                `json:"created_at" db:"created_at"`
	StartedAt      *time.Time               `json:"started_at" db:"started_at"`
	CompletedAt    *time.Time               `json:"completed_at" db:"completed_at"`
	Progress       float64                  `json:"progress" db:"progress"`
	CurrentNode    string                   `json:"current_node" db:"current_node"`
	NodesCompleted int                      `json:"nodes_completed" db:"nodes_completed"`
	NodesFailed    int                      `json:"nodes_failed" db:"nodes_failed"`
	Duration       float64                  `json:"duration" db:"duration"`
	Activations    int64                    `json:"activations" db:"activations"`
	Events         int64                    `json:"events" db:"events"`
	RoutineStates  map[string]*RoutineState `json:"routine_states,omitempty" db:"-"`
}

// RoutineState is one routine's state within a job.
type RoutineState struct {
	Status      string     `json:"status"`
	Output      any        `json:"output"`
	Error       *string    `json:"error"`
	StartedAt   *time.Time `json:"started_at"`
	CompletedAt *time.Time `json:"completed_at"`
	Activations int        `json:"activations"`
	// Emitted counts the routine's emits by event name: what passed along
	// each of its outgoing connections (the graph's edge counts).
	Emitted map[string]int `json:"emitted,omitempty"`
}
