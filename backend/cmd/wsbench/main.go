// Command wsbench measures Switchyard's live streams on loopback, beside a
// plain melody server that Broadcasts the same pre-serialized frames, and
// prints one table:
//
//	(a) 100 clients on one job at 1,000 events/s: delivery latency p50/p99
//	(b) 1,000 clients on one job at 100 events/s: p50/p99
//	(c) server memory per idle connection
//	(d) events lost in every run (Switchyard must lose none), and a client
//	    that stops reading: Switchyard must close it with 4008 "lagging…"
//	    while the other clients keep their latency
//
//	go run ./backend/cmd/wsbench [-duration 5s] [-a-clients 100] [-a-rate 1000] …
//
// Each server runs in a child process (this binary with -child), fresh for
// each run; the clients run in this process. Switchyard's events come from a
// real job: a "pulse" routine kind registered in the child's engine emits
// ticks at the given rate, each carrying sent_at (Unix ns, taken just
// before the emit); the clients follow /api/ws/jobs/{id}/monitor (seed 004)
// and time each execution_event of type event_emit: receive time − sent_at.
// The baseline broadcasts frames of the same layout, stamped the same way.
// Memory is the child's HeapInuse+StackInuse after a GC (and its VmRSS)
// with N idle connections open minus before, divided by N.
//
// The slow reader connects with a 4 KiB receive buffer and reads nothing
// until the run is over, then reads what it was sent up to the close. For
// it to fall a whole queue behind within the run, (d) pads each event with
// 1 KiB and gives the server a per-client queue of 1,024 messages
// (-slow-pad, -slow-queue): the server's socket buffer alone holds about
// 2.8 MB on loopback, and the default queue of 65,536 messages would take
// over a minute to fill at 1,000 events/s. The same padded load without the
// slow reader is the reference for the other clients' latency.
//
// The exit status is 1 if Switchyard lost or duplicated an event, or did
// not close the slow reader with 4008 and a since that loses nothing;
// latency is reported, not judged (this machine is shared).
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/switchyard/switchyard/backend/events"
)

type options struct {
	aClients, aRate int
	bClients, bRate int
	idle            int
	slowPad         int
	slowQueue       int
	duration        time.Duration
	baseline        bool
	only            string
}

func main() {
	child := flag.String("child", "", "internal: run a server under test (switchyard or melody)")
	childQueue := flag.Int("child-queue", 0, "internal: the switchyard child's per-client queue (0: its default)")
	var o options
	flag.IntVar(&o.aClients, "a-clients", 100, "(a) clients on the job")
	flag.IntVar(&o.aRate, "a-rate", 1000, "(a) events per second")
	flag.IntVar(&o.bClients, "b-clients", 1000, "(b) clients on the job")
	flag.IntVar(&o.bRate, "b-rate", 100, "(b) events per second")
	flag.IntVar(&o.idle, "idle", 1000, "(c) idle connections")
	flag.IntVar(&o.slowPad, "slow-pad", 1024, "(d) bytes of padding per event, so the stalled reader's socket buffers fill within the run")
	flag.IntVar(&o.slowQueue, "slow-queue", 1024, "(d) the server's per-client queue (0: its default, 65,536 messages, over a minute at 1,000 events/s)")
	flag.DurationVar(&o.duration, "duration", 5*time.Second, "how long each latency run emits")
	flag.BoolVar(&o.baseline, "baseline", true, "also run the melody Broadcast baseline")
	flag.StringVar(&o.only, "only", "a,b,c,d", "scenarios to run")
	flag.Parse()
	if *child != "" {
		if err := runChild(*child, *childQueue); err != nil {
			fmt.Fprintln(os.Stderr, "wsbench child:", err)
			os.Exit(1)
		}
		return
	}
	ok, err := run(o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "wsbench:", err)
		os.Exit(2)
	}
	if !ok {
		os.Exit(1)
	}
}

