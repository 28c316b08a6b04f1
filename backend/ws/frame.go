package ws

import (
	"strconv"
	"time"

	"github.com/switchyard/switchyard/backend/events"
)

// frame is one serialized message, shared by every client of a protocol.
type frame struct {
	jobID string
	seq   int64
	typ   string // message type, for seed 004's subscription filter
	// event marks frames derived from a stored event: they are
	// deduplicated by seq at the switch from replay to live.
	event bool
	data  []byte
}

// obj builds a JSON object frame body in key order; values go through
// events.AppendValue. It keeps message layouts readable next to the seeds.
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
		case rawJSON:
			b = append(b, v...)
		default:
			b = events.AppendValue(b, v)
		}
	}
	return append(b, '}')
}

// rawJSON is a pre-encoded value.
type rawJSON []byte

// epochSeconds is seed 000's timestamp form: Unix seconds as a string.
func epochSeconds(t time.Time) string {
	return strconv.FormatFloat(float64(t.UnixMicro())/1e6, 'f', 3, 64)
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

func field(data any, key string) any {
	if m, ok := data.(map[string]any); ok {
		return m[key]
	}
	return nil
}
