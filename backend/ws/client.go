package ws

import (
	"encoding/binary"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"github.com/olahol/melody"

	"github.com/switchyard/switchyard/backend/events"
)

// protocol is the wire protocol of an endpoint.
type protocol int

const (
	protoExecution protocol = iota // seed 000
	protoMonitor                   // seed 004
	protoDebug                     // seed 004 + log and debugger messages
)

// CloseLagging is the close code for a client that fell a whole queue behind.
const CloseLagging = 4008

// client is one WebSocket connection following a topic.
type client struct {
	srv   *Server
	s     *melody.Session
	conn  *frameConn // the connection, as hijacked; the client's messages are written to it directly
	proto protocol
	topic *topic
	since events.Pos // replay starts after this message (job endpoints)

	// Outgoing messages wait in queue; one writer goroutine at a time
	// (started when messages arrive, gone when the queue is empty) writes
	// them in batches, each batch in as few syscalls as its size allows.
	// A client whose queue exceeds QueueSize is closed as lagging.
	qmu      sync.Mutex
	queue    []outMsg
	writing  bool          // a writer goroutine is running
	inBatch  int           // messages the writer took and is writing
	written  events.Pos    // the newest positioned message written
	closeReq *closeReq     // a close to write once what the writer holds is written
	sent     chan struct{} // signalled after each written batch
	done     chan struct{} // closed when the connection is gone
	doneOnce sync.Once
	closing  atomic.Bool

	// Guarded by topic.mu. Until the replay has caught up (live), the
	// topic only notes the newest event seq the client missed per job;
	// the replay then reads those from the log. last is the position the
	// client has everything up to, per job.
	live   bool
	missed map[string]int64
	last   map[string]events.Pos

	filterMu sync.Mutex
	filter   map[string]bool // seed 004 subscription; nil means everything
	// toldUnknown: the client was told once that it named types the
	// protocol does not have.
	toldUnknown bool

	// Read by melody's reader goroutine only.
	limit rateLimit
}

// closeReq is a close frame to send: code and the reason, which may name
// the position to resume from (known only once the last batch is written).
type closeReq struct {
	code   int
	reason func(written events.Pos) string
}

func newClient(srv *Server, proto protocol, since events.Pos) *client {
	c := &client{srv: srv, proto: proto, since: since, written: since, sent: make(chan struct{}, 1),
		done: make(chan struct{}), last: map[string]events.Pos{}, missed: map[string]int64{}}
	c.limit.init(srv.cfg.MessageRate, srv.cfg.MessageBurst)
	return c
}

// alwaysSent are seed 004 messages no subscription filters out.
var alwaysSent = map[string]bool{"connection:status": true, "ping": true, "subscription:confirmed": true, "error": true}

// debugOnly are seed 004 messages only the debug endpoint carries; the
// monitor endpoints share the same frames and leave these out.
var debugOnly = map[string]bool{"log": true, "variable_changed": true}

func (c *client) wants(typ string) bool {
	if c.proto == protoExecution || alwaysSent[typ] {
		return true
	}
	if debugOnly[typ] && c.proto != protoDebug {
		return false
	}
	c.filterMu.Lock()
	defer c.filterMu.Unlock()
	return c.filter == nil || c.filter[typ]
}

// outMsg is a queued message; pos, if not zero, is its stream position;
// typ, if set, is checked against the subscription again when it is
// written (a subscription confirmed meanwhile applies to it).
type outMsg struct {
	data []byte
	pos  events.Pos
	typ  string
}

// wanted filters a batch to be written, in place, by the subscription as
// it is now: messages picked before a subscription change may be queued
// after its confirmation, and what is written after it must follow it.
func (c *client) wanted(batch []outMsg) []outMsg {
	if c.proto == protoExecution {
		return batch
	}
	kept := batch[:0]
	for _, m := range batch {
		if m.typ == "" || c.wants(m.typ) {
			kept = append(kept, m)
		}
	}
	return kept
}

// send queues one message without a position (replies, heartbeats).
func (c *client) send(data []byte) bool { return c.enqueue(outMsg{data: data}) }

