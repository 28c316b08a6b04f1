package history_test

import (
	"context"
	"reflect"
	"testing"

	"github.com/switchyard/switchyard/backend/events"
	"github.com/switchyard/switchyard/backend/history"
)

// Scan reads every event's scalar fields as the full decoder does.
func TestScanMatchesTheStoredEvents(t *testing.T) {
	r := newRig(t)
	id := r.run(r.flow(bigFlow(300)), map[string]any{})
	want, err := r.st.Events(context.Background(), id, 0, 100000)
	if err != nil {
		t.Fatal(err)
	}
	var got []events.Event
	err = r.service(history.Options{}).Scan(context.Background(), id, func(ev *events.Event) error {
		got = append(got, *ev)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) || len(got) < 1800 {
		t.Fatalf("%d events scanned, %d stored", len(got), len(want))
	}
	for i := range want {
		w, g := want[i], got[i]
		w.Data, w.Time, w.FlowID, w.Level, w.Message, w.State = nil, g.Time, "", "", "", nil // what a scan leaves out
		if !reflect.DeepEqual(g, w) {
			t.Fatalf("event %d:\n got %+v\nwant %+v", i, g, w)
		}
	}
}
