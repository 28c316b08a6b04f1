package flow

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// ErrEmpty is returned for a definition with no content.
var ErrEmpty = errors.New("flow definition is empty")

// Parse reads a flow from JSON or YAML (the DSL). YAML is converted to JSON
// first so both forms give identical values (numbers are float64 either way).
func Parse(src []byte) (*Flow, error) {
	trimmed := bytes.TrimSpace(src)
	if len(trimmed) == 0 {
		return nil, ErrEmpty
	}
	if len(trimmed) > MaxSourceBytes {
		return nil, fmt.Errorf("flow definition is %d bytes, more than the %d a definition may have", len(trimmed), MaxSourceBytes)
	}
	if len(trimmed) > largeSource {
		// A large definition costs up to ~120 bytes of memory per byte while
		// it is parsed; one at a time bounds what concurrent ones can cost.
		largeParse <- struct{}{}
		defer func() { <-largeParse }()
	}
	js := trimmed
	if trimmed[0] == '{' {
		if err := checkJSONDepth(js); err != nil {
			return nil, err
		}
	} else {
		var err error
		if js, err = yamlToJSON(trimmed); err != nil {
			return nil, err
		}
	}
	return decodeJSON(js)
}

// Size and nesting bounds for definitions. The API's 1 MiB body cap comes
// first; MaxSourceBytes holds for every caller (the CLI, examples).
const (
	MaxSourceBytes = 4 << 20
	MaxDepth       = 64 // nested mappings and sequences, block and flow style together
	largeSource    = 64 << 10
)

var largeParse = make(chan struct{}, 1)

// checkJSONDepth refuses JSON nested deeper than MaxDepth. It reads strings
// exactly (escapes included), so brackets inside them do not count.
func checkJSONDepth(js []byte) error {
	depth, inString, escaped := 0, false, false
	for i, c := range js {
		switch {
		case inString:
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
		case c == '"':
			inString = true
		case c == '{' || c == '[':
			if depth++; depth > MaxDepth {
				return fmt.Errorf("invalid JSON at byte %d: nested more than %d deep", i, MaxDepth)
			}
		case c == '}' || c == ']':
			depth--
		}
	}
	return nil
}

func decodeJSON(js []byte) (*Flow, error) {
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.DisallowUnknownFields()
	var f Flow
	if err := dec.Decode(&f); err != nil {
		return nil, describeJSONError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("invalid flow: unexpected data after the definition")
	}
	f.normalize()
	return &f, nil
}

// describeJSONError turns decoder errors into messages that name the field.
func describeJSONError(err error) error {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &typeErr):
		return fmt.Errorf("invalid flow: field %q must be %s, not %s", typeErr.Field, typeErr.Type, typeErr.Value)
	case errors.As(err, &syntaxErr):
		return fmt.Errorf("invalid JSON at byte %d: %s", syntaxErr.Offset, syntaxErr.Error())
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return errors.New("invalid JSON: unexpected end of input")
	default:
		return fmt.Errorf("invalid flow: %s", strings.TrimPrefix(err.Error(), "json: "))
	}
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// JSON renders the definition (without timestamps) as indented JSON.
func (f *Flow) JSON() ([]byte, error) {
	return json.MarshalIndent(f.definition(), "", "  ")
}

// definition is the flow without server-managed timestamps.
func (f *Flow) definition() *Flow {
	d := *f
	d.CreatedAt, d.UpdatedAt = nil, nil
	return &d
}

// normalize fills defaults so every stored flow has the same shape:
// empty lists instead of null, an explicit error strategy.
func (f *Flow) normalize() {
	if f.Routines == nil {
		f.Routines = map[string]RoutineSpec{}
	}
	if f.Connections == nil {
		f.Connections = []Connection{}
	}
	for id, r := range f.Routines {
		if r.ErrorPolicy != nil && r.ErrorPolicy.Strategy == "" {
			p := *r.ErrorPolicy
			p.Strategy = OnErrorStop
			r.ErrorPolicy = &p
			f.Routines[id] = r
		}
	}
}
