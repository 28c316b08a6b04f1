package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/switchyard/switchyard/backend/events"
)

// Message is one message of /api/ws/executions/{id} ("WebSocket API Guide"):
// status, node_update, log, completion, error, or pong. Fields not used by a
// type are empty. Raw is the frame as received.
type Message struct {
	Type        string `json:"type"`
	ExecutionID string `json:"execution_id,omitempty"`
	Seq         int64  `json:"seq,omitempty"`
	// Pos names the message in the job's stream: its event's seq and its
	// part among that event's messages (events.Pos, "57.2" on the wire).
	// Zero for messages that are not part of the stream (pong).
	Pos       events.Pos  `json:"pos"`
	Timestamp Timestamp   `json:"timestamp,omitempty"`
	Status    string      `json:"status,omitempty"` // status: pending|running|completed|failed
	Data      *StatusData `json:"data,omitempty"`   // status
	NodeID    string      `json:"node_id,omitempty"`
	NodeState *NodeState  `json:"node_state,omitempty"` // node_update
	Log       *LogEntry   `json:"log,omitempty"`        // log
	Result    *Result     `json:"result,omitempty"`     // completion
	Error     string      `json:"error,omitempty"`      // error

	Raw json.RawMessage `json:"-"`
}

// StatusData is the data of a status message.
type StatusData struct {
	Progress    float64 `json:"progress"`
	CurrentNode string  `json:"current_node"`
	// State refines status running ("paused" or "running") and marks a
	// cancelled job, which is reported as status failed ("cancelled").
	State string `json:"state,omitempty"`
}

// NodeState is a routine's state in a node_update message.
type NodeState struct {
	Status      string    `json:"status"` // pending|running|completed|failed
	Output      any       `json:"output"`
	Error       *string   `json:"error"`
	StartedAt   Timestamp `json:"started_at,omitempty"`
	CompletedAt Timestamp `json:"completed_at,omitempty"`
}

// LogEntry is the log of a log message.
type LogEntry struct {
	Level     string    `json:"level"` // debug|info|warning|error
	Message   string    `json:"message"`
	NodeID    string    `json:"node_id"`
	Timestamp Timestamp `json:"timestamp,omitempty"`
}

// Result is the result of a completion message.
type Result struct {
	Status         string  `json:"status"`
	Output         any     `json:"output"`
	NodesCompleted int     `json:"nodes_completed"`
	NodesFailed    int     `json:"nodes_failed"`
	Duration       float64 `json:"duration"`
}

// Timestamp is the protocol's time: Unix seconds as a decimal string
// ("1704067200.123"). A JSON number is accepted too.
type Timestamp string

// UnmarshalJSON accepts a string, a number or null.
func (t *Timestamp) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case bytes.Equal(b, []byte("null")):
		*t = ""
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*t = Timestamp(s)
	default:
		*t = Timestamp(b)
	}
	return nil
}

// Time parses the timestamp; ok is false when it is empty or malformed.
func (t Timestamp) Time() (time.Time, bool) {
	if t == "" {
		return time.Time{}, false
	}
	f, err := strconv.ParseFloat(string(t), 64)
	if err != nil {
		return time.Time{}, false
	}
	sec := int64(f)
	return time.Unix(sec, int64((f-float64(sec))*1e9)), true
}

// Terminal reports whether m is one of the messages that end an execution
// (completion, or error).
func (m Message) Terminal() bool { return m.Type == "completion" || m.Type == "error" }

// Watcher follows a job's stream. The zero value uses the defaults noted on
// each field.
type Watcher struct {
	// HTTP serves the REST calls Watch makes (default: 30 s timeout).
	HTTP *http.Client
	// Dialer opens the WebSocket (default: websocket.DefaultDialer with a
	// 10 s handshake timeout).
	Dialer *websocket.Dialer
	// MinBackoff and MaxBackoff bound the wait before a reconnect; it
	// doubles after each connection that brought nothing new
	// (default 100 ms and 5 s).
	MinBackoff, MaxBackoff time.Duration
	// PingInterval is how often the text "ping" is sent as a keepalive
	// (default 20 s, as the guide's client does). Negative disables it.
	PingInterval time.Duration
	// ReadTimeout drops a connection that brought nothing (no message, no
	// pong, no protocol ping) for that long (default 60 s).
	ReadTimeout time.Duration
	// OnReconnect, when set, is called before each reconnect with why the
	// connection ended and how long Watch waits.
	OnReconnect func(err error, wait time.Duration)
	// Token, when set, is sent as "Authorization: Bearer <token>" on the
	// handshake and the REST calls.
	Token string
}

// Watch follows job jobID on the server at baseURL, calling handler for each
// message of the events after seq since (0: the whole history), in order,
// each exactly once, until it has delivered the job's terminal messages
// (then it returns nil) or ctx ends (then it returns ctx.Err()). See
// Watcher.Watch.
func Watch(ctx context.Context, baseURL, jobID string, since int64, handler func(Message)) error {
	return (&Watcher{}).Watch(ctx, baseURL, jobID, since, handler)
}

