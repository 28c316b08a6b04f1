package routines

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/switchyard/switchyard/backend/engine"
)

// Error is a failed activation. Name is what the event log reports as
// error_type ("ExpressionError", "TimeoutError", a JavaScript error's name…).
type Error struct {
	Name string
	Err  error
}

func (e *Error) Error() string { return e.Err.Error() }

// Type is read by the engine for the event's error_type.
func (e *Error) Type() string { return e.Name }

func (e *Error) Unwrap() error { return e.Err }

func typeError(format string, args ...any) error {
	return &Error{Name: "TypeError", Err: fmt.Errorf(format, args...)}
}

// checkKeys rejects config keys that no field documents.
func checkKeys(cfg map[string]any, fields []engine.ConfigField) error {
	var unknown []string
	for k := range cfg {
		known := false
		for _, f := range fields {
			if f.Name == k {
				known = true
				break
			}
		}
		if !known {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) == 0 {
		return nil
	}
	sort.Strings(unknown)
	names := make([]string, len(fields))
	for i, f := range fields {
		names[i] = f.Name
	}
	if len(names) == 0 {
		return fmt.Errorf("config.%s: unknown key (this kind takes no config)", unknown[0])
	}
	return fmt.Errorf("config.%s: unknown key (known keys: %s)", unknown[0], strings.Join(names, ", "))
}

// describe names a config value's JSON type for error messages.
func describe(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case float64, float32, int, int64, int32, uint, uint64, uint32, json.Number:
		return "a number"
	case map[string]any:
		return "an object"
	case []any:
		return "a list"
	default:
		return fmt.Sprintf("a %T", v)
	}
}

// optString reads a string key; absent or null gives def.
func optString(cfg map[string]any, key, def string) (string, error) {
	v, ok := cfg[key]
	if !ok || v == nil {
		return def, nil
	}
	s, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("config.%s must be a string, not %s", key, describe(v))
	}
	return s, nil
}

// reqString reads a string key that must be present and not blank.
func reqString(cfg map[string]any, key string) (string, error) {
	v, ok := cfg[key]
	if !ok || v == nil {
		return "", fmt.Errorf("config.%s is required", key)
	}
	s, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("config.%s must be a string, not %s", key, describe(v))
	}
	if strings.TrimSpace(s) == "" {
		return "", fmt.Errorf("config.%s is required and must not be empty", key)
	}
	return s, nil
}

// optEnum reads a string key restricted to allowed values.
func optEnum(cfg map[string]any, key, def string, allowed ...string) (string, error) {
	s, err := optString(cfg, key, def)
	if err != nil {
		return "", err
	}
	for _, a := range allowed {
		if s == a {
			return s, nil
		}
	}
	return "", fmt.Errorf("config.%s must be one of %s, not %q", key, strings.Join(allowed, ", "), s)
}

// optBool reads a boolean key.
func optBool(cfg map[string]any, key string, def bool) (bool, error) {
	v, ok := cfg[key]
	if !ok || v == nil {
		return def, nil
	}
	b, ok := v.(bool)
	if !ok {
		return false, fmt.Errorf("config.%s must be true or false, not %s", key, describe(v))
	}
	return b, nil
}

// toNumber converts the numeric types config may hold (float64 from JSON,
// ints from Go programs that build configs by hand).
func toNumber(v any) (float64, bool) {
	switch n := v.(type) {
	case float64:
		return n, true
	case float32:
		return float64(n), true
	case int:
		return float64(n), true
	case int64:
		return float64(n), true
	case int32:
		return float64(n), true
	case uint:
		return float64(n), true
	case uint64:
		return float64(n), true
	case uint32:
		return float64(n), true
	case json.Number:
		f, err := n.Float64()
		return f, err == nil
	}
	return 0, false
}

// number reads a numeric key within [lo, hi]. With required, an absent key
// is an error; otherwise it gives def.
func number(cfg map[string]any, key string, def float64, required bool, lo, hi float64) (float64, error) {
	v, ok := cfg[key]
	if !ok || v == nil {
		if required {
			return 0, fmt.Errorf("config.%s is required", key)
		}
		return def, nil
	}
	f, ok := toNumber(v)
	if !ok || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("config.%s must be a number between %s and %s, not %s", key, num(lo), num(hi), describe(v))
	}
	if f < lo || f > hi {
		return 0, fmt.Errorf("config.%s must be a number between %s and %s, not %s", key, num(lo), num(hi), num(f))
	}
	return f, nil
}

// num formats a number without exponent: 86400000, not 8.64e+07.
func num(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

var identPattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// validEventName reports whether s can name an event (it is written as
// routine.event in connections, so no dots or spaces).
func validEventName(s string) bool { return len(s) <= 64 && identPattern.MatchString(s) }