func run(o options) (bool, error) {
	if o.duration < time.Second || o.aRate <= 0 || o.bRate <= 0 || o.aClients <= 0 || o.bClients <= 0 || o.idle <= 0 {
		return false, errors.New("want -duration ≥ 1s and positive client counts and rates")
	}
	want := map[string]bool{}
	for _, s := range strings.Split(o.only, ",") {
		want[strings.TrimSpace(s)] = true
	}
	kinds := []string{"switchyard"}
	if o.baseline {
		kinds = append(kinds, "melody")
	}
	var rows [][]string
	var failures, notes []string
	progress := func(format string, args ...any) { fmt.Fprintf(os.Stderr, "wsbench: "+format+"\n", args...) }
	secs := o.duration.Seconds()

	latencyRows := func(label string, clients, rate int) error {
		cells := map[string]latencyStats{}
		for _, kind := range kinds {
			progress("%s: %s, %d clients at %d events/s for %s", label, kind, clients, rate, o.duration)
			st, _, err := runLatency(scenario{kind: kind, clients: clients, rate: rate, dur: o.duration})
			if err != nil {
				return fmt.Errorf("%s %s: %w", label, kind, err)
			}
			cells[kind] = st
			if kind == "switchyard" && (st.lost() != 0 || st.dups != 0) {
				failures = append(failures, fmt.Sprintf("%s: switchyard lost %d and duplicated %d events", label, st.lost(), st.dups))
			}
		}
		title := fmt.Sprintf("%s %d clients, 1 job, %d ev/s, %gs", label, clients, rate, secs)
		rows = append(rows,
			row(kinds, title, "latency p50", cells, func(s latencyStats) string { return ms(s.p50) }),
			row(kinds, "", "latency p99", cells, func(s latencyStats) string { return ms(s.p99) }),
			row(kinds, "", "latency max", cells, func(s latencyStats) string { return ms(s.max) }),
			row(kinds, "", "(d) events lost", cells, lostCell),
		)
		return nil
	}
	if want["a"] {
		if err := latencyRows("(a)", o.aClients, o.aRate); err != nil {
			return false, err
		}
	}
	if want["b"] {
		if err := latencyRows("(b)", o.bClients, o.bRate); err != nil {
			return false, err
		}
	}
	if want["c"] {
		mem := map[string]memDelta{}
		for _, kind := range kinds {
			progress("(c): %s, %d idle connections", kind, o.idle)
			d, err := runIdle(kind, o.idle)
			if err != nil {
				return false, fmt.Errorf("(c) %s: %w", kind, err)
			}
			mem[kind] = d
		}
		rows = append(rows,
			memRow(kinds, fmt.Sprintf("(c) %d idle connections", o.idle), "heap+stack / conn", mem, func(d memDelta) float64 { return d.heapStack }),
			memRow(kinds, "", "VmRSS / conn", mem, func(d memDelta) float64 { return d.rss }),
			memRow(kinds, "", "goroutines / conn", mem, func(d memDelta) float64 { return d.goroutines }),
		)
	}
	if want["d"] {
		progress("(d): switchyard, %d clients at %d events/s of %d more bytes, without and with a client that stops reading", o.aClients, o.aRate, o.slowPad)
		d := scenario{kind: "switchyard", clients: o.aClients, rate: o.aRate, pad: o.slowPad, queue: o.slowQueue, dur: o.duration}
		ref, _, err := runLatency(d)
		if err != nil {
			return false, fmt.Errorf("(d) reference: %w", err)
		}
		d.slow = true
		st, slow, err := runLatency(d)
		if err != nil {
			return false, fmt.Errorf("(d) slow reader: %w", err)
		}
		verdict := fmt.Sprintf("closed %d %q after %d frames, %d missing", slow.code, slow.reason, slow.frames, slow.gaps)
		if slow.code == 0 {
			verdict = fmt.Sprintf("not closed (%v) after %d frames, %d missing", slow.err, slow.frames, slow.gaps)
		}
		if slow.code != 4008 || !strings.HasPrefix(slow.reason, "lagging") {
			failures = append(failures, "(d): the slow reader was not closed with 4008 lagging: "+verdict)
		}
		if since, ok := strings.CutPrefix(slow.reason, "lagging: reconnect with ?since="); ok && slow.code == 4008 {
			p, err := events.ParsePos(since)
			switch {
			case err != nil:
				failures = append(failures, fmt.Sprintf("(d): close reason %q names no position to resume from", slow.reason))
			case slow.lastPos.Less(p):
				failures = append(failures, fmt.Sprintf("(d): close reason says since=%s, but the last message the client received was %s: resuming so would lose messages", p, slow.lastPos))
			case p.Less(slow.lastPos):
				notes = append(notes, fmt.Sprintf("(d): close reason says since=%s, but the client had received %s: resuming so repeats messages", p, slow.lastPos))
			}
		}
		if slow.gaps != 0 {
			failures = append(failures, fmt.Sprintf("(d): the slow reader's stream had %d missing ticks before its close", slow.gaps))
		}
		for _, s := range []latencyStats{ref, st} {
			if s.lost() != 0 || s.dups != 0 {
				failures = append(failures, fmt.Sprintf("(d): switchyard lost %d and duplicated %d events", s.lost(), s.dups))
			}
		}
		// Latency on a shared machine is noisy: a rise is reported, not failed.
		if st.p99 > 3*ref.p99+10*time.Millisecond {
			notes = append(notes, fmt.Sprintf("(d): the other clients' p99 rose from %s to %s with a slow reader (load average %s)", ms(ref.p99), ms(st.p99), loadAverage()))
		}
		pad := func(cells ...string) []string { return append(cells, "n/a")[:len(kinds)+2] }
		queue := "its default queue"
		if o.slowQueue > 0 {
			queue = fmt.Sprintf("queue %d", o.slowQueue)
		}
		title := fmt.Sprintf("(d) as (a), events +%d B, %s", o.slowPad, queue)
		rows = append(rows,
			pad(title, "p50 / p99, all reading", ms(ref.p50)+" / "+ms(ref.p99)),
			pad("", "events lost, all reading", lostCell(ref)),
			pad("    + 1 client not reading", "stalled client", verdict),
			pad("", "others p50 / p99", ms(st.p50)+" / "+ms(st.p99)),
			pad("", "others events lost", lostCell(st)),
		)
	}

	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "wsbench: loopback, GOMAXPROCS=%d, load average %s; each server in a child process, clients here; Switchyard via seed 004 /api/ws/jobs/{id}/monitor\n", runtime.GOMAXPROCS(0), loadAverage())
	head := []string{"scenario", "metric", "switchyard"}
	if o.baseline {
		head = append(head, "melody Broadcast")
	}
	fmt.Fprintln(tw, strings.Join(head, "\t"))
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	_ = tw.Flush()
	fmt.Println("latency: receive time − sent_at of each execution_event/event_emit (sent_at taken just before the emit or Broadcast)")
	fmt.Println("memory: the child's HeapInuse+StackInuse after GC, and its VmRSS, with the idle connections open minus before, per connection")
	for _, n := range notes {
		fmt.Println("NOTE", n)
	}
	for _, f := range failures {
		fmt.Println("FAIL", f)
	}
	return len(failures) == 0, nil
}

