package debug

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/switchyard/switchyard/backend/events"
	"github.com/switchyard/switchyard/backend/routines"
)

// SessionView is GET …/debug/session.
type SessionView struct {
	JobID          string           `json:"job_id"`
	Status         string           `json:"status"` // paused at a stop, else the job's status
	PausedAt       *events.PausedAt `json:"paused_at"`
	PauseID        *string          `json:"pause_id"`
	CallStackDepth int              `json:"call_stack_depth"`
	Waiting        int              `json:"waiting"` // stops queued behind the current one
	Breakpoints    int              `json:"breakpoints"`
}

// Frame is one entry of the call stack: an activation, the slot its data
// arrived at and, above the paused one, the event whose emit caused the
// frame below.
type Frame struct {
	FrameIndex   int    `json:"frame_index"`
	ActivationID int64  `json:"activation_id"`
	RoutineID    string `json:"routine_id"`
	SlotName     string `json:"slot_name"`
	EventName    string `json:"event_name"`
	Data         any    `json:"data"`
}

// Variables is GET …/debug/variables.
type Variables struct {
	FrameIndex int            `json:"frame_index"`
	Data       any            `json:"data"`
	Routine    map[string]any `json:"routine"`
	Shared     map[string]any `json:"shared"`
	Job        map[string]any `json:"job"`
}

// EvalResult is the answer of evaluate: always 200, failures in Error.
type EvalResult struct {
	Result any    `json:"result"`
	Type   string `json:"type"`
	Error  string `json:"error,omitempty"`
}

// Session describes a job's debug state. Unknown jobs are ErrJobNotFound.
func (d *Debugger) Session(ctx context.Context, jobID string) (SessionView, error) {
	v := SessionView{JobID: jobID}
	s := d.session(jobID)
	if s != nil {
		s.mu.Lock()
		if cur := s.current; cur != nil {
			v.Status, v.PausedAt, v.PauseID = events.StatusPaused, cur.at, &cur.at.PauseID
			v.CallStackDepth, v.Waiting = cur.a.Depth+1, len(s.waiting)
		}
		s.mu.Unlock()
		v.Breakpoints = len(*s.active.Load())
		if v.PausedAt != nil {
			return v, nil
		}
	}
	js, live := d.eng.Job(jobID)
	if !live {
		stored, err := d.store.GetJob(ctx, jobID)
		if err != nil {
			return v, d.notFound(err, ErrJobNotFound, "job", jobID)
		}
		js = stored
	}
	v.Status = js.Status
	return v, nil
}

