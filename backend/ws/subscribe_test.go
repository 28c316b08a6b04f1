package ws

import (
	"fmt"
	"testing"
)

func TestSubscriptionSetHoldsTheSeedsTypesOnly(t *testing.T) {
	c := &client{proto: protoMonitor}
	list, unknown := c.subscribe("subscribe", []string{"made_up", "job_failed"})
	if fmt.Sprint(list) != "[job_failed]" || fmt.Sprint(unknown) != "[made_up]" {
		t.Fatalf("list %v, unknown %v", list, unknown)
	}
	// However many made-up names follow, the set does not grow, and the client is told once.
	for i := range 300 {
		names := make([]string, 10)
		for k := range names {
			names[k] = fmt.Sprintf("made_up_%d_%d", i, k)
		}
		if list, unknown = c.subscribe("subscribe", append(names, "job_failed")); len(list) != 1 || unknown != nil {
			t.Fatalf("round %d: list %v, unknown %v", i, list, unknown)
		}
	}
	if list, _ := c.subscribe("subscribe", []string{"breakpoint_hit"}); len(list) != 2 {
		t.Fatalf("a known type: %v", list)
	}
	if !c.wants("breakpoint_hit") || c.wants("routine_started") || c.wants("made_up") {
		t.Fatal("the filter itself")
	}
	// Unsubscribing from the last type restores everything, as in the seed's client.
	if list, _ := c.subscribe("unsubscribe", []string{"breakpoint_hit", "job_failed"}); fmt.Sprint(list) != "[*]" || !c.wants("routine_started") {
		t.Fatalf("after unsubscribing from everything: %v", list)
	}
}