func row(kinds []string, title, metric string, cells map[string]latencyStats, f func(latencyStats) string) []string {
	r := []string{title, metric}
	for _, k := range kinds {
		r = append(r, f(cells[k]))
	}
	return r
}

func memRow(kinds []string, title, metric string, cells map[string]memDelta, f func(memDelta) float64) []string {
	r := []string{title, metric}
	for _, k := range kinds {
		v := f(cells[k])
		if metric == "goroutines / conn" {
			r = append(r, strconv.FormatFloat(v, 'f', 2, 64))
		} else {
			r = append(r, strconv.FormatFloat(v/1024, 'f', 1, 64)+" KiB")
		}
	}
	return r
}

func lostCell(s latencyStats) string {
	cell := fmt.Sprintf("%d of %d", s.lost(), s.expected)
	if s.dups > 0 {
		cell += fmt.Sprintf(", %d duplicated", s.dups)
	}
	if s.dropped > 0 {
		cell += fmt.Sprintf(" (%d clients disconnected)", s.dropped)
	}
	return cell
}

func ms(d time.Duration) string {
	return strconv.FormatFloat(float64(d)/1e6, 'f', 2, 64) + " ms"
}

// child is a server under test in its own process.
type child struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	addr  string
	web   *http.Client
}

func startChild(kind string, queue int) (*child, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe, "-child", kind, "-child-queue", strconv.Itoa(queue))
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	c := &child{cmd: cmd, stdin: stdin, web: &http.Client{Timeout: 30 * time.Second}}
	line := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		if sc.Scan() {
			line <- sc.Text()
		}
		close(line)
		_, _ = io.Copy(io.Discard, stdout)
	}()
	select {
	case l, ok := <-line:
		addr, found := strings.CutPrefix(l, "ADDR ")
		if !ok || !found {
			c.stop()
			return nil, fmt.Errorf("child %s did not start (said %q)", kind, l)
		}
		c.addr = addr
	case <-time.After(60 * time.Second):
		c.stop()
		return nil, fmt.Errorf("child %s did not start in time", kind)
	}
	return c, nil
}