// enqueue queues messages in order. A client whose queue would pass
// QueueSize is closed as lagging: it is never sent a stream with holes.
func (c *client) enqueue(msgs ...outMsg) bool {
	if len(msgs) == 0 {
		return true
	}
	if c.closing.Load() {
		return false
	}
	c.qmu.Lock()
	defer c.qmu.Unlock()
	if c.closing.Load() {
		return false
	}
	if len(c.queue)+len(msgs) > c.srv.cfg.QueueSize {
		c.closeLaggingLocked()
		return false
	}
	c.queue = append(c.queue, msgs...)
	c.startWriterLocked()
	return true
}

func (c *client) startWriterLocked() {
	if !c.writing && c.conn != nil {
		c.writing = true
		go c.writeLoop()
	}
}

// writeLoop writes queued messages until the queue is empty, then a
// requested close, if any.
func (c *client) writeLoop() {
	var batch []outMsg
	for {
		c.qmu.Lock()
		if len(c.queue) == 0 {
			req := c.closeReq
			c.closeReq = nil
			c.writing, c.inBatch = false, 0
			written := c.written
			c.qmu.Unlock()
			if req != nil {
				payload := websocket.FormatCloseMessage(req.code, req.reason(written))
				_ = c.conn.writeControl(websocket.CloseMessage, payload, c.srv.cfg.WriteTimeout)
				_ = c.conn.Close()
			}
			return
		}
		batch, c.queue = c.queue, batch[:0]
		c.inBatch = len(batch)
		c.qmu.Unlock()

		var newest events.Pos // what the client will have had, written or filtered out
		for i := len(batch) - 1; i >= 0; i-- {
			if !batch[i].pos.IsZero() {
				newest = batch[i].pos
				break
			}
		}
		kept := c.wanted(batch)
		err := c.conn.writeText(kept, c.srv.cfg.WriteTimeout)
		c.srv.stats.sent.Add(int64(len(kept)))
		clear(batch)
		if cap(batch) > 4096 {
			batch = nil // release a burst's memory
		}
		c.qmu.Lock()
		if !newest.IsZero() && err == nil {
			c.written = newest
		}
		c.inBatch = 0
		if err != nil {
			c.queue, c.closeReq, c.writing = nil, nil, false
			c.closing.Store(true)
		}
		c.qmu.Unlock()
		select {
		case c.sent <- struct{}{}:
		default:
		}
		if err != nil {
			// A peer that does not read for WriteTimeout (or is gone) is
			// dropped without a close frame.
			_ = c.conn.Close()
			return
		}
	}
}

// backlog is the number of messages not yet written to the connection.
func (c *client) backlog() int {
	c.qmu.Lock()
	defer c.qmu.Unlock()
	return len(c.queue) + c.inBatch
}

// deliver hands the frames of one event (or a metrics frame) to the client.
func (c *client) deliver(frames []frame) {
	if len(frames) == 0 {
		return
	}
	if !c.live {
		if f := frames[0]; !f.pos.IsZero() && f.pos.Seq > c.missed[f.jobID] {
			c.missed[f.jobID] = f.pos.Seq
		}
		return
	}
	var stack [4]outMsg
	msgs := c.pick(stack[:0], frames)
	c.enqueue(msgs...)
}

// pick appends the messages of one event's frames the client is due: those
// it subscribed to and has not had (a position after last), and advances
// last past the event.
func (c *client) pick(out []outMsg, frames []frame) []outMsg {
	if len(frames) == 0 {
		return out
	}
	if f := frames[0]; !f.pos.IsZero() && !c.last[f.jobID].Less(events.After(f.pos.Seq)) {
		return out // the client has the whole event (and needs no snapshot sent with it)
	}
	for _, f := range frames {
		if !f.pos.IsZero() {
			last := c.last[f.jobID]
			if !last.Less(f.pos) {
				continue // sent already, or before the client's since
			}
		}
		if c.wants(f.typ) {
			out = append(out, outMsg{data: f.data, pos: f.pos, typ: f.typ})
		}
	}
	if f := frames[0]; !f.pos.IsZero() {
		if end := events.After(f.pos.Seq); c.last[f.jobID].Less(end) {
			c.last[f.jobID] = end
		}
	}
	return out
}

