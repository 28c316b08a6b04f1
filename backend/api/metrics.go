package api

import (
	"time"

	"github.com/switchyard/switchyard/backend/events"
)

// jobMetrics summarizes a job's event log: totals by event type and
// activation counts and timings per routine.
type jobMetrics struct {
	JobID          string                     `json:"job_id"`
	Status         string                     `json:"status"`
	StartTime      *time.Time                 `json:"start_time"`
	EndTime        *time.Time                 `json:"end_time"`
	Duration       float64                    `json:"duration"`
	TotalEvents    int64                      `json:"total_events"`
	TotalSlotCalls int64                      `json:"total_slot_calls"`
	TotalEmits     int64                      `json:"total_event_emits"`
	Activations    int64                      `json:"activations"`
	NodesCompleted int                        `json:"nodes_completed"`
	NodesFailed    int                        `json:"nodes_failed"`
	EventsByType   map[string]int64           `json:"events_by_type"`
	Routines       map[string]*routineMetrics `json:"routines"`
}

type routineMetrics struct {
	events.RoutineSummary
	AvgTime float64 `json:"avg_time"`
}

// metricsOf renders a job and the summary of its events.
func metricsOf(js events.JobState, sum *events.Summary) *jobMetrics {
	m := &jobMetrics{
		JobID: js.JobID, Status: js.Status, StartTime: js.StartedAt, EndTime: js.CompletedAt,
		Duration: js.Duration, NodesCompleted: js.NodesCompleted, NodesFailed: js.NodesFailed,
		EventsByType: sum.EventsByType, Routines: make(map[string]*routineMetrics, len(sum.Routines)),
	}
	for _, n := range sum.EventsByType {
		m.TotalEvents += n
	}
	m.TotalSlotCalls = sum.EventsByType[events.RoutineStarted]
	m.Activations = m.TotalSlotCalls
	m.TotalEmits = sum.EventsByType[events.EventEmit]
	for id, r := range sum.Routines {
		rm := &routineMetrics{RoutineSummary: *r}
		if n := r.Completed + r.Failed; n > 0 {
			rm.AvgTime = r.TotalTime / float64(n)
		}
		m.Routines[id] = rm
	}
	return m
}
