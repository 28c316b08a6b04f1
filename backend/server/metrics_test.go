package server_test

import (
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/gorilla/websocket"
)

func TestPrometheusMetrics(t *testing.T) {
	in := start(t, t.TempDir())
	in.json("POST", "/api/flows", dsl(ordersYAML), nil)
	ws, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(in.URL, "http")+"/api/ws/monitor", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	for range 2 {
		in.waitJob(in.startJob("orders", `{"value": 2}`).JobID, status("completed"))
	}
	resp, err := http.Get(in.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	body := string(raw)
	value := func(series string) float64 {
		t.Helper()
		m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(series) + ` (\S+)$`).FindStringSubmatch(body)
		if m == nil {
			t.Fatalf("no %s in\n%s", series, body)
		}
		v, _ := strconv.ParseFloat(m[1], 64)
		return v
	}
	for series, want := range map[string]float64{
		`switchyard_jobs_started_total{flow="orders"}`:                  2,
		`switchyard_jobs_ended_total{flow="orders",status="completed"}`: 2,
		`switchyard_activations_total{kind="transform",outcome="ok"}`:   2,
		`switchyard_routine_duration_seconds_count{kind="delay"}`:       2,
		`switchyard_websocket_connections{endpoint="monitor"}`:          1,
		`switchyard_jobs_active`:                                        0,
		`switchyard_websocket_connections{endpoint="executions"}`:       0,
	} {
		if got := value(series); got != want {
			t.Errorf("%s = %v, want %v", series, got, want)
		}
	}
	for _, series := range []string{`switchyard_event_log_write_seconds_count`, `switchyard_event_log_batch_events_sum`,
		`switchyard_sqlite_file_bytes{file="db"}`, `switchyard_websocket_messages_sent_total`, `go_goroutines`} {
		if value(series) <= 0 {
			t.Errorf("%s is not positive", series)
		}
	}
}
