package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/knadh/koanf/parsers/yaml"
	"github.com/knadh/koanf/providers/env/v2"
	"github.com/knadh/koanf/providers/file"
	"github.com/knadh/koanf/providers/posflag"
	"github.com/knadh/koanf/v2"
	"github.com/spf13/pflag"
)

// The settings of serve come from four places; each overrides the ones
// before it:
//
//  1. the defaults,
//  2. the config file (--config or SWITCHYARD_CONFIG; YAML, keys = flag names),
//  3. the environment (SWITCHYARD_ and the flag name in capitals, - as _),
//  4. the command line flags.
//
// Every value given anywhere is checked, also one that a later source
// overrides, and a bad one is an error naming the setting and its source.
// Unknown keys in the file are errors; unknown SWITCHYARD_ variables are
// not (the client commands have their own, such as SWITCHYARD_SERVER).

// kind is the type of a setting's value.
type kind int

const (
	kString kind = iota
	kBool
	kInt      // at least 1
	kCount    // at least 0
	kDuration // positive
	kList     // comma-separated in a flag or variable, a list or such a string in the file
	kLevel    // a log level
	kBytes    // a size in bytes, at least 0: 1048576, 512KiB, 1MiB, 1GiB
)

// setting is one serve setting: a flag, an environment variable and a
// key of the config file.
type setting struct {
	name  string
	kind  kind
	def   any
	usage string
}

var serveSettings = []setting{
	{"addr", kString, "127.0.0.1:20555", "listen address"},
	{"data", kString, "./data", "data directory holding the SQLite file"},
	{"examples", kBool, true, "load the example flows into an empty database"},
	{"log-level", kLevel, "info", "debug, info, warn or error"},
	{"max-concurrent", kInt, 256, "activations running at once over all jobs"},
	{"ws-ping-interval", kDuration, 20 * time.Second, "WebSocket ping interval"},
	{"ws-timeout", kDuration, 60 * time.Second, "close a WebSocket peer silent this long"},
	{"ws-heartbeat-interval", kDuration, 30 * time.Second, "seed 004 JSON ping interval"},
	{"allowed-origins", kList, []string{}, "comma-separated browser origins allowed to open streams and write to the API besides the server's own"},
	{"allowed-hosts", kList, []string{}, "comma-separated host names the server answers to besides loopback ones and its listen address"},
	{"http-allow", kList, []string{}, "comma-separated CIDRs, IPs or host[:port] the http routine may reach besides public addresses (loopback, private and link-local are refused otherwise)"},
	{"retention-days", kCount, 0, "delete finished jobs that ended more than this many days ago (0: keep them)"},
	{"max-output-bytes", kBytes, byteSize(1 << 20), "largest value one routine activation may emit, as JSON; more fails the activation (0: no limit)"},
	{"memory-limit", kBytes, byteSize(1 << 30), "soft memory limit of the Go runtime (its GC works harder near it and returns freed memory to the OS); not a cap (0: off)"},
	{"retention-jobs", kCount, 0, "keep at most this many finished jobs, the newest, deleting older ones (0: no limit)"},
}

func settingNamed(name string) (setting, bool) {
	for _, s := range serveSettings {
		if s.name == name {
			return s, true
		}
	}
	return setting{}, false
}

// envName is the environment variable of a setting: SWITCHYARD_ and its
// name in capitals, dashes as underscores.
func envName(name string) string {
	return "SWITCHYARD_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
}

// configEnv names the config file when --config is not given.
const configEnv = "SWITCHYARD_CONFIG"

// addServeFlags defines a flag for each setting, and --config.
func addServeFlags(fs *pflag.FlagSet) {
	for _, s := range serveSettings {
		usage := s.usage + " (" + envName(s.name) + ")"
		switch s.kind {
		case kString, kLevel:
			fs.String(s.name, s.def.(string), usage)
		case kBool:
			fs.Bool(s.name, s.def.(bool), usage)
		case kInt, kCount:
			fs.Int(s.name, s.def.(int), usage)
		case kDuration:
			fs.Duration(s.name, s.def.(time.Duration), usage)
		case kList:
			fs.StringSlice(s.name, s.def.([]string), usage)
		case kBytes:
			fs.String(s.name, s.def.(byteSize).String(), usage)
		}
	}
	fs.String("config", "", "YAML file of settings, keys as the flag names ("+configEnv+")")
}

