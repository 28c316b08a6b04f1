package ws

import (
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"github.com/olahol/melody"
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
	proto protocol
	topic *topic
	since int64 // replay starts after this seq (job endpoints)

	// Outgoing messages: up to melodySlots are handed to melody's
	// session buffer; the rest wait in queue, fed to melody as it writes.
	// A client whose queue exceeds QueueSize is closed as lagging.
	qmu      sync.Mutex
	inflight []int64 // seqs of the messages in melody's buffer, oldest first
	queue    []outMsg
	sent     chan struct{} // signalled after each written message
	done     chan struct{} // closed when the connection is gone
	doneOnce sync.Once
	closing  atomic.Bool
	handed   int64 // newest event whose messages are all in melody's buffer (guarded by qmu)

	// Guarded by topic.mu. Until the replay has caught up (live), the
	// topic only notes the newest event seq the client missed per job;
	// the replay then reads those from the log. last is the newest event
	// seq sent per job.
	live   bool
	missed map[string]int64
	last   map[string]int64

	filterMu sync.Mutex
	filter   map[string]bool // seed 004 subscription; nil means everything
}

func newClient(srv *Server, proto protocol, since int64) *client {
	return &client{srv: srv, proto: proto, since: since, sent: make(chan struct{}, 1),
		done: make(chan struct{}), last: map[string]int64{}, missed: map[string]int64{}}
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

// melodySlots is how many messages sit in melody's session buffer at once.
// The buffer is allocated per connection, so it is kept small; bursts wait
// in the client's own queue, which costs nothing while idle.
const melodySlots = 16

// outMsg is a queued message; seq, if not 0, is the event it completes.
type outMsg struct {
	data []byte
	seq  int64
}

// send queues one message; seq is the event seq the message completes (0
// for none). A client whose queue is full is closed as lagging: it is never
// sent a stream with holes.
func (c *client) send(data []byte, seq int64) bool {
	if c.closing.Load() {
		return false
	}
	c.qmu.Lock()
	if len(c.inflight) < melodySlots && len(c.queue) == 0 {
		// Written under qmu (melody's Write never blocks), so a message
		// moved from the queue by onSent can never be overtaken.
		err := c.handToMelody(data, seq)
		c.qmu.Unlock()
		return err == nil
	}
	if len(c.queue) >= c.srv.cfg.QueueSize {
		c.closeLaggingLocked()
		c.qmu.Unlock()
		return false
	}
	c.queue = append(c.queue, outMsg{data, seq})
	c.qmu.Unlock()
	return true
}

// handToMelody puts a message into melody's session buffer. Called with qmu.
func (c *client) handToMelody(data []byte, seq int64) error {
	c.inflight = append(c.inflight, seq)
	if seq > 0 {
		c.handed = seq
	}
	return c.s.Write(data)
}

// backlog is the number of messages not yet written to the connection.
func (c *client) backlog() int {
	c.qmu.Lock()
	defer c.qmu.Unlock()
	return len(c.inflight) + len(c.queue)
}

// onSent is melody's notification that a message was written: the next
// queued message moves into melody's buffer.
func (c *client) onSent() {
	c.srv.stats.sent.Add(1)
	c.qmu.Lock()
	if len(c.inflight) > 0 {
		c.inflight = c.inflight[1:]
	}
	if len(c.queue) > 0 && !c.closing.Load() {
		next := c.queue[0]
		_ = c.handToMelody(next.data, next.seq)
		c.queue[0] = outMsg{}
		c.queue = c.queue[1:]
		if len(c.queue) == 0 {
			c.queue = nil // release the burst's memory
		}
	}
	c.qmu.Unlock()
	select {
	case c.sent <- struct{}{}:
	default:
	}
}

// deliver hands the frames of one event (or a metrics frame) to the client.
func (c *client) deliver(frames []frame) {
	if len(frames) == 0 {
		return
	}
	if !c.live {
		if f := frames[0]; f.event && f.seq > c.missed[f.jobID] {
			c.missed[f.jobID] = f.seq
		}
		return
	}
	f0 := frames[0]
	if f0.event && f0.seq <= c.last[f0.jobID] {
		return // the replay already sent this event
	}
	if c.sendFrames(frames, false) && f0.event {
		c.last[f0.jobID] = f0.seq
	}
}

// sendFrames sends the frames the client subscribed to. With paced (the
// replay), it waits while the client's queue is half full, so a replay of
// any length never overflows it, and gives up (closing the client as
// lagging) if the client reads nothing for WriteTimeout.
func (c *client) sendFrames(frames []frame, paced bool) bool {
	lastWanted := -1
	for i, f := range frames {
		if c.wants(f.typ) {
			lastWanted = i
		}
	}
	for i, f := range frames[:lastWanted+1] {
		if !c.wants(f.typ) {
			continue
		}
		for paced && c.backlog() >= c.srv.cfg.QueueSize/2 {
			select {
			case <-c.sent:
			case <-c.done:
				return false
			case <-time.After(c.srv.cfg.WriteTimeout):
				c.closeLagging()
				return false
			}
		}
		var seq int64
		if i == lastWanted && f.event {
			seq = f.seq
		}
		if !c.send(f.data, seq) {
			return false
		}
	}
	return true
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

// closeLaggingLocked queues a close frame behind the messages already in
// melody's buffer (never more than melodySlots, so the buffer always has
// room for it); nothing more is queued after it. The reason names the newest
// event the client will have received in full. A client that reads nothing
// is dropped by melody's write deadline. Called with qmu.
func (c *client) closeLaggingLocked() {
	if !c.closing.CompareAndSwap(false, true) {
		return
	}
	c.srv.stats.lagging.Add(1)
	c.queue = nil
	reason := "lagging: reconnect with ?since=<last seq you received>"
	if c.topic.key.kind == topicJob {
		reason = fmt.Sprintf("lagging: reconnect with ?since=%d", c.handed)
	}
	c.srv.cfg.Logger.Info("closing lagging websocket client", "remote", c.s.RemoteAddr().String(), "path", c.s.Request.URL.Path)
	if err := c.s.CloseWithMsg(websocket.FormatCloseMessage(CloseLagging, reason)); err != nil {
		_ = c.s.WebsocketConnection().Close()
	}
}

func (c *client) gone() {
	c.doneOnce.Do(func() { close(c.done) })
}

// subscribe applies a seed 004 subscription request and returns the
// resulting list of types (["*"] for everything). As in the seed's client,
// an empty set means everything: unsubscribing from the last type
// subscribed to restores the full stream.
func (c *client) subscribe(action string, types []string) []any {
	c.filterMu.Lock()
	defer c.filterMu.Unlock()
	switch action {
	case "subscribe_all":
		c.filter = nil
	case "subscribe":
		if c.filter == nil {
			c.filter = map[string]bool{}
		}
		for _, t := range types {
			if !slices.Contains(allTypes, t) && !c.filter[t] && c.unknownTypesLocked() >= maxUnknownTypes {
				continue // a client naming ever new types must not grow the set (and every reply) without end
			}
			c.filter[t] = true
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
	if len(c.filter) == 0 {
		c.filter = nil
		return []any{"*"}
	}
	out := make([]any, 0, len(c.filter))
	for _, t := range allTypes {
		if c.filter[t] {
			out = append(out, t)
		}
	}
	for t := range c.filter { // types we do not send stay listed as asked
		if !slices.Contains(allTypes, t) {
			out = append(out, t)
		}
	}
	return out
}

// allTypes are the seed 004 message types a subscription can select.
var allTypes = []string{
	"job_started", "job_completed", "job_failed", "job_paused", "job_resumed", "job_cancelled",
	"routine_started", "routine_completed", "routine_failed",
	"breakpoint_hit", "breakpoint_resumed", "execution_event", "metrics", "log", "variable_changed",
}

// maxUnknownTypes bounds the types a subscription keeps that the server
// never sends (kept, and listed back, as the client asked).
const maxUnknownTypes = 32

func (c *client) unknownTypesLocked() int {
	n := 0
	for t := range c.filter {
		if !slices.Contains(allTypes, t) {
			n++
		}
	}
	return n
}