func (c *child) stop() {
	_ = c.stdin.Close()
	done := make(chan struct{})
	go func() { _ = c.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		_ = c.cmd.Process.Kill()
		<-done
	}
}

func (c *child) call(method, path, body string, out any) error {
	req, err := http.NewRequest(method, "http://"+c.addr+path, strings.NewReader(body))
	if err != nil {
		return err
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.web.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		return fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, raw)
	}
	if out != nil {
		return json.Unmarshal(raw, out)
	}
	return nil
}

// pulseJob creates the pulse flow and starts a job of it; the job waits at
// its gate until /bench/open.
func (c *child) pulseJob(count, rate, pad int) (string, error) {
	dsl := fmt.Sprintf("flow_id: pulse\nroutines:\n  start: {kind: input}\n  p: {kind: pulse, config: {count: %d, rate: %d, pad: %d}}\nconnections:\n  - {from: start.output, to: p.input}\n", count, rate, pad)
	body, _ := json.Marshal(map[string]string{"dsl": dsl})
	if err := c.call("POST", "/api/flows", string(body), nil); err != nil {
		return "", err
	}
	var job struct {
		JobID string `json:"job_id"`
	}
	if err := c.call("POST", "/api/jobs", `{"flow_id":"pulse"}`, &job); err != nil {
		return "", err
	}
	return job.JobID, nil
}

// streamTarget starts what the clients follow and says how to start it.
func (c *child) streamTarget(kind string, ticks, rate, pad int) (url, open string, err error) {
	if kind == "melody" {
		return "ws://" + c.addr + "/ws", fmt.Sprintf("/bench/open?count=%d&rate=%d&pad=%d", ticks, rate, pad), nil
	}
	id, err := c.pulseJob(ticks, rate, pad)
	if err != nil {
		return "", "", err
	}
	return "ws://" + c.addr + "/api/ws/jobs/" + id + "/monitor", "/bench/open?job=" + id, nil
}

