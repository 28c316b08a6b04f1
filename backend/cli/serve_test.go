package cli

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/switchyard/switchyard/backend/servertest"
)

func TestServeHelpExitsZero(t *testing.T) {
	out, _, code := runCLI(t, "serve", "--help")
	if code != ExitOK || !strings.Contains(out, "--max-concurrent int") || !strings.Contains(out, "SWITCHYARD_MAX_CONCURRENT") ||
		!strings.Contains(out, "--config string") {
		t.Fatalf("serve --help: exit %d\n%s", code, out)
	}
	expectCode(t, ExitUsage, []string{"serve", "--no-such-flag"}, "unknown flag: --no-such-flag")
	expectCode(t, ExitUsage, []string{"serve", "extra"}, `unknown command "extra"`)
}

func TestBadSettingsAreErrorsNamingThem(t *testing.T) {
	for env, want := range map[string]string{
		"SWITCHYARD_MAX_CONCURRENT=abc":  `SWITCHYARD_MAX_CONCURRENT="abc": invalid max-concurrent: want an integer`,
		"SWITCHYARD_MAX_CONCURRENT=0":    `SWITCHYARD_MAX_CONCURRENT="0": invalid max-concurrent: must be at least 1`,
		"SWITCHYARD_WS_TIMEOUT=soon":     `SWITCHYARD_WS_TIMEOUT="soon": invalid ws-timeout`,
		"SWITCHYARD_EXAMPLES=perhaps":    `SWITCHYARD_EXAMPLES="perhaps": invalid examples: want true or false`,
		"SWITCHYARD_WS_PING_INTERVAL=0s": `SWITCHYARD_WS_PING_INTERVAL="0s": invalid ws-ping-interval: must be a positive duration`,
		"SWITCHYARD_LOG_LEVEL=loud":      `SWITCHYARD_LOG_LEVEL="loud": invalid log-level`,
		"SWITCHYARD_CONFIG=/no/such.yml": `config file /no/such.yml`,
	} {
		k, v, _ := strings.Cut(env, "=")
		t.Setenv(k, v)
		expectCode(t, ExitUsage, []string{"serve", "--data", t.TempDir(), "--addr", "127.0.0.1:0"}, want)
		os.Unsetenv(k)
	}
	// A bad environment value is an error even when the command line sets
	// the setting too: every value given is checked.
	t.Setenv("SWITCHYARD_MAX_CONCURRENT", "abc")
	expectCode(t, ExitUsage, []string{"serve", "--max-concurrent", "2"}, "SWITCHYARD_MAX_CONCURRENT")
	os.Unsetenv("SWITCHYARD_MAX_CONCURRENT")
	// Bad flags name themselves.
	expectCode(t, ExitUsage, []string{"serve", "--max-concurrent", "0"}, "--max-concurrent=0: invalid max-concurrent: must be at least 1")
	expectCode(t, ExitUsage, []string{"serve", "--max-concurrent", "abc"}, `invalid argument "abc" for "--max-concurrent" flag`)
	expectCode(t, ExitUsage, []string{"serve", "--ws-timeout", "0s"}, "--ws-timeout=0s: invalid ws-timeout")
	expectCode(t, ExitUsage, []string{"serve", "--log-level", "loud"}, "--log-level=loud: invalid log-level: want debug, info, warn or error")
	// Variables of no serve setting (the client's among them) are not errors.
	t.Setenv("SWITCHYARD_SERVER", "nowhere:1")
	t.Setenv("SWITCHYARD_SOMETHING", "x")
	mustRun(t, "serve", "--print-config")
}

// setting is one entry of serve --print-config -o json.
type printedSetting struct {
	Value  any    `json:"value"`
	Source string `json:"source"`
}

func printConfig(t *testing.T, args ...string) map[string]printedSetting {
	t.Helper()
	var got map[string]printedSetting
	runJSON(t, &got, ExitOK, append([]string{"serve", "--print-config"}, args...)...)
	return got
}

