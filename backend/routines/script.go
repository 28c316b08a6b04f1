package routines

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/dop251/goja"
	gojaast "github.com/dop251/goja/ast"
	"github.com/dop251/goja/parser"

	"github.com/switchyard/switchyard/backend/engine"
)

const (
	scriptHeader = "(function(data, params, shared) {\n" // the body starts on line 2
	scriptFooter = "\n})"
	// maxScriptCallDepth bounds recursion so a runaway recursive function
	// fails with "maximum call stack size exceeded" instead of eating memory
	// until the time limit.
	maxScriptCallDepth = 2048
)

// deepFreeze makes shared visibly read-only inside scripts: assignments
// to it are ignored (or throw in strict mode).
var deepFreeze = goja.MustCompile("freeze", `(function freeze(o) {
	if (o !== null && typeof o === "object" && !Object.isFrozen(o)) {
		Object.freeze(o);
		Object.getOwnPropertyNames(o).forEach(function (k) { freeze(o[k]); });
	}
	return o;
})`, true)

// scriptKind runs a sandboxed JavaScript function body.
//
// Each activation gets a fresh goja runtime holding only the ECMAScript
// built-ins and a log function: no require, no console, no file, network
// or process access. data, params and shared are copies made with
// JSON.parse, so a script cannot change the payload other routines see.
// The runtime is interrupted when the time limit passes or the job's
// context is cancelled. The returned value is normalised to JSON types
// (numbers are float64, objects map[string]any), like every other kind's
// output. goja has no memory limit: the time limit is the only bound on
// what a script allocates.
func scriptKind() engine.Kind {
	return engine.Kind{
		Name:        "script",
		Description: "Runs a sandboxed JavaScript function body with data, params and shared, and emits its return value on output.",
		Slots:       []string{slotInput},
		Events:      []string{eventOutput},
		Config: []engine.ConfigField{
			{Name: "code", Type: "javascript", Required: true, Description: "Body of function(data, params, shared); its return value is emitted (as JSON values). shared is a read-only copy; log(msg) writes an info log line. No require, console, network or files."},
			{Name: "timeout_ms", Type: "number", Default: 1000, Description: "Time limit of one activation in milliseconds, 1 to 60000; the script is interrupted when it passes."},
		},
		Build: buildScript,
	}
}

type scriptRunner struct {
	prog    *goja.Program
	timeout time.Duration
}

func buildScript(cfg map[string]any) (engine.Runner, error) {
	code, err := reqString(cfg, "code")
	if err != nil {
		return nil, err
	}
	ms, err := number(cfg, "timeout_ms", 1000, false, 1, 60000)
	if err != nil {
		return nil, err
	}
	src := scriptHeader + code + scriptFooter
	tree, err := parser.ParseFile(nil, "script", src, 0)
	if err != nil {
		return nil, fmt.Errorf("config.code: %s", describeSyntaxError(err))
	}
	// The body must not close the wrapper function and run code of its
	// own around it ("}); …; (function() {").
	if !singleFunction(tree) {
		return nil, errors.New("config.code: unbalanced braces: the code closes the function body early")
	}
	prog, err := goja.CompileAST(tree, false)
	if err != nil {
		return nil, fmt.Errorf("config.code: %s", describeSyntaxError(err))
	}
	return &scriptRunner{prog: prog, timeout: time.Duration(ms * float64(time.Millisecond))}, nil
}

// singleFunction reports whether the wrapped source is still exactly one
// function expression.
func singleFunction(tree *gojaast.Program) bool {
	if len(tree.Body) != 1 {
		return false
	}
	st, ok := tree.Body[0].(*gojaast.ExpressionStatement)
	if !ok {
		return false
	}
	_, ok = st.Expression.(*gojaast.FunctionLiteral)
	return ok
}

// describeSyntaxError renders goja's parse errors with line numbers of the
// body as the user wrote it.
func describeSyntaxError(err error) string {
	var list parser.ErrorList
	if errors.As(err, &list) && len(list) > 0 {
		e := list[0]
		return fmt.Sprintf("syntax error at line %d:%d: %s", max(e.Position.Line-1, 1), e.Position.Column, e.Message)
	}
	var one *parser.Error
	if errors.As(err, &one) {
		return fmt.Sprintf("syntax error at line %d:%d: %s", max(one.Position.Line-1, 1), one.Position.Column, one.Message)
	}
	return "syntax error: " + firstLine(err.Error())
}

// errScriptTimeout is the interrupt value of an expired time limit.
var errScriptTimeout = errors.New("script time limit")

