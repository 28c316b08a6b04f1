package flow

import (
	"encoding/json"
	"fmt"
	"time"
)

// Duration accepts "250ms"/"1m30s" strings or a number of seconds, and
// writes itself back as a string so definitions stay readable.
type Duration time.Duration

func (d Duration) String() string { return time.Duration(d).String() }

// MarshalJSON writes the duration as a Go duration string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

// UnmarshalJSON reads a duration string or a number of seconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	return d.set(v)
}

func (d *Duration) set(v any) error {
	switch x := v.(type) {
	case nil:
		*d = 0
	case string:
		p, err := time.ParseDuration(x)
		if err != nil {
			return fmt.Errorf("invalid duration %q (use e.g. \"250ms\", \"30s\")", x)
		}
		*d = Duration(p)
	case float64:
		*d = Duration(x * float64(time.Second))
	case uint64:
		*d = Duration(time.Duration(x) * time.Second)
	case int64:
		*d = Duration(time.Duration(x) * time.Second)
	default:
		return fmt.Errorf("invalid duration %v: want a string like \"30s\" or a number of seconds", v)
	}
	if *d < 0 {
		return fmt.Errorf("duration must not be negative")
	}
	return nil
}
