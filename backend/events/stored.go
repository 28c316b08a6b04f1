package events

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// Reading stored lines fast. The streams replay whole logs (hundreds of
// thousands of events) and encoding/json decodes a line in ~3 µs, most of
// it spent building Data's maps only to encode them again. DecodeStored
// reads the flat fields of a line written by AppendStored with a scanner
// and keeps Data as the JSON it already is (a json.RawMessage, which
// AppendValue writes back verbatim): the same bytes encoding Data again
// would give. A line it does not understand goes through encoding/json.

// Names interns the few distinct strings of a log (types, routine ids,
// slots, events, levels) so each line does not allocate them again. The
// zero value is ready to use.
type Names struct{ m map[string]string }

func (n *Names) intern(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if s, ok := n.m[string(b)]; ok {
		return s
	}
	s := string(b)
	if n.m == nil {
		n.m = map[string]string{}
	}
	if len(n.m) < 4096 { // a flow has few names; this bounds a hostile log
		n.m[s] = s
	}
	return s
}

var errSlowLine = errors.New("line needs the general decoder")

// DecodeStored decodes one stored line of job jobID into ev. Data (and a
// routine's State) refer to line's memory: the caller keeps line unchanged
// while it uses them, or copies them.
func DecodeStored(line []byte, jobID string, ev *Event, n *Names) error {
	*ev = Event{}
	if err := scanStored(line, ev, n); err != nil {
		*ev = Event{}
		if err := json.Unmarshal(line, ev); err != nil {
			return fmt.Errorf("decode event of job %s: %w", jobID, err)
		}
	}
	ev.JobID = jobID
	return nil
}

func scanStored(b []byte, ev *Event, n *Names) error {
	return EachField(b, func(key, v []byte) error { return setStored(ev, key, v, n) })
}

// EachField calls fn with the key and the raw value of each field of a
// flat JSON object whose keys have no escapes, as the stored log's lines
// are: the fast path of its scanners (this one and the history's). Any
// other input is errSlowLine, as is fn's error: the caller decodes the
// line with encoding/json instead.
func EachField(b []byte, fn func(key, value []byte) error) error {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return errSlowLine
	}
	i++
	for {
		i = skipSpace(b, i)
		if i < len(b) && b[i] == '}' {
			return nil
		}
		if i >= len(b) || b[i] != '"' {
			return errSlowLine
		}
		end := bytes.IndexByte(b[i+1:], '"')
		if end < 0 {
			return errSlowLine
		}
		key := b[i+1 : i+1+end]
		if bytes.IndexByte(key, '\\') >= 0 {
			return errSlowLine
		}
		i = skipSpace(b, i+end+2)
		if i >= len(b) || b[i] != ':' {
			return errSlowLine
		}
		i = skipSpace(b, i+1)
		vEnd, ok := SkipJSON(b, i)
		if !ok {
			return errSlowLine
		}
		if err := fn(key, b[i:vEnd]); err != nil {
			return err
		}
		i = skipSpace(b, vEnd)
		if i >= len(b) {
			return errSlowLine
		}
		switch b[i] {
		case ',':
			i++
		case '}':
			return nil
		default:
			return errSlowLine
		}
	}
}

func setStored(ev *Event, key, v []byte, n *Names) error {
	var err error
	switch string(key) {
	case "seq":
		ev.Seq, err = storedInt(v)
	case "type":
		ev.Type, err = storedName(v, n)
	case "job_id":
		// the row's job id wins (DecodeStored sets it)
	case "flow_id":
		ev.FlowID, err = storedName(v, n)
	case "time":
		ev.Time, err = storedTime(v)
	case "routine_id":
		ev.RoutineID, err = storedName(v, n)
	case "activation_id":
		ev.ActivationID, err = storedInt(v)
	case "parent_id":
		ev.ParentID, err = storedInt(v)
	case "slot":
		ev.Slot, err = storedName(v, n)
	case "event":
		ev.Event, err = storedName(v, n)
	case "data":
		if !bytes.Equal(v, []byte("null")) {
			ev.Data = json.RawMessage(v)
		}
	case "status":
		ev.Status, err = storedName(v, n)
	case "error":
		ev.Error, err = storedString(v)
	case "error_type":
		ev.ErrorType, err = storedName(v, n)
	case "level":
		ev.Level, err = storedName(v, n)
	case "message":
		ev.Message, err = storedString(v)
	case "duration":
		ev.Duration, err = strconv.ParseFloat(string(v), 64)
	case "attempt":
		var x int64
		x, err = storedInt(v)
		ev.Attempt = int(x)
	case "events_emitted":
		var x int64
		x, err = storedInt(v)
		ev.Emitted = int(x)
	case "targets":
		var x int64
		x, err = storedInt(v)
		ev.Targets = int(x)
	case "result_mode":
		ev.ResultMode, err = storedName(v, n)
	case "state":
		if !bytes.Equal(v, []byte("null")) {
			err = json.Unmarshal(v, &ev.State)
		}
	case "progress":
		ev.Progress, err = strconv.ParseFloat(string(v), 64)
	}
	if err != nil {
		return errSlowLine
	}
	return nil
}

