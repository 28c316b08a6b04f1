// Package ws serves the live streams of the two seed protocols over melody
// WebSockets, fed from the job event log: a connect replays the stored
// history, then continues live from the in-process bus, with no gap and no
// duplicate at the switch. See docs/streams.md.
package ws

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/gorilla/websocket"
	"github.com/olahol/melody"

	"github.com/switchyard/switchyard/backend/apierr"
	"github.com/switchyard/switchyard/backend/events"
	"github.com/switchyard/switchyard/backend/flow"
	"github.com/switchyard/switchyard/backend/store"
)

// Store reads the event log and the records streams start from.
type Store interface {
	// EventBodies returns stored event lines from seq from on, whole
	// chunks, about maxBytes at a time (store.Store.EventBodies).
	EventBodies(ctx context.Context, jobID string, from int64, maxBytes int) (body []byte, last int64, err error)
	GetJob(ctx context.Context, id string) (events.JobState, error)
	GetFlow(ctx context.Context, id string, version int) (*flow.Flow, error)
}

// EventLog lets a replay wait until everything published is stored.
type EventLog interface {
	Sync(ctx context.Context) error
}

// Jobs is the engine's view of active jobs.
type Jobs interface {
	Job(id string) (events.JobState, bool)
	Active() []events.JobState
}

// Config tunes the streams. Zero values take the defaults in brackets.
type Config struct {
	PingInterval      time.Duration // WebSocket ping [20s]
	PongTimeout       time.Duration // a silent peer is closed after [60s]
	HeartbeatInterval time.Duration // seed 004 JSON ping [30s]
	MetricsInterval   time.Duration // seed 004 metrics while a job runs [1s]
	WriteTimeout      time.Duration // a write (or a stalled replay) gives up after [10s]
	// QueueSize bounds the messages waiting for one client before it counts
	// as lagging [65536]. Frames are shared between clients, so a full queue
	// costs about 24 bytes per message beyond the frames themselves; it must
	// absorb the bursts a job can produce faster than a socket is written.
	QueueSize   int
	TopicBuffer int // events queued between the bus and a topic [1,000,000]
	// MessageRate and MessageBurst bound the messages a client may send:
	// MessageRate a second sustained, MessageBurst at once [100, 200].
	// Negative MessageRate: no limit. See docs/streams.md, "Client messages".
	MessageRate, MessageBurst int
	// AllowedOrigins are browser origins accepted besides the server's own
	// (e.g. "http://localhost:5173"); "*" accepts any.
	AllowedOrigins []string
	Logger         *slog.Logger
}

