// Package flow holds the flow model — routines, connections, error policies and
// execution settings — with parsing from JSON or YAML and structural validation.
// It is pure: no I/O, no engine.
package flow

import (
	"fmt"
	"strings"
	"time"
)

// Flow is a graph of routines joined by connections from an event of one
// routine to a slot of another.
type Flow struct {
	ID          string                 `json:"flow_id" yaml:"flow_id"`
	Name        string                 `json:"name,omitempty" yaml:"name,omitempty"`
	Description string                 `json:"description,omitempty" yaml:"description,omitempty"`
	Version     int                    `json:"version,omitempty" yaml:"version,omitempty"`
	Routines    map[string]RoutineSpec `json:"routines" yaml:"routines"`
	Connections []Connection           `json:"connections" yaml:"connections"`
	Execution   *Execution             `json:"execution,omitempty" yaml:"execution,omitempty"`
	CreatedAt   *time.Time             `json:"created_at,omitempty" yaml:"-"`
	UpdatedAt   *time.Time             `json:"updated_at,omitempty" yaml:"-"`
}

// RoutineSpec is one routine of a flow: a kind from the catalogue, its
// configuration and what to do when an activation fails.
type RoutineSpec struct {
	Kind        string         `json:"kind" yaml:"kind"`
	Description string         `json:"description,omitempty" yaml:"description,omitempty"`
	Config      map[string]any `json:"config,omitempty" yaml:"config,omitempty"`
	ErrorPolicy *ErrorPolicy   `json:"error_policy,omitempty" yaml:"error_policy,omitempty"`
}

// Connection delivers what routine.event emits to routine.slot.
type Connection struct {
	From string `json:"from" yaml:"from"`
	To   string `json:"to" yaml:"to"`
	// ParamMapping renames fields of the emitted object: key is the emitted
	// field, value the name the receiving slot sees. Unmapped fields pass through.
	ParamMapping map[string]string `json:"param_mapping,omitempty" yaml:"param_mapping,omitempty"`
}

// Endpoint is one side of a connection: a routine and an event or slot name.
type Endpoint struct {
	Routine string
	Port    string
}

func (e Endpoint) String() string { return e.Routine + "." + e.Port }

// ParseEndpoint splits "routine.port". The routine id may itself not contain dots.
func ParseEndpoint(s string) (Endpoint, error) {
	i := strings.LastIndexByte(s, '.')
	if i <= 0 || i == len(s)-1 {
		return Endpoint{}, fmt.Errorf("%q is not of the form routine.port", s)
	}
	return Endpoint{Routine: s[:i], Port: s[i+1:]}, nil
}

// Error strategies of a routine.
const (
	OnErrorStop     = "stop"     // fail the job (default)
	OnErrorContinue = "continue" // record the failure, emit nothing, keep the job going
	OnErrorSkip     = "skip"     // record the failure, pass the input on unchanged
	OnErrorRetry    = "retry"    // run again up to MaxRetries, then stop
)

// ErrorPolicy decides what a failed activation does to its job.
type ErrorPolicy struct {
	Strategy     string   `json:"strategy" yaml:"strategy"`
	MaxRetries   int      `json:"max_retries,omitempty" yaml:"max_retries,omitempty"`
	RetryDelay   Duration `json:"retry_delay,omitempty" yaml:"retry_delay,omitempty"`
	RetryBackoff float64  `json:"retry_backoff,omitempty" yaml:"retry_backoff,omitempty"`
}

// Execution strategies of a job.
const (
	StrategySequential = "sequential"
	StrategyConcurrent = "concurrent"
)

// Execution tunes how a job of the flow runs.
type Execution struct {
	Strategy   string   `json:"strategy,omitempty" yaml:"strategy,omitempty"`
	MaxWorkers int      `json:"max_workers,omitempty" yaml:"max_workers,omitempty"`
	Timeout    Duration `json:"timeout,omitempty" yaml:"timeout,omitempty"`
}

// Policy returns the routine's error policy with defaults filled in.
func (r RoutineSpec) Policy() ErrorPolicy {
	if r.ErrorPolicy == nil || r.ErrorPolicy.Strategy == "" {
		return ErrorPolicy{Strategy: OnErrorStop}
	}
	p := *r.ErrorPolicy
	if p.RetryBackoff == 0 {
		p.RetryBackoff = 1
	}
	return p
}

// Workers is how many activations of one job may run at once.
func (f *Flow) Workers() int {
	if f.Execution == nil || f.Execution.Strategy != StrategyConcurrent {
		return 1
	}
	if f.Execution.MaxWorkers > 0 {
		return f.Execution.MaxWorkers
	}
	return 4
}

// Timeout is the job time limit, zero for none.
func (f *Flow) Timeout() time.Duration {
	if f.Execution == nil {
		return 0
	}
	return time.Duration(f.Execution.Timeout)
}

// Inbound lists the connections that end at routine id.
func (f *Flow) Inbound(id string) []Connection {
	var in []Connection
	for _, c := range f.Connections {
		if to, err := ParseEndpoint(c.To); err == nil && to.Routine == id {
			in = append(in, c)
		}
	}
	return in
}
