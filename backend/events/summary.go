package events

import (
	"maps"
	"strconv"
)

// Summary totals a job's events: counts by type, and per routine its
// activations, emits, ends and timings. The store's writer keeps one per job
// as it stores the job's events and stores it with the job's record when
// the job ends, so a job's metrics are read, not recomputed from its log.
type Summary struct {
	// FirstSeq is the first event counted: 1 for a whole log (a summary
	// begun mid-log, after a restart, is partial).
	FirstSeq     int64                      `json:"first_seq"`
	Seq          int64                      `json:"seq"`
	EventsByType map[string]int64           `json:"events_by_type"`
	Routines     map[string]*RoutineSummary `json:"routines"`
}

// RoutineSummary totals one routine's activations.
type RoutineSummary struct {
	Activations int64   `json:"activations"`
	Completed   int64   `json:"completed"`
	Failed      int64   `json:"failed"`
	Retries     int64   `json:"retries"`
	Emits       int64   `json:"events_emitted"`
	TotalTime   float64 `json:"total_time"`
	MaxTime     float64 `json:"max_time"`
}

// NewSummary starts a summary at event firstSeq.
func NewSummary(firstSeq int64) *Summary {
	return &Summary{FirstSeq: firstSeq, Seq: firstSeq - 1, EventsByType: map[string]int64{}, Routines: map[string]*RoutineSummary{}}
}

// Whole reports whether the summary counts the log from its first event.
func (s *Summary) Whole() bool { return s.FirstSeq == 1 }

func (s *Summary) routine(id string) *RoutineSummary {
	r := s.Routines[id]
	if r == nil {
		r = &RoutineSummary{}
		s.Routines[id] = r
	}
	return r
}

// Add counts ev, the job's next event.
func (s *Summary) Add(ev *Event) {
	s.Seq = ev.Seq
	s.EventsByType[ev.Type]++
	switch ev.Type {
	case RoutineStarted:
		s.routine(ev.RoutineID).Activations++
	case EventEmit:
		s.routine(ev.RoutineID).Emits++
	case RoutineCompleted:
		r := s.routine(ev.RoutineID)
		r.Completed++
		r.TotalTime += ev.Duration
		r.MaxTime = max(r.MaxTime, ev.Duration)
	case RoutineFailed:
		r := s.routine(ev.RoutineID)
		if ev.Status == "retrying" {
			r.Retries++
		} else {
			r.Failed++
		}
		r.TotalTime += ev.Duration
		r.MaxTime = max(r.MaxTime, ev.Duration)
	}
}

// Copy is a deep copy.
func (s *Summary) Copy() *Summary {
	c := *s
	c.EventsByType = maps.Clone(s.EventsByType)
	c.Routines = make(map[string]*RoutineSummary, len(s.Routines))
	for id, r := range s.Routines {
		rc := *r
		c.Routines[id] = &rc
	}
	return &c
}

// AppendJSON appends the summary as encoding/json writes it (the writer
// stores one per finished job, so it skips reflection).
func (s *Summary) AppendJSON(b []byte) []byte {
	b = append(b, `{"first_seq":`...)
	b = strconv.AppendInt(b, s.FirstSeq, 10)
	b = append(b, `,"seq":`...)
	b = strconv.AppendInt(b, s.Seq, 10)
	b = append(b, `,"events_by_type":`...)
	b = appendObject(b, s.EventsByType, func(b []byte, n int64) []byte { return strconv.AppendInt(b, n, 10) })
	b = append(b, `,"routines":`...)
	b = appendObject(b, s.Routines, func(b []byte, r *RoutineSummary) []byte {
		b = append(b, `{"activations":`...)
		b = strconv.AppendInt(b, r.Activations, 10)
		b = append(b, `,"completed":`...)
		b = strconv.AppendInt(b, r.Completed, 10)
		b = append(b, `,"failed":`...)
		b = strconv.AppendInt(b, r.Failed, 10)
		b = append(b, `,"retries":`...)
		b = strconv.AppendInt(b, r.Retries, 10)
		b = append(b, `,"events_emitted":`...)
		b = strconv.AppendInt(b, r.Emits, 10)
		b = append(b, `,"total_time":`...)
		b = appendFloat(b, r.TotalTime)
		b = append(b, `,"max_time":`...)
		b = appendFloat(b, r.MaxTime)
		return append(b, '}')
	})
	return append(b, '}')
}
