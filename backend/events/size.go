package events

import (
	"encoding/json"
	"strconv"
	"unicode/utf8"
)

// EncodedSize returns how many bytes AppendValue would write for v, counted
// without encoding anything (no allocation for the JSON types routines
// produce). It stops counting once the size passes stop, and then returns a
// number above stop and exact = false: values can share parts (a list
// holding the same list twice, nested), so a full count could take as long
// as encoding an exponentially large value.
func EncodedSize(v any, stop int64) (n int64, exact bool) {
	c := sizeCounter{stop: stop}
	c.value(v)
	return c.n, c.n <= stop
}

type sizeCounter struct {
	n, stop int64
}

func (c *sizeCounter) over() bool { return c.n > c.stop }

func (c *sizeCounter) value(v any) {
	if c.over() {
		return
	}
	switch x := v.(type) {
	case nil:
		c.n += 4
	case bool:
		if x {
			c.n += 4
		} else {
			c.n += 5
		}
	case float64:
		var buf [32]byte
		c.n += int64(len(appendFloat(buf[:0], x)))
	case int:
		var buf [24]byte
		c.n += int64(len(strconv.AppendInt(buf[:0], int64(x), 10)))
	case int64:
		var buf [24]byte
		c.n += int64(len(strconv.AppendInt(buf[:0], x, 10)))
	case string:
		c.string(x)
	case json.RawMessage:
		if len(x) == 0 {
			c.n += 4
		} else {
			c.n += int64(len(x))
		}
	case []any:
		c.n += 2 + int64(max(len(x)-1, 0)) // brackets and commas
		for _, e := range x {
			if c.over() {
				return
			}
			c.value(e)
		}
	case map[string]any:
		c.n += 2 + int64(max(len(x)-1, 0)) + int64(len(x)) // braces, commas and colons
		for k, e := range x {
			if c.over() {
				return
			}
			c.string(k)
			c.value(e)
		}
	default:
		raw, err := json.Marshal(x)
		if err != nil {
			c.n += 4
		} else {
			c.n += int64(len(raw))
		}
	}
}

// string counts s as appendString writes it.
func (c *sizeCounter) string(s string) {
	n := int64(2)
	for i := 0; i < len(s); {
		b := s[i]
		if b < utf8.RuneSelf {
			switch {
			case b >= 0x20 && b != '"' && b != '\\' && b != '<' && b != '>' && b != '&':
				n++
			case b == '"' || b == '\\' || b == '\n' || b == '\r' || b == '\t':
				n += 2
			default:
				n += 6
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1, r == '\u2028', r == '\u2029':
			n += 6
		default:
			n += int64(size)
		}
		i += size
	}
	c.n += n
}