func (c *Config) defaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.PingInterval, 20*time.Second)
	def(&c.PongTimeout, 60*time.Second)
	def(&c.HeartbeatInterval, 30*time.Second)
	def(&c.MetricsInterval, time.Second)
	def(&c.WriteTimeout, 10*time.Second)
	if c.QueueSize <= 0 {
		c.QueueSize = 65536
	}
	if c.TopicBuffer <= 0 {
		c.TopicBuffer = 1_000_000
	}
	if c.MessageRate == 0 {
		c.MessageRate = 100
	}
	if c.MessageBurst <= 0 {
		c.MessageBurst = 2 * max(c.MessageRate, 1)
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// Server holds the WebSocket endpoints.
type Server struct {
	cfg   Config
	store Store
	evlog EventLog
	jobs  Jobs
	bus   *events.Bus
	m     *melody.Melody

	stats streamStats

	mu       sync.Mutex
	topics   map[topicKey]*topic
	monitors map[*client]struct{} // seed 004 clients, for the heartbeat
	stop     chan struct{}
	stopOnce sync.Once
}

// New builds the endpoints; Register mounts them.
func New(cfg Config, st Store, log EventLog, jobs Jobs, bus *events.Bus) *Server {
	cfg.defaults()
	m := melody.New()
	m.Config.PingPeriod = cfg.PingInterval
	m.Config.PongWait = cfg.PongTimeout
	m.Config.WriteWait = cfg.WriteTimeout
	m.Config.MaxMessageSize = 1 << 20 // larger messages than maxClientMessage get an error reply
	m.Config.MessageBufferSize = 4    // melody writes only its pings and close frames: messages go through client.writeLoop
	// Origins are checked before the upgrade (checkOrigin), with a JSON 403.
	m.Upgrader.CheckOrigin = func(*http.Request) bool { return true }
	m.Upgrader.ReadBufferSize = 512
	m.Upgrader.WriteBufferSize = 1024
	m.Upgrader.WriteBufferPool = &sync.Pool{}
	s := &Server{cfg: cfg, store: st, evlog: log, jobs: jobs, bus: bus, m: m,
		topics: map[topicKey]*topic{}, monitors: map[*client]struct{}{}, stop: make(chan struct{})}
	m.HandleConnect(s.onConnect)
	m.HandleDisconnect(s.onDisconnect)
	m.HandleMessage(s.onMessage)
	m.HandleMessageBinary(s.onBinary)
	m.HandleError(s.onError)
	go s.heartbeat()
	return s
}

// Register mounts the endpoints on r.
func (s *Server) Register(r gin.IRouter) {
	r.GET("/api/ws/executions/:id", s.jobEndpoint(protoExecution))
	r.GET("/api/ws/jobs/:id/monitor", s.jobEndpoint(protoMonitor))
	r.GET("/api/ws/jobs/:id/debug", s.jobEndpoint(protoDebug))
	r.GET("/api/ws/flows/:id/monitor", s.flowEndpoint)
	r.GET("/api/ws/monitor", s.allEndpoint)
}

// Close ends every stream (http.Server.Shutdown does not close hijacked
// connections).
func (s *Server) Close() {
	s.stopOnce.Do(func() {
		close(s.stop)
		_ = s.m.CloseWithMsg(websocket.FormatCloseMessage(websocket.CloseGoingAway, "server shutting down"))
	})
}

func clientOf(ms *melody.Session) *client {
	v, _ := ms.Get("client")
	return v.(*client)
}

// admit checks origin and since; it answers the request itself and
// returns false when the stream is refused. Tokens are checked before, by
// the server's middleware (backend/server/auth.go).
func (s *Server) admit(c *gin.Context) (since events.Pos, ok bool) {
	if !s.originAllowed(c.Request) {
		apierr.Abort(c, apierr.OriginNotAllowed, fmt.Sprintf("origin %q may not open streams (see --allowed-origins)", c.GetHeader("Origin")))
		return since, false
	}
	if raw := c.Query("since"); raw != "" {
		p, err := events.ParsePos(raw)
		if err != nil {
			apierr.Abort(c, apierr.BadQuery, fmt.Sprintf("since must be a seq (57) or a message position (57.1), got %q", raw))
			return since, false
		}
		since = p
	}
	return since, true
}

// originAllowed accepts requests without Origin (non-browser clients), the
// server's own origin, and configured ones.
func (s *Server) originAllowed(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	if err == nil && strings.EqualFold(u.Host, r.Host) {
		return true
	}
	for _, allowed := range s.cfg.AllowedOrigins {
		if allowed == "*" || strings.EqualFold(strings.TrimSuffix(allowed, "/"), origin) {
			return true
		}
	}
	return false
}

func (s *Server) jobEndpoint(proto protocol) gin.HandlerFunc {
	return func(c *gin.Context) {
		since, ok := s.admit(c)
		if !ok {
			return
		}
		id := c.Param("id")
		if _, live := s.jobs.Job(id); !live {
			if _, err := s.store.GetJob(c.Request.Context(), id); err != nil {
				s.refuse(c, "JOB", id, err)
				return
			}
		}
		cl := newClient(s, proto, since)
		cl.last[id] = since
		cl.topic = s.acquire(topicKey{kind: topicJob, id: id})
		s.upgrade(c, cl)
	}
}

func (s *Server) flowEndpoint(c *gin.Context) {
	if _, ok := s.admit(c); !ok {
		return
	}
	id := c.Param("id")
	if _, err := s.store.GetFlow(c.Request.Context(), id, 0); err != nil {
		s.refuse(c, "FLOW", id, err)
		return
	}
	cl := newClient(s, protoMonitor, events.Pos{})
	cl.topic = s.acquire(topicKey{kind: topicFlow, id: id})
	s.upgrade(c, cl)
}

func (s *Server) allEndpoint(c *gin.Context) {
	if _, ok := s.admit(c); !ok {
		return
	}
	cl := newClient(s, protoMonitor, events.Pos{})
	cl.topic = s.acquire(topicKey{kind: topicAll})
	s.upgrade(c, cl)
}

func (s *Server) refuse(c *gin.Context, resource, id string, err error) {
	if errors.Is(err, store.ErrNotFound) {
		code := apierr.JobNotFound
		if resource == "FLOW" {
			code = apierr.FlowNotFound
		}
		apierr.Abort(c, code, fmt.Sprintf("%s %q not found", strings.ToLower(resource), id))
		return
	}
	s.cfg.Logger.Error("websocket lookup", "resource", resource, "id", id, "err", err)
	apierr.Abort(c, apierr.Internal, "internal error; see the server log")
}

// upgrade hands the request to melody in a goroutine of its own and
// returns as soon as the connection is hijacked. melody reads a session in
// the goroutine that upgraded it; were that the HTTP handler's, the server
// would keep the handler's whole frame alive for the life of the socket
// (net/http's 4 KiB read and write buffers, the parsed request, the Gin
// context), about a third of an idle connection's memory.
func (s *Server) upgrade(c *gin.Context, cl *client) {
	if !websocket.IsWebSocketUpgrade(c.Request) {
		s.release(cl.topic)
		apierr.Abort(c, apierr.NotWebSocket, "this endpoint speaks WebSocket: send an Upgrade request")
		return
	}
	w := &hijackNotifier{ResponseWriter: c.Writer, hijacked: make(chan struct{}), client: cl}
	r := c.Request
	failed := make(chan error, 1)
	go func() {
		err := s.m.HandleRequestWithKeys(w, r, map[string]any{"client": cl})
		if cl.s == nil { // the upgrade failed before onConnect
			s.release(cl.topic)
			failed <- err
		}
	}()
	select {
	case <-w.hijacked:
	case err := <-failed:
		if err != nil && !c.Writer.Written() {
			apierr.Abort(c, apierr.Unavailable, err.Error())
		}
	}
}

// hijackNotifier reports when the WebSocket upgrade has taken the
// connection over from net/http, and hands the connection to the client
// (as a frameConn, which the client writes its messages to).
type hijackNotifier struct {
	http.ResponseWriter
	hijacked chan struct{}
	client   *client
}

// Hijack implements http.Hijacker.
func (h *hijackNotifier) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	hj, ok := h.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, errors.New("websocket: the response writer cannot be hijacked")
	}
	conn, rw, err := hj.Hijack()
	if err != nil {
		return conn, rw, err
	}
	fc := &frameConn{Conn: conn}
	h.client.conn = fc
	close(h.hijacked)
	return fc, rw, nil
}

