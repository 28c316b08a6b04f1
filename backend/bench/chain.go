package bench

import (
	"fmt"
	"strings"
)

// ChainYAML is the benchmarks' flow: input → t1 … t10 (transform, each
// adding 1 to value) → output, 37 events per job. The in-process
// benchmarks, the REST ones and cmd/wrkbench all run it.
func ChainYAML() string {
	var b strings.Builder
	b.WriteString("flow_id: chain\nroutines:\n  start: {kind: input}\n  done: {kind: output}\n")
	for i := 1; i <= 10; i++ {
		fmt.Fprintf(&b, "  t%d: {kind: transform, config: {expr: \"{value: data.value + 1}\"}}\n", i)
	}
	b.WriteString("connections:\n  - {from: start.output, to: t1.input}\n")
	for i := 1; i < 10; i++ {
		fmt.Fprintf(&b, "  - {from: t%d.output, to: t%d.input}\n", i, i+1)
	}
	b.WriteString("  - {from: t10.output, to: done.input}\n")
	return b.String()
}
