package flow

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/lexer"
	"github.com/goccy/go-yaml/token"
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
	js := trimmed
	if trimmed[0] != '{' {
		var err error
		if js, err = yamlToJSON(trimmed); err != nil {
			return nil, err
		}
	}
	return decodeJSON(js)
}

func yamlToJSON(src []byte) (out []byte, err error) {
	// The YAML library has panicked on hostile input in the past; a bad
	// definition must come back as an error, never take the server down.
	defer func() {
		if r := recover(); r != nil {
			out, err = nil, fmt.Errorf("invalid YAML: %v", r)
		}
	}()
	if err := checkNesting(src); err != nil {
		return nil, err
	}
	// Aliases can expand exponentially ("billion laughs"); flows never need
	// them, so they are refused before anything is expanded.
	for _, tk := range lexer.Tokenize(string(src)) {
		if tk.Type == token.AliasType {
			return nil, fmt.Errorf("invalid YAML: aliases (*%s) are not supported in flow definitions", tk.Value)
		}
	}
	var probe any
	if err := yaml.Unmarshal(src, &probe); err != nil {
		return nil, fmt.Errorf("invalid YAML: %s", firstLine(err.Error()))
	}
	if _, ok := probe.(map[string]any); !ok {
		return nil, fmt.Errorf("invalid flow: the document must be a mapping with flow_id, routines and connections")
	}
	js, err := yaml.YAMLToJSON(src)
	if err != nil {
		return nil, fmt.Errorf("invalid YAML: %s", firstLine(err.Error()))
	}
	return js, nil
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

// YAML renders the definition (without timestamps) as YAML.
func (f *Flow) YAML() ([]byte, error) {
	js, err := json.Marshal(f.definition())
	if err != nil {
		return nil, err
	}
	return yaml.JSONToYAML(js)
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

// Nesting bounds for YAML input. The YAML parser recurses (and allocates) per
// level, so a megabyte of "[[[[…" would exhaust the server; real flows nest
// a handful of levels.
const (
	maxFlowNesting = 64  // [ and { inside one value
	maxIndent      = 512 // columns of leading spaces
)

// checkNesting refuses YAML whose bracket nesting or indentation is beyond
// any real flow, before the parser sees it. Brackets are counted even inside
// quotes (a quote could otherwise hide the rest of the document): real
// expressions nest a few levels, far below the limit.
func checkNesting(src []byte) error {
	depth, indent, lineStart := 0, 0, true
	for _, c := range src {
		switch {
		case c == '\n':
			lineStart, indent = true, 0
			continue
		case lineStart && c == ' ':
			if indent++; indent > maxIndent {
				return fmt.Errorf("invalid YAML: indentation deeper than %d columns", maxIndent)
			}
			continue
		case c == '[' || c == '{':
			if depth++; depth > maxFlowNesting {
				return fmt.Errorf("invalid YAML: brackets nested more than %d deep", maxFlowNesting)
			}
		case c == ']' || c == '}':
			depth = max(depth-1, 0)
		}
		lineStart = false
	}
	return nil
}