func TestConfigPrecedence(t *testing.T) {
	file := writeFile(t, "switchyard.yaml", `# a config file
addr: 127.0.0.1:9999
max-concurrent: 8
ws-timeout: 90s
examples: false
allowed-origins: [http://a.example, " http://b.example "]
allowed-hosts: "x.example, y.example"
`)
	check := func(got map[string]printedSetting, name string, value any, source string) {
		t.Helper()
		if g := got[name]; compactJSON(g.Value) != compactJSON(value) || g.Source != source {
			t.Errorf("%s = %v from %s, want %v from %s", name, g.Value, g.Source, value, source)
		}
	}
	// Defaults.
	got := printConfig(t)
	check(got, "addr", "127.0.0.1:20555", "default")
	check(got, "max-concurrent", 256, "default")
	check(got, "examples", true, "default")
	check(got, "ws-timeout", "1m0s", "default")
	check(got, "allowed-origins", []string{}, "default")
	if len(got) != len(serveSettings) {
		t.Errorf("printed %d settings, want %d", len(got), len(serveSettings))
	}
	// File over defaults.
	got = printConfig(t, "--config", file)
	check(got, "addr", "127.0.0.1:9999", file)
	check(got, "max-concurrent", 8, file)
	check(got, "examples", false, file)
	check(got, "ws-timeout", "1m30s", file)
	check(got, "ws-ping-interval", "20s", "default")
	check(got, "allowed-origins", []string{"http://a.example", "http://b.example"}, file)
	check(got, "allowed-hosts", []string{"x.example", "y.example"}, file)
	// Environment over the file (which the environment may name).
	t.Setenv("SWITCHYARD_CONFIG", file)
	t.Setenv("SWITCHYARD_MAX_CONCURRENT", "16")
	t.Setenv("SWITCHYARD_EXAMPLES", "true")
	t.Setenv("SWITCHYARD_ALLOWED_ORIGINS", "http://c.example")
	t.Setenv("SWITCHYARD_WS_PING_INTERVAL", "") // empty: not set
	got = printConfig(t)
	check(got, "addr", "127.0.0.1:9999", file)
	check(got, "max-concurrent", 16, "SWITCHYARD_MAX_CONCURRENT")
	check(got, "examples", true, "SWITCHYARD_EXAMPLES")
	check(got, "allowed-origins", []string{"http://c.example"}, "SWITCHYARD_ALLOWED_ORIGINS")
	check(got, "ws-ping-interval", "20s", "default")
	// Flags over the environment.
	got = printConfig(t, "--max-concurrent", "32", "--examples=false", "--allowed-origins", "http://d.example,http://e.example", "--data", "/srv/sy")
	check(got, "max-concurrent", 32, "--max-concurrent")
	check(got, "examples", false, "--examples")
	check(got, "allowed-origins", []string{"http://d.example", "http://e.example"}, "--allowed-origins")
	check(got, "data", "/srv/sy", "--data")
	check(got, "ws-timeout", "1m30s", file)
	// --config over SWITCHYARD_CONFIG.
	other := writeFile(t, "other.yaml", "addr: 127.0.0.1:7777\n")
	got = printConfig(t, "--config", other)
	check(got, "addr", "127.0.0.1:7777", other)
	check(got, "ws-timeout", "1m0s", "default")
}

func TestConfigFileErrors(t *testing.T) {
	for content, want := range map[string]string{
		"max-concurrent: abc\n":      `: max-concurrent: invalid value "abc": want an integer`,
		"max-concurrent: 0\n":        `: max-concurrent: invalid value 0: must be at least 1`,
		"max-concurrent: 2.5\n":      `: max-concurrent: invalid value 2.5: want an integer`,
		"ws-timeout: 60\n":           `: ws-timeout: invalid value 60: want a duration such as 30s or 1m (with its unit)`,
		"ws-timeout: -1s\n":          `: ws-timeout: invalid value "-1s": must be a positive duration`,
		"examples: perhaps\n":        `: examples: invalid value "perhaps": want true or false`,
		"log-level: loud\n":          `: log-level: invalid value "loud": want debug, info, warn or error`,
		"addr: [a, b]\n":             `: addr: invalid value ["a","b"]: want a string`,
		"allowed-hosts: [1, 2]\n":    `: allowed-hosts: invalid value [1,2]: want a list of strings`,
		"max_concurrent: 4\n":        `: unknown setting max_concurrent (the settings are the flags of serve: addr, data,`,
		"ws: {timeout: 1s}\nzz: 1\n": `: unknown setting ws, zz`,
		"addr: [\n":                  `config file `,
	} {
		file := writeFile(t, "switchyard.yaml", content)
		expectCode(t, ExitUsage, []string{"serve", "--config", file, "--data", t.TempDir()}, want)
		if !strings.Contains(want, "config file") {
			expectCode(t, ExitUsage, []string{"serve", "--config", file}, file+want)
		}
	}
	// Every bad value is told at once, file, environment and flags.
	file := writeFile(t, "switchyard.yaml", "max-concurrent: abc\nbogus: 1\n")
	t.Setenv("SWITCHYARD_WS_TIMEOUT", "soon")
	_, errOut, code := runCLI(t, "serve", "--config", file, "--ws-heartbeat-interval", "0s")
	if code != ExitUsage || !strings.Contains(errOut, file+": max-concurrent") || !strings.Contains(errOut, file+": unknown setting bogus") ||
		!strings.Contains(errOut, `SWITCHYARD_WS_TIMEOUT="soon"`) || !strings.Contains(errOut, "--ws-heartbeat-interval=0s") {
		t.Errorf("exit %d\n%s", code, errOut)
	}
	os.Unsetenv("SWITCHYARD_WS_TIMEOUT")
	// An empty file is no settings.
	mustRun(t, "serve", "--print-config", "--config", writeFile(t, "empty.yaml", "# nothing\n"))
}

