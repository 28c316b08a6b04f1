package routines

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	gojaast "github.com/dop251/goja/ast"
	"github.com/dop251/goja/parser"
	"golang.org/x/sync/semaphore"
	"modernc.org/quickjs"

	"github.com/switchyard/switchyard/backend/engine"
)

const (
	scriptHeader = "var __fn = (function(data, params, shared) {\n" // the body starts on line 2
	scriptFooter = "\n});\n"
	// scriptStackSlots bounds recursion (QuickJS's port counts about one
	// slot per call) so a runaway recursive function fails with "maximum
	// call stack size exceeded" at once instead of running to the time limit.
	scriptStackSlots = 4096
	// DefaultScriptMemory is a script activation's memory budget unless its
	// config says memory_mb.
	DefaultScriptMemory = 64 << 20
)

// scriptPrelude follows the user's function in the same source. It copies
// data, params and shared in with JSON.parse (shared deep-frozen) and the
// result out with JSON.stringify, with a replacer that makes the result the
// same JSON values Go would: dates as RFC 3339 with trimmed fractions,
// undefined as null, and an error for functions, NaN, Infinity and BigInt.
const scriptPrelude = `function __freeze(o) {
	if (o !== null && typeof o === "object" && !Object.isFrozen(o)) {
		Object.freeze(o);
		Object.getOwnPropertyNames(o).forEach(function (k) { __freeze(o[k]); });
	}
	return o;
}
function __plain(k, v) {
	var o = this[k];
	if (o instanceof Date) { return o.toISOString().replace(/\.?0+Z$/, "Z"); }
	switch (typeof v) {
	case "function": throw new TypeError("a function is not a JSON value");
	case "bigint": throw new TypeError("a BigInt is not a JSON value");
	case "number": if (!isFinite(v)) { throw new TypeError(String(v) + " is not a JSON number"); } break;
	case "undefined": case "symbol": return null;
	}
	return v;
}
function __run(d, p, s) {
	var r = __fn(JSON.parse(d), JSON.parse(p), __freeze(JSON.parse(s)));
	if (typeof r === "function") {
		throw new TypeError("script returned a function; return JSON values (objects, arrays, strings, numbers, booleans, null)");
	}
	try {
		return JSON.stringify(r, __plain);
	} catch (e) {
		if (e instanceof InternalError) { throw e; }
		throw new TypeError("script returned a value that is not JSON: " + e.message);
	}
}
`

// Script memory: each activation's budget is at most scriptMemoryCap, and
// the budgets of the activations running at once add up to at most
// scriptMemoryTotal (the others wait for theirs).
var (
	scriptMemoryCap   atomic.Int64
	scriptMemoryTotal atomic.Int64
	scriptMemory      atomic.Pointer[semaphore.Weighted]
)

// The defaults: 512 MiB for one activation and for all at once. What
// QuickJS frees goes back to modernc.org/memory's allocator, which keeps
// freed regions up to the high-water mark of its mapping for reuse and
// offers no way to trim from outside, so the total is also the memory
// scripts can leave resident after a spike.
func init() { SetScriptMemory(512<<20, 512<<20) }

// SetScriptMemory sets the server-wide bounds of script memory: the largest
// budget one activation may have (config memory_mb is refused above it) and
// the sum of the budgets of the script activations running at once.
func SetScriptMemory(perActivation, total int64) {
	perActivation = max(perActivation, 1<<20)
	total = max(total, perActivation)
	scriptMemoryCap.Store(perActivation)
	scriptMemoryTotal.Store(total)
	scriptMemory.Store(semaphore.NewWeighted(total))
}