// waitReady waits until every client follows the stream live: for
// Switchyard, until each has received the pulse routine's start (the end
// of its replay); for melody, until the hub counts every session.
func (c *child) waitReady(kind string, clients []*benchClient, sessions int) error {
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if kind == "melody" {
			var n int
			if err := c.call("GET", "/bench/sessions", "", &n); err != nil {
				return err
			}
			if n >= sessions {
				return nil
			}
		} else {
			all := true
			for _, cl := range clients {
				if !cl.ready.Load() {
					all = false
					break
				}
			}
			if all {
				return nil
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	return errors.New("clients not ready after 60s")
}

// scenario is one latency run.
type scenario struct {
	kind                      string // switchyard or melody
	clients, rate, pad, queue int
	dur                       time.Duration
	slow                      bool // add a client that reads nothing until the run is over
}

// runLatency follows one stream with sc.clients readers (and, if sc.slow,
// one more that reads nothing until the run is over, then reads what it was
// sent up to the close).
func runLatency(sc scenario) (latencyStats, *slowResult, error) {
	kind, clients, rate, pad, dur, slow := sc.kind, sc.clients, sc.rate, sc.pad, sc.dur, sc.slow
	ticks := int(float64(rate) * dur.Seconds())
	c, err := startChild(kind, sc.queue)
	if err != nil {
		return latencyStats{}, nil, err
	}
	defer c.stop()
	url, open, err := c.streamTarget(kind, ticks, rate, pad)
	if err != nil {
		return latencyStats{}, nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cs, err := dialAll(ctx, url, clients, ticks, kind == "melody")
	if err != nil {
		return latencyStats{}, nil, err
	}
	defer closeAll(cs)
	var stalled *slowClient
	if slow {
		if stalled, err = dialSlow(ctx, url); err != nil {
			return latencyStats{}, nil, err
		}
	}
	sessions := clients
	if slow {
		sessions++
	}
	if err := c.waitReady(kind, cs, sessions); err != nil {
		return latencyStats{}, nil, err
	}
	time.Sleep(200 * time.Millisecond)
	if err := c.call("POST", open, "", nil); err != nil {
		return latencyStats{}, nil, err
	}
	deadline := time.Now().Add(dur + 5*time.Second)
	for time.Now().Before(deadline) {
		complete := true
		for _, cl := range cs {
			if cl.received.Load() < int64(ticks) {
				select {
				case <-cl.done:
				default:
					complete = false
				}
			}
		}
		if complete {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	dropped := ended(cs)
	closeAll(cs)
	st := collect(cs)
	st.dropped = dropped
	var sr *slowResult
	if stalled != nil {
		r := stalled.drain(5 * time.Second)
		sr = &r
	}
	return st, sr, nil
}

type memDelta struct {
	heapStack, rss, goroutines float64 // per connection
}

func runIdle(kind string, n int) (memDelta, error) {
	c, err := startChild(kind, 0)
	if err != nil {
		return memDelta{}, err
	}
	defer c.stop()
	// An idle stream: Switchyard's job waits at its gate, so the clients
	// follow a running job that sends nothing.
	url, _, err := c.streamTarget(kind, 1, 1, 0)
	if err != nil {
		return memDelta{}, err
	}
	var before, after memStats
	if err := c.call("GET", "/bench/mem", "", &before); err != nil {
		return memDelta{}, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cs, err := dialAll(ctx, url, n, 1, kind == "melody")
	if err != nil {
		return memDelta{}, err
	}
	defer closeAll(cs)
	if err := c.waitReady(kind, cs, n); err != nil {
		return memDelta{}, err
	}
	time.Sleep(500 * time.Millisecond)
	if err := c.call("GET", "/bench/mem", "", &after); err != nil {
		return memDelta{}, err
	}
	if dropped := ended(cs); dropped > 0 {
		return memDelta{}, fmt.Errorf("%d idle connections ended", dropped)
	}
	per := func(a, b uint64) float64 { return (float64(a) - float64(b)) / float64(n) }
	return memDelta{
		heapStack:  per(after.HeapInuse+after.StackInuse, before.HeapInuse+before.StackInuse),
		rss:        per(after.RSS, before.RSS),
		goroutines: float64(after.Goroutines-before.Goroutines) / float64(n),
	}, nil
}

// loadAverage is the 1-minute load average, to read latencies against.
func loadAverage() string {
	raw, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(raw)); err == nil && len(f) > 0 {
		return f[0]
	}
	return "?"
}