// current returns the session and stop a command on jobID works on.
func (d *Debugger) current(ctx context.Context, jobID, pauseID string) (*session, *stop, error) {
	s := d.session(jobID)
	if s == nil {
		if _, err := d.Session(ctx, jobID); err != nil {
			return nil, nil, err
		}
		return nil, nil, notStopped(jobID, pauseID)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.checkPauseLocked(pauseID); err != nil {
		return nil, nil, err
	}
	return s, s.current, nil
}

// Command resumes a stopped job: mode continue, over, into or out.
func (d *Debugger) Command(ctx context.Context, jobID, mode, pauseID string) (SessionView, error) {
	s, _, err := d.current(ctx, jobID, pauseID)
	if err != nil {
		return SessionView{}, err
	}
	if err := s.command(mode, pauseID); err != nil {
		return SessionView{}, err
	}
	return d.Session(ctx, jobID)
}

// Stopped reports whether a job is held at a debugger stop (so that a plain
// resume of the job means continue).
func (d *Debugger) Stopped(jobID string) bool {
	s := d.session(jobID)
	if s == nil {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.current != nil
}

// CallStack returns the frames of the current stop: the paused activation
// first, then the one whose emit caused it, … up to the entry.
func (d *Debugger) CallStack(ctx context.Context, jobID string) ([]Frame, error) {
	_, cur, err := d.current(ctx, jobID, "")
	if err != nil {
		return nil, err
	}
	return d.frames(ctx, cur, d.opts.MaxFrames)
}

func (d *Debugger) frames(ctx context.Context, cur *stop, max int) ([]Frame, error) {
	frames := []Frame{{ActivationID: cur.a.ID, RoutineID: cur.a.RoutineID, SlotName: cur.a.Slot, EventName: cur.event, Data: cur.input()}}
	if cur.a.ParentID == 0 || max <= 1 || d.ancestry == nil {
		return frames, nil
	}
	up, err := d.ancestry.Frames(ctx, cur.a.JobID(), cur.a.ParentID, max-1)
	if err != nil {
		return nil, fmt.Errorf("call stack of job %s: %w", cur.a.JobID(), err)
	}
	if len(up) > 0 && up[0].EventName == "" { // the parent's emit that delivered the paused data
		if _, ev, ok := strings.Cut(cur.a.Source, "."); ok {
			up[0].EventName = ev
		}
	}
	frames = append(frames, up...)
	for i := range frames {
		frames[i].FrameIndex = i
	}
	return frames, nil
}

// frame returns frame i of the current stop.
func (d *Debugger) frame(ctx context.Context, cur *stop, i int) (Frame, error) {
	if i < 0 || i >= cur.a.Depth+1 {
		return Frame{}, invalid("frame_index %d is out of range: the call stack has %d frames (0 is the paused activation)", i, cur.a.Depth+1)
	}
	frames, err := d.frames(ctx, cur, i+1)
	if err != nil {
		return Frame{}, err
	}
	if i >= len(frames) {
		return Frame{}, fmt.Errorf("call stack of job %s: frame %d not found in the log", cur.a.JobID(), i)
	}
	return frames[i], nil
}

// Variables lists the variables of a frame of the current stop.
func (d *Debugger) Variables(ctx context.Context, jobID string, frameIndex int) (Variables, error) {
	s, cur, err := d.current(ctx, jobID, "")
	if err != nil {
		return Variables{}, err
	}
	f, err := d.frame(ctx, cur, frameIndex)
	if err != nil {
		return Variables{}, err
	}
	a := cur.a
	spec := s.plan.Flow.Routines[f.RoutineID]
	config := spec.Config
	if config == nil {
		config = map[string]any{}
	}
	routine := map[string]any{"id": f.RoutineID, "kind": spec.Kind, "config": config, "state": nil}
	if frameIndex == 0 {
		routine["state"] = privateState(a)
	}
	return Variables{
		FrameIndex: frameIndex, Data: f.Data, Routine: routine, Shared: a.Shared(),
		Job: map[string]any{"id": jobID, "flow_id": a.FlowID(), "params": a.Params()},
	}, nil
}

// privateState copies the routine's private state (e.g. what a merge has
// collected), so it can be encoded while the job goes on.
func privateState(a interface {
	WithState(func(map[string]any))
}) map[string]any {
	var out map[string]any
	a.WithState(func(st map[string]any) {
		b, err := json.Marshal(st)
		if err == nil {
			_ = json.Unmarshal(b, &out)
		}
	})
	return out
}

// SetVariable changes data (or a key path in it, "data.a.b"), or a shared
// key ("shared.k"), at the current stop; the change is recorded as a
// variable_changed event and takes effect when the activation goes on.
func (d *Debugger) SetVariable(ctx context.Context, jobID, name string, value any, pauseID string) (Variables, error) {
	s, cur, err := d.current(ctx, jobID, pauseID)
	if err != nil {
		return Variables{}, err
	}
	root, path, _ := strings.Cut(name, ".")
	var old any
	switch root {
	case "data":
		s.mu.Lock()
		if s.current != cur {
			s.mu.Unlock()
			return Variables{}, fmt.Errorf("%w: the job moved on while the change was prepared", ErrPauseStale)
		}
		next, prev, err := setPath(cur.input(), splitPath(path), value)
		if err == nil {
			old = prev
			if cur.event != "" {
				cur.data = next
			} else {
				cur.a.Data = next
			}
		}
		s.mu.Unlock()
		if err != nil {
			return Variables{}, invalid("variable %q: %v", name, err)
		}
	case "shared":
		if path == "" {
			return Variables{}, invalid("variable %q: name a shared key, e.g. shared.total", name)
		}
		old = cur.a.Shared()[path]
		cur.a.SetShared(path, value)
	default:
		return Variables{}, invalid("variable %q: only data, data.<path> and shared.<key> can be changed", name)
	}
	cur.a.Publish(&events.Event{Type: events.VariableChanged, Data: map[string]any{
		"name": name, "old": old, "new": value, "pause_id": cur.at.PauseID,
	}})
	return d.Variables(ctx, jobID, 0)
}

func splitPath(path string) []string {
	if path == "" {
		return nil
	}
	return strings.Split(path, ".")
}

// setPath returns v with the value at path replaced, copying every object
// and list on the way: the original may be shared with other activations.
func setPath(v any, path []string, value any) (next, old any, err error) {
	if len(path) == 0 {
		return value, v, nil
	}
	key := path[0]
	switch x := v.(type) {
	case map[string]any:
		child, prev, err := setPath(x[key], path[1:], value)
		if err != nil {
			return nil, nil, err
		}
		cp := make(map[string]any, len(x)+1)
		for k, e := range x {
			cp[k] = e
		}
		cp[key] = child
		return cp, prev, nil
	case []any:
		i, err := strconv.Atoi(key)
		if err != nil || i < 0 || i >= len(x) {
			return nil, nil, fmt.Errorf("%q is not an index of a list of %d", key, len(x))
		}
		child, prev, err := setPath(x[i], path[1:], value)
		if err != nil {
			return nil, nil, err
		}
		cp := append([]any(nil), x...)
		cp[i] = child
		return cp, prev, nil
	case nil:
		if len(path) == 1 {
			return map[string]any{key: value}, nil, nil
		}
		child, _, err := setPath(nil, path[1:], value)
		return map[string]any{key: child}, nil, err
	default:
		return nil, nil, fmt.Errorf("cannot set %q inside a %s", key, typeName(v))
	}
}

// Evaluate runs an expression in a frame of the current stop, without side
// effects and within the time limit. Every failure is in the result's Error.
func (d *Debugger) Evaluate(ctx context.Context, jobID, expression string, frameIndex int) (EvalResult, error) {
	_, cur, err := d.current(ctx, jobID, "")
	if err != nil {
		return EvalResult{}, err
	}
	f, err := d.frame(ctx, cur, frameIndex)
	var invalidErr *InvalidError
	if errors.As(err, &invalidErr) {
		return EvalResult{Error: err.Error()}, nil
	} else if err != nil {
		return EvalResult{}, err
	}
	prog, err := routines.CompileExpression(expression)
	if err != nil {
		return EvalResult{Error: err.Error()}, nil
	}
	env := cur.a.Env()
	env["data"] = f.Data
	if frameIndex > 0 {
		env["routine"] = map[string]any{"id": f.RoutineID}
		env["slot"] = f.SlotName
	}
	return d.evalWithin(ctx, prog, env), nil
}

// evalWithin runs prog with the time limit. Memory is bounded by expr's
// own budget and the concatenation budget, as in transforms.
func (d *Debugger) evalWithin(ctx context.Context, prog *routines.Expression, env map[string]any) EvalResult {
	v, err := prog.EvalBounded(ctx, d.opts.EvalTimeout, env)
	if err != nil {
		return EvalResult{Error: err.Error()}
	}
	return EvalResult{Result: v, Type: typeName(v)}
}

// typeName names a value's JSON type.
func typeName(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64, float32, float64:
		return "number"
	case string:
		return "string"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}