// scriptKind runs a sandboxed JavaScript function body.
//
// Scripts run in QuickJS (modernc.org/quickjs: QuickJS translated to Go, no
// cgo), each activation in a fresh runtime holding only the ECMAScript
// built-ins and a log function: no require, no console, no file, network or
// process access. The runtime has a real memory limit (memory_mb, counted by
// QuickJS's own allocator, outside the Go heap), a stack limit and an
// interrupt for the time limit and the job's cancellation. data, params and
// shared are copies made with JSON.parse, so a script cannot change the
// payload other routines see; the returned value comes back through
// JSON.stringify as JSON types (numbers are float64, objects map[string]any),
// like every other kind's output. goja, used before, has no memory limit.
func scriptKind() engine.Kind {
	return engine.Kind{
		Name:        "script",
		Description: "Runs a sandboxed JavaScript function body with data, params and shared, and emits its return value on output.",
		Slots:       []string{slotInput},
		Events:      []string{eventOutput},
		Config: []engine.ConfigField{
			{Name: "code", Type: "javascript", Required: true, Description: "Body of function(data, params, shared); its return value is emitted (as JSON values). shared is a read-only copy; log(msg) writes an info log line. No require, console, network or files."},
			{Name: "timeout_ms", Type: "number", Default: 1000, Description: "Time limit of one activation in milliseconds, 1 to 60000; the script is interrupted when it passes."},
			{Name: "memory_mb", Type: "number", Default: DefaultScriptMemory >> 20, Description: "Memory budget of one activation in MB (at most the server's script memory cap); a script that needs more fails with a MemoryError."},
		},
		Build: buildScript,
	}
}

type scriptRunner struct {
	src       string // header, body, footer and prelude
	bodyLines int    // lines 2 … bodyLines+1 are the user's
	timeout   time.Duration
	memory    int64
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
	limit := scriptMemoryCap.Load()
	mb, err := number(cfg, "memory_mb", DefaultScriptMemory>>20, false, 1, float64(limit>>20))
	if err != nil {
		return nil, err
	}
	// goja's parser checks the syntax (and keeps its messages): the body
	// must not close the wrapper function and run code of its own around it
	// ("}); …; (function() {").
	tree, err := parser.ParseFile(nil, "script", "("+strings.TrimPrefix(scriptHeader, "var __fn = (")+code+"\n})", 0)
	if err != nil {
		return nil, fmt.Errorf("config.code: %s", describeSyntaxError(err))
	}
	if !singleFunction(tree) {
		return nil, errors.New("config.code: unbalanced braces: the code closes the function body early")
	}
	return &scriptRunner{
		src:       scriptHeader + code + scriptFooter + scriptPrelude,
		bodyLines: strings.Count(code, "\n") + 1,
		timeout:   time.Duration(ms * float64(time.Millisecond)),
		memory:    int64(mb) << 20,
	}, nil
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

func (s *scriptRunner) Run(ctx context.Context, a *engine.Activation) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	budget := min(s.memory, scriptMemoryCap.Load())
	sem := scriptMemory.Load()
	if err := sem.Acquire(ctx, budget); err != nil {
		return err
	}
	defer sem.Release(budget)

	vm, err := quickjs.NewVM()
	if err != nil {
		return &Error{Name: "ScriptError", Err: fmt.Errorf("script: start the JavaScript runtime: %w", err)}
	}
	defer vm.Close()
	vm.SetMemoryLimit(uintptr(budget))
	vm.SetMaxStackSize(scriptStackSlots)
	vm.SetEvalTimeout(s.timeout) // re-armed by each Eval and Call: the two below share it
	started := time.Now()

	// Interrupt on cancel; the watcher ends with Run. An interrupt asked for
	// between two calls is dropped by the next one, so it is repeated.
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-done:
			return
		case <-ctx.Done():
		}
		tk := time.NewTicker(5 * time.Millisecond)
		defer tk.Stop()
		for {
			vm.Interrupt()
			select {
			case <-done:
				return
			case <-tk.C:
			}
		}
	}()

	out, err := s.call(vm, a)
	if err != nil {
		return s.describeRunError(ctx, err, budget, time.Since(started))
	}
	return a.Emit(ctx, eventOutput, out)
}

