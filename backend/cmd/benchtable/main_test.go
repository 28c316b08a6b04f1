package main

import (
	"io"
	"strings"
	"testing"
)

// TestRepeatedRunsAreMergedIntoTheirMedian feeds benchtable what
// cmd/wrkbench prints for two rounds of two benchmarks (and one Go
// benchmark run once) and checks each comes out once, in the order of its
// first run, with the median and range of every metric.
func TestRepeatedRunsAreMergedIntoTheirMedian(t *testing.T) {
	out := `goos: linux
BenchmarkChain-2 10000 15000 jobs/s
BenchmarkWrkRESTHealth 1 60000 req/s 16.0 cpu-µs/req
BenchmarkWrkRESTStartJobs 1 9000 req/s 150.0 cpu-µs/req
BenchmarkWrkRESTHealth 1 50000 req/s 18.0 cpu-µs/req
BenchmarkWrkRESTStartJobs 1 11000 req/s 130.0 cpu-µs/req
BenchmarkWrkRESTHealth 1 64000 req/s 15.0 cpu-µs/req
BenchmarkWrkRESTStartJobs 1 10000 req/s 140.0 cpu-µs/req
BenchmarkWrkRESTStartJobs 1 12000 req/s 120.0 cpu-µs/req
`
	runs, err := parse(strings.NewReader(out), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	got := medians(runs)
	want := []struct {
		name      string
		runs      int
		rate, cpu float64
		low, high float64
	}{
		{"Chain", 1, 0, 0, 0, 0},
		{"WrkRESTHealth", 3, 60000, 16, 50000, 64000},
		{"WrkRESTStartJobs", 4, 10500, 135, 9000, 12000},
	}
	if len(got) != len(want) {
		t.Fatalf("%d results, want %d: %+v", len(got), len(want), got)
	}
	for i, w := range want {
		g := got[i]
		if g.name != w.name || g.runs != w.runs {
			t.Errorf("result %d: %s × %d, want %s × %d", i, g.name, g.runs, w.name, w.runs)
			continue
		}
		if w.name == "Chain" {
			if g.metrics["jobs/s"] != 15000 {
				t.Errorf("Chain: %v jobs/s, want 15000", g.metrics["jobs/s"])
			}
			continue
		}
		if g.metrics["req/s"] != w.rate || g.metrics["cpu-µs/req"] != w.cpu || g.low["req/s"] != w.low || g.high["req/s"] != w.high {
			t.Errorf("%s: median %v req/s, %v cpu-µs/req, range %v–%v; want %v, %v, %v–%v", w.name,
				g.metrics["req/s"], g.metrics["cpu-µs/req"], g.low["req/s"], g.high["req/s"], w.rate, w.cpu, w.low, w.high)
		}
	}
}
