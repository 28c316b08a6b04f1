package events

import (
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Encoding events is the hot path of the event log (tens of events per job),
// so Event has a hand-written encoder: no reflection, no map-key sorting via
// reflect. The output is the same JSON encoding/json would produce from the
// struct tags, and json.Unmarshal reads it back.

// MarshalJSON encodes the event with every field.
func (ev Event) MarshalJSON() ([]byte, error) {
	return ev.appendJSON(make([]byte, 0, 256), true), nil
}

// AppendStored appends the event as stored in the log: without job_id,
// which the log's row holds, and with flow_id only on job_* events.
func (ev *Event) AppendStored(dst []byte) []byte {
	return ev.appendJSON(dst, false)
}

func isJobType(t string) bool { return len(t) > 4 && t[:4] == "job_" }

func (ev *Event) appendJSON(b []byte, withIDs bool) []byte {
	b = append(b, `{"seq":`...)
	b = strconv.AppendInt(b, ev.Seq, 10)
	b = appendStringField(b, "type", ev.Type)
	if withIDs {
		b = appendStringField(b, "job_id", ev.JobID)
	}
	if withIDs || isJobType(ev.Type) {
		b = appendOptString(b, "flow_id", ev.FlowID)
	}
	b = append(b, `,"time":"`...)
	b = ev.Time.UTC().AppendFormat(b, time.RFC3339Nano)
	b = append(b, '"')
	b = appendOptString(b, "routine_id", ev.RoutineID)
	b = appendOptInt(b, "activation_id", ev.ActivationID)
	b = appendOptInt(b, "parent_id", ev.ParentID)
	b = appendOptString(b, "slot", ev.Slot)
	b = appendOptString(b, "event", ev.Event)
	if ev.Data != nil {
		b = append(b, `,"data":`...)
		b = AppendValue(b, ev.Data)
	}
	b = appendOptString(b, "status", ev.Status)
	b = appendOptString(b, "error", ev.Error)
	b = appendOptString(b, "error_type", ev.ErrorType)
	b = appendOptString(b, "level", ev.Level)
	b = appendOptString(b, "message", ev.Message)
	if ev.Duration != 0 {
		b = append(b, `,"duration":`...)
		b = appendFloat(b, ev.Duration)
	}
	b = appendOptInt(b, "attempt", int64(ev.Attempt))
	b = appendOptInt(b, "events_emitted", int64(ev.Emitted))
	b = appendOptInt(b, "targets", int64(ev.Targets))
	b = appendOptString(b, "result_mode", ev.ResultMode)
	if ev.State != nil {
		b = append(b, `,"state":`...)
		b = AppendValue(b, ev.State)
	}
	if ev.Progress != 0 {
		b = append(b, `,"progress":`...)
		b = appendFloat(b, ev.Progress)
	}
	return append(b, '}')
}

func appendStringField(b []byte, name, v string) []byte {
	b = append(b, ',', '"')
	b = append(b, name...)
	b = append(b, '"', ':')
	return appendString(b, v)
}

func appendOptString(b []byte, name, v string) []byte {
	if v == "" {
		return b
	}
	return appendStringField(b, name, v)
}

func appendOptInt(b []byte, name string, v int64) []byte {
	if v == 0 {
		return b
	}
	b = append(b, ',', '"')
	b = append(b, name...)
	b = append(b, '"', ':')
	return strconv.AppendInt(b, v, 10)
}

// AppendValue appends a JSON-compatible value (what routines produce:
// nil, bool, float64, string, []any, map[string]any) as JSON, with object
// keys sorted as encoding/json sorts them. Other types go through
// encoding/json; a value it cannot encode becomes null.
func AppendValue(b []byte, v any) []byte {
	switch x := v.(type) {
	case nil:
		return append(b, "null"...)
	case bool:
		return strconv.AppendBool(b, x)
	case float64:
		return appendFloat(b, x)
	case int:
		return strconv.AppendInt(b, int64(x), 10)
	case int64:
		return strconv.AppendInt(b, x, 10)
	case string:
		return appendString(b, x)
	case json.RawMessage: // already JSON: the producer vouches for it
		if len(x) == 0 {
			return append(b, "null"...)
		}
		return append(b, x...)
	case []any:
		b = append(b, '[')
		for i, e := range x {
			if i > 0 {
				b = append(b, ',')
			}
			b = AppendValue(b, e)
		}
		return append(b, ']')
	case map[string]any:
		return appendObject(b, x, AppendValue)
	default:
		raw, err := json.Marshal(x)
		if err != nil {
			return append(b, "null"...)
		}
		return append(b, raw...)
	}
}

// appendFloat formats like encoding/json; NaN and ±Inf (not JSON) become null.
func appendFloat(b []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(b, "null"...)
	}
	abs := math.Abs(f)
	if abs < 1e15 && f == math.Trunc(f) && (f != 0 || !math.Signbit(f)) {
		// Whole numbers (most numbers in JSON payloads, which decode to
		// float64) print the same through the integer path, five times
		// faster than the shortest-float search.
		return strconv.AppendInt(b, int64(f), 10)
	}
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		b = strconv.AppendFloat(b, f, 'e', -1, 64)
		// Clean up e-09 to e-9, as encoding/json does.
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
		return b
	}
	return strconv.AppendFloat(b, f, 'f', -1, 64)
}