func (s *Server) onConnect(ms *melody.Session) {
	cl := clientOf(ms)
	cl.s = ms
	s.stats.connections[cl.endpoint()].Add(1)
	if cl.proto != protoExecution {
		now := time.Now()
		cl.send(obj{{"type", "connection:status"}, {"status", "connected"}, {"timestamp", iso(now)}, {"server_time", iso(now)}}.json())
		s.mu.Lock()
		s.monitors[cl] = struct{}{}
		s.mu.Unlock()
	}
	cl.topic.attach(cl)
	// melody starts the session's writer only after onConnect returns, so
	// the replay runs in its own goroutine, paced by what was written.
	go s.replay(cl)
}

func (s *Server) onDisconnect(ms *melody.Session) {
	cl := clientOf(ms)
	s.stats.connections[cl.endpoint()].Add(-1)
	cl.gone()
	cl.topic.detach(cl)
	s.release(cl.topic)
	s.mu.Lock()
	delete(s.monitors, cl)
	s.mu.Unlock()
}

func (s *Server) onError(ms *melody.Session, err error) {
	if errors.Is(err, melody.ErrMessageBufferFull) {
		// Reported from inside a write, which holds the client's queue
		// lock; close from outside it.
		go clientOf(ms).closeLagging()
		return
	}
	if !websocket.IsCloseError(err, websocket.CloseNormalClosure, websocket.CloseGoingAway, websocket.CloseNoStatusReceived) {
		s.cfg.Logger.Debug("websocket", "remote", ms.RemoteAddr().String(), "err", err)
	}
}

// replay sends the stored history the client asked for, then switches it
// to live delivery. The client is attached to its topic before the first
// read of the log; what the topic delivers meanwhile is only noted as
// missed, and read from the log in another pass, until a pass ends with
// nothing missed. Then the topic delivers to the client directly.
func (s *Server) replay(cl *client) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-cl.done:
			cancel()
		case <-ctx.Done():
		}
	}()
	var todo []string
	switch cl.topic.key.kind {
	case topicJob:
		todo = []string{cl.topic.key.id}
	case topicFlow:
		for _, js := range s.jobs.Active() {
			if js.FlowID == cl.topic.key.id {
				todo = append(todo, js.JobID)
			}
		}
	}
	streams := map[string]*jobStream{}
	for {
		for _, id := range todo {
			js := streams[id]
			if js == nil {
				js = newJobStream()
				streams[id] = js
			}
			if err := s.replayJob(ctx, cl, js, id); err != nil {
				if ctx.Err() == nil {
					s.cfg.Logger.Warn("websocket replay", "job", id, "err", err)
					cl.closeLagging()
				}
				return
			}
		}
		if todo = cl.topic.tryGoLive(cl); len(todo) == 0 {
			return // live
		}
	}
}