// waitRoom waits (for the replay) while the client's queue is half full,
// so a replay of any length never overflows it; it gives up, closing the
// client as lagging, if the client reads nothing for WriteTimeout.
func (c *client) waitRoom() bool {
	for c.backlog() >= c.srv.cfg.QueueSize/2 {
		select {
		case <-c.sent:
		case <-c.done:
			return false
		case <-time.After(c.srv.cfg.WriteTimeout):
			c.closeLagging()
			return false
		}
	}
	return !c.closing.Load()
}

// closeLagging closes the connection with a reason the client can act on.
func (c *client) closeLagging() {
	if c.closing.Load() {
		return
	}
	c.qmu.Lock()
	defer c.qmu.Unlock()
	c.closeLaggingLocked()
}

// closeLaggingLocked drops what is queued and has the writer send a close
// frame once the batch it is writing is out; nothing more is queued after
// it. The reason names the position of the newest message the client will
// have received, so ?since= with it loses nothing. A client that reads
// nothing is dropped when the write times out. Called with qmu.
func (c *client) closeLaggingLocked() {
	if !c.closing.CompareAndSwap(false, true) {
		return
	}
	c.srv.stats.lagging.Add(1)
	c.queue = nil
	job := c.topic.key.kind == topicJob
	c.closeReq = &closeReq{code: CloseLagging, reason: func(written events.Pos) string {
		if job {
			return "lagging: reconnect with ?since=" + sinceText(written)
		}
		return "lagging: reconnect with ?since=<last seq you received>"
	}}
	if c.s != nil {
		c.srv.cfg.Logger.Info("closing lagging websocket client", "remote", c.s.RemoteAddr().String(), "path", c.s.Request.URL.Path)
	}
	c.startWriterLocked()
}

// closeWith has the writer send what is queued, then a close frame.
func (c *client) closeWith(code int, reason string) {
	c.qmu.Lock()
	defer c.qmu.Unlock()
	if !c.closing.CompareAndSwap(false, true) {
		return
	}
	c.closeReq = &closeReq{code: code, reason: func(events.Pos) string { return reason }}
	c.startWriterLocked()
}

// sinceText is p as a since ("0" for the start of the stream).
func sinceText(p events.Pos) string {
	if p.Seq == 0 {
		return "0"
	}
	return p.String()
}

func (c *client) gone() {
	c.doneOnce.Do(func() { close(c.done) })
}

// frameConn is a hijacked connection whose text messages the client's
// writer frames itself: a batch of messages becomes one buffer of frames,
// written with one syscall per 64 KiB instead of one per message. gorilla
// still writes the handshake and the control frames melody and the peer
// cause (pings, pong replies, closes) through Write; each of those is one
// whole frame in one call, and mu keeps frames from interleaving.
type frameConn struct {
	net.Conn
	mu sync.Mutex
}

// Write implements net.Conn for gorilla's writes.
func (f *frameConn) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.Conn.Write(p)
}

const flushAt = 64 << 10

var frameBufs = sync.Pool{New: func() any { b := make([]byte, 0, flushAt+1024); return &b }}

// writeText writes each message as one final, unmasked text frame (RFC
// 6455 §5.2; servers do not mask).
func (f *frameConn) writeText(msgs []outMsg, timeout time.Duration) error {
	bp := frameBufs.Get().(*[]byte)
	buf := (*bp)[:0]
	f.mu.Lock()
	defer func() {
		f.mu.Unlock()
		if cap(buf) <= 4*flushAt {
			*bp = buf[:0]
			frameBufs.Put(bp)
		}
	}()
	// Each write gets its own deadline: a client gives up after timeout
	// without progress, however large the batch.
	write := func(bufs ...[]byte) error {
		if err := f.Conn.SetWriteDeadline(time.Now().Add(timeout)); err != nil {
			return err
		}
		if len(bufs) == 1 {
			_, err := f.Conn.Write(bufs[0])
			return err
		}
		nb := net.Buffers(bufs)
		_, err := nb.WriteTo(f.Conn)
		return err
	}
	for _, m := range msgs {
		buf = appendFrameHeader(buf, websocket.TextMessage, len(m.data))
		if len(m.data) >= flushAt { // large: no copy
			if err := write(buf, m.data); err != nil {
				return err
			}
			buf = buf[:0]
			continue
		}
		buf = append(buf, m.data...)
		if len(buf) >= flushAt {
			if err := write(buf); err != nil {
				return err
			}
			buf = buf[:0]
		}
	}
	if len(buf) > 0 {
		return write(buf)
	}
	return nil
}

