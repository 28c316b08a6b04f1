package ws

import (
	"bytes"
	"encoding/json"
	"testing"
)

// FuzzClientMessage feeds seed 004 client messages, one per line, to one
// client: every reply is one JSON object of a known type, and however many
// names a client subscribes to, its subscription stays bounded.
func FuzzClientMessage(f *testing.F) {
	for _, s := range []string{
		"ping", `{"type":"pong"}`, `{"type":"ping"}`,
		`{"action":"subscribe","events":["job_started","breakpoint_hit"]}`,
		`{"action":"unsubscribe","events":["log"]}`, `{"action":"subscribe_all"}`,
		`{"action":"subscribe","events":["a","b","c","d","e","f","g","h","i","j","k","l","m","n","o","p","q","r","s","t","u","v","w","x","y","z","aa","bb","cc","dd","ee","ff","gg","hh"]}`,
		`{"action":"subscribe","events":null}`, `{"action":7}`, `[1,2]`, `{"events":"x"}`, "", "\x00\xff", `{"action":"subscribe","events":["` + string(bytes.Repeat([]byte("x"), 5000)) + `"]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, input []byte) {
		c := &client{proto: protoMonitor}
		for _, msg := range bytes.Split(input, []byte("\n")) {
			for _, reply := range answer(c, msg) {
				check(t, msg, reply)
			}
		}
	})
}

// check holds every reply to a client message to the protocol's shapes.
func check(t *testing.T, msg, reply []byte) {
	t.Helper()
	var out struct {
		Type   string `json:"type"`
		Events []any  `json:"events"`
	}
	if err := json.Unmarshal(reply, &out); err != nil {
		t.Fatalf("reply to %q is not JSON: %v: %s", msg, err, reply)
	}
	switch out.Type {
	case "pong", "error":
	case "subscription:confirmed":
		if len(out.Events) > len(allTypes) {
			t.Fatalf("the subscription grew to %d types", len(out.Events))
		}
	default:
		t.Fatalf("reply of type %q to %q", out.Type, msg)
	}
	if len(reply) > 2*maxClientMessage+4096 {
		t.Fatalf("a %d-byte reply to a %d-byte message", len(reply), len(msg))
	}
}
