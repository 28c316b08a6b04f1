package cli

import (
	"strings"
	"testing"
)

func TestByteSizeSettings(t *testing.T) {
	got := printConfig(t)
	if g := got["max-output-bytes"]; g.Value != "1MiB" || g.Source != "default" {
		t.Errorf("max-output-bytes default %+v", g)
	}
	if g := got["memory-limit"]; g.Value != "1GiB" || g.Source != "default" {
		t.Errorf("memory-limit default %+v", g)
	}
	file := writeFile(t, "switchyard.yaml", "max-output-bytes: 262144\nmemory-limit: 512MB\n")
	got = printConfig(t, "--config", file)
	if g := got["max-output-bytes"]; g.Value != "256KiB" {
		t.Errorf("from a file number: %+v", g)
	}
	if g := got["memory-limit"]; g.Value != "512MiB" {
		t.Errorf("from a file string: %+v", g)
	}
	t.Setenv("SWITCHYARD_MEMORY_LIMIT", "0")
	got = printConfig(t, "--max-output-bytes", "2M", "--config", file)
	if g := got["max-output-bytes"]; g.Value != "2MiB" || g.Source != "--max-output-bytes" {
		t.Errorf("flag: %+v", g)
	}
	if g := got["memory-limit"]; g.Value != "0" || g.Source != "SWITCHYARD_MEMORY_LIMIT" {
		t.Errorf("env: %+v", g)
	}
	expectCode(t, ExitUsage, []string{"serve", "--max-output-bytes", "lots"}, "invalid max-output-bytes: want a size in bytes")
	expectCode(t, ExitUsage, []string{"serve", "--memory-limit", "-1"}, "invalid memory-limit")
}

func TestParseByteSize(t *testing.T) {
	for text, want := range map[string]byteSize{
		"0": 0, "1048576": 1 << 20, "512KiB": 512 << 10, "1MiB": 1 << 20, "1 GiB": 1 << 30, "2g": 2 << 30, "10KB": 10 << 10, "7B": 7,
	} {
		if got, err := parseByteSize(text); err != nil || got != want {
			t.Errorf("%q: %d, %v; want %d", text, got, err, want)
		}
	}
	for _, text := range []string{"", "MiB", "1.5MiB", "-3", "1TiB", "99999999999GiB"} {
		if _, err := parseByteSize(text); err == nil || !strings.Contains(err.Error(), "want a size") {
			t.Errorf("%q: %v", text, err)
		}
	}
	if s := byteSize(3 << 20).String(); s != "3MiB" {
		t.Errorf("String %s", s)
	}
}
