package routines

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/builtin"
	"github.com/expr-lang/expr/parser"
	"github.com/expr-lang/expr/vm"
	"github.com/expr-lang/expr/vm/runtime"
)

// ScopeNames are the variables every expression sees (engine.Activation.Env).
var ScopeNames = []string{"data", "job", "routine", "slot", "shared"}

// Expression is an expr-lang expression compiled once, run per activation
// against the activation's scope.
//
// It is compiled without expr.Env: the shape of data, params and shared is
// only known at run time, and a typed environment would reject
// "data.value" because the compiler cannot know data has a field value.
// Without an environment expr does not check names at all, so Compile
// checks the top-level names itself: a misspelt "dta.value" is a compile
// error instead of a silent nil at run time. expr.AllowUndefinedVariables
// is therefore not needed: the five scope variables are always defined.
type Expression struct {
	src  string
	prog *vm.Program
	// budgeted is set when the expression has a "+" or a predicate (the
	// body of map, filter, reduce…): it then runs with a budget for the
	// strings "+" builds, and its predicates stop once the context is done.
	budgeted bool
}

// CompileExpression compiles src and checks that it only refers to the
// scope's variables, variables it declares with let, and functions.
func CompileExpression(src string) (*Expression, error) {
	if strings.TrimSpace(src) == "" {
		return nil, errors.New("expression is empty")
	}
	p := &budgetPatcher{}
	prog, err := expr.Compile(src, expr.Patch(p),
		expr.Function(boundedAddName, boundedAdd), expr.Function(checkpointName, checkpoint), expr.Function(chargeName, charge))
	if err != nil {
		return nil, errors.New(firstLine(err.Error()))
	}
	if err := checkNames(src); err != nil {
		return nil, err
	}
	return &Expression{src: src, prog: prog, budgeted: p.found}, nil
}

// ConcatBudget bounds the bytes of strings that "+" and the string-building
// builtins (replace, join, toJSON, toBase64, repeat, string) may build in
// one evaluation: expr's own memory budget counts the ranges, maps and lists
// it builds (concat, flatten, map and list literals included: a doubling
// reduce(1..27, concat(#acc, #acc), [1]) stops near a million elements),
// but not strings, and reduce(1..27, #acc + #acc, "…") or
// reduce(1..30, replace(#acc, "x", "xx"), "x") doubles one to gigabytes.
const ConcatBudget = 16 << 20

// growing are the builtins whose string result can be larger than their
// arguments; their results are charged to the budget (unless a result is
// equal to one of the arguments, as string() of a string is).
var growing = map[string]bool{"replace": true, "join": true, "toJSON": true, "toBase64": true, "repeat": true, "string": true}

const (
	boundedAddName = "$add"
	checkpointName = "$checkpoint"
	chargeName     = "$charge"
	budgetVar      = "$budget"
)

// budgetPatcher turns every "+" into a call of boundedAdd, and wraps every
// predicate body in a call of checkpoint, both given the run's budget (an
// environment variable the user cannot name: "$…" is not an identifier of
// the language).
type budgetPatcher struct{ found bool }

func (p *budgetPatcher) Visit(node *ast.Node) {
	budget := &ast.IdentifierNode{Value: budgetVar}
	switch n := (*node).(type) {
	case *ast.BinaryNode:
		if n.Operator != "+" {
			return
		}
		p.found = true
		ast.Patch(node, &ast.CallNode{
			Callee:    &ast.IdentifierNode{Value: boundedAddName},
			Arguments: []ast.Node{budget, n.Left, n.Right},
		})
	case *ast.PredicateNode:
		p.found = true
		n.Node = &ast.CallNode{Callee: &ast.IdentifierNode{Value: checkpointName}, Arguments: []ast.Node{budget, n.Node}}
	case *ast.BuiltinNode:
		if !growing[n.Name] {
			return
		}
		p.found = true
		ast.Patch(node, &ast.CallNode{
			Callee:    &ast.IdentifierNode{Value: chargeName},
			Arguments: append([]ast.Node{budget, &ast.StringNode{Value: n.Name}}, n.Arguments...),
		})
	}
}