// What --print-config prints is a config file giving the same settings.
func TestPrintConfigRoundTrip(t *testing.T) {
	t.Setenv("SWITCHYARD_ALLOWED_HOSTS", "h.example")
	text := mustRun(t, "serve", "--print-config", "--addr", "0.0.0.0:1234", "--ws-timeout", "2m", "--examples=false", "--max-concurrent", "7")
	if !regexp.MustCompile(`(?m)^addr: "0\.0\.0\.0:1234" +# --addr$`).MatchString(text) ||
		!regexp.MustCompile(`(?m)^allowed-hosts: \["h\.example"\] +# SWITCHYARD_ALLOWED_HOSTS$`).MatchString(text) {
		t.Errorf("print-config:\n%s", text)
	}
	first := printConfig(t, "--addr", "0.0.0.0:1234", "--ws-timeout", "2m", "--examples=false", "--max-concurrent", "7")
	os.Unsetenv("SWITCHYARD_ALLOWED_HOSTS")
	file := writeFile(t, "printed.yaml", text)
	again := printConfig(t, "--config", file)
	for name, s := range first {
		if compactJSON(again[name].Value) != compactJSON(s.Value) || again[name].Source != file {
			t.Errorf("%s: printed %v, read back %v from %s", name, s.Value, again[name].Value, again[name].Source)
		}
	}
}

// serve runs in process with the settings of its three sources, answers,
// and stops when its context ends (as on SIGTERM).
func TestServeInProcess(t *testing.T) {
	file := writeFile(t, "switchyard.yaml", "examples: true\nmax-concurrent: 4\nlog-level: debug\n")
	t.Setenv("SWITCHYARD_EXAMPLES", "false")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, logs servertest.Buffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--config", file, "--addr", "127.0.0.1:0", "--data", t.TempDir()},
			strings.NewReader(""), &out, &logs, false)
	}()
	ready := regexp.MustCompile(`Switchyard is ready: open (http://[^/\s]+)/`)
	var url string
	eventually(t, "serve to be ready", func() bool {
		select {
		case code := <-done:
			t.Fatalf("serve ended with %d:\n%s", code, logs.String())
		default:
		}
		if m := ready.FindStringSubmatch(logs.String()); m != nil {
			url = m[1]
			return true
		}
		return false
	})
	resp, err := http.Get(url + "/api/health")
	if err != nil {
		t.Fatal(err)
	}
	var health struct {
		Status, Version string
	}
	_ = json.NewDecoder(resp.Body).Decode(&health)
	resp.Body.Close()
	if health.Status != "ok" || health.Version != Version {
		t.Errorf("health: %+v", health)
	}
	// SWITCHYARD_EXAMPLES=false won over the file: no example flows.
	var flows struct{ Total int }
	runJSON(t, &flows, ExitOK, "flows", "list", "--server", url)
	if flows.Total != 0 {
		t.Errorf("%d flows: the environment did not override the file", flows.Total)
	}
	// The file's log level holds.
	if !strings.Contains(logs.String(), "level=DEBUG") || !strings.Contains(logs.String(), "config="+file) {
		t.Errorf("logs:\n%s", logs.String())
	}
	cancel()
	select {
	case code := <-done:
		if code != ExitOK {
			t.Fatalf("serve ended with %d:\n%s", code, logs.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("serve did not stop")
	}
	// A server that cannot start is ExitFailed.
	expectCode(t, ExitFailed, []string{"serve", "--addr", "256.0.0.1:1", "--data", t.TempDir()}, "listen on 256.0.0.1:1")
	// So is a server given an allow list it cannot read; the message names the entry.
	expectCode(t, ExitFailed, []string{"serve", "--addr", "127.0.0.1:0", "--data", t.TempDir(), "--http-allow", "10.0.0.0/8,10.0.0.300/32"},
		`--http-allow "10.0.0.300/32"`)
}
