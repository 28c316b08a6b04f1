package ws

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/switchyard/switchyard/backend/events"
)

// frame is one serialized message, shared by every client of a protocol.
type frame struct {
	jobID string
	typ   string // message type, for seed 004's subscription filter
	// pos names the message in its job's stream (events.Pos); it is set on
	// the messages derived from a stored event, which are the ones a since
	// can resume after, and zero on the others (metrics, heartbeats).
	pos  events.Pos
	data []byte
}

// frameBuf collects the messages the encoders write: their bytes go into
// one buffer (b), each frame's data a slice of it, so encoding a replay
// costs one allocation per batch instead of several per message. Frames
// keep slices of earlier buffers when b grows; nothing writes to them again.
type frameBuf struct {
	b      []byte
	frames []frame

	// Per event: the event and the part of its next message.
	ev   *events.Event
	part int
}

// begin starts the messages of ev.
func (fb *frameBuf) begin(ev *events.Event) {
	fb.ev, fb.part = ev, 0
}

// open starts a message of the current event: {"type":"<typ>","<idKey>":"<job>"
// and returns where it starts.
func (fb *frameBuf) open(typ, idKey string) int {
	start := len(fb.b)
	fb.raw(`{"type":`)
	fb.str(typ)
	fb.raw(`,"`)
	fb.raw(idKey)
	fb.raw(`":`)
	fb.str(fb.ev.JobID)
	return start
}

// closeEvent ends the message begun at start with its seq and pos, and adds
// it as the next part of the current event.
func (fb *frameBuf) closeEvent(start int, typ string) {
	fb.part++
	pos := events.Pos{Seq: fb.ev.Seq, Part: fb.part}
	fb.raw(`,"seq":`)
	fb.b = strconv.AppendInt(fb.b, pos.Seq, 10)
	fb.raw(`,"pos":"`)
	fb.b = pos.AppendText(fb.b)
	fb.raw(`"}`)
	fb.frames = append(fb.frames, frame{jobID: fb.ev.JobID, typ: typ, pos: pos, data: fb.b[start:len(fb.b):len(fb.b)]})
}

// add appends a frame built elsewhere (metrics).
func (fb *frameBuf) add(f frame) { fb.frames = append(fb.frames, f) }

// take returns the frames collected and starts a new batch (the frames keep
// the old buffer).
func (fb *frameBuf) take() []frame {
	out := fb.frames
	fb.frames = nil
	fb.b = fb.b[len(fb.b):]
	return out
}

// reset drops what was written, reusing the memory (for encoding whose
// output nobody reads: an encoder catching up on a job's history).
func (fb *frameBuf) reset() {
	fb.b = fb.b[:0]
	fb.frames = fb.frames[:0]
}

func (fb *frameBuf) raw(s string)    { fb.b = append(fb.b, s...) }
func (fb *frameBuf) str(s string)    { fb.b = events.AppendString(fb.b, s) }
func (fb *frameBuf) val(v any)       { fb.b = events.AppendValue(fb.b, v) }
func (fb *frameBuf) float(f float64) { fb.b = events.AppendFloat(fb.b, f) }
func (fb *frameBuf) int(n int64)     { fb.b = strconv.AppendInt(fb.b, n, 10) }
func (fb *frameBuf) key(k string)    { fb.raw(`,"`); fb.raw(k); fb.raw(`":`) }
func (fb *frameBuf) strOrNull(s string) {
	if s == "" {
		fb.raw("null")
		return
	}
	fb.str(s)
}

// epoch appends seed 000's timestamp form, Unix seconds as a string
// ("1704067200.123").
func (fb *frameBuf) epoch(t time.Time) {
	fb.b = append(fb.b, '"')
	fb.b = strconv.AppendFloat(fb.b, float64(t.UnixMicro())/1e6, 'f', 3, 64)
	fb.b = append(fb.b, '"')
}

// iso appends seed 004's timestamp form.
func (fb *frameBuf) iso(t time.Time) {
	fb.b = append(fb.b, '"')
	fb.b = t.UTC().AppendFormat(fb.b, time.RFC3339Nano)
	fb.b = append(fb.b, '"')
}

// obj builds a JSON object frame body in key order; values go through
// events.AppendValue. It keeps the layouts of messages that are not on a
// hot path (metrics, connection status, replies) readable.
type obj []kv

type kv struct {
	k string
	v any
}

func (o obj) json() []byte {
	b := make([]byte, 0, 256)
	b = append(b, '{')
	for i, f := range o {
		if i > 0 {
			b = append(b, ',')
		}
		b = events.AppendValue(b, f.k)
		b = append(b, ':')
		switch v := f.v.(type) {
		case obj:
			b = append(b, v.json()...)
		default:
			b = events.AppendValue(b, v)
		}
	}
	return append(b, '}')
}

// iso is seed 004's timestamp form.
func iso(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// num reads a number from event data that is either live (int, int64,
// float64) or decoded from the stored log (float64).
func num(v any) float64 {
	switch x := v.(type) {
	case float64:
		return x
	case int:
		return float64(x)
	case int64:
		return float64(x)
	}
	return 0
}

// dataMap is an event's data as an object: as it is on a live event, or
// decoded from the raw JSON a replayed event keeps (only the few event
// types whose messages pick fields out of data need this).
func dataMap(data any) map[string]any {
	switch d := data.(type) {
	case map[string]any:
		return d
	case json.RawMessage:
		var m map[string]any
		if json.Unmarshal(d, &m) == nil {
			return m
		}
	}
	return nil
}

// owned returns data safe to keep past the event: a replayed event's raw
// data points into a buffer of stored lines.
func owned(data any) any {
	if raw, ok := data.(json.RawMessage); ok {
		return append(json.RawMessage(nil), raw...)
	}
	return data
}