// serveConfig is the outcome of loading the settings.
type serveConfig struct {
	k       *koanf.Koanf
	sources map[string]string // setting → where its value comes from
	file    string            // the config file read, if any
}

// The values are typed by convert, whatever their source.
func (c *serveConfig) String(name string) string { v, _ := c.k.Get(name).(string); return v }
func (c *serveConfig) Bool(name string) bool     { v, _ := c.k.Get(name).(bool); return v }
func (c *serveConfig) Int(name string) int       { v, _ := c.k.Get(name).(int); return v }
func (c *serveConfig) Duration(name string) time.Duration {
	v, _ := c.k.Get(name).(time.Duration)
	return v
}
func (c *serveConfig) Strings(name string) []string { v, _ := c.k.Get(name).([]string); return v }
func (c *serveConfig) Bytes(name string) int64      { v, _ := c.k.Get(name).(byteSize); return int64(v) }

// loadServeConfig merges the settings of fs (parsed), the environment
// (environ, as os.Environ) and the config file. Every error is a
// usageError.
func loadServeConfig(fs *pflag.FlagSet, environ func() []string) (*serveConfig, error) {
	var problems []error
	cfg := &serveConfig{k: koanf.New("."), sources: map[string]string{}}

	// 2. The config file.
	path, _ := fs.GetString("config")
	if !fs.Changed("config") {
		path = lookupEnv(environ, configEnv)
	}
	if path != "" {
		cfg.file = path
		fk := koanf.New(".")
		if err := fk.Load(file.Provider(path), yaml.Parser()); err != nil {
			return nil, usagef("config file %s: %v", path, err)
		}
		raw := fk.Raw()
		var unknown []string
		for _, key := range sortedKeys(raw) {
			s, ok := settingNamed(key)
			if !ok {
				unknown = append(unknown, key)
				continue
			}
			v, err := convert(s, raw[key])
			if err != nil {
				problems = append(problems, fmt.Errorf("%s: %s: invalid value %s: %v", path, key, show(raw[key]), err))
				continue
			}
			_ = cfg.k.Set(key, v)
			cfg.sources[key] = path
		}
		if len(unknown) > 0 {
			problems = append(problems, fmt.Errorf("%s: unknown setting %s (the settings are the flags of serve: %s)",
				path, strings.Join(unknown, ", "), strings.Join(settingNames(), ", ")))
		}
	}

	// 3. The environment.
	ek := koanf.New(".")
	err := ek.Load(env.Provider("", env.Opt{
		Prefix:      "SWITCHYARD_",
		EnvironFunc: environ,
		TransformFunc: func(key, value string) (string, any) {
			for _, s := range serveSettings {
				if envName(s.name) == key && strings.TrimSpace(value) != "" {
					return s.name, value
				}
			}
			return "", nil // not a serve setting, or empty: not set
		},
	}), nil)
	if err != nil {
		return nil, usagef("environment: %v", err)
	}
	for _, key := range sortedKeys(ek.Raw()) {
		s, _ := settingNamed(key)
		rawValue := ek.String(key)
		v, err := convert(s, strings.TrimSpace(rawValue))
		if err != nil {
			problems = append(problems, fmt.Errorf("%s=%q: invalid %s: %v", envName(key), rawValue, key, err))
			continue
		}
		_ = cfg.k.Set(key, v)
		cfg.sources[key] = envName(key)
	}

	// 4. The flags given (pflag has checked their syntax), over 1. the
	// defaults of those not given where no other source set them.
	for _, s := range serveSettings {
		f := fs.Lookup(s.name)
		if f == nil || !f.Changed {
			continue
		}
		if _, err := convert(s, posflag.FlagVal(fs, f)); err != nil {
			problems = append(problems, fmt.Errorf("--%s=%s: invalid %s: %v", s.name, f.Value.String(), s.name, err))
			continue
		}
		cfg.sources[s.name] = "--" + s.name
	}
	if len(problems) > 0 {
		return nil, &usageError{errors.Join(problems...)}
	}
	err = cfg.k.Load(posflag.ProviderWithFlag(fs, ".", cfg.k, func(f *pflag.Flag) (string, any) {
		s, ok := settingNamed(f.Name)
		if !ok {
			return "", nil // --config, and the global flags
		}
		v, _ := convert(s, posflag.FlagVal(fs, f))
		return f.Name, v
	}), nil)
	if err != nil {
		return nil, usagef("flags: %v", err)
	}
	for _, s := range serveSettings {
		if cfg.sources[s.name] == "" {
			cfg.sources[s.name] = "default"
		}
	}
	return cfg, nil
}

