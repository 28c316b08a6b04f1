package flow

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"

	"go.yaml.in/yaml/v4"
	"go.yaml.in/yaml/v4/plugin/loaderlimits"
)

// YAML definitions are read with go.yaml.in/yaml/v4 (libyaml's design: a
// streaming scanner and parser, a node tree without per-node paths), whose
// own depth check stops the scanner as soon as block indentation or flow
// brackets nest deeper than MaxDepth: "- - - x", "? ? x", "[[[" and indented
// mappings alike, before anything is built for them. Memory is linear in the
// input (at most ~120 bytes per byte, for one-character items in a flow
// sequence). The node tree is then written out as JSON here, refusing
// aliases, merge keys, duplicate keys and non-scalar keys.
//
// goccy/go-yaml, used before, was quadratic: every node carries its path from
// the root as a string, so 40 KB of "- - - …" took 630 MB and a long key
// above many list items took tens of gigabytes.

var errTooDeep = fmt.Errorf("nested more than %d deep", MaxDepth)

func loadOptions() yaml.Option {
	limits := loaderlimits.New(loaderlimits.DepthFunc(func(depth int, _ *loaderlimits.DepthContext) error {
		if depth > MaxDepth {
			return errTooDeep
		}
		return nil
	}))
	return yaml.Options(yaml.WithUniqueKeys(true), yaml.WithPlugin(limits))
}

func yamlToJSON(src []byte) (out []byte, err error) {
	// A bad definition must come back as an error, never take the server down.
	defer func() {
		if r := recover(); r != nil {
			out, err = nil, fmt.Errorf("invalid YAML: %v", r)
		}
	}()
	var doc yaml.Node
	if err := yaml.Load(src, &doc, loadOptions()); err != nil {
		return nil, describeYAMLError(err)
	}
	root := &doc
	if root.Kind == yaml.DocumentNode {
		if len(root.Content) == 0 {
			return nil, ErrEmpty
		}
		root = root.Content[0]
	}
	if root.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("invalid flow: the document must be a mapping with flow_id, routines and connections")
	}
	w := jsonWriter{buf: make([]byte, 0, len(src)+len(src)/4)}
	if err := w.node(root, 1); err != nil {
		return nil, err
	}
	return w.buf, nil
}

func describeYAMLError(err error) error {
	msg := firstLine(err.Error())
	if errors.Is(err, errTooDeep) || strings.Contains(msg, errTooDeep.Error()) {
		return fmt.Errorf("invalid YAML: %s", errTooDeep)
	}
	msg = strings.TrimPrefix(msg, "yaml: ")
	msg = strings.TrimPrefix(msg, "go-yaml load error in ")
	return fmt.Errorf("invalid YAML: %s", msg)
}

type jsonWriter struct{ buf []byte }

func (w *jsonWriter) node(n *yaml.Node, depth int) error {
	if depth > MaxDepth {
		return fmt.Errorf("invalid YAML: line %d: %s", n.Line, errTooDeep)
	}
	switch n.Kind {
	case yaml.AliasNode:
		// Aliases can expand exponentially ("billion laughs"); flows never
		// need them.
		return fmt.Errorf("invalid YAML: line %d: aliases (*%s) are not supported in flow definitions", n.Line, n.Value)
	case yaml.MappingNode:
		return w.mapping(n, depth)
	case yaml.SequenceNode:
		w.buf = append(w.buf, '[')
		for i, item := range n.Content {
			if i > 0 {
				w.buf = append(w.buf, ',')
			}
			if err := w.node(item, depth+1); err != nil {
				return err
			}
		}
		w.buf = append(w.buf, ']')
		return nil
	case yaml.ScalarNode:
		return w.scalar(n)
	default:
		return fmt.Errorf("invalid YAML: line %d: unexpected node", n.Line)
	}
}

