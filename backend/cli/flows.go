package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/switchyard/switchyard/backend/client"
	"github.com/switchyard/switchyard/backend/flow"
)

// maxSource bounds a flow file or parameters read by the command (the
// server's own bound of a body is 1 MiB).
const maxSource = 8 << 20

func newFlowsCmd(o *options) *cobra.Command {
	cmd := group(&cobra.Command{
		Use:   "flows",
		Short: "Create, update, list, export, validate and delete flows",
	})
	cmd.AddCommand(newFlowsApplyCmd(o), newFlowsListCmd(o), newFlowsGetCmd(o), newFlowsExportCmd(o),
		newFlowsValidateCmd(o), newFlowsDeleteCmd(o))
	return cmd
}

// readSource reads a file, or stdin for "-".
func readSource(o *options, name string) ([]byte, error) {
	if name == "-" {
		raw, err := io.ReadAll(io.LimitReader(o.stdin, maxSource+1))
		if err == nil && len(raw) > maxSource {
			err = fmt.Errorf("stdin: more than %d bytes", maxSource)
		}
		return raw, err
	}
	return os.ReadFile(name)
}

// sourceName names -f's file in messages.
func sourceName(name string) string {
	if name == "-" {
		return "stdin"
	}
	return name
}

// readDefinition reads the flow definition of -f.
func readDefinition(o *options, name string) ([]byte, error) {
	if name == "" {
		return nil, usagef("-f: name the flow file (YAML or JSON), or - for stdin")
	}
	src, err := readSource(o, name)
	if err != nil {
		return nil, usagef("-f: %v", err)
	}
	if len(bytes.TrimSpace(src)) == 0 {
		return nil, usagef("-f %s: the definition is empty", sourceName(name))
	}
	return src, nil
}

// definitionID is the flow_id of a definition (YAML, JSON, or
// {"dsl": "<yaml>"}), or "" if it has none or does not parse.
func definitionID(src []byte) string {
	var wrapper struct {
		DSL *string `json:"dsl"`
	}
	if t := bytes.TrimSpace(src); len(t) > 0 && t[0] == '{' && json.Unmarshal(t, &wrapper) == nil && wrapper.DSL != nil {
		src = []byte(*wrapper.DSL)
	}
	f, err := flow.Parse(src)
	if err != nil {
		return ""
	}
	return f.ID
}

func isStatus(err error, status int) bool {
	var ae *client.APIError
	return errors.As(err, &ae) && ae.Status == status
}

func newFlowsApplyCmd(o *options) *cobra.Command {
	var file string
	cmd := &cobra.Command{
		Use:   "apply -f <file|->",
		Short: "Create a flow, or update it if its flow_id exists",
		Long: `Create a flow from a YAML or JSON definition, or store it as the next
version of the flow when its flow_id exists already. An invalid flow is
refused by the server (exit 4) with every problem in its message.`,
		Example: `  switchyard flows apply -f orders.yaml
  cat orders.yaml | switchyard flows apply -f -`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			src, err := readDefinition(o, file)
			if err != nil {
				return err
			}
			c := o.client()
			created := true
			f, err := c.CreateFlow(cmd.Context(), src)
			if isStatus(err, http.StatusConflict) {
				// 409 FLOW_EXISTS: the flow_id is taken, so this is an update.
				if id := definitionID(src); id != "" {
					created = false
					f, err = c.UpdateFlow(cmd.Context(), id, src)
				}
			}
			if err != nil {
				return fmt.Errorf("apply %s: %w", sourceName(file), err)
			}
			if o.json() {
				return printRaw(o.stdout, f.Raw)
			}
			verb := "updated"
			if created {
				verb = "created"
			}
			fmt.Fprintf(o.stdout, "flow %s %s (version %d)\n", f.ID, verb, f.Version)
			return nil
		},
	}
	cmd.Flags().StringVarP(&file, "file", "f", "", "the flow definition, YAML or JSON; - reads stdin")
	return cmd
}

func newFlowsListCmd(o *options) *cobra.Command {
	var limit, offset int
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List flows",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			l, err := o.client().ListFlows(cmd.Context(), limit, offset)
			if err != nil {
				return err
			}
			if o.json() {
				return printRaw(o.stdout, l.Raw)
			}
			t := newTable(o.stdout, "FLOW", "NAME", "VERSION", "ROUTINES", "UPDATED")
			for _, f := range l.Flows {
				t.row(f.ID, orDash(f.Name), strconv.Itoa(f.Version), strconv.Itoa(f.RoutineCount), when(&f.UpdatedAt))
			}
			if err := t.flush(); err != nil {
				return err
			}
			if l.Total > l.Offset+len(l.Flows) {
				fmt.Fprintf(o.stderr, "%d of %d flows shown (--limit, --offset for more)\n", len(l.Flows), l.Total)
			}
			return nil
		},
	}
	cmd.Flags().IntVar(&limit, "limit", 0, "at most this many flows (server default 50, at most 1000)")
	cmd.Flags().IntVar(&offset, "offset", 0, "skip this many flows")
	return cmd
}

