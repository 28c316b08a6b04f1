package ws

import (
	"fmt"
	"testing"
)

func TestSubscriptionSetStaysBounded(t *testing.T) {
	c := &client{proto: protoMonitor}
	var last []any
	for i := range 300 {
		names := make([]string, 10)
		for k := range names {
			names[k] = fmt.Sprintf("made_up_%d_%d", i, k)
		}
		last = c.subscribe("subscribe", append(names, "job_failed"))
	}
	if len(last) != 1+maxUnknownTypes || last[0] != "job_failed" {
		t.Fatalf("after 3,000 made-up names the set lists %d types: %v…", len(last), last[:3])
	}
	// Known types can always be added, and dropping unknown ones makes room again.
	if got := c.subscribe("subscribe", []string{"breakpoint_hit"}); len(got) != 2+maxUnknownTypes {
		t.Fatalf("known type refused: %d", len(got))
	}
	c.subscribe("unsubscribe", []string{"made_up_0_0"})
	if got := c.subscribe("subscribe", []string{"another"}); fmt.Sprint(got[len(got)-1]) == "" || len(got) != 2+maxUnknownTypes {
		t.Fatalf("after making room: %d", len(got))
	}
	if !c.wants("breakpoint_hit") || c.wants("routine_started") {
		t.Fatal("the filter itself")
	}
}
