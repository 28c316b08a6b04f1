package store_test

import (
	"bytes"
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/switchyard/switchyard/backend/events"
)

// EventBodies reads a log written in many chunks (plain and compressed) in
// bounded pieces from any seq: calling again from last+1 yields every line
// once, in order.
func TestEventBodiesReadsAnyWindowInPieces(t *testing.T) {
	ctx := context.Background()
	s := open(t, t.TempDir())
	defer s.Close()
	now := time.Now()
	state := &events.JobState{JobID: "job", FlowID: "f", FlowVersion: 1, Status: events.StatusRunning, CreatedAt: now, StartedAt: &now}
	seq := int64(0)
	for batch := 0; batch < 40; batch++ {
		for i := 0; i < batch%7+1+batch*batch%40; i++ { // chunks of 1 to ~45 events
			seq++
			ev := &events.Event{Seq: seq, JobID: "job", FlowID: "f", Type: events.Log, Time: now, RoutineID: "a", Level: "info", Message: "line " + strconv.FormatInt(seq, 10)}
			if seq == 1 {
				ev.Type, ev.Job = events.JobStarted, state
			}
			s.Writer.Publish(ev)
		}
		if err := s.Writer.Sync(ctx); err != nil {
			t.Fatal(err)
		}
	}
	total := seq
	for _, from := range []int64{1, 2, 17, total / 2, total, total + 1} {
		for _, maxBytes := range []int{1, 700, 1 << 20} {
			want := from
			for next := from; ; {
				body, last, err := s.EventBodies(ctx, "job", next, maxBytes)
				if err != nil {
					t.Fatal(err)
				}
				if last == 0 {
					if len(body) != 0 {
						t.Fatalf("from %d: body without last", next)
					}
					break
				}
				for line := range bytes.SplitSeq(bytes.TrimSuffix(body, []byte("\n")), []byte("\n")) {
					var ev events.Event
					var names events.Names
					if err := events.DecodeStored(line, "job", &ev, &names); err != nil {
						t.Fatal(err)
					}
					if ev.Seq < next {
						continue
					}
					if ev.Seq != want {
						t.Fatalf("from %d (max %d): got seq %d, want %d", from, maxBytes, ev.Seq, want)
					}
					want++
				}
				if want != last+1 {
					t.Fatalf("from %d: lines end at %d, last says %d", from, want-1, last)
				}
				next = last + 1
			}
			if want != max(total+1, from) {
				t.Fatalf("from %d (max %d): read up to %d of %d", from, maxBytes, want-1, total)
			}
		}
	}
}
