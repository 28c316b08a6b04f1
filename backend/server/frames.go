package server

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/switchyard/switchyard/backend/debug"
	"github.com/switchyard/switchyard/backend/history"
)

// historyFrames gives the debugger its call stack frames from the job
// history's activation index.
type historyFrames struct{ h *history.Service }

func (f historyFrames) Frames(ctx context.Context, jobID string, activationID int64, max int) ([]debug.Frame, error) {
	list, err := f.h.CallStack(ctx, jobID, activationID, max)
	if err != nil {
		return nil, err
	}
	frames := make([]debug.Frame, len(list))
	for i, a := range list {
		var data any
		if len(a.Input) > 0 {
			if err := json.Unmarshal(a.Input, &data); err != nil {
				return nil, fmt.Errorf("input of activation %d: %w", a.ActivationID, err)
			}
		}
		frames[i] = debug.Frame{ActivationID: a.ActivationID, RoutineID: a.RoutineID, SlotName: a.Slot, Data: data}
		if i > 0 {
			frames[i].EventName = emitOf(a, list[i-1].ActivationID)
		}
	}
	return frames, nil
}

// emitOf names the event of a whose emit queued the activation child: each
// emit queued its targets as consecutive children.
func emitOf(a history.Activation, child int64) string {
	next := 0
	for _, e := range a.Emitted {
		for k := 0; k < e.Targets && next < len(a.Children); k++ {
			if a.Children[next] == child {
				return e.Event
			}
			next++
		}
	}
	return ""
}