func (s *scriptRunner) call(vm *quickjs.VM, a *engine.Activation) (any, error) {
	if err := vm.RegisterHostFunc("log", func(args []any) (any, error) {
		parts := make([]string, len(args))
		for i, arg := range args {
			parts[i] = jsText(arg)
		}
		a.Log("info", strings.Join(parts, " "))
		return quickjs.Undefined{}, nil
	}); err != nil {
		return nil, err
	}
	env := a.Env()
	data, err := jsonText(a.Data)
	if err != nil {
		return nil, fmt.Errorf("script: data: %w", err)
	}
	params, err := jsonText(a.Params())
	if err != nil {
		return nil, fmt.Errorf("script: params: %w", err)
	}
	shared, err := jsonText(env["shared"])
	if err != nil {
		return nil, fmt.Errorf("script: shared: %w", err)
	}
	if _, err := vm.Eval(s.src, quickjs.EvalGlobal); err != nil {
		return nil, err
	}
	res, err := vm.Call("__run", data, params, shared)
	if err != nil {
		return nil, err
	}
	text, ok := res.(string)
	if !ok {
		return nil, nil // undefined
	}
	var out any
	if err := json.Unmarshal([]byte(text), &out); err != nil {
		return nil, &Error{Name: "TypeError", Err: fmt.Errorf("script returned a value that is not JSON: %v", err)}
	}
	return out, nil
}

func jsonText(v any) (string, error) {
	b, err := json.Marshal(v)
	return string(b), err
}

// frameLine finds "<eval>:line:col" in a stack frame.
var frameLine = regexp.MustCompile(`<eval>:(\d+)(?::(\d+))?`)

// describeRunError turns QuickJS's errors into activation errors.
func (s *scriptRunner) describeRunError(ctx context.Context, err error, budget int64, ran time.Duration) error {
	var ex *quickjs.Error
	if !errors.As(err, &ex) {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return &Error{Name: "ScriptError", Err: err}
	}
	name, msg := ex.Name, ex.Message
	if name == "" && msg == "" {
		msg = ex.Error() // a thrown value that is not an Error
	}
	if name == "InternalError" {
		switch {
		case msg == "interrupted":
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return &Error{Name: "TimeoutError", Err: fmt.Errorf("script timed out after %s", s.timeout)}
		case msg == "out of memory":
			return &Error{Name: "MemoryError", Err: fmt.Errorf("script exceeded its memory budget of %s (config memory_mb)", mbText(budget))}
		case strings.Contains(msg, "stack overflow"):
			return &Error{Name: "RangeError", Err: errors.New("script: maximum call stack size exceeded")}
		}
	}
	if name == "" {
		name = "Error"
	} else if msg != "" {
		msg = name + ": " + msg
	} else {
		msg = name
	}
	where := ""
	for _, frame := range strings.Split(ex.Stack, "\n") {
		m := frameLine.FindStringSubmatch(frame)
		if m == nil {
			continue
		}
		line, _ := strconv.Atoi(m[1])
		if line >= 2 && line <= s.bodyLines+1 {
			where = fmt.Sprintf(" (line %d", line-1)
			if m[2] != "" {
				where += ":" + m[2]
			}
			where += ")"
			break
		}
	}
	return &Error{Name: name, Err: fmt.Errorf("%s%s", msg, where)}
}

func mbText(n int64) string {
	if n%(1<<20) == 0 {
		return fmt.Sprintf("%d MB", n>>20)
	}
	return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
}

// jsText renders a log argument: strings as they are, other values as JSON.
func jsText(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case quickjs.Undefined:
		return "undefined"
	case *quickjs.Object:
		return v.String()
	case nil:
		return "null"
	}
	if b, err := json.Marshal(v); err == nil {
		return string(b)
	}
	return fmt.Sprint(v)
}