// convert checks a setting's value from any source and returns it typed
// (string, bool, int, time.Duration or []string). Strings are parsed.
func convert(s setting, v any) (any, error) {
	switch s.kind {
	case kString:
		str, ok := v.(string)
		if !ok {
			return nil, errors.New("want a string (quote it)")
		}
		return str, nil
	case kLevel:
		str, ok := v.(string)
		var lvl slog.Level
		if !ok || lvl.UnmarshalText([]byte(str)) != nil {
			return nil, errors.New("want debug, info, warn or error")
		}
		return str, nil
	case kBool:
		switch b := v.(type) {
		case bool:
			return b, nil
		case string:
			if parsed, err := strconv.ParseBool(b); err == nil {
				return parsed, nil
			}
		}
		return nil, errors.New("want true or false")
	case kInt, kCount:
		var n int
		switch x := v.(type) {
		case int:
			n = x
		case int64:
			n = int(x)
		case uint64:
			n = int(min(x, 1<<31))
		case string:
			parsed, err := strconv.Atoi(x)
			if err != nil {
				return nil, errors.New("want an integer")
			}
			n = parsed
		default:
			return nil, errors.New("want an integer")
		}
		least := 1
		if s.kind == kCount {
			least = 0
		}
		if n < least {
			return nil, fmt.Errorf("must be at least %d, got %d", least, n)
		}
		return n, nil
	case kDuration:
		var d time.Duration
		switch x := v.(type) {
		case time.Duration:
			d = x
		case string:
			parsed, err := time.ParseDuration(x)
			if err != nil {
				return nil, errors.New("want a duration such as 30s or 1m")
			}
			d = parsed
		default:
			return nil, errors.New("want a duration such as 30s or 1m (with its unit)")
		}
		if d <= 0 {
			return nil, fmt.Errorf("must be a positive duration, got %s", d)
		}
		return d, nil
	case kList:
		var items []string
		switch x := v.(type) {
		case string:
			items = strings.Split(x, ",")
		case []string:
			items = x
		case []any:
			for _, e := range x {
				str, ok := e.(string)
				if !ok {
					return nil, errors.New("want a list of strings")
				}
				items = append(items, str)
			}
		default:
			return nil, errors.New("want a list of strings, or one comma-separated string")
		}
		out := []string{}
		for _, item := range items {
			if item = strings.TrimSpace(item); item != "" {
				out = append(out, item)
			}
		}
		return out, nil
	case kBytes:
		switch x := v.(type) {
		case byteSize:
			return x, nil
		case int:
			if x >= 0 {
				return byteSize(x), nil
			}
		case int64:
			if x >= 0 {
				return byteSize(x), nil
			}
		case uint64:
			return byteSize(min(x, 1<<62)), nil
		case string:
			return parseByteSize(x)
		}
		return nil, errors.New("want a size in bytes, at least 0, such as 1048576, 512KiB, 1MiB or 1GiB")
	}
	return nil, fmt.Errorf("unknown kind of setting %q", s.name)
}