func newFlowsGetCmd(o *options) *cobra.Command {
	return &cobra.Command{
		Use:   "get <flow_id>",
		Short: "Show a flow: its routines and connections",
		Args:  argsNamed("flow_id"),
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := o.client().GetFlow(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if o.json() {
				return printRaw(o.stdout, f.Raw)
			}
			t := newTable(o.stdout)
			t.row("flow:", f.ID)
			t.row("name:", orDash(f.Name))
			if f.Description != "" {
				t.row("description:", f.Description)
			}
			t.row("version:", strconv.Itoa(f.Version))
			t.row("created:", when(f.CreatedAt))
			t.row("updated:", when(f.UpdatedAt))
			if err := t.flush(); err != nil {
				return err
			}
			fmt.Fprintln(o.stdout)
			names := make([]string, 0, len(f.Routines))
			for name := range f.Routines {
				names = append(names, name)
			}
			slices.Sort(names)
			rt := newTable(o.stdout, "ROUTINE", "KIND", "CONFIG")
			for _, name := range names {
				r := f.Routines[name]
				cfg := "-"
				if len(r.Config) > 0 {
					cfg = truncate(compactJSON(r.Config), 70)
				}
				rt.row(name, r.Kind, cfg)
			}
			if err := rt.flush(); err != nil {
				return err
			}
			if len(f.Connections) > 0 {
				fmt.Fprintln(o.stdout)
				ct := newTable(o.stdout, "FROM", "TO", "MAPPING")
				for _, c := range f.Connections {
					m := "-"
					if len(c.ParamMapping) > 0 {
						m = compactJSON(c.ParamMapping)
					}
					ct.row(c.From, c.To, m)
				}
				return ct.flush()
			}
			return nil
		},
	}
}

func newFlowsExportCmd(o *options) *cobra.Command {
	return &cobra.Command{
		Use:   "export <flow_id>",
		Short: "Print a flow's definition as YAML (-o json: as JSON)",
		Long: `Print a flow's definition as YAML, ready for "flows apply -f"; with -o json
as JSON.`,
		Example: `  switchyard flows export orders > orders.yaml`,
		Args:    argsNamed("flow_id"),
		RunE: func(cmd *cobra.Command, args []string) error {
			format := "yaml"
			if o.json() {
				format = "json"
			}
			def, err := o.client().FlowDefinition(cmd.Context(), args[0], format)
			if err != nil {
				return err
			}
			if o.json() {
				return printRaw(o.stdout, def)
			}
			if len(def) > 0 && def[len(def)-1] != '\n' {
				def = append(def, '\n')
			}
			_, err = o.stdout.Write(def)
			return err
		},
	}
}

// placeholderID stands in for the flow_id of a definition without one,
// so that the server validates the rest.
const placeholderID = "unnamed"

func newFlowsValidateCmd(o *options) *cobra.Command {
	var file string
	cmd := &cobra.Command{
		Use:   "validate [flow_id] [-f <file|->]",
		Short: "Validate a flow definition (or a stored flow) without storing it",
		Long: `Validate a flow definition file with the server's catalogue of routine
kinds, without storing it, and print each problem. With a flow_id and no
-f, validate the stored flow. The exit status is 1 if the flow is
invalid (a file that does not parse is invalid).`,
		Example: `  switchyard flows validate -f orders.yaml
  switchyard flows validate orders`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var src []byte
			id := ""
			if len(args) == 1 {
				id = args[0]
			}
			name := id
			missingID := false
			if file != "" || id == "" {
				var err error
				if src, err = readDefinition(o, file); err != nil {
					return err
				}
				name = sourceName(file)
				if defID := definitionID(src); defID != "" {
					id = defID
				} else if id == "" {
					id, missingID = placeholderID, true
				}
			}
			v, err := o.client().ValidateFlow(cmd.Context(), id, src)
			var ae *client.APIError
			if errors.As(err, &ae) && ae.Status == http.StatusBadRequest && src != nil {
				// The definition does not parse: invalid, as the server says.
				v = client.Validation{Errors: []client.Issue{{Code: ae.Code, Message: ae.Message}}}
				missingID = false
			} else if err != nil {
				return err
			}
			if missingID {
				v.Valid = false
				v.Errors = append([]client.Issue{{Code: flow.CodeMissingID, Message: "flow_id is required"}}, v.Errors...)
			}
			if o.json() {
				if v.Raw != nil && !missingID {
					err = printRaw(o.stdout, v.Raw)
				} else {
					err = printValue(o.stdout, v)
				}
				if err != nil {
					return err
				}
			} else {
				printIssues(o, name, v)
			}
			if !v.Valid {
				return &failure{fmt.Sprintf("%s: the flow is invalid (%d %s)", name, len(v.Errors), plural(len(v.Errors), "problem", "problems"))}
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&file, "file", "f", "", "the flow definition, YAML or JSON; - reads stdin")
	return cmd
}

func printIssues(o *options, name string, v client.Validation) {
	if v.Valid {
		fmt.Fprintf(o.stdout, "%s: the flow is valid\n", name)
	}
	if len(v.Errors)+len(v.Warnings) == 0 {
		return
	}
	t := newTable(o.stdout)
	for _, group := range []struct {
		level  string
		issues []client.Issue
	}{{"error", v.Errors}, {"warning", v.Warnings}} {
		for _, is := range group.issues {
			where := "-"
			switch {
			case is.Connection != nil:
				where = "connection " + strconv.Itoa(*is.Connection)
			case is.RoutineID != "":
				where = "routine " + is.RoutineID
			}
			t.row(group.level, is.Code, where, is.Message)
		}
	}
	_ = t.flush()
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func newFlowsDeleteCmd(o *options) *cobra.Command {
	return &cobra.Command{
		Use:   "delete <flow_id>",
		Short: "Delete a flow",
		Args:  argsNamed("flow_id"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.client().DeleteFlow(cmd.Context(), args[0]); err != nil {
				return err
			}
			if o.json() {
				return printValue(o.stdout, map[string]any{"flow_id": args[0], "deleted": true})
			}
			fmt.Fprintf(o.stdout, "flow %s deleted\n", args[0])
			return nil
		},
	}
}
