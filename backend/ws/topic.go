package ws

import (
	"context"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/switchyard/switchyard/backend/events"
)

// topicKind says what a topic follows.
type topicKind int

const (
	topicJob  topicKind = iota // one job
	topicFlow                  // every job of one flow
	topicAll                   // lifecycle of every job
)

type topicKey struct {
	kind topicKind
	id   string
}

// topic is the fan-out point of one job (or flow): a single bus
// subscription and goroutine serialize each event once per protocol and
// hand the frames to every client of that topic. Nothing loops over the
// clients of other topics.
type topic struct {
	srv  *Server
	key  topicKey
	sub  *events.Subscription
	refs int // guarded by srv.mu

	mu      sync.Mutex
	clients map[*client]struct{}

	// Owned by the topic's goroutine.
	jobs map[string]*jobStream
}

// jobStream is the protocol state of one job inside a topic (or a
// client's replay): fed is the last event seq run through the encoders.
type jobStream struct {
	s000 *seed000
	s004 *seed004
	fed  int64
}

func newJobStream() *jobStream {
	return &jobStream{s000: newSeed000(), s004: &seed004{}}
}

// acquire returns the topic for key, creating it if needed.
func (s *Server) acquire(key topicKey) *topic {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.topics[key]
	if t == nil {
		t = &topic{srv: s, key: key, clients: map[*client]struct{}{}, jobs: map[string]*jobStream{}}
		switch key.kind {
		case topicJob:
			t.sub = s.bus.SubscribeJob(key.id, s.cfg.TopicBuffer)
		case topicFlow:
			t.sub = s.bus.SubscribeFlow(key.id, s.cfg.TopicBuffer)
		case topicAll:
			t.sub = s.bus.SubscribeAll(s.cfg.TopicBuffer, isJobEvent)
		}
		s.topics[key] = t
		go t.run()
	}
	t.refs++
	return t
}

// release drops a reference; the last one ends the topic.
func (s *Server) release(t *topic) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t.refs--
	if t.refs == 0 {
		delete(s.topics, t.key)
		t.sub.Close()
	}
}

func isJobEvent(ev *events.Event) bool {
	switch ev.Type {
	case events.JobStarted, events.JobPaused, events.JobResumed, events.JobCompleted, events.JobFailed, events.JobCancelled:
		return true
	}
	return false
}

func (t *topic) attach(c *client) {
	t.mu.Lock()
	t.clients[c] = struct{}{}
	t.mu.Unlock()
}

func (t *topic) detach(c *client) {
	t.mu.Lock()
	delete(t.clients, c)
	t.mu.Unlock()
}

// tryGoLive switches c to live delivery if its replay has sent everything
// the topic delivered meanwhile; otherwise it returns the jobs to read again.
func (t *topic) tryGoLive(c *client) (behind []string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for job, seq := range c.missed {
		if c.last[job].Less(events.After(seq)) {
			behind = append(behind, job)
		}
	}
	if len(behind) == 0 {
		c.live = true
	}
	return behind
}

func (t *topic) run() {
	tick := time.NewTicker(t.srv.cfg.MetricsInterval)
	defer tick.Stop()
	for {
		select {
		case <-t.sub.Ready():
			list, ok := t.sub.Take()
			for _, ev := range list {
				t.publish(ev)
			}
			if !ok {
				if errors.Is(t.sub.Err(), events.ErrLagging) {
					t.srv.cfg.Logger.Warn("websocket topic fell behind the event bus; closing its clients", "topic", t.key.id)
					t.closeAll()
				}
				return
			}
		case now := <-tick.C:
			t.publishMetrics(now)
		}
	}
}

// stream returns the job's protocol state; the first time a job is seen
// mid-way, its stored history is run through the encoders first so their
// state (progress, metrics, current node) is complete.
func (t *topic) stream(ev *events.Event) *jobStream {
	js := t.jobs[ev.JobID]
	if js != nil {
		return js
	}
	js = newJobStream()
	t.jobs[ev.JobID] = js
	if ev.Seq > 1 && t.key.kind != topicAll { // lifecycle messages need no history
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		var scratch frameBuf // the messages are not sent: only the encoders' state counts
		if err := t.srv.history(ctx, ev.JobID, 0, ev.Seq-1, func(old *events.Event) bool {
			js.s000.encode(old, &scratch)
			js.s004.encode(old, &scratch)
			scratch.reset()
			return true
		}); err != nil {
			t.srv.cfg.Logger.Warn("websocket topic could not read a job's history", "job", ev.JobID, "err", err)
		}
	}
	return js
}

func (t *topic) publish(ev *events.Event) {
	js := t.stream(ev)
	// Each protocol's frames are built once per event, for all its clients
	// (the monitor and debug endpoints share seed 004's). Both encoders
	// advance even without clients: their state (progress, outputs,
	// metrics) must be complete when a client arrives.
	fb := frameBuf{b: make([]byte, 0, 1024)} // the frames are kept in client queues: a buffer of their own
	js.s004.encode(ev, &fb)
	f004 := fb.take()
	if t.key.kind == topicAll {
		f004 = lifecycleOnly(f004)
	}
	js.s000.encode(ev, &fb)
	frames := [3][]frame{protoExecution: fb.take(), protoMonitor: f004, protoDebug: f004}
	t.mu.Lock()
	for c := range t.clients {
		c.deliver(frames[c.proto])
	}
	t.mu.Unlock()
	if events.Finished(statusOf(ev)) {
		delete(t.jobs, ev.JobID) // a finished job sends nothing more
	}
}

// lifecycleOnly keeps the job_* messages (dropping e.g. the final metrics).
func lifecycleOnly(frames []frame) []frame {
	out := frames[:0:0]
	for _, f := range frames {
		if strings.HasPrefix(f.typ, "job_") {
			out = append(out, f)
		}
	}
	return out
}

// statusOf is the terminal status an event announces, if any.
func statusOf(ev *events.Event) string {
	switch ev.Type {
	case events.JobCompleted, events.JobFailed, events.JobCancelled:
		return ev.Status
	}
	return ""
}

// publishMetrics sends seed 004 clients the metrics of every running job.
func (t *topic) publishMetrics(now time.Time) {
	if t.key.kind == topicAll {
		return // the all-jobs monitor carries lifecycle messages only
	}
	for id, js := range t.jobs {
		f := []frame{js.s004.metricsFrame(id, now)}
		t.mu.Lock()
		for c := range t.clients {
			if c.proto != protoExecution {
				c.deliver(f)
			}
		}
		t.mu.Unlock()
	}
}

func (t *topic) closeAll() {
	t.mu.Lock()
	defer t.mu.Unlock()
	for c := range t.clients {
		c.closeLagging()
	}
}