// show renders a value of the file for an error.
func show(v any) string {
	if s, ok := v.(string); ok {
		return strconv.Quote(s)
	}
	if raw, err := json.Marshal(v); err == nil {
		return string(raw)
	}
	return fmt.Sprint(v)
}

// print writes the effective settings as a config file, each with where
// its value came from.
func (c *serveConfig) print(w io.Writer, asJSON bool) error {
	if asJSON {
		type entry struct {
			Value  any    `json:"value"`
			Source string `json:"source"`
		}
		out := map[string]entry{}
		for _, s := range serveSettings {
			v := c.value(s)
			if d, ok := v.(time.Duration); ok {
				v = d.String() // as the flag takes it
			}
			if b, ok := v.(byteSize); ok {
				v = b.String()
			}
			out[s.name] = entry{Value: v, Source: c.sources[s.name]}
		}
		return printValue(w, out)
	}
	fmt.Fprintln(w, "# effective settings of switchyard serve; usable as --config")
	t := newTable(w)
	for _, s := range serveSettings {
		var text string
		switch v := c.value(s).(type) {
		case string:
			text = strconv.Quote(v)
		case time.Duration:
			text = strconv.Quote(v.String())
		case byteSize:
			text = strconv.Quote(v.String())
		default:
			text = compactJSON(v)
		}
		t.row(s.name+": "+text, "# "+c.sources[s.name])
	}
	return t.flush()
}

func (c *serveConfig) value(s setting) any {
	switch s.kind {
	case kBool:
		return c.Bool(s.name)
	case kInt, kCount:
		return c.Int(s.name)
	case kDuration:
		return c.Duration(s.name)
	case kBytes:
		return byteSize(c.Bytes(s.name))
	case kList:
		if l := c.Strings(s.name); l != nil {
			return l
		}
		return []string{}
	default:
		return c.String(s.name)
	}
}

func settingNames() []string {
	names := make([]string, len(serveSettings))
	for i, s := range serveSettings {
		names[i] = s.name
	}
	return names
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func lookupEnv(environ func() []string, name string) string {
	for _, kv := range environ() {
		if k, v, ok := strings.Cut(kv, "="); ok && k == name {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// osEnviron is the process environment (a variable for tests).
var osEnviron = os.Environ

// byteSize is the value of a kBytes setting.
type byteSize int64

// String renders the size with the largest binary unit that divides it.
func (b byteSize) String() string {
	for _, u := range byteUnits {
		if b >= u.n && b%u.n == 0 {
			return strconv.FormatInt(int64(b/u.n), 10) + u.name
		}
	}
	return strconv.FormatInt(int64(b), 10)
}

var byteUnits = []struct {
	name string
	n    byteSize
}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}}

// parseByteSize reads 1048576, 512KiB, 1MiB, 1GiB (KB, MB, GB, K, M and G
// are the same binary units).
func parseByteSize(text string) (byteSize, error) {
	t := strings.TrimSpace(text)
	mult := byteSize(1)
	upper := strings.ToUpper(t)
	for _, u := range []struct {
		suffix string
		n      byteSize
	}{{"GIB", 1 << 30}, {"MIB", 1 << 20}, {"KIB", 1 << 10}, {"GB", 1 << 30}, {"MB", 1 << 20}, {"KB", 1 << 10}, {"G", 1 << 30}, {"M", 1 << 20}, {"K", 1 << 10}, {"B", 1}} {
		if strings.HasSuffix(upper, u.suffix) {
			t, mult = strings.TrimSpace(t[:len(t)-len(u.suffix)]), u.n
			break
		}
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n < 0 || n > (1<<62)/int64(mult) {
		return 0, fmt.Errorf("want a size in bytes, at least 0, such as 1048576, 512KiB, 1MiB or 1GiB, got %q", text)
	}
	return byteSize(n) * mult, nil
}
