package server_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/switchyard/switchyard/backend/server"
)

// runServer runs a real server with Run (its own listener and timeouts).
func runServer(t *testing.T, cfg server.Config) string {
	t.Helper()
	cfg.Addr, cfg.DataDir, cfg.Logger = "127.0.0.1:0", t.TempDir(), slog.New(slog.DiscardHandler)
	srv, err := server.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	addr := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx, func(a string) { addr <- a }) }()
	t.Cleanup(func() { cancel(); <-done })
	return <-addr
}

func TestSlowBodiesAreCutOffButStreamsStay(t *testing.T) {
	addr := runServer(t, server.Config{ReadTimeout: 300 * time.Millisecond})
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /api/flows HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{", addr)
	start := time.Now()
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	reply, _ := io.ReadAll(conn) // the server gives up on the body and closes
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("a trickling body held the connection for %s", d)
	}
	if len(reply) > 0 && !strings.Contains(string(reply), "400") && !strings.Contains(string(reply), "408") {
		t.Fatalf("reply to a cut-off body: %q", reply)
	}
	// A stream outlives the read timeout.
	ws, _, err := websocket.DefaultDialer.Dial("ws://"+addr+"/api/ws/monitor", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	time.Sleep(700 * time.Millisecond)
	if err := ws.WriteMessage(websocket.TextMessage, []byte(`{"action":"subscribe_all"}`)); err != nil {
		t.Fatal(err)
	}
	_ = ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		var m map[string]any
		if err := ws.ReadJSON(&m); err != nil {
			t.Fatalf("the stream died after the read timeout: %v", err)
		}
		if m["type"] == "subscription:confirmed" {
			break
		}
	}
	if resp, err := http.Get("http://" + addr + "/api/health"); err != nil || resp.StatusCode != 200 {
		t.Fatalf("health: %v", err)
	}
}
