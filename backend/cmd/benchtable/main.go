// Command benchtable turns `go test -bench` output of backend/bench into one
// table, with the event log's write rate as a fraction of the raw SQLite
// batched-insert rate measured in the same run, REST beside the server's
// HTTP ceiling, and replay beside REST paging; with -json it also writes
// every result as JSON (make bench: bench/results.json). A benchmark run
// more than once (cmd/wrkbench's rounds) is shown by its median, with the
// range of its rate:
//
//	go test -run '^$' -bench . -benchtime 10000x ./backend/bench/ | go run ./backend/cmd/benchtable [-json file]
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"
)

// result is one benchmark line: its name and metric → value; after
// medians, each metric's median over the runs of that name, and how many
// there were.
type result struct {
	name    string
	metrics map[string]float64
	runs    int
	// low and high are the smallest and largest of each metric over the runs.
	low, high map[string]float64
}

// medians merges the runs of each benchmark, in the order of their first
// run.
func medians(results []result) []result {
	var order []string
	runs := map[string][]map[string]float64{}
	for _, r := range results {
		if runs[r.name] == nil {
			order = append(order, r.name)
		}
		runs[r.name] = append(runs[r.name], r.metrics)
	}
	out := make([]result, 0, len(order))
	for _, name := range order {
		merged := result{name: name, metrics: map[string]float64{}, low: map[string]float64{}, high: map[string]float64{},
			runs: len(runs[name])}
		values := map[string][]float64{}
		for _, m := range runs[name] {
			for unit, v := range m {
				values[unit] = append(values[unit], v)
			}
		}
		for unit, vs := range values {
			sort.Float64s(vs)
			merged.metrics[unit] = median(vs)
			merged.low[unit], merged.high[unit] = vs[0], vs[len(vs)-1]
		}
		out = append(out, merged)
	}
	return out
}

// median of sorted values.
func median(sorted []float64) float64 {
	n := len(sorted)
	if n%2 == 1 {
		return sorted[n/2]
	}
	return (sorted[n/2-1] + sorted[n/2]) / 2
}

func parse(r io.Reader, echo io.Writer) ([]result, error) {
	var out []result
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		fmt.Fprintln(echo, line)
		fields := strings.Fields(line)
		if len(fields) < 4 || !strings.HasPrefix(fields[0], "Benchmark") {
			continue
		}
		res := result{name: strings.TrimPrefix(fields[0], "Benchmark"), metrics: map[string]float64{}}
		if i := strings.LastIndexByte(res.name, '-'); i > 0 {
			res.name = res.name[:i]
		}
		// After the iteration count come value/unit pairs.
		for i := 2; i+1 < len(fields); i += 2 {
			if v, err := strconv.ParseFloat(fields[i], 64); err == nil {
				res.metrics[fields[i+1]] = v
			}
		}
		out = append(out, res)
	}
	return out, sc.Err()
}

