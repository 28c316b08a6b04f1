// Package routines holds Switchyard's built-in routine kinds: input,
// transform, filter, switch, delay, log, split, merge, script, http, fail
// and output. Register adds them all to an engine catalogue; programs that
// embed the engine may register their own kinds next to them.
package routines

import (
	"context"
	"errors"
	"fmt"

	"github.com/switchyard/switchyard/backend/engine"
	"github.com/switchyard/switchyard/backend/netguard"
)

// Slot and event names shared by several kinds.
const (
	slotInput   = "input"
	slotTrigger = "trigger"
	eventOutput = "output"
)

// Register adds every built-in kind to r. It panics if a kind of the same
// name is already registered: that is a start-up bug, not a run-time error.
func Register(r *engine.Registry, opts ...Option) {
	for _, k := range Kinds(opts...) {
		r.MustRegister(k)
	}
}

// Option configures the built-in kinds.
type Option func(*options)

type options struct {
	guard *netguard.Guard
}

// HTTPGuard sets where the http kind may connect. Without it the kind uses
// the default policy (netguard.New(nil)): no private, loopback or
// link-local address, and no allow list.
func HTTPGuard(g *netguard.Guard) Option {
	return func(o *options) { o.guard = g }
}

// Kinds returns the built-in kinds, each with strict config checking: a
// config key the kind does not document is a validation error.
func Kinds(opts ...Option) []engine.Kind {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	if o.guard == nil {
		o.guard, _ = netguard.New(nil)
	}
	list := []engine.Kind{
		inputKind(),
		transformKind(),
		filterKind(),
		switchKind(),
		delayKind(),
		logKind(),
		splitKind(),
		mergeKind(),
		idempotent(scriptKind()),
		idempotent(httpKind(o.guard)),
		failKind(),
		outputKind(),
	}
	for i := range list {
		list[i] = strict(list[i])
	}
	return list
}

// strict wraps a kind's Build so config keys it does not document are
// rejected (a misspelt "exp" must not silently run with no expression).
func strict(k engine.Kind) engine.Kind {
	build, fields := k.Build, k.Config
	k.Build = func(cfg map[string]any) (engine.Runner, error) {
		if err := checkKeys(cfg, fields); err != nil {
			return nil, err
		}
		return build(cfg)
	}
	return k
}

// emitter is the runner of kinds that compute one value and emit it on
// "output".
type emitter func(ctx context.Context, a *engine.Activation) (any, error)

func (f emitter) Run(ctx context.Context, a *engine.Activation) error {
	v, err := f(ctx, a)
	if err != nil {
		return err
	}
	return a.Emit(ctx, eventOutput, v)
}

// inputKind is the entry of a flow: the job's params arrive at its trigger
// slot and leave unchanged on output.
func inputKind() engine.Kind {
	return engine.Kind{
		Name:        "input",
		Description: "Entry point: emits the job's params (or whatever arrives at trigger) unchanged on output.",
		Slots:       []string{slotTrigger},
		Events:      []string{eventOutput},
		Build: func(map[string]any) (engine.Runner, error) {
			return emitter(func(_ context.Context, a *engine.Activation) (any, error) { return a.Data, nil }), nil
		},
	}
}

// outputKind stores what reaches it as the job's result.
func outputKind() engine.Kind {
	return engine.Kind{
		Name:        "output",
		Description: "Collects the job's result: the last payload (mode last) or a list of every payload (mode append).",
		Slots:       []string{slotInput},
		Config: []engine.ConfigField{
			{Name: "mode", Type: "string", Default: "last", Description: `"last" keeps the last payload as the job result; "append" makes the result a list of every payload in arrival order.`},
		},
		Build: func(cfg map[string]any) (engine.Runner, error) {
			mode, err := optEnum(cfg, "mode", "last", "last", "append")
			if err != nil {
				return nil, err
			}
			appendMode := mode == "append"
			return engine.RunnerFunc(func(_ context.Context, a *engine.Activation) error {
				a.SetResult(a.Data, appendMode)
				return nil
			}), nil
		},
	}
}

// failKind always fails; it exists for tests, demos and error-policy drills.
func failKind() engine.Kind {
	return engine.Kind{
		Name:        "fail",
		Description: "Fails every activation with a message (for tests and demos of error policies).",
		Slots:       []string{slotInput},
		Config: []engine.ConfigField{
			{Name: "message", Type: "template", Default: "failed on purpose", Description: "Error message; {{ expr }} segments are evaluated against the activation scope."},
		},
		Build: func(cfg map[string]any) (engine.Runner, error) {
			msg, err := optString(cfg, "message", "failed on purpose")
			if err != nil {
				return nil, err
			}
			tmpl, err := ParseTemplate(msg)
			if err != nil {
				return nil, fmt.Errorf("config.message: %w", err)
			}
			return engine.RunnerFunc(func(_ context.Context, a *engine.Activation) error {
				text, err := tmpl.Render(a.Env())
				if err != nil {
					return err
				}
				return &Error{Name: "FailError", Err: errors.New(text)}
			}), nil
		},
	}
}
