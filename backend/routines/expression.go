package routines

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"

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
	// concat is set when the expression has a "+": it then runs with a
	// budget for the strings and lists "+" builds (see boundedAdd).
	concat bool
}

// CompileExpression compiles src and checks that it only refers to the
// scope's variables, variables it declares with let, and functions.
func CompileExpression(src string) (*Expression, error) {
	if strings.TrimSpace(src) == "" {
		return nil, errors.New("expression is empty")
	}
	add := &addPatcher{}
	prog, err := expr.Compile(src, expr.Patch(add), expr.Function(boundedAddName, boundedAdd))
	if err != nil {
		return nil, errors.New(firstLine(err.Error()))
	}
	if err := checkNames(src); err != nil {
		return nil, err
	}
	return &Expression{src: src, prog: prog, concat: add.found}, nil
}

// ConcatBudget bounds the bytes that "+" may build in one evaluation:
// expr's own memory budget counts ranges, maps and lists it builds, but not
// string concatenation, and reduce(1..27, #acc + #acc, "…") doubles a string to
// gigabytes.
const ConcatBudget = 16 << 20

const (
	boundedAddName = "$add"
	budgetVar      = "$concatBudget"
)

// addPatcher turns every "+" into a call of boundedAdd with the run's
// budget (an environment variable the user cannot name: "$…" is not an
// identifier of the language).
type addPatcher struct{ found bool }

func (p *addPatcher) Visit(node *ast.Node) {
	b, ok := (*node).(*ast.BinaryNode)
	if !ok || b.Operator != "+" {
		return
	}
	p.found = true
	ast.Patch(node, &ast.CallNode{
		Callee:    &ast.IdentifierNode{Value: boundedAddName},
		Arguments: []ast.Node{&ast.IdentifierNode{Value: budgetVar}, b.Left, b.Right},
	})
}

// concatBudget is what is left of ConcatBudget in one evaluation.
type concatBudget struct{ left int }

// boundedAdd is expr's "+", charging the strings it builds to the
// evaluation's budget (expr has no list concatenation).
func boundedAdd(args ...any) (any, error) {
	budget, _ := args[0].(*concatBudget)
	x, y := args[1], args[2]
	xs, xok := x.(string)
	ys, yok := y.(string)
	if xok && yok && budget != nil {
		if budget.left -= len(xs) + len(ys); budget.left < 0 {
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
	if e.concat {
		env[budgetVar] = &concatBudget{left: ConcatBudget}
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