// charge calls the string-building builtin args[1] with args[2:] and charges
// the string it returns to the evaluation's budget, unless it is one of the
// arguments (nothing grew).
func charge(args ...any) (out any, err error) {
	b, _ := args[0].(*budget)
	name, _ := args[1].(string)
	in := args[2:]
	i, ok := builtin.Index[name]
	if !ok {
		return nil, fmt.Errorf("unknown function %s", name)
	}
	fn := builtin.Builtins[i]
	defer func() {
		if r := recover(); r != nil {
			out, err = nil, fmt.Errorf("%s: %v", name, r)
		}
	}()
	switch {
	case fn.Fast != nil && len(in) == 1:
		out = fn.Fast(in[0])
	case fn.Func != nil:
		out, err = fn.Func(in...)
	case fn.Safe != nil:
		out, _, err = fn.Safe(in...)
	default:
		return nil, fmt.Errorf("%s: invalid number of arguments (%d)", name, len(in))
	}
	if err != nil {
		return nil, err
	}
	if s, ok := out.(string); ok && b != nil {
		if !isArgument(s, in) {
			if b.left -= len(s); b.left < 0 {
				return nil, fmt.Errorf("memory budget exceeded: strings built (%s among them) more than %d MB", name, ConcatBudget>>20)
			}
		}
	}
	return out, nil
}

// isArgument reports whether s equals one of the string arguments (a copy
// of an argument is not growth: string(data) of a string data).
func isArgument(s string, args []any) bool {
	for _, a := range args {
		if x, ok := a.(string); ok && x == s {
			return true
		}
	}
	return false
}

// budget is what one evaluation may still do: bytes "+" may build, and the
// context and time limit that end it.
type budget struct {
	left     int
	ctx      context.Context
	deadline time.Time // zero: none
	limit    time.Duration
	ticks    uint
}

// checkpoint passes a predicate's result through, and ends the evaluation
// once its context is done or its time is up (checked every 1,024
// predicate calls: the language has no loops, so predicates are where a
// long run spends its time).
func checkpoint(args ...any) (any, error) {
	b, _ := args[0].(*budget)
	if b == nil {
		return args[1], nil
	}
	if b.ticks++; b.ticks%1024 != 0 {
		return args[1], nil
	}
	if err := b.ctx.Err(); err != nil {
		return nil, fmt.Errorf("stopped: %w", err)
	}
	if !b.deadline.IsZero() && time.Now().After(b.deadline) {
		return nil, fmt.Errorf("timed out after %s", b.limit)
	}
	return args[1], nil
}

// boundedAdd is expr's "+", charging the strings it builds to the
// evaluation's budget (expr has no list concatenation).
func boundedAdd(args ...any) (any, error) {
	b, _ := args[0].(*budget)
	x, y := args[1], args[2]
	xs, xok := x.(string)
	ys, yok := y.(string)
	if xok && yok && b != nil {
		if b.left -= len(xs) + len(ys); b.left < 0 {
			return nil, fmt.Errorf("memory budget exceeded: \"+\" built more than %d MB", ConcatBudget>>20)
		}
	}
	return runtime.Add(x, y), nil
}

// CompileCondition compiles src as CompileExpression does, and also refuses
// an expression whose result the compiler can tell is not a boolean
// (e.g. "1 + 2"); one whose type depends on the data is checked when it runs.
func CompileCondition(src string) (*Expression, error) {
	e, err := CompileExpression(src)
	if err != nil {
		return nil, err
	}
	// Type-checked unpatched: a patched "+" is a call whose type is unknown.
	if _, err := expr.Compile(src, expr.AsBool()); err != nil {
		return nil, errors.New(firstLine(err.Error()))
	}
	return e, nil
}

