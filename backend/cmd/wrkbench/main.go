// Command wrkbench measures the REST path the way an outside load generator
// sees it: the real binary on a fresh data directory, and wrk with 32
// connections for 5 s (on the same cores) against GET /api/health, POST
// /api/jobs of the 10-routine chain, and POST /api/jobs?wait=30s, in three
// rounds (this machine's speed drifts by ±15 % from minute to minute; the
// rounds spread that over all three, and cmd/benchtable shows each one's
// median). It prints one line per run in the Go benchmark format:
//
//	BenchmarkWrkRESTStartJobs 1 9600 req/s 151.0 cpu-µs/req 16.3 wrk-cpu-µs/req
//
// where cpu-µs/req is the server's CPU time per request (from
// /proc/PID/stat) and wrk-cpu-µs/req wrk's own. Without wrk installed
// (apt-get install -y wrk) it says so and exits 0.
//
//	go run ./backend/cmd/wrkbench [-bin bin/switchyard] [-duration 5s] [-connections 32] [-rounds 3]
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/switchyard/switchyard/backend/bench"
)

func main() {
	bin := flag.String("bin", "bin/switchyard", "the server binary to measure")
	duration := flag.Duration("duration", 5*time.Second, "how long wrk loads each endpoint")
	connections := flag.Int("connections", 32, "wrk connections (-c)")
	rounds := flag.Int("rounds", 3, "how many times each endpoint is measured, in turn")
	flag.Parse()
	if _, err := exec.LookPath("wrk"); err != nil {
		fmt.Fprintln(os.Stderr, "wrkbench: wrk is not installed (apt-get install -y wrk): REST through wrk skipped")
		return
	}
	if err := run(*bin, *duration, *connections, *rounds); err != nil {
		fmt.Fprintln(os.Stderr, "wrkbench:", err)
		os.Exit(1)
	}
}

// load is one wrk run: a name for the table, the path, and a POST body
// (none: GET).
type load struct {
	name, path, body string
}

func run(bin string, duration time.Duration, connections, rounds int) error {
	dir, err := os.MkdirTemp("", "wrkbench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	srv, base, err := startServer(bin, dir)
	if err != nil {
		return err
	}
	defer func() {
		_ = srv.Process.Signal(syscall.SIGTERM)
		_ = srv.Wait()
	}()
	resp, err := http.Post(base+"/api/flows", "application/yaml", strings.NewReader(bench.ChainYAML()))
	if err != nil {
		return fmt.Errorf("create the chain flow: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		return fmt.Errorf("create the chain flow: %s", resp.Status)
	}
	job := `{"flow_id": "chain", "params": {"value": 1}}`
	loads := []load{
		{"WrkRESTHealth", "/api/health", ""},
		{"WrkRESTStartJobs", "/api/jobs", job},
		{"WrkRESTRunJobs", "/api/jobs?wait=30s", job},
	}
	for range rounds {
		for _, l := range loads {
			line, err := measure(srv.Process.Pid, base, dir, l, duration, connections)
			if err != nil {
				return fmt.Errorf("%s: %w", l.name, err)
			}
			fmt.Println(line)
			time.Sleep(time.Second) // the started jobs' tails settle before the next run
		}
	}
	return nil
}

// startServer runs bin on a free loopback port with its data in dir and
// waits until it answers /readyz.
func startServer(bin, dir string) (*exec.Cmd, string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, "", err
	}
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.Command(bin, "serve", "--addr", addr, "--data", filepath.Join(dir, "data"), "--log-level", "warn", "--examples=false")
	var log bytes.Buffer // shown if it does not start
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		return nil, "", fmt.Errorf("start %s: %w", bin, err)
	}
	base := "http://" + addr
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if resp, err := http.Get(base + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return cmd, base, nil
			}
		}
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	return nil, "", fmt.Errorf("the server did not become ready in 30 s: %s", log.String())
}

var (
	requestsPerSec = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)
	non2xx         = regexp.MustCompile(`Non-2xx or 3xx responses:\s+(\d+)`)
)

// measure runs wrk on one endpoint and returns its benchmark line.
func measure(pid int, base, dir string, l load, duration time.Duration, connections int) (string, error) {
	args := []string{"-t2", "-c" + strconv.Itoa(connections), "-d" + strconv.Itoa(int(duration.Seconds())) + "s"}
	if l.body != "" {
		script := filepath.Join(dir, "post.lua")
		lua := fmt.Sprintf("wrk.method = \"POST\"\nwrk.body = %q\nwrk.headers[\"Content-Type\"] = \"application/json\"\n", l.body)
		if err := os.WriteFile(script, []byte(lua), 0o644); err != nil {
			return "", err
		}
		args = append(args, "-s", script)
	}
	args = append(args, base+l.path)
	cpu0, err := processCPU(pid)
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(context.Background(), duration+time.Minute)
	defer cancel()
	var out bytes.Buffer
	wrk := exec.CommandContext(ctx, "wrk", args...)
	wrk.Stdout, wrk.Stderr = &out, &out
	if err := wrk.Run(); err != nil {
		return "", fmt.Errorf("wrk: %w: %s", err, out.String())
	}
	cpu1, err := processCPU(pid)
	if err != nil {
		return "", err
	}
	m := requestsPerSec.FindStringSubmatch(out.String())
	if m == nil {
		return "", fmt.Errorf("no Requests/sec in wrk's output: %s", out.String())
	}
	if bad := non2xx.FindStringSubmatch(out.String()); bad != nil {
		return "", fmt.Errorf("%s answers were not 2xx", bad[1])
	}
	rate, _ := strconv.ParseFloat(m[1], 64)
	requests := rate * duration.Seconds()
	usage := wrk.ProcessState.SysUsage().(*syscall.Rusage)
	wrkCPU := time.Duration(usage.Utime.Nano() + usage.Stime.Nano())
	return fmt.Sprintf("Benchmark%s 1 %.0f req/s %.1f cpu-µs/req %.1f wrk-cpu-µs/req",
		l.name, rate, float64((cpu1-cpu0).Microseconds())/requests, float64(wrkCPU.Microseconds())/requests), nil
}

// clockTicks is the unit of /proc/PID/stat's times (USER_HZ, 100 on Linux).
const clockTicks = 100

// processCPU is the user and system time the process has used.
func processCPU(pid int) (time.Duration, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("read the server's CPU time: %w", err)
	}
	// The fields after the command name (in parentheses, which may hold
	// spaces): utime and stime are the 14th and 15th of the line.
	fields := strings.Fields(string(raw[bytes.LastIndexByte(raw, ')')+1:]))
	if len(fields) < 13 {
		return 0, fmt.Errorf("unexpected /proc/%d/stat: %q", pid, raw)
	}
	utime, err1 := strconv.ParseInt(fields[11], 10, 64)
	stime, err2 := strconv.ParseInt(fields[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, fmt.Errorf("parse /proc/%d/stat: %w", pid, err)
	}
	return time.Duration(utime+stime) * time.Second / clockTicks, nil
}
