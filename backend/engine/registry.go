package engine

import (
	"context"
	"fmt"
	"sort"
	"sync"

	"github.com/switchyard/switchyard/backend/flow"
)

// Runner executes activations of one routine of one flow version. It is
// built once per flow version from the routine's config, so expensive work
// (compiling expressions) happens at compile time, not per activation.
type Runner interface {
	Run(ctx context.Context, a *Activation) error
}

// RunnerFunc adapts a function to Runner.
type RunnerFunc func(ctx context.Context, a *Activation) error

// Run calls f.
func (f RunnerFunc) Run(ctx context.Context, a *Activation) error { return f(ctx, a) }

// ConfigField documents one configuration key of a kind.
type ConfigField struct {
	Name        string `json:"name"`
	Type        string `json:"type"`
	Default     any    `json:"default,omitempty"`
	Required    bool   `json:"required"`
	Description string `json:"description"`
}

// Kind is a routine type of the catalogue.
type Kind struct {
	Name        string
	Description string
	Slots       []string
	Events      []string
	// EventsFor, when set, lists the events for a given config (switch's
	// case events); it replaces Events.
	EventsFor func(config map[string]any) []string
	Config    []ConfigField
	// Cycles marks kinds that decide at run time whether to emit, so a
	// cycle through them can end.
	Cycles bool
	// Build checks config and returns the runner; its error is a
	// validation error of the routine.
	Build func(config map[string]any) (Runner, error)
	// RerunSafe says whether an activation of a routine with this config
	// may run again after a crash interrupted it (docs/durability.md). Nil
	// means always: kinds with outside effects (http, script) set it.
	RerunSafe func(config map[string]any) bool
}

// Registry is the catalogue of kinds. It satisfies flow.Catalogue.
type Registry struct {
	mu    sync.RWMutex
	kinds map[string]*Kind
}

// NewRegistry returns an empty catalogue.
func NewRegistry() *Registry { return &Registry{kinds: map[string]*Kind{}} }

// Register adds a kind; a name may be registered once.
func (r *Registry) Register(k Kind) error {
	if k.Name == "" || k.Build == nil {
		return fmt.Errorf("register kind %q: name and Build are required", k.Name)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.kinds[k.Name]; dup {
		return fmt.Errorf("register kind %q: already registered", k.Name)
	}
	r.kinds[k.Name] = &k
	return nil
}

// MustRegister is Register for start-up code, where a failure is a bug.
func (r *Registry) MustRegister(k Kind) {
	if err := r.Register(k); err != nil {
		panic(err)
	}
}

// Kind implements flow.Catalogue.
func (r *Registry) Kind(name string) (flow.KindInfo, bool) {
	k, ok := r.lookup(name)
	if !ok {
		return nil, false
	}
	return kindInfo{k}, true
}

func (r *Registry) lookup(name string) (*Kind, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	k, ok := r.kinds[name]
	return k, ok
}

// Kinds lists the catalogue sorted by name.
func (r *Registry) Kinds() []Kind {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]Kind, 0, len(r.kinds))
	for _, k := range r.kinds {
		out = append(out, *k)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

type kindInfo struct{ k *Kind }

func (i kindInfo) Slots(map[string]any) []string { return i.k.Slots }

func (i kindInfo) Events(cfg map[string]any) (events []string) {
	if i.k.EventsFor == nil {
		return i.k.Events
	}
	// A kind's EventsFor sees user config before Build has checked it.
	defer func() {
		if recover() != nil {
			events = nil
		}
	}()
	return i.k.EventsFor(cfg)
}

func (i kindInfo) CheckConfig(cfg map[string]any) error {
	_, err := i.k.build(cfg)
	return err
}

func (i kindInfo) BoundsCycles() bool { return i.k.Cycles }

// build calls Build, turning a panic in a kind's config parsing into an error:
// bad user config must never take the server down.
func (k *Kind) build(cfg map[string]any) (r Runner, err error) {
	defer func() {
		if p := recover(); p != nil {
			r, err = nil, fmt.Errorf("invalid config: %v", p)
		}
	}()
	if cfg == nil {
		cfg = map[string]any{}
	}
	return k.Build(cfg)
}
