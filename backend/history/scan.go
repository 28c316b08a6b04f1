package history

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/switchyard/switchyard/backend/events"
)

// Decoding the log is the cost of every query (store.Events with
// encoding/json takes ~3 µs an event: 300+ ms for 100,000), so lines are
// read by a scanner that picks out the scalar fields the fold needs and
// leaves data as the raw JSON it already is. Lines it does not understand
// go through encoding/json, so an unusual but valid line still decodes.

// line is one event of the log as the fold reads it.
type line struct {
	seq        int64
	typ        string
	time       []byte // RFC 3339 text; parsed only where a fold needs it
	routine    string
	slot       string
	event      string
	status     string
	resultMode string
	errMsg     string
	errType    string
	aid        int64
	parent     int64
	data       []byte // raw JSON; nil when absent (null)
	duration   float64
	progress   float64
	attempt    int64
	emitted    int64
	targets    int64
	parsed     time.Time // time, once when has parsed it
}

// when is the event's time.
func (l *line) when() time.Time {
	if l.parsed.IsZero() {
		l.parsed = parseTime(l.time)
	}
	return l.parsed
}

// names interns the few distinct strings of a log (types, routine ids,
// slots, events, statuses) so each line does not allocate them again.
type names map[string]string

func (n names) intern(b []byte) string {
	if s, ok := n[string(b)]; ok {
		return s
	}
	s := string(b)
	if len(n) < 4096 { // a flow has few names; this bounds a hostile log
		n[s] = s
	}
	return s
}

var errSlowPath = errors.New("line needs the general decoder")

// parseLine decodes one stored event line into l.
func parseLine(b []byte, n names, l *line) error {
	*l = line{}
	if err := scanLine(b, n, l); err == nil {
		return nil
	}
	*l = line{}
	return decodeLine(b, n, l)
}

// scanLine is the fast path: a flat object whose keys have no escapes.
func scanLine(b []byte, n names, l *line) error {
	return events.EachField(b, func(key, v []byte) error { return l.set(key, v, n) })
}

// set stores the value v (raw JSON) of the field key.
func (l *line) set(key, v []byte, n names) error {
	var err error
	switch string(key) { // compiled without converting key
	case "type":
		var s []byte
		if s, err = rawPlainString(v); err == nil {
			l.typ = eventType(s, n)
		}
	case "seq":
		l.seq, err = rawInt(v)
	case "activation_id":
		l.aid, err = rawInt(v)
	case "parent_id":
		l.parent, err = rawInt(v)
	case "attempt":
		l.attempt, err = rawInt(v)
	case "events_emitted":
		l.emitted, err = rawInt(v)
	case "targets":
		l.targets, err = rawInt(v)
	case "duration":
		l.duration, err = rawFloat(v)
	case "progress":
		l.progress, err = rawFloat(v)
	case "routine_id", "slot", "event", "status", "result_mode":
		var s []byte
		if s, err = rawPlainString(v); err == nil {
			l.setName(string(key), n.intern(s))
		}
	case "error":
		l.errMsg, err = rawString(v)
	case "error_type":
		l.errType, err = rawString(v)
	case "time":
		l.time, err = rawPlainString(v)
	case "data":
		if !bytes.Equal(v, []byte("null")) {
			l.data = v
		}
	}
	return err
}

// eventType returns the constant for the types the fold knows, without a
// map lookup.
func eventType(b []byte, n names) string {
	switch string(b) {
	case events.RoutineStarted:
		return events.RoutineStarted
	case events.EventEmit:
		return events.EventEmit
	case events.RoutineCompleted:
		return events.RoutineCompleted
	case events.RoutineFailed:
		return events.RoutineFailed
	case events.Log:
		return events.Log
	}
	return n.intern(b)
}

func (l *line) setName(key, s string) {
	switch key {
	case "routine_id":
		l.routine = s
	case "slot":
		l.slot = s
	case "event":
		l.event = s
	case "status":
		l.status = s
	case "result_mode":
		l.resultMode = s
	}
}