const hexDigits = "0123456789abcdef"

// appendString writes s as a JSON string, escaping like encoding/json
// (including <, >, & and U+2028/U+2029) and replacing invalid UTF-8.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// AppendRoutineStates encodes a job's routine states as a JSON object.
func AppendRoutineStates(b []byte, states map[string]*RoutineState) []byte {
	var stack [32]entry[*RoutineState]
	b = append(b, '{')
	for i, e := range sortedEntries(stack[:0], states) {
		if i > 0 {
			b = append(b, ',')
		}
		k, st := e.key, e.value
		b = appendString(b, k)
		b = append(b, `:{"status":`...)
		b = appendString(b, st.Status)
		b = append(b, `,"output":`...)
		b = AppendValue(b, st.Output)
		b = append(b, `,"error":`...)
		if st.Error == nil {
			b = append(b, "null"...)
		} else {
			b = appendString(b, *st.Error)
		}
		b = appendTimeField(b, "started_at", st.StartedAt)
		b = appendTimeField(b, "completed_at", st.CompletedAt)
		b = append(b, `,"activations":`...)
		b = strconv.AppendInt(b, int64(st.Activations), 10)
		if len(st.Emitted) > 0 {
			b = append(b, `,"emitted":`...)
			b = appendCounts(b, st.Emitted)
		}
		b = append(b, '}')
	}
	return append(b, '}')
}

// appendCounts writes a map of counts with its keys in order.
func appendCounts(b []byte, counts map[string]int) []byte {
	return appendObject(b, counts, func(b []byte, n int) []byte { return strconv.AppendInt(b, int64(n), 10) })
}

// appendObject writes a map as a JSON object with its keys sorted, as
// encoding/json does, each value written by value.
func appendObject[V any](b []byte, m map[string]V, value func([]byte, V) []byte) []byte {
	var stack [16]entry[V]
	b = append(b, '{')
	for i, e := range sortedEntries(stack[:0], m) {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, e.key)
		b = append(b, ':')
		b = value(b, e.value)
	}
	return append(b, '}')
}

// entry is one key and value of a map being written.
type entry[V any] struct {
	key   string
	value V
}

// sortedEntries appends m's entries to dst in key order: one pass over
// the map, no lookups after the sort.
func sortedEntries[V any](dst []entry[V], m map[string]V) []entry[V] {
	for k, v := range m {
		dst = append(dst, entry[V]{k, v})
	}
	if len(dst) > 1 {
		slices.SortFunc(dst, func(a, b entry[V]) int { return strings.Compare(a.key, b.key) })
	}
	return dst
}

func appendTimeField(b []byte, name string, t *time.Time) []byte {
	b = append(b, ',', '"')
	b = append(b, name...)
	b = append(b, '"', ':')
	if t == nil {
		return append(b, "null"...)
	}
	b = append(b, '"')
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"')
}

// AppendJobState appends js as encoding/json writes it (the API's answers
// about one job, written on every job start without reflection).
func AppendJobState(b []byte, js *JobState) []byte {
	b = append(b, `{"job_id":`...)
	b = appendString(b, js.JobID)
	b = appendStringField(b, "flow_id", js.FlowID)
	b = append(b, `,"flow_version":`...)
	b = strconv.AppendInt(b, int64(js.FlowVersion), 10)
	b = appendStringField(b, "status", js.Status)
	if js.PauseRequested {
		b = append(b, `,"pause_requested":true`...)
	}
	b = appendOptString(b, "pause_reason", js.PauseReason)
	if js.PausedAt != nil {
		b = append(b, `,"paused_at":`...)
		b = AppendValue(b, js.PausedAt)
	}
	b = appendStringField(b, "entry_routine_id", js.EntryRoutineID)
	b = append(b, `,"params":`...)
	b = AppendValue(b, js.Params)
	b = append(b, `,"result":`...)
	b = AppendValue(b, js.Result)
	b = appendStringField(b, "error", js.Error)
	b = append(b, `,"created_at":"`...)
	b = js.CreatedAt.AppendFormat(b, time.RFC3339Nano)
	b = append(b, '"')
	b = appendTimeField(b, "started_at", js.StartedAt)
	b = appendTimeField(b, "completed_at", js.CompletedAt)
	b = append(b, `,"progress":`...)
	b = appendFloat(b, js.Progress)
	b = appendStringField(b, "current_node", js.CurrentNode)
	b = append(b, `,"nodes_completed":`...)
	b = strconv.AppendInt(b, int64(js.NodesCompleted), 10)
	b = append(b, `,"nodes_failed":`...)
	b = strconv.AppendInt(b, int64(js.NodesFailed), 10)
	b = append(b, `,"duration":`...)
	b = appendFloat(b, js.Duration)
	b = append(b, `,"activations":`...)
	b = strconv.AppendInt(b, js.Activations, 10)
	b = append(b, `,"events":`...)
	b = strconv.AppendInt(b, js.Events, 10)
	if len(js.RoutineStates) > 0 {
		b = append(b, `,"routine_states":`...)
		b = AppendRoutineStates(b, js.RoutineStates)
	}
	return append(b, '}')
}
