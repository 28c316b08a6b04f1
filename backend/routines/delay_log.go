package routines

import (
	"context"
	"fmt"
	"time"

	"github.com/switchyard/switchyard/backend/engine"
)

const maxDelayMS = 24 * 60 * 60 * 1000

// delayKind waits, then emits the payload unchanged. Cancelling the job (or
// its timeout) ends the wait at once.
func delayKind() engine.Kind {
	return engine.Kind{
		Name:        "delay",
		Description: "Waits ms milliseconds, then emits the payload unchanged on output; cancel ends the wait at once.",
		Slots:       []string{slotInput},
		Events:      []string{eventOutput},
		Config: []engine.ConfigField{
			{Name: "ms", Type: "number", Required: true, Description: "Milliseconds to wait, 0 to 86400000 (24 h)."},
		},
		Build: func(cfg map[string]any) (engine.Runner, error) {
			ms, err := number(cfg, "ms", 0, true, 0, maxDelayMS)
			if err != nil {
				return nil, err
			}
			d := time.Duration(ms * float64(time.Millisecond))
			return emitter(func(ctx context.Context, a *engine.Activation) (any, error) {
				if d > 0 {
					t := time.NewTimer(d)
					defer t.Stop()
					select {
					case <-t.C:
					case <-ctx.Done():
						return nil, ctx.Err()
					}
				}
				return a.Data, nil
			}), nil
		},
	}
}

// logKind writes a log line rendered from a template and passes the payload on.
func logKind() engine.Kind {
	return engine.Kind{
		Name:        "log",
		Description: "Writes a log line rendered from a template at a level, then emits the payload unchanged on output.",
		Slots:       []string{slotInput},
		Events:      []string{eventOutput},
		Config: []engine.ConfigField{
			{Name: "level", Type: "string", Default: "info", Description: "One of debug, info, warning, error."},
			{Name: "message", Type: "template", Default: "{{ data }}", Description: `Text with {{ expr }} segments, e.g. "order {{ data.id }} total {{ data.total }}"; non-string results are written as JSON.`},
		},
		Build: func(cfg map[string]any) (engine.Runner, error) {
			level, err := optEnum(cfg, "level", "info", "debug", "info", "warning", "error")
			if err != nil {
				return nil, err
			}
			msg, err := optString(cfg, "message", "{{ data }}")
			if err != nil {
				return nil, err
			}
			tmpl, err := ParseTemplate(msg)
			if err != nil {
				return nil, fmt.Errorf("config.message: %w", err)
			}
			return emitter(func(_ context.Context, a *engine.Activation) (any, error) {
				text, err := tmpl.Render(a.Env())
				if err != nil {
					return nil, err
				}
				a.Log(level, text)
				return a.Data, nil
			}), nil
		},
	}
}