func (w *jsonWriter) mapping(n *yaml.Node, depth int) error {
	if len(n.Content)%2 != 0 {
		return fmt.Errorf("invalid YAML: line %d: a mapping key has no value", n.Line)
	}
	var seen map[string]bool
	if len(n.Content) > 16 {
		seen = make(map[string]bool, len(n.Content)/2)
	}
	w.buf = append(w.buf, '{')
	for i := 0; i < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		switch {
		case k.Kind == yaml.AliasNode:
			return fmt.Errorf("invalid YAML: line %d: aliases (*%s) are not supported in flow definitions", k.Line, k.Value)
		case k.Kind != yaml.ScalarNode:
			return fmt.Errorf("invalid YAML: line %d: a mapping key must be a plain value, not a list or mapping", k.Line)
		case k.ShortTag() == "!!merge":
			return fmt.Errorf("invalid YAML: line %d: merge keys (<<) are not supported in flow definitions", k.Line)
		}
		dup := false
		if seen != nil {
			dup = seen[k.Value]
			seen[k.Value] = true
		} else {
			for j := 0; j < i; j += 2 {
				if n.Content[j].Value == k.Value {
					dup = true
					break
				}
			}
		}
		if dup {
			return fmt.Errorf("invalid YAML: line %d: mapping key %q already defined", k.Line, k.Value)
		}
		if i > 0 {
			w.buf = append(w.buf, ',')
		}
		w.str(k.Value)
		w.buf = append(w.buf, ':')
		if err := w.node(v, depth+1); err != nil {
			return err
		}
	}
	w.buf = append(w.buf, '}')
	return nil
}

func (w *jsonWriter) scalar(n *yaml.Node) error {
	switch n.ShortTag() {
	case "!!null":
		w.buf = append(w.buf, "null"...)
	case "!!bool":
		var b bool
		if err := n.Decode(&b); err != nil {
			return fmt.Errorf("invalid YAML: line %d: %q is not a boolean", n.Line, n.Value)
		}
		if b {
			w.buf = append(w.buf, "true"...)
		} else {
			w.buf = append(w.buf, "false"...)
		}
	case "!!int", "!!float":
		var f float64
		if err := n.Decode(&f); err != nil {
			return fmt.Errorf("invalid YAML: line %d: %q is not a number", n.Line, n.Value)
		}
		if math.IsInf(f, 0) || math.IsNaN(f) {
			return fmt.Errorf("invalid YAML: line %d: %s is not a number JSON can hold (quote it to make it a string)", n.Line, n.Value)
		}
		b, _ := json.Marshal(f)
		w.buf = append(w.buf, b...)
	default: // !!str, !!timestamp, !!binary and custom tags: the text as written
		w.str(n.Value)
	}
	return nil
}

func (w *jsonWriter) str(s string) {
	b, _ := json.Marshal(s) // a Go string always encodes
	w.buf = append(w.buf, b...)
}

// YAML renders the definition (without timestamps) as YAML.
func (f *Flow) YAML() ([]byte, error) {
	js, err := json.Marshal(f.definition())
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.UseNumber()
	root, err := jsonNode(dec, 0)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	d, err := yaml.NewDumper(&buf, yaml.WithIndent(2), yaml.WithCompactSeqIndent(true), yaml.WithLineWidth(-1))
	if err != nil {
		return nil, err
	}
	if err := d.Dump(root); err != nil {
		return nil, err
	}
	if err := d.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// jsonNode reads one JSON value from dec as a YAML node, keeping key order.
func jsonNode(dec *json.Decoder, depth int) (*yaml.Node, error) {
	if depth > 10000 {
		return nil, errors.New("render YAML: nested too deep")
	}
	tok, err := dec.Token()
	if err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		n := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		end := json.Delim('}')
		if t == '[' {
			n.Kind, n.Tag, end = yaml.SequenceNode, "!!seq", ']'
		}
		for dec.More() {
			if n.Kind == yaml.MappingNode {
				k, err := dec.Token()
				if err != nil {
					return nil, err
				}
				key, _ := k.(string)
				n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: key})
			}
			v, err := jsonNode(dec, depth+1)
			if err != nil {
				return nil, err
			}
			n.Content = append(n.Content, v)
		}
		if tok, err := dec.Token(); err != nil || tok != end {
			return nil, fmt.Errorf("render YAML: malformed JSON (%v)", err)
		}
		return n, nil
	case string:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: t}, nil
	case json.Number:
		tag := "!!int"
		if strings.ContainsAny(t.String(), ".eE") {
			tag = "!!float"
		}
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: tag, Value: t.String()}, nil
	case bool:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: fmt.Sprint(t)}, nil
	default:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "null"}, nil
	}
}
