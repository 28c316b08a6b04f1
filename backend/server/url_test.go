package server

import "testing"

func TestServerURL(t *testing.T) {
	for addr, want := range map[string]string{
		"127.0.0.1:20555": "http://127.0.0.1:20555",
		"0.0.0.0:8080":    "http://127.0.0.1:8080",
		"[::]:8080":       "http://127.0.0.1:8080",
		":9000":           "http://127.0.0.1:9000",
		"[::1]:7000":      "http://[::1]:7000",
		"example:1":       "http://example:1",
	} {
		if got := serverURL(addr); got != want {
			t.Errorf("%s: %s, want %s", addr, got, want)
		}
	}
}
