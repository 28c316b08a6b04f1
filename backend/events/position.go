package events

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Positions of stream messages (docs/streams.md, "Positions").
//
// One event of a job's log may become several messages of a stream (seed
// 000's node_update then status for a routine_completed; seed 004's
// routine_started then execution_event), so the event's seq alone does not
// name a message. A Pos does: the event's seq and the message's part, 1 for
// the first message derived from that event, 2 for the second. On the wire
// it is the text "57.2" (field "pos", next to "seq").
//
// A Pos is also where a stream resumes: ?since=57.1 replays what comes
// after the first message of event 57, so a client that keeps the pos of
// the last message it handled resumes with no gap and no duplicate however
// the connection was cut. A plain seq (?since=57) keeps its meaning: after
// every message of event 57 (Part AllParts); "57.0" is before any message
// of event 57, the same place as "56".
//
// The server (backend/ws), the Go client (backend/client) and, in
// TypeScript, the UI (web/src/live/position.ts) share this one definition.
type Pos struct {
	Seq  int64
	Part int // 1 for an event's first message; AllParts: after all of them
}

// AllParts is the Part of a Pos that stands after every message of its
// event: what a plain seq as since means.
const AllParts = math.MaxInt32

// After returns the position after every message of event seq.
func After(seq int64) Pos { return Pos{Seq: seq, Part: AllParts} }

// Compare orders positions: -1 if p comes before q, 0 if equal, +1 after.
func (p Pos) Compare(q Pos) int {
	switch {
	case p.Seq < q.Seq:
		return -1
	case p.Seq > q.Seq:
		return 1
	case p.Part < q.Part:
		return -1
	case p.Part > q.Part:
		return 1
	}
	return 0
}

// Less reports whether p comes before q.
func (p Pos) Less(q Pos) bool { return p.Compare(q) < 0 }

// IsZero reports whether p is the zero Pos (no position: the stream's
// start, or a message without one).
func (p Pos) IsZero() bool { return p == Pos{} }

// AppendText appends the wire form: "57.2", or "57" for AllParts.
func (p Pos) AppendText(b []byte) []byte {
	b = strconv.AppendInt(b, p.Seq, 10)
	if p.Part == AllParts {
		return b
	}
	b = append(b, '.')
	return strconv.AppendInt(b, int64(p.Part), 10)
}

// String is the wire form.
func (p Pos) String() string { return string(p.AppendText(make([]byte, 0, 24))) }

// ErrBadPos is wrapped by ParsePos's errors.
var ErrBadPos = errors.New("not a stream position")

// ParsePos reads a since or pos: "57" (after every message of event 57),
// "57.2" (after its second message) or "57.0" (before its first).
func ParsePos(s string) (Pos, error) {
	seqText, partText, dotted := strings.Cut(s, ".")
	seq, err := parseDigits(seqText)
	if err != nil {
		return Pos{}, fmt.Errorf("%w: %q (want a seq such as 57 or a position such as 57.1)", ErrBadPos, s)
	}
	if !dotted {
		return After(seq), nil
	}
	part, err := parseDigits(partText)
	if err != nil || part >= AllParts {
		return Pos{}, fmt.Errorf("%w: %q (want a seq such as 57 or a position such as 57.1)", ErrBadPos, s)
	}
	return Pos{Seq: seq, Part: int(part)}, nil
}

// parseDigits accepts a non-negative decimal integer: digits only, no
// sign, no spaces, at most 18 digits.
func parseDigits(s string) (int64, error) {
	if s == "" || len(s) > 18 {
		return 0, ErrBadPos
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, ErrBadPos
		}
	}
	return strconv.ParseInt(s, 10, 64)
}

// MarshalJSON writes the wire form as a JSON string.
func (p Pos) MarshalJSON() ([]byte, error) {
	b := append(make([]byte, 0, 26), '"')
	return append(p.AppendText(b), '"'), nil
}

// UnmarshalJSON reads a JSON string in the wire form (or null: the zero
// Pos). A JSON number is taken as its digits ("57" → after event 57).
func (p *Pos) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if bytes.Equal(b, []byte("null")) {
		*p = Pos{}
		return nil
	}
	if len(b) >= 2 && b[0] == '"' && b[len(b)-1] == '"' {
		b = b[1 : len(b)-1]
	}
	q, err := ParsePos(string(b))
	if err != nil {
		return err
	}
	*p = q
	return nil
}
