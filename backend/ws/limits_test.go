package ws_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/switchyard/switchyard/backend/ws"
)

// Over 100 messages a second (bursts of 200), a seed 004 client gets one
// error message and the rest of the flood is dropped; the connection stays
// open and, once the rate falls, its messages are answered again.
func TestClientMessageRateLimitSeed004(t *testing.T) {
	r := newRig(t, ws.Config{HeartbeatInterval: time.Hour})
	r.flow(delayFlow)
	job := r.start("slow", `{"value": 1}`)
	r.waitEnded(job)
	c := r.dial("/api/ws/jobs/"+job+"/monitor?since=1000", nil)
	if m, err := read(t, c, 5*time.Second); err != nil || m["type"] != "connection:status" {
		t.Fatalf("first message %v, %v", m, err)
	}
	for range 400 { // each answered with pong while within the limit
		if err := c.WriteMessage(websocket.TextMessage, []byte(`{"type":"ping"}`)); err != nil {
			t.Fatal(err)
		}
	}
	// Once the bucket has refilled, a subscription is answered again; what
	// came before it is the answer to the flood.
	time.Sleep(time.Second)
	c.WriteMessage(websocket.TextMessage, []byte(`{"action":"subscribe","events":["job_failed"]}`))
	pongs, limited := 0, 0
	for {
		m, err := read(t, c, 5*time.Second)
		if err != nil {
			t.Fatalf("after %d pongs: %v", pongs, err)
		}
		if m["type"] == "subscription:confirmed" {
			break
		}
		switch {
		case m["type"] == "pong":
			pongs++
		case m["type"] == "error" && strings.HasPrefix(m["error"].(string), "rate limit:"):
			limited++
		default:
			t.Fatalf("unexpected %v", m)
		}
	}
	if limited != 1 || pongs < 200 || pongs > 260 {
		t.Fatalf("%d pongs, %d rate limit errors for 400 pings at once; want about 200 and exactly 1", pongs, limited)
	}
}

// Seed 000's only error message means the execution failed, so a flooding
// client is closed with 1008 (policy violation) instead.
func TestClientMessageRateLimitSeed000(t *testing.T) {
	r := newRig(t, ws.Config{})
	r.flow(delayFlow)
	job := r.start("slow", `{"value": 1}`)
	r.waitEnded(job)
	c := r.dial("/api/ws/executions/"+job+"?since=1000", nil)
	for range 400 {
		if err := c.WriteMessage(websocket.TextMessage, []byte("ping")); err != nil {
			break // closed meanwhile
		}
	}
	pongs := 0
	for {
		m, err := read(t, c, 5*time.Second)
		if err != nil {
			var ce *websocket.CloseError
			if !asCloseError(err, &ce) || ce.Code != websocket.ClosePolicyViolation || !strings.HasPrefix(ce.Text, "rate limit:") {
				t.Fatalf("ended with %v after %d pongs", err, pongs)
			}
			break
		}
		if m["type"] != "pong" {
			t.Fatalf("unexpected %v", m)
		}
		pongs++
	}
	if pongs < 200 || pongs > 260 {
		t.Fatalf("%d pongs before the close", pongs)
	}
}

// Binary frames belong to neither protocol: seed 004 answers an error
// message and carries on; seed 000 closes with 1003 (unsupported data).
func TestBinaryFramesAreAnswered(t *testing.T) {
	r := newRig(t, ws.Config{HeartbeatInterval: time.Hour})
	r.flow(delayFlow)
	job := r.start("slow", `{"value": 1}`)
	r.waitEnded(job)

	c := r.dial("/api/ws/jobs/"+job+"/debug?since=1000", nil)
	read(t, c, 5*time.Second) // connection:status
	if err := c.WriteMessage(websocket.BinaryMessage, []byte{0, 1, 2, 0xff}); err != nil {
		t.Fatal(err)
	}
	m, err := read(t, c, 5*time.Second)
	if err != nil || m["type"] != "error" || !strings.Contains(m["error"].(string), "binary frames") {
		t.Fatalf("answer to a binary frame: %v, %v", m, err)
	}
	c.WriteMessage(websocket.TextMessage, []byte(`{"type":"ping"}`))
	if m, err := read(t, c, 5*time.Second); err != nil || m["type"] != "pong" {
		t.Fatalf("after the binary frame: %v, %v", m, err)
	}

	c0 := r.dial("/api/ws/executions/"+job+"?since=1000", nil)
	if err := c0.WriteMessage(websocket.BinaryMessage, []byte("ping")); err != nil {
		t.Fatal(err)
	}
	_, err = read(t, c0, 5*time.Second)
	var ce *websocket.CloseError
	if !asCloseError(err, &ce) || ce.Code != websocket.CloseUnsupportedData || !strings.Contains(ce.Text, "binary") {
		t.Fatalf("seed 000 after a binary frame: %v", err)
	}
}

// A subscription holds the seed's event types only: names it does not have
// are left out and answered with an error, once per connection.
func TestUnknownEventTypesAreToldOnce(t *testing.T) {
	r := newRig(t, ws.Config{HeartbeatInterval: time.Hour})
	r.flow(delayFlow)
	job := r.start("slow", `{"value": 1}`)
	r.waitEnded(job)
	c := r.dial("/api/ws/jobs/"+job+"/monitor?since=1000", nil)
	if m, err := read(t, c, 5*time.Second); err != nil || m["type"] != "connection:status" {
		t.Fatalf("first message %v, %v", m, err)
	}
	var got []map[string]any
	for _, msg := range []string{
		`{"action":"subscribe","events":["job_failed","no_such_type"]}`,
		`{"action":"subscribe","events":["another_made_up","log"]}`,
		`{"type":"ping"}`,
	} {
		if err := c.WriteMessage(websocket.TextMessage, []byte(msg)); err != nil {
			t.Fatal(err)
		}
	}
	for len(got) < 4 {
		m, err := read(t, c, 5*time.Second)
		if err != nil {
			t.Fatalf("after %v: %v", got, err)
		}
		got = append(got, m)
	}
	if got[0]["type"] != "subscription:confirmed" || fmt.Sprint(got[0]["events"]) != "[job_failed]" ||
		got[1]["type"] != "error" || !strings.Contains(got[1]["error"].(string), "unknown event types left out of the subscription: no_such_type") ||
		got[2]["type"] != "subscription:confirmed" || fmt.Sprint(got[2]["events"]) != "[job_failed log]" ||
		got[3]["type"] != "pong" {
		t.Fatalf("answers: %v", got)
	}
}