// ErrRefused wraps the server's refusal of the WebSocket handshake (an
// unknown job is refused with 404); Watch does not retry it.
var ErrRefused = errors.New("stream refused")

// Watch follows a job; see the package function Watch.
//
// Reconnecting. A dropped connection (network error, server restart, the
// server closing a lagging reader with 4008) is reopened with ?since=, after
// a backoff of MinBackoff doubling up to MaxBackoff, reset whenever a
// connection brings something new. A refused handshake (4xx) ends Watch
// with an error wrapping ErrRefused (and an *APIError).
//
// Exactly once. One event may yield several messages (a routine's
// completion yields node_update then status; the job's end yields status
// then completion or error), and a connection may drop between them. Every
// message carries its position (Message.Pos: the event's seq and the
// message's part, docs/streams.md), and ?since= takes one: Watch keeps the
// position of the last message it delivered and reconnects with
// since=<that position>, so the server resends nothing it had and nothing
// is lost at any cut. A message at or before that position (none, from
// this server) is dropped. Pongs (answers to the keepalive) are not passed
// to handler; a message without a position is passed as it comes (the
// protocol has none but pong).
//
// End. The job is over once a status completed/failed has been followed by
// completion or error (a cancelled job ends with status failed,
// data.state "cancelled", then error "Job cancelled"). When since is
// already past the job's last event, Watch returns nil at once if the job
// has finished.
//
// handler runs on Watch's goroutine; while it runs nothing is read, so a
// handler slower than the stream makes the server close the connection as
// lagging, and Watch resumes after the last delivered message.
func (w *Watcher) Watch(ctx context.Context, baseURL, jobID string, since int64, handler func(Message)) error {
	wsURL, err := streamURL(baseURL, jobID)
	if err != nil {
		return err
	}
	minB, maxB := w.MinBackoff, w.MaxBackoff
	if minB <= 0 {
		minB = 100 * time.Millisecond
	}
	if maxB < minB {
		maxB = max(5*time.Second, minB)
	}
	rest := &Client{BaseURL: baseURL, HTTP: w.HTTP, Token: w.Token}
	if rest.HTTP == nil {
		rest.HTTP = &http.Client{Timeout: 30 * time.Second}
	}
	if since > 0 {
		if done, err := finishedBefore(ctx, rest, jobID, since); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if IsNotFound(err) {
				return fmt.Errorf("watch job %s: %w: %w", jobID, ErrRefused, err)
			}
			// Otherwise let the stream tell: it retries as needed.
		} else if done {
			return nil
		}
	}

	st := &streamState{}
	if since > 0 {
		st.last = events.After(since)
	}
	backoff := minB
	for {
		progressed, err := w.session(ctx, wsURL, st, handler)
		if st.done {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if errors.Is(err, ErrRefused) {
			return fmt.Errorf("watch job %s: %w", jobID, err)
		}
		if progressed {
			backoff = minB
		}
		if w.OnReconnect != nil {
			w.OnReconnect(err, backoff)
		}
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		backoff = min(backoff*2, maxB)
	}
}

// finishedBefore reports whether the job has ended and its log holds
// nothing after since, i.e. a stream from since would never bring a message.
func finishedBefore(ctx context.Context, rest *Client, jobID string, since int64) (bool, error) {
	j, err := rest.GetJob(ctx, jobID)
	if err != nil || !events.Finished(j.Status) {
		return false, err
	}
	more, err := rest.hasEventsAfter(ctx, jobID, since)
	return err == nil && !more, err
}

// streamState is what survives a reconnect.
type streamState struct {
	// last is the position of the last message delivered (or after the
	// event given as since); zero: the stream's start.
	last events.Pos
	// final is the seq of a status completed/failed, once seen.
	final int64
	done  bool
}

// resumeFrom is the since of the next connection ("": from the start).
func (s *streamState) resumeFrom() string {
	if s.last.IsZero() {
		return ""
	}
	return s.last.String()
}

// accept decides whether m is new, recording it if so.
func (s *streamState) accept(m *Message) bool {
	if m.Pos.IsZero() {
		return true
	}
	if !s.last.Less(m.Pos) {
		return false
	}
	s.last = m.Pos
	return true
}

func (s *streamState) observe(m *Message) {
	switch {
	case m.Type == "status" && (m.Status == "completed" || m.Status == "failed"):
		s.final = max(s.final, m.Seq, 1)
	case m.Type == "completion":
		s.done = true
	case m.Type == "error" && s.final > 0 && m.Seq >= s.final:
		s.done = true
	}
}