// writeControl writes one control frame (payload ≤ 125 bytes).
func (f *frameConn) writeControl(op int, payload []byte, timeout time.Duration) error {
	if len(payload) > 125 {
		payload = payload[:125]
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.Conn.SetWriteDeadline(time.Now().Add(timeout)); err != nil {
		return err
	}
	_, err := f.Conn.Write(append(appendFrameHeader(make([]byte, 0, 2+len(payload)), op, len(payload)), payload...))
	return err
}

func appendFrameHeader(b []byte, op, n int) []byte {
	b = append(b, 0x80|byte(op)) // FIN
	switch {
	case n < 126:
		return append(b, byte(n))
	case n <= 0xFFFF:
		return binary.BigEndian.AppendUint16(append(b, 126), uint16(n))
	default:
		return binary.BigEndian.AppendUint64(append(b, 127), uint64(n))
	}
}

// rateLimit is a token bucket over the messages a client sends.
type rateLimit struct {
	rate, burst float64
	tokens      float64
	at          time.Time
	told        time.Time // when the client was last told it is over the limit
}

func (l *rateLimit) init(rate, burst int) {
	l.rate, l.burst, l.tokens = float64(rate), float64(burst), float64(burst)
}

// allow takes a token for a message received now; tell is true for a
// refused message the client should hear about: at most one a second.
func (l *rateLimit) allow(now time.Time) (ok, tell bool) {
	if l.rate <= 0 {
		return true, false
	}
	if !l.at.IsZero() {
		l.tokens = min(l.burst, l.tokens+now.Sub(l.at).Seconds()*l.rate)
	}
	l.at = now
	if l.tokens >= 1 {
		l.tokens--
		return true, false
	}
	if now.Sub(l.told) < time.Second {
		return false, false
	}
	l.told = now
	return false, true
}

// subscribe applies a seed 004 subscription request and returns the
// resulting list of types (["*"] for everything), and the names it was asked
// that are none of the protocol's types, the first time a client names any
// (they are left out: the set holds the seed's types only, so it stays
// bounded). As in the seed's client, an empty set means everything:
// unsubscribing from the last type subscribed to restores the full stream.
func (c *client) subscribe(action string, types []string) (list []any, unknown []string) {
	c.filterMu.Lock()
	defer c.filterMu.Unlock()
	for _, t := range types {
		if !slices.Contains(allTypes, t) && len(unknown) < 10 {
			unknown = append(unknown, t)
		}
	}
	switch action {
	case "subscribe_all":
		c.filter = nil
	case "subscribe":
		if c.filter == nil {
			c.filter = map[string]bool{}
		}
		for _, t := range types {
			if slices.Contains(allTypes, t) {
				c.filter[t] = true
			}
		}
	case "unsubscribe":
		if c.filter == nil {
			c.filter = map[string]bool{}
			for _, t := range allTypes {
				c.filter[t] = true
			}
		}
		for _, t := range types {
			delete(c.filter, t)
		}
	}
	if len(unknown) > 0 && c.toldUnknown {
		unknown = nil
	} else if len(unknown) > 0 {
		c.toldUnknown = true
	}
	if len(c.filter) == 0 {
		c.filter = nil
		return []any{"*"}, unknown
	}
	out := make([]any, 0, len(c.filter))
	for _, t := range allTypes {
		if c.filter[t] {
			out = append(out, t)
		}
	}
	return out, unknown
}

// allTypes are the seed 004 message types a subscription can select.
var allTypes = []string{
	"job_started", "job_completed", "job_failed", "job_paused", "job_resumed", "job_cancelled",
	"routine_started", "routine_completed", "routine_failed",
	"breakpoint_hit", "breakpoint_resumed", "execution_event", "metrics", "log", "variable_changed",
}