// errStop ends a history walk early.
var errStop = errors.New("stop")

// replayJob sends a job's stored events after those the client has (its
// since, then what earlier passes sent). The events before are still run
// through the encoders, so their state (progress, outputs, metrics) is
// complete. Messages are encoded into shared buffers and queued in batches;
// the client's writer writes each batch in a few syscalls.
func (s *Server) replayJob(ctx context.Context, cl *client, js *jobStream, jobID string) error {
	enc := js.s004.encode
	if cl.proto == protoExecution {
		enc = js.s000.encode
	}
	const batchMsgs, batchBytes = 1024, 256 << 10
	var fb frameBuf // grows as the history needs: most replays are short
	// A batch is queued once the queue is under half full: at most a
	// quarter of it keeps the client clear of the lagging limit.
	maxBatch := max(1, min(batchMsgs, s.cfg.QueueSize/4))
	var pending []outMsg
	flush := func() bool {
		if len(pending) == 0 {
			return true
		}
		ok := cl.waitRoom() && cl.enqueue(pending...)
		clear(pending)
		pending = pending[:0]
		return ok
	}
	err := s.history(ctx, jobID, js.fed, -1, func(ev *events.Event) bool {
		enc(ev, &fb)
		js.fed = ev.Seq
		pending = cl.pick(pending, fb.frames)
		clear(fb.frames)
		fb.frames = fb.frames[:0]
		if len(pending) >= maxBatch || len(fb.b) >= batchBytes {
			if !flush() {
				return false
			}
			fb.b = make([]byte, 0, min(batchBytes+4096, 2*cap(fb.b))) // the queued messages keep the old buffer
		}
		return true
	})
	if err == nil && !flush() {
		err = errStop
	}
	if errors.Is(err, errStop) && ctx.Err() != nil {
		return ctx.Err()
	}
	if errors.Is(err, errStop) {
		return nil // the client is closing; its writer says why
	}
	return err
}

// history walks a job's stored events with seq in (from, to] (to < 0: all)
// in order, after waiting for the log to store what was published. The
// event handed to fn is valid until fn returns (its raw data points into
// the lines read).
func (s *Server) history(ctx context.Context, jobID string, from, to int64, fn func(*events.Event) bool) error {
	if err := s.evlog.Sync(ctx); err != nil {
		return err
	}
	var names events.Names
	var ev events.Event
	next := from + 1
	for to < 0 || next <= to {
		body, last, err := s.store.EventBodies(ctx, jobID, next, 1<<20)
		if err != nil {
			return err
		}
		if last == 0 {
			return nil
		}
		for len(body) > 0 {
			line := body
			if i := bytes.IndexByte(body, '\n'); i >= 0 {
				line, body = body[:i], body[i+1:]
			} else {
				body = nil
			}
			if len(line) == 0 {
				continue
			}
			if seq, ok := lineSeq(line); ok && seq < next {
				continue
			}
			if err := events.DecodeStored(line, jobID, &ev, &names); err != nil {
				return err
			}
			if ev.Seq < next {
				continue
			}
			if to >= 0 && ev.Seq > to {
				return nil
			}
			if !fn(&ev) {
				return errStop
			}
		}
		if last < next {
			return nil
		}
		next = last + 1
	}
	return nil
}

// lineSeq reads the seq a stored line starts with ({"seq":N,…).
func lineSeq(line []byte) (int64, bool) {
	const prefix = `{"seq":`
	if !bytes.HasPrefix(line, []byte(prefix)) {
		return 0, false
	}
	var n int64
	digits := 0
	for _, c := range line[len(prefix):] {
		if c < '0' || c > '9' {
			break
		}
		n = n*10 + int64(c-'0')
		digits++
	}
	return n, digits > 0 && digits < 19
}

// maxClientMessage bounds what a client may send; more gets an error reply.
const maxClientMessage = 16 << 10

// CloseRateLimited is the close code for a seed 000 client over the message
// rate limit (RFC 6455 1008, policy violation).
const CloseRateLimited = websocket.ClosePolicyViolation