func (s *scriptRunner) Run(ctx context.Context, a *engine.Activation) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	vm := goja.New()
	vm.SetMaxCallStackSize(maxScriptCallDepth)

	// Interrupt on time limit and on cancel; the watcher ends with Run.
	done := make(chan struct{})
	defer close(done)
	go func() {
		t := time.NewTimer(s.timeout)
		defer t.Stop()
		select {
		case <-done:
		case <-ctx.Done():
			vm.Interrupt(ctx.Err())
		case <-t.C:
			vm.Interrupt(errScriptTimeout)
		}
	}()

	out, err := s.call(vm, a)
	if err != nil {
		return s.describeRunError(ctx, err)
	}
	return a.Emit(ctx, eventOutput, out)
}

func (s *scriptRunner) call(vm *goja.Runtime, a *engine.Activation) (any, error) {
	if err := vm.Set("log", func(call goja.FunctionCall) goja.Value {
		parts := make([]string, len(call.Arguments))
		for i, arg := range call.Arguments {
			parts[i] = jsText(arg)
		}
		a.Log("info", strings.Join(parts, " "))
		return goja.Undefined()
	}); err != nil {
		return nil, err
	}
	env := a.Env()
	data, err := jsCopy(vm, a.Data)
	if err != nil {
		return nil, fmt.Errorf("script: data: %w", err)
	}
	params, err := jsCopy(vm, a.Params())
	if err != nil {
		return nil, fmt.Errorf("script: params: %w", err)
	}
	shared, err := jsCopy(vm, env["shared"])
	if err != nil {
		return nil, fmt.Errorf("script: shared: %w", err)
	}
	freezeV, err := vm.RunProgram(deepFreeze)
	if err != nil {
		return nil, err
	}
	freeze, _ := goja.AssertFunction(freezeV)
	if shared, err = freeze(goja.Undefined(), shared); err != nil {
		return nil, err
	}
	fnV, err := vm.RunProgram(s.prog)
	if err != nil {
		return nil, err
	}
	fn, ok := goja.AssertFunction(fnV)
	if !ok {
		return nil, errors.New("script: the code did not compile to a function")
	}
	res, err := fn(goja.Undefined(), data, params, shared)
	if err != nil {
		return nil, err
	}
	return jsonValue(res)
}

// describeRunError turns goja's errors into activation errors.
func (s *scriptRunner) describeRunError(ctx context.Context, err error) error {
	var intr *goja.InterruptedError
	if errors.As(err, &intr) {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return &Error{Name: "TimeoutError", Err: fmt.Errorf("script timed out after %s", s.timeout)}
	}
	var so *goja.StackOverflowError
	if errors.As(err, &so) {
		return &Error{Name: "RangeError", Err: errors.New("script: maximum call stack size exceeded")}
	}
	var ex *goja.Exception
	if errors.As(err, &ex) {
		name, msg := "Error", ex.Value().String()
		if obj, ok := ex.Value().(*goja.Object); ok {
			if n := obj.Get("name"); n != nil && !goja.IsUndefined(n) && n.String() != "" {
				name = n.String()
			}
		}
		where := ""
		for _, f := range ex.Stack() {
			if p := f.Position(); p.Filename == "script" && p.Line > 1 {
				where = fmt.Sprintf(" (line %d:%d)", p.Line-1, p.Column)
				break
			}
		}
		return &Error{Name: name, Err: fmt.Errorf("%s%s", msg, where)}
	}
	return &Error{Name: "ScriptError", Err: err}
}

// jsCopy builds a native JavaScript copy of a JSON-like Go value.
func jsCopy(vm *goja.Runtime, v any) (goja.Value, error) {
	if v == nil {
		return goja.Null(), nil
	}
	js, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	parse, _ := goja.AssertFunction(vm.Get("JSON").ToObject(vm).Get("parse"))
	return parse(goja.Undefined(), vm.ToValue(string(js)))
}

// jsonValue exports a script's result as JSON types (round trip through
// encoding/json), so it matches what every other kind emits.
func jsonValue(v goja.Value) (any, error) {
	if v == nil || goja.IsUndefined(v) || goja.IsNull(v) {
		return nil, nil
	}
	if _, isFn := goja.AssertFunction(v); isFn {
		return nil, &Error{Name: "TypeError", Err: errors.New("script returned a function; return JSON values (objects, arrays, strings, numbers, booleans, null)")}
	}
	b, err := json.Marshal(v.Export())
	if err != nil {
		return nil, &Error{Name: "TypeError", Err: fmt.Errorf("script returned a value that is not JSON: %s", strings.TrimPrefix(err.Error(), "json: "))}
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// jsText renders a log argument: strings as they are, other values as JSON.
func jsText(v goja.Value) string {
	if v == nil || goja.IsUndefined(v) {
		return "undefined"
	}
	if s, ok := v.Export().(string); ok {
		return s
	}
	if b, err := json.Marshal(v.Export()); err == nil {
		return string(b)
	}
	return v.String()
}
