package history

import (
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/switchyard/switchyard/backend/events"
)

// The scanner must read what the log's encoder writes exactly as
// encoding/json does.
func TestScannerReadsTheEncoderLikeEncodingJSON(t *testing.T) {
	now := time.Date(2026, 2, 28, 23, 59, 59, 123456780, time.UTC)
	evs := []events.Event{
		{Seq: 1, Type: events.JobStarted, FlowID: "f", Time: now, Data: map[string]any{"entry_routine": "start", "params": map[string]any{}}},
		{Seq: 2, Type: events.RoutineStarted, Time: now, RoutineID: "r-1", ActivationID: 7, ParentID: 3, Slot: "input",
			Data: map[string]any{"s": "quote \" backslash \\ nl \n tab \t <>& \u2028 é 😀", "n": []any{1.5, -2e-9, 1e21, nil, true}}},
		{Seq: 3, Type: events.EventEmit, Time: now, RoutineID: "r", ActivationID: 7, Event: "out", Data: "plain", Targets: 3},
		{Seq: 4, Type: events.RoutineCompleted, Time: now, RoutineID: "r", ActivationID: 7, Duration: 0.000012, Emitted: 2, ResultMode: "append", Progress: 0.5},
		{Seq: 5, Type: events.RoutineFailed, Time: now, RoutineID: "r", ActivationID: 8, Error: "bad \"input\"\n\tat line 1 \x01", ErrorType: "*errors.errorString", Status: "retrying", Attempt: 2},
		{Seq: 6, Type: events.JobFailed, FlowID: "f", Time: now.Add(time.Second), Error: "routine \"r\" failed", Duration: 12.5, Progress: 1},
		{Seq: 7, Type: events.Log, Time: now, RoutineID: "r", Level: "info", Message: "hello {}"},
		{Seq: 8, Type: events.EventEmit, Time: now, RoutineID: "r", ActivationID: 9, Event: "out"}, // null data
		{Seq: 9, Type: "some_future_type", Time: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Data: map[string]any{"{\"k": "}"}},
	}
	for _, ev := range evs {
		b := ev.AppendStored(nil)
		n := names{}
		var fast, slow line
		if err := scanLine(b, n, &fast); err != nil {
			t.Errorf("seq %d: fast path refused %s: %v", ev.Seq, b, err)
			continue
		}
		if err := decodeLine(b, n, &slow); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(fast, slow) {
			t.Errorf("seq %d: fast %+v\n slow %+v", ev.Seq, fast, slow)
		}
		if !fast.when().Equal(ev.Time) {
			t.Errorf("seq %d: time %v, want %v", ev.Seq, fast.when(), ev.Time)
		}
	}
	// Lines the fast path does not take still decode.
	for _, b := range []string{
		` { "seq" : 11 , "type" : "log" , "time" : "2026-01-02T03:04:05+02:00" } `,
		`{"seq":12,"ty\u0070e":"log","time":"2026-01-02T03:04:05Z"}`,
	} {
		var l line
		if err := parseLine([]byte(b), names{}, &l); err != nil || l.seq == 0 || l.when().IsZero() {
			t.Errorf("%s: %v %+v", b, err, l)
		}
	}
	var l line
	if err := parseLine([]byte(`{"seq":1,"data":{"unterminated`), names{}, &l); err == nil {
		t.Error("a broken line decoded")
	}
}

func TestParseUTCAgreesWithTimeParse(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	base := time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; i < 20000; i++ {
		tm := base.Add(time.Duration(rng.Int64N(int64(200 * 365 * 24 * time.Hour))))
		if i%3 == 0 {
			tm = tm.Truncate(time.Second)
		}
		s := []byte(tm.Format(time.RFC3339Nano))
		got, ok := parseUTC(s)
		if !ok || !got.Equal(tm) {
			t.Fatalf("%s: %v %v", s, got, ok)
		}
	}
	for _, s := range []string{"2024-02-29T12:00:00Z", "2000-02-29T00:00:00.5Z", "1999-12-31T23:59:59.999999999Z"} {
		want, _ := time.Parse(time.RFC3339Nano, s)
		if got, ok := parseUTC([]byte(s)); !ok || !got.Equal(want) {
			t.Errorf("%s: %v", s, got)
		}
	}
	for _, s := range []string{"2023-02-29T00:00:00Z", "2023-13-01T00:00:00Z", "2023-01-01T24:00:00Z", "2023-01-01T00:00:00.Z",
		"2023-01-01T00:00:00+01:00", "0000-01-01T00:00:00Z", "2023-01-01 00:00:00Z"} {
		if _, ok := parseUTC([]byte(s)); ok {
			t.Errorf("%s parsed", s)
		}
	}
}

// FuzzScanner: for any line, the fast scanner either refuses it (and the
// general decoder takes over) or reads exactly what the general decoder
// reads; neither panics.
func FuzzScanner(f *testing.F) {
	now := time.Date(2026, 2, 28, 23, 59, 59, 123456780, time.UTC)
	for _, ev := range []events.Event{
		{Seq: 2, Type: events.RoutineStarted, Time: now, RoutineID: "r", ActivationID: 7, ParentID: 3, Slot: "input", Data: map[string]any{"a": []any{1.0, "x"}}},
		{Seq: 3, Type: events.EventEmit, Time: now, RoutineID: "r", ActivationID: 7, Event: "out", Data: "plain", Targets: 3},
		{Seq: 5, Type: events.RoutineFailed, Time: now, RoutineID: "r", ActivationID: 8, Error: "bad \"x\"", Status: "retrying", Attempt: 2},
	} {
		f.Add(ev.AppendStored(nil))
	}
	f.Add([]byte(`{"seq":1,"type":"log","time":"2026-01-02T03:04:05Z","data":{"k":[1,{"x":"}"}]}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var l line
		_ = parseLine(b, names{}, &l) // never panics, whatever the bytes
		_ = l.when()
		if !utf8.Valid(b) {
			return // the log's encoder writes valid UTF-8 only; the decoders may differ on the rest
		}
		var fast, slow line
		fastErr := scanLine(b, names{}, &fast)
		slowErr := decodeLine(b, names{}, &slow)
		if fastErr == nil && slowErr == nil {
			for _, l := range []*line{&fast, &slow} { // empty and absent are the same
				l.parsed = time.Time{}
				if len(l.time) == 0 {
					l.time = nil
				}
				if len(l.data) == 0 {
					l.data = nil
				}
			}
			if !reflect.DeepEqual(fast, slow) {
				t.Fatalf("%q:\nfast %+v\nslow %+v", b, fast, slow)
			}
		}
		if fastErr == nil && slowErr != nil && json.Valid(b) {
			t.Fatalf("%q: the scanner read a valid line the decoder refuses: %v", b, slowErr)
		}
	})
}