func storedInt(v []byte) (int64, error) {
	var n int64
	if len(v) == 0 || len(v) > 18 {
		return strconv.ParseInt(string(v), 10, 64)
	}
	for _, c := range v {
		if c < '0' || c > '9' {
			return strconv.ParseInt(string(v), 10, 64)
		}
		n = n*10 + int64(c-'0')
	}
	return n, nil
}

// plainString is the content of a JSON string without escapes.
func plainString(v []byte) ([]byte, bool) {
	if len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
		return nil, false
	}
	s := v[1 : len(v)-1]
	return s, bytes.IndexByte(s, '\\') < 0
}

func storedName(v []byte, n *Names) (string, error) {
	if s, ok := plainString(v); ok {
		return n.intern(s), nil
	}
	return storedString(v)
}

func storedString(v []byte) (string, error) {
	if s, ok := plainString(v); ok {
		return string(s), nil
	}
	var s string
	err := json.Unmarshal(v, &s)
	return s, err
}

// storedTime reads the form AppendStored writes, RFC 3339 in UTC with up
// to nine fractional digits ("2024-01-01T00:00:00.123456789Z"), without
// time.Parse's allocations; any other form goes through time.Parse.
func storedTime(v []byte) (time.Time, error) {
	s, ok := plainString(v)
	if !ok {
		return time.Time{}, errSlowLine
	}
	if t, ok := fastRFC3339(s); ok {
		return t, nil
	}
	return time.Parse(time.RFC3339Nano, string(s))
}

func fastRFC3339(s []byte) (time.Time, bool) {
	if len(s) < 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' || s[len(s)-1] != 'Z' {
		return time.Time{}, false
	}
	num := func(b []byte) (int, bool) {
		n := 0
		for _, c := range b {
			if c < '0' || c > '9' {
				return 0, false
			}
			n = n*10 + int(c-'0')
		}
		return n, true
	}
	year, ok1 := num(s[0:4])
	month, ok2 := num(s[5:7])
	day, ok3 := num(s[8:10])
	hour, ok4 := num(s[11:13])
	minute, ok5 := num(s[14:16])
	sec, ok6 := num(s[17:19])
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) || month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || sec > 59 {
		return time.Time{}, false
	}
	nanos := 0
	rest := s[19 : len(s)-1]
	if len(rest) > 0 {
		if rest[0] != '.' || len(rest) < 2 || len(rest) > 10 {
			return time.Time{}, false
		}
		frac, ok := num(rest[1:])
		if !ok {
			return time.Time{}, false
		}
		for k := len(rest) - 1; k < 9; k++ {
			frac *= 10
		}
		nanos = frac
	}
	t := time.Date(year, time.Month(month), day, hour, minute, sec, nanos, time.UTC)
	if t.Day() != day { // e.g. February 30th: not what the writer writes
		return time.Time{}, false
	}
	return t, true
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// SkipJSON returns the end of the JSON value at b[i]; ok is false when it
// does not find one. It checks structure only as far as finding the end
// needs: the stored log's scanners (this one and the history's) keep values
// raw, as AppendValue wrote them, and write them again as they are.
func SkipJSON(b []byte, i int) (end int, ok bool) {
	if i >= len(b) {
		return 0, false
	}
	switch c := b[i]; {
	case c == '"':
		return skipJSONString(b, i)
	case c == '{' || c == '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				end, ok := skipJSONString(b, j)
				if !ok {
					return 0, false
				}
				j = end - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1, true
				}
			}
		}
		return 0, false
	default: // number, true, false, null
		j := i
		for j < len(b) && b[j] != ',' && b[j] != '}' && b[j] != ']' && b[j] != ' ' && b[j] != '\n' && b[j] != '\t' && b[j] != '\r' {
			j++
		}
		return j, j > i
	}
}

func skipJSONString(b []byte, i int) (int, bool) {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return j + 1, true
		}
	}
	return 0, false
}