// session runs one connection; progressed says whether it delivered
// anything new.
func (w *Watcher) session(ctx context.Context, wsURL string, st *streamState, handler func(Message)) (progressed bool, err error) {
	u := wsURL
	if since := st.resumeFrom(); since != "" {
		u += "?since=" + since
	}
	dialer := w.Dialer
	if dialer == nil {
		d := *websocket.DefaultDialer
		d.HandshakeTimeout = 10 * time.Second
		dialer = &d
	}
	var header http.Header
	if w.Token != "" {
		header = http.Header{"Authorization": {"Bearer " + w.Token}}
	}
	conn, resp, err := dialer.DialContext(ctx, u, header)
	if err != nil {
		if resp != nil {
			defer resp.Body.Close()
			if resp.StatusCode >= 400 && resp.StatusCode < 500 &&
				resp.StatusCode != http.StatusRequestTimeout && resp.StatusCode != http.StatusTooManyRequests {
				raw, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
				return false, fmt.Errorf("%w: %w", ErrRefused, decodeAPIError(resp.StatusCode, raw))
			}
			return false, fmt.Errorf("connect: HTTP %d", resp.StatusCode)
		}
		return false, fmt.Errorf("connect: %w", err)
	}
	defer conn.Close()

	readTimeout := w.ReadTimeout
	if readTimeout <= 0 {
		readTimeout = 60 * time.Second
	}
	extend := func() { _ = conn.SetReadDeadline(time.Now().Add(readTimeout)) }
	extend()
	conn.SetPingHandler(func(data string) error {
		extend()
		err := conn.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(5*time.Second))
		if errors.Is(err, websocket.ErrCloseSent) {
			return nil
		}
		return err
	})
	conn.SetPongHandler(func(string) error { extend(); return nil })

	// Closing the connection is what unblocks ReadMessage: do it when ctx
	// ends or the session returns. The keepalive is the only writer of
	// data frames.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	defer func() { close(stop); conn.Close(); wg.Wait() }()
	interval := w.PingInterval
	if interval == 0 {
		interval = 20 * time.Second
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		var tick <-chan time.Time
		if interval > 0 {
			t := time.NewTicker(interval)
			defer t.Stop()
			tick = t.C
		}
		for {
			select {
			case <-stop:
				return
			case <-ctx.Done():
				_ = conn.WriteControl(websocket.CloseMessage,
					websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
				conn.Close()
				return
			case <-tick:
				_ = conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
				if err := conn.WriteMessage(websocket.TextMessage, []byte("ping")); err != nil {
					conn.Close()
					return
				}
			}
		}
	}()

	for {
		typ, raw, err := conn.ReadMessage()
		if err != nil {
			return progressed, err
		}
		extend()
		if typ != websocket.TextMessage {
			continue
		}
		m, err := decodeMessage(raw)
		if err != nil {
			// Skipping a frame we cannot read would be a silent loss:
			// treat it as a broken stream.
			return progressed, err
		}
		if m.Type == "pong" && m.Seq == 0 {
			continue
		}
		if !st.accept(&m) {
			continue
		}
		progressed = true
		st.observe(&m)
		handler(m)
		if st.done {
			_ = conn.WriteControl(websocket.CloseMessage,
				websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
			return progressed, nil
		}
	}
}

// decodeMessage reads a frame; a field of an unexpected JSON type does not
// lose the message's type and seq.
func decodeMessage(raw []byte) (Message, error) {
	var m Message
	if err := json.Unmarshal(raw, &m); err != nil {
		var head struct {
			Type string     `json:"type"`
			Seq  int64      `json:"seq"`
			Pos  events.Pos `json:"pos"`
		}
		if err2 := json.Unmarshal(raw, &head); err2 != nil || head.Type == "" {
			return Message{}, fmt.Errorf("undecodable message %.200q: %w", raw, err)
		}
		m = Message{Type: head.Type, Seq: head.Seq, Pos: head.Pos}
		var loose map[string]any
		if json.Unmarshal(raw, &loose) == nil {
			m.ExecutionID, _ = loose["execution_id"].(string)
			m.NodeID, _ = loose["node_id"].(string)
			m.Status, _ = loose["status"].(string)
			if e, ok := loose["error"].(string); ok {
				m.Error = e
			} else if loose["error"] != nil {
				b, _ := json.Marshal(loose["error"])
				m.Error = string(b)
			}
		}
	}
	m.Raw = append(json.RawMessage(nil), raw...)
	return m, nil
}

// streamURL is the WebSocket address of a job's seed-000 stream.
func streamURL(baseURL, jobID string) (string, error) {
	u, err := url.Parse(strings.TrimRight(baseURL, "/"))
	if err != nil {
		return "", fmt.Errorf("server address %q: %w", baseURL, err)
	}
	switch u.Scheme {
	case "http", "ws":
		u.Scheme = "ws"
	case "https", "wss":
		u.Scheme = "wss"
	default:
		return "", fmt.Errorf("server address %q: want http://host:port", baseURL)
	}
	if u.Host == "" {
		return "", fmt.Errorf("server address %q: no host", baseURL)
	}
	u.RawQuery, u.Fragment = "", ""
	return u.String() + "/api/ws/executions/" + url.PathEscape(jobID), nil
}