// String returns the expression's source.
func (e *Expression) String() string { return e.src }

// Eval runs the expression against env (see engine.Activation.Env).
// Failures are ExpressionErrors that quote the expression.
func (e *Expression) Eval(env map[string]any) (any, error) {
	return e.EvalBounded(context.Background(), 0, env)
}

// EvalBounded is Eval that stops with an error soon after ctx is done or,
// with limit > 0, once it has run that long.
func (e *Expression) EvalBounded(ctx context.Context, limit time.Duration, env map[string]any) (any, error) {
	if e.budgeted {
		b := &budget{left: ConcatBudget, ctx: ctx, limit: limit}
		if limit > 0 {
			b.deadline = time.Now().Add(limit)
		}
		env[budgetVar] = b
		defer delete(env, budgetVar)
	}
	machine := vms.Get().(*vm.VM)
	out, err := machine.Run(e.prog, env)
	vms.Put(machine)
	if err != nil {
		return nil, &Error{Name: "ExpressionError", Err: fmt.Errorf("expression %q: %s", clip(e.src, 80), firstLine(err.Error()))}
	}
	return out, nil
}

// vms recycles expression VMs: a VM's stack is reused across runs instead
// of being allocated for every activation.
var vms = sync.Pool{New: func() any { return new(vm.VM) }}

// nameChecker collects identifiers that are neither in scope nor declared.
type nameChecker struct {
	declared map[string]bool
	callees  map[ast.Node]bool
	unknown  []*ast.IdentifierNode
}

func (c *nameChecker) Visit(node *ast.Node) {
	switch n := (*node).(type) {
	case *ast.VariableDeclaratorNode:
		c.declared[n.Name] = true
	case *ast.CallNode:
		c.callees[n.Callee] = true
	case *ast.IdentifierNode:
		c.unknown = append(c.unknown, n)
	}
}

func checkNames(src string) error {
	tree, err := parser.Parse(src)
	if err != nil {
		return errors.New(firstLine(err.Error()))
	}
	c := &nameChecker{declared: map[string]bool{}, callees: map[ast.Node]bool{}}
	ast.Walk(&tree.Node, c)
	inScope := map[string]bool{"$env": true}
	for _, n := range ScopeNames {
		inScope[n] = true
	}
	// Walk visits children before parents, so callees and declarations are
	// only complete once the walk is over.
	for _, id := range c.unknown {
		line, col := position(src, id.Location().From)
		if c.callees[id] {
			if _, ok := builtin.Index[id.Value]; ok || inScope[id.Value] || c.declared[id.Value] {
				continue
			}
			return fmt.Errorf("unknown function %s (%d:%d)", id.Value, line, col)
		}
		if inScope[id.Value] || c.declared[id.Value] {
			continue
		}
		names := append([]string(nil), ScopeNames...)
		sort.Strings(names)
		return fmt.Errorf("unknown name %s (%d:%d); in scope: %s", id.Value, line, col, strings.Join(names, ", "))
	}
	return nil
}

// position turns a rune offset into a 1-based line and column.
func position(src string, offset int) (line, col int) {
	line, col = 1, 1
	i := 0
	for _, r := range src {
		if i == offset {
			break
		}
		if r == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
		i++
	}
	return line, col
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return strings.TrimSpace(s[:i])
	}
	return s
}

// clip shortens s for error messages.
func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}

// compileConfigExpr compiles a config key holding an expression, naming the
// key in errors.
func compileConfigExpr(cfg map[string]any, key, def string, required bool) (*Expression, error) {
	var (
		src string
		err error
	)
	if required {
		src, err = reqString(cfg, key)
	} else {
		src, err = optString(cfg, key, def)
		if err == nil && strings.TrimSpace(src) == "" {
			src = def
		}
	}
	if err != nil {
		return nil, err
	}
	e, err := CompileExpression(src)
	if err != nil {
		return nil, fmt.Errorf("config.%s: %w", key, err)
	}
	return e, nil
}
