package events

import (
	"encoding/json"
	"errors"
	"slices"
	"testing"
)

func TestParsePos(t *testing.T) {
	for in, want := range map[string]Pos{
		"0": After(0), "57": After(57), "57.1": {57, 1}, "57.2": {57, 2}, "57.0": {57, 0}, "007.03": {7, 3},
	} {
		got, err := ParsePos(in)
		if err != nil || got != want {
			t.Errorf("ParsePos(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "-1", "1.", ".1", "1.2.3", "a", "1.x", " 1", "+1", "1e3", "1.-1", "1234567890123456789", "1.2147483647"} {
		if _, err := ParsePos(in); !errors.Is(err, ErrBadPos) {
			t.Errorf("ParsePos(%q) = %v, want ErrBadPos", in, err)
		}
	}
}

func TestPosTextRoundTrip(t *testing.T) {
	for _, p := range []Pos{After(0), After(57), {57, 1}, {57, 0}, {1 << 40, 3}} {
		back, err := ParsePos(p.String())
		if err != nil || back != p {
			t.Errorf("%v → %q → %v, %v", p, p.String(), back, err)
		}
		raw, _ := json.Marshal(p)
		var q Pos
		if err := json.Unmarshal(raw, &q); err != nil || q != p {
			t.Errorf("JSON %s → %v, %v", raw, q, err)
		}
	}
	if s := (Pos{57, 2}).String(); s != "57.2" {
		t.Fatalf("String = %q", s)
	}
	if s := After(57).String(); s != "57" {
		t.Fatalf("String = %q", s)
	}
}

// The order is the stream's: every message of an event before the next
// event's; "N.0" sits after all of N-1 and before N's first message.
func TestPosOrder(t *testing.T) {
	list := []Pos{After(3), {4, 2}, {4, 0}, After(4), {4, 1}, {3, 1}, {5, 0}}
	slices.SortFunc(list, Pos.Compare)
	want := []Pos{{3, 1}, After(3), {4, 0}, {4, 1}, {4, 2}, After(4), {5, 0}}
	if !slices.Equal(list, want) {
		t.Fatalf("sorted %v, want %v", list, want)
	}
	if !(Pos{4, 1}).Less(Pos{4, 2}) || After(4).Less(Pos{4, 9}) || (Pos{}).Less(Pos{}) {
		t.Fatal("Less")
	}
}
