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
	Activations int64   `json:"activations"`
	Completed   int64   `json:"completed"`
	Failed      int64   `json:"failed"`
	Retries     int64   `json:"retries"`
	Emits       int64   `json:"events_emitted"`
	TotalTime   float64 `json:"total_time"`
	AvgTime     float64 `json:"avg_time"`
	MaxTime     float64 `json:"max_time"`
}

func newMetrics(js events.JobState) *jobMetrics {
	return &jobMetrics{
		JobID: js.JobID, Status: js.Status, StartTime: js.StartedAt, EndTime: js.CompletedAt,
		Duration: js.Duration, NodesCompleted: js.NodesCompleted, NodesFailed: js.NodesFailed,
		EventsByType: map[string]int64{}, Routines: map[string]*routineMetrics{},
	}
}

func (m *jobMetrics) routine(id string) *routineMetrics {
	r := m.Routines[id]
	if r == nil {
		r = &routineMetrics{}
		m.Routines[id] = r
	}
	return r
}

func (m *jobMetrics) add(ev *events.Event) {
	m.TotalEvents++
	m.EventsByType[ev.Type]++
	switch ev.Type {
	case events.RoutineStarted:
		m.TotalSlotCalls++
		m.Activations++
		m.routine(ev.RoutineID).Activations++
	case events.EventEmit:
		m.TotalEmits++
		m.routine(ev.RoutineID).Emits++
	case events.RoutineCompleted:
		r := m.routine(ev.RoutineID)
		r.Completed++
		r.TotalTime += ev.Duration
		r.MaxTime = max(r.MaxTime, ev.Duration)
	case events.RoutineFailed:
		r := m.routine(ev.RoutineID)
		if ev.Status == "retrying" {
			r.Retries++
		} else {
			r.Failed++
		}
		r.TotalTime += ev.Duration
		r.MaxTime = max(r.MaxTime, ev.Duration)
	}
}

func (m *jobMetrics) finish() *jobMetrics {
	for _, r := range m.Routines {
		if n := r.Completed + r.Failed; n > 0 {
			r.AvgTime = r.TotalTime / float64(n)
		}
	}
	return m
}