// limited applies the client message rate limit; false means drop the
// message. Seed 004 clients are told with an error message, at most one a
// second; seed 000 has no message for it (its error means the execution
// failed), so its client is closed with 1008.
func (s *Server) limited(cl *client) bool {
	ok, tell := cl.limit.allow(time.Now())
	if ok {
		return true
	}
	if tell {
		s.stats.rateLimited.Add(1)
		text := fmt.Sprintf("rate limit: at most %d messages a second (bursts of %d); messages over it are dropped", s.cfg.MessageRate, s.cfg.MessageBurst)
		if cl.proto == protoExecution {
			cl.closeWith(CloseRateLimited, text)
		} else {
			cl.send(protocolError(text))
		}
	}
	return false
}

// protocolError is seed 004's answer to a client message it cannot take.
func protocolError(text string) []byte {
	return obj{{"type", "error"}, {"error", text}, {"timestamp", iso(time.Now())}}.json()
}

// onBinary answers binary frames, which neither protocol has: seed 004
// with an error message (the connection stays open), seed 000, whose error
// message means the execution failed, with close 1003 (unsupported data).
func (s *Server) onBinary(ms *melody.Session, msg []byte) {
	cl := clientOf(ms)
	if !s.limited(cl) {
		return
	}
	if cl.proto == protoExecution {
		cl.closeWith(websocket.CloseUnsupportedData, "binary frames are not part of this protocol: send the text ping")
		return
	}
	cl.send(protocolError(fmt.Sprintf("binary frames are not part of this protocol (got %d bytes): send JSON text", len(msg))))
}

func (s *Server) onMessage(ms *melody.Session, msg []byte) {
	cl := clientOf(ms)
	if !s.limited(cl) {
		return
	}
	if cl.proto == protoExecution {
		if strings.TrimSpace(string(msg)) == "ping" {
			cl.send([]byte(`{"type":"pong"}`))
		}
		return
	}
	for _, reply := range answer(cl, msg) {
		cl.send(reply)
	}
}

// answer is seed 004's reply to one client message (none, or one message,
// or a confirmation and the error naming unknown types), applying a
// subscription change to c.
func answer(c *client, msg []byte) [][]byte {
	one := func(b []byte) [][]byte { return [][]byte{b} }
	if len(msg) > maxClientMessage {
		return one(protocolError(fmt.Sprintf("message of %d bytes is over the %d byte limit", len(msg), maxClientMessage)))
	}
	if strings.TrimSpace(string(msg)) == "ping" {
		return one(obj{{"type", "pong"}, {"timestamp", iso(time.Now())}}.json())
	}
	var req struct {
		Type   string   `json:"type"`
		Action string   `json:"action"`
		Events []string `json:"events"`
	}
	if err := json.Unmarshal(msg, &req); err != nil {
		return one(protocolError("message is not valid JSON: " + err.Error()))
	}
	switch {
	case req.Type == "pong":
		return nil
	case req.Type == "ping":
		return one(obj{{"type", "pong"}, {"timestamp", iso(time.Now())}}.json())
	case req.Action == "subscribe" || req.Action == "unsubscribe" || req.Action == "subscribe_all":
		list, unknown := c.subscribe(req.Action, req.Events)
		out := one(obj{{"type", "subscription:confirmed"}, {"action", req.Action}, {"events", list}}.json())
		if len(unknown) > 0 {
			names := make([]string, len(unknown))
			for i, n := range unknown {
				names[i] = clip(n, 40)
			}
			out = append(out, protocolError(fmt.Sprintf("unknown event types left out of the subscription: %s (the types are %s; said once per connection)",
				strings.Join(names, ", "), strings.Join(allTypes, ", "))))
		}
		return out
	default:
		return one(protocolError(fmt.Sprintf("unknown message: want {\"action\": \"subscribe|unsubscribe|subscribe_all\", \"events\": [...]} or {\"type\": \"pong\"}, got action %q type %q", clip(req.Action, 40), clip(req.Type, 40))))
	}
}

// heartbeat sends seed 004's JSON ping to every seed 004 client.
func (s *Server) heartbeat() {
	tick := time.NewTicker(s.cfg.HeartbeatInterval)
	defer tick.Stop()
	for {
		select {
		case <-s.stop:
			return
		case now := <-tick.C:
			frame := obj{{"type", "ping"}, {"timestamp", iso(now)}}.json()
			s.mu.Lock()
			list := make([]*client, 0, len(s.monitors))
			for c := range s.monitors {
				list = append(list, c)
			}
			s.mu.Unlock()
			for _, c := range list {
				c.send(frame)
			}
		}
	}
}

// clip shortens s to at most n bytes for an error message.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
