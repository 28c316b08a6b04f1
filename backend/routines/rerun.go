package routines

import "github.com/switchyard/switchyard/backend/engine"

// idempotent marks kinds with effects outside the job (an HTTP call, a
// script): an activation a crash interrupted runs again after the restart
// only if its routine says that is safe, with `idempotent: true`; otherwise
// it fails as interrupted and the routine's error policy applies
// (docs/durability.md).
func idempotent(k engine.Kind) engine.Kind {
	k.Config = append(k.Config, engine.ConfigField{
		Name: "idempotent", Type: "boolean", Default: false,
		Description: "Safe to run again: after a crash that interrupted an activation, it runs again instead of failing as interrupted.",
	})
	build := k.Build
	k.Build = func(cfg map[string]any) (engine.Runner, error) {
		if _, err := optBool(cfg, "idempotent", false); err != nil {
			return nil, err
		}
		return build(cfg)
	}
	k.RerunSafe = func(cfg map[string]any) bool {
		on, _ := optBool(cfg, "idempotent", false)
		return on
	}
	return k
}