func main() {
	jsonOut := flag.String("json", "", "also write every result to this file as JSON")
	flag.Parse()
	runs, err := parse(os.Stdin, os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchtable:", err)
		os.Exit(1)
	}
	results := medians(runs)
	if *jsonOut != "" {
		if err := writeJSON(*jsonOut, results); err != nil {
			fmt.Fprintln(os.Stderr, "benchtable:", err)
			os.Exit(1)
		}
	}
	var raw float64
	for _, r := range results {
		if r.name == "SQLiteBatchedInsert" {
			raw = r.metrics["rows/s"]
		}
	}
	cell := func(v float64) string {
		if v == 0 {
			return "—"
		}
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	fmt.Printf("\n%-22s %10s %14s %12s %10s %11s %16s\n", "benchmark", "jobs/s", "activations/s", "events/s", "rows/s", "events/job", "events/s ÷ raw")
	for _, r := range results {
		if strings.HasPrefix(r.name, "Replay") || r.name == "EventsREST" || strings.Contains(r.name, "REST") ||
			r.name == "DatabaseSize" || r.name == "StartWith100kJobs" {
			continue // their own tables
		}
		m := r.metrics
		ratio := "—"
		if raw > 0 && m["events/s"] > 0 {
			ratio = fmt.Sprintf("%.2f", m["events/s"]/raw)
		}
		fmt.Printf("%-22s %10s %14s %12s %10s %11s %16s\n", r.name, cell(m["jobs/s"]), cell(m["activations/s"]),
			cell(m["events/s"]), cell(m["rows/s"]), cell(m["events/job"]), ratio)
	}
	printDebugger(results)
	printREST(results)
	printStorage(results)
	printReplay(results)
	fmt.Println(`
reference on this 2-core machine (storing nothing): seed 004's Python system ≈ 1,350 jobs/s
one after another and ≈ 2,700 concurrently; Node-RED ≈ 5,800 msgs/s through 10 function nodes,
≈ 14,500 through 10 change nodes. Goal: ≥ 15,000 jobs/s with every event persisted.`)
}

// metricsByName maps each benchmark's name to its metrics.
func metricsByName(results []result) map[string]map[string]float64 {
	byName := map[string]map[string]float64{}
	for _, r := range results {
		byName[r.name] = r.metrics
	}
	return byName
}

// printDebugger shows what the debugger costs: CPU per job of the chain
// with the debugger unused and with 10 never-matching breakpoints, as a
// ratio of the same chain without hooks (goals: within 3 % and 15 %), and
// the breakpoint hit latency on a /debug socket (goal: under 10 ms).
func printDebugger(results []result) {
	byName := metricsByName(results)
	base := byName["Debugger/no-hooks"]["cpu-µs/job"]
	if base == 0 {
		return
	}
	fmt.Printf("\n%-26s %12s %14s\n", "debugger", "cpu-µs/job", "÷ no hooks")
	for _, name := range []string{"Debugger/no-hooks", "Debugger/unused", "Debugger/10-conditions"} {
		v := byName[name]["cpu-µs/job"]
		fmt.Printf("%-26s %12.1f %14.3f\n", name, v, v/base)
	}
	if l := byName["BreakpointHitLatency"]; l != nil {
		fmt.Printf("breakpoint hit → /debug socket: p50 %.2f ms, p99 %.2f ms\n", l["p50-ms"], l["p99-ms"])
	}
}

// printReplay shows the replay of a stored job (~200,000 events) to one
// WebSocket client, in messages/s, beside GET /api/jobs/{id}/events paging
// the same log in the same run (goal: replay ≥ 150,000 msgs/s).
func printReplay(results []result) {
	byName := metricsByName(results)
	rest := byName["EventsREST"]["events/s"]
	if rest == 0 && byName["Replay/executions"] == nil {
		return
	}
	fmt.Printf("\n%-22s %10s %12s %14s %16s\n", "replay of a stored job", "events", "messages", "messages/s", "÷ REST events/s")
	for _, name := range []string{"Replay/executions", "Replay/monitor"} {
		m := byName[name]
		if m == nil {
			continue
		}
		ratio := "—"
		if rest > 0 {
			ratio = fmt.Sprintf("%.2f", m["msgs/s"]/rest)
		}
		fmt.Printf("%-22s %10.0f %12.0f %14.0f %16s\n", name, m["events"], m["msgs/op"], m["msgs/s"], ratio)
	}
	if rest > 0 {
		fmt.Printf("%-22s %10.0f %12s %14.0f %16s   (events/s)\n", "EventsREST", byName["EventsREST"]["events"], "—", rest, "1.00")
	}
	fmt.Println("goal: replay ≥ 150,000 msgs/s to one client (seed 000 and seed 004 job endpoints)")
}

// printREST shows the HTTP path: jobs started (and run to their end) through
// POST /api/jobs over 32 connections, beside GET /api/health in the same
// run (goals: ≥ 10,000 jobs/s started; synchronous runs ≥ 5 × Node-RED's
// 2,100 req/s of the same chain), from the Go benchmarks' in-process client
// and from wrk against the real binary (cmd/wrkbench), the method.
func printREST(results []result) {
	byName := map[string]result{}
	for _, r := range results {
		byName[r.name] = r
	}
	printed := false
	for _, client := range []struct{ prefix, title string }{
		{"REST", "REST, 32 connections"},
		{"WrkREST", "through wrk -c32 (the real binary)"},
	} {
		health := byName[client.prefix+"Health"].metrics["req/s"]
		if health == 0 {
			continue
		}
		fmt.Printf("\n%-34s %10s %12s %10s %16s %16s\n", client.title, "req/s", "cpu-µs/req", "÷ health", "÷ Node-RED 2,100", "req/s range")
		for _, name := range []string{"Health", "StartJobs", "RunJobs"} {
			r, ok := byName[client.prefix+name]
			if !ok {
				continue
			}
			m := r.metrics
			spread := "—"
			if r.runs > 1 {
				spread = fmt.Sprintf("%.0f–%.0f (%d)", r.low["req/s"], r.high["req/s"], r.runs)
			}
			fmt.Printf("%-34s %10.0f %12.1f %10.2f %16.2f %16s\n", client.prefix+name, m["req/s"], m["cpu-µs/req"],
				m["req/s"]/health, m["req/s"]/2100, spread)
		}
		printed = true
	}
	if printed {
		fmt.Println("goals: StartJobs ≥ 10,000 req/s; RunJobs (?wait=30s) ≥ 5 × Node-RED. cpu-µs/req: the server's")
		fmt.Println("(with the in-process Go client's in the REST rows; wrk's own is in bench/latest.txt). wrk rows:")
		fmt.Println("the median of their rounds, taken in turn, and the range (runs)")
	}
}

// printStorage shows the database's size per 10,000 chain jobs and the
// time a server takes to start on 100,000 stored jobs.
func printStorage(results []result) {
	for _, r := range results {
		switch r.name {
		case "DatabaseSize":
			fmt.Printf("\ndatabase size: %.1f MB per 10,000 chain jobs (every event stored)\n", r.metrics["MB/10k-jobs"])
		case "StartWith100kJobs":
			fmt.Printf("start with 100,000 stored jobs: %.1f ms\n", r.metrics["ms/start"])
		}
	}
}

// writeJSON writes the results, with when they were taken.
func writeJSON(path string, results []result) error {
	type entry struct {
		Name    string             `json:"name"`
		Metrics map[string]float64 `json:"metrics"` // medians when it ran more than once
		Runs    int                `json:"runs"`
		Low     map[string]float64 `json:"low,omitempty"`
		High    map[string]float64 `json:"high,omitempty"`
	}
	doc := struct {
		Taken   time.Time `json:"taken"`
		Results []entry   `json:"results"`
	}{Taken: time.Now().UTC()}
	for _, r := range results {
		e := entry{Name: r.name, Metrics: r.metrics, Runs: r.runs}
		if r.runs > 1 {
			e.Low, e.High = r.low, r.high
		}
		doc.Results = append(doc.Results, e)
	}
	raw, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(raw, '\n'), 0o644)
}