// decodeLine is the general path, through encoding/json.
func decodeLine(b []byte, n names, l *line) error {
	var ev struct {
		Seq          int64           `json:"seq"`
		Type         string          `json:"type"`
		Time         string          `json:"time"`
		RoutineID    string          `json:"routine_id"`
		ActivationID int64           `json:"activation_id"`
		ParentID     int64           `json:"parent_id"`
		Slot         string          `json:"slot"`
		Event        string          `json:"event"`
		Data         json.RawMessage `json:"data"`
		Status       string          `json:"status"`
		Error        string          `json:"error"`
		ErrorType    string          `json:"error_type"`
		Duration     float64         `json:"duration"`
		Attempt      int64           `json:"attempt"`
		Emitted      int64           `json:"events_emitted"`
		Targets      int64           `json:"targets"`
		ResultMode   string          `json:"result_mode"`
		Progress     float64         `json:"progress"`
	}
	if err := json.Unmarshal(b, &ev); err != nil {
		return fmt.Errorf("decode event line: %w", err)
	}
	*l = line{
		seq: ev.Seq, typ: n.intern([]byte(ev.Type)), time: []byte(ev.Time),
		routine: n.intern([]byte(ev.RoutineID)), slot: n.intern([]byte(ev.Slot)), event: n.intern([]byte(ev.Event)),
		status: n.intern([]byte(ev.Status)), resultMode: n.intern([]byte(ev.ResultMode)),
		errMsg: ev.Error, errType: ev.ErrorType, aid: ev.ActivationID, parent: ev.ParentID,
		duration: ev.Duration, progress: ev.Progress, attempt: ev.Attempt, emitted: ev.Emitted, targets: ev.Targets,
	}
	if len(ev.Data) > 0 && !bytes.Equal(ev.Data, []byte("null")) {
		l.data = ev.Data
	}
	return nil
}

// rawInt reads a JSON integer as the encoder writes them (plain digits,
// maybe a minus); anything else (1e3, 2.0) takes the general path.
func rawInt(v []byte) (int64, error) {
	neg := len(v) > 0 && v[0] == '-'
	if neg {
		v = v[1:]
	}
	if len(v) == 0 || len(v) > 18 {
		return 0, errSlowPath
	}
	var n int64
	for _, c := range v {
		if c < '0' || c > '9' {
			return 0, errSlowPath
		}
		n = n*10 + int64(c-'0')
	}
	if neg {
		n = -n
	}
	return n, nil
}

func rawFloat(v []byte) (float64, error) {
	if bytes.Equal(v, []byte("null")) { // the encoder writes NaN and ±Inf as null
		return 0, nil
	}
	f, err := strconv.ParseFloat(string(v), 64)
	if err != nil {
		return 0, errSlowPath
	}
	return f, nil
}

// rawPlainString returns the contents of a JSON string without escapes.
func rawPlainString(v []byte) ([]byte, error) {
	if len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
		return nil, errSlowPath
	}
	s := v[1 : len(v)-1]
	if bytes.IndexByte(s, '\\') >= 0 {
		return nil, errSlowPath
	}
	return s, nil
}

// rawString decodes a JSON string, escapes included.
func rawString(v []byte) (string, error) {
	if s, err := rawPlainString(v); err == nil {
		return string(s), nil
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		return "", errSlowPath
	}
	return s, nil
}

// parseTime reads the log's times: RFC 3339 in UTC with up to nine
// fractional digits, as Event.AppendStored writes them. Anything else goes
// through time.Parse; an unreadable time is the zero time.
func parseTime(b []byte) time.Time {
	if t, ok := parseUTC(b); ok {
		return t
	}
	t, err := time.Parse(time.RFC3339Nano, string(b))
	if err != nil {
		return time.Time{}
	}
	return t.UTC()
}

// parseUTC parses "2006-01-02T15:04:05[.fraction]Z" without allocating.
func parseUTC(b []byte) (time.Time, bool) {
	if len(b) < 20 || b[len(b)-1] != 'Z' || b[4] != '-' || b[7] != '-' || b[10] != 'T' || b[13] != ':' || b[16] != ':' {
		return time.Time{}, false
	}
	num := func(from, to int) (int, bool) {
		n := 0
		for _, c := range b[from:to] {
			if c < '0' || c > '9' {
				return 0, false
			}
			n = n*10 + int(c-'0')
		}
		return n, true
	}
	y, ok1 := num(0, 4)
	mo, ok2 := num(5, 7)
	d, ok3 := num(8, 10)
	h, ok4 := num(11, 13)
	mi, ok5 := num(14, 16)
	s, ok6 := num(17, 19)
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) || y < 1 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 59 {
		return time.Time{}, false
	}
	ns := 0
	if frac := b[19 : len(b)-1]; len(frac) > 0 {
		if frac[0] != '.' || len(frac) < 2 || len(frac) > 10 {
			return time.Time{}, false
		}
		v, ok := num(20, len(b)-1)
		if !ok {
			return time.Time{}, false
		}
		for k := len(frac) - 1; k < 9; k++ {
			v *= 10
		}
		ns = v
	}
	if d > daysIn(y, mo) {
		return time.Time{}, false
	}
	return time.Unix(daysFromCivil(y, mo, d)*86400+int64(h*3600+mi*60+s), int64(ns)).UTC(), true
}

func daysIn(y, m int) int {
	switch m {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// daysFromCivil is the number of days from 1970-01-01 to y-m-d in the
// proleptic Gregorian calendar (H. Hinnant's algorithm), cheaper than
// time.Date's normalisation.
func daysFromCivil(y, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400 // y >= 0 here: four digits
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int64(era*146097 + doe - 719468)
}
