// Command custom-kind embeds the Switchyard engine in a Go program, adds a
// routine kind of its own ("uppercase") next to the built-in ones, runs a
// small flow that uses it and prints the job's result.
//
//	go run ./examples/custom-kind
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"os"
	"strings"
	"time"

	"github.com/switchyard/switchyard/backend/engine"
	"github.com/switchyard/switchyard/backend/events"
	"github.com/switchyard/switchyard/backend/flow"
	"github.com/switchyard/switchyard/backend/routines"
)

// uppercase upper-cases one string field of the payload.
func uppercase() engine.Kind {
	return engine.Kind{
		Name:        "uppercase",
		Description: "Upper-cases one string field of the payload and emits the payload on output.",
		Slots:       []string{"input"},
		Events:      []string{"output"},
		Config: []engine.ConfigField{
			{Name: "field", Type: "string", Default: "text", Description: "Name of the field to upper-case."},
		},
		// Build runs once per flow version: check config here, not per payload.
		Build: func(cfg map[string]any) (engine.Runner, error) {
			field := "text"
			if v, ok := cfg["field"]; ok {
				s, ok := v.(string)
				if !ok || s == "" {
					return nil, fmt.Errorf("config.field must be a non-empty string")
				}
				field = s
			}
			return engine.RunnerFunc(func(ctx context.Context, a *engine.Activation) error {
				in, ok := a.Data.(map[string]any)
				if !ok {
					return fmt.Errorf("uppercase: payload is not an object")
				}
				s, ok := in[field].(string)
				if !ok {
					return fmt.Errorf("uppercase: field %q is not a string", field)
				}
				out := make(map[string]any, len(in)) // never modify the input: other routines may share it
				for k, v := range in {
					out[k] = v
				}
				out[field] = strings.ToUpper(s)
				return a.Emit(ctx, "output", out)
			}), nil
		},
	}
}

const definition = `
flow_id: shout
routines:
  start: {kind: input}
  loud:  {kind: uppercase, config: {field: greeting}}
  note:  {kind: log, config: {message: "shouting {{ data.greeting }}"}}
  done:  {kind: output}
connections:
  - {from: start.output, to: loud.input}
  - {from: loud.output,  to: note.input}
  - {from: note.output,  to: done.input}
`

// printer is the engine's event sink: it prints log lines and remembers
// the job's final state. Publish runs under the job's lock, so it must be quick.
type printer struct{ final chan *events.JobState }

func (p printer) Publish(ev *events.Event) {
	switch ev.Type {
	case events.Log:
		fmt.Printf("log [%s] %s: %s\n", ev.Level, ev.RoutineID, ev.Message)
	case events.JobCompleted, events.JobFailed, events.JobCancelled:
		p.final <- ev.Job
	}
}

func main() {
	reg := engine.NewRegistry()
	routines.Register(reg)
	reg.MustRegister(uppercase())

	f, err := flow.Parse([]byte(definition))
	if err != nil {
		log.Fatal(err)
	}
	sink := printer{final: make(chan *events.JobState, 1)}
	eng := engine.New(reg, sink, engine.Options{})
	if _, err := eng.Start(engine.StartRequest{Flow: f, Params: map[string]any{"greeting": "hello, switchyard"}}); err != nil {
		log.Fatal(err) // a validation error lists every problem of the flow
	}

	var st *events.JobState
	select {
	case st = <-sink.final:
	case <-time.After(10 * time.Second):
		log.Fatal("the job did not finish")
	}
	out, _ := json.Marshal(st.Result)
	fmt.Printf("job %s %s: %s\n", st.JobID, st.Status, out)
	if st.Status != events.StatusCompleted {
		os.Exit(1)
	}
}
