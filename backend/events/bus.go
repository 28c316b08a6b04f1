package events

import (
	"errors"
	"sync"
)

// Publisher receives events; Publish must not block.
type Publisher interface {
	Publish(ev *Event)
}

// Store keeps events durably: Publish queues one (without blocking), and
// the functions given to OnStored are called with what it has stored, in
// publish order, once it is stored.
type Store interface {
	Publisher
	OnStored(fn func([]*Event))
}

// ErrLagging ends a subscription whose reader fell a whole buffer behind.
// The reader resumes from the stored log with the last seq it saw.
var ErrLagging = errors.New("subscriber lagging: too many undelivered events")

// Bus hands each event to the durable log and, once the log has stored it,
// to live subscribers: a subscriber never sees an event a crash could take
// back (docs/durability.md). It never blocks the publisher: a subscriber
// whose buffer is full is cut off with ErrLagging instead of being fed a
// stream with holes.
type Bus struct {
	durable Store

	mu     sync.RWMutex
	byJob  map[string]map[*Subscription]struct{}
	byFlow map[string]map[*Subscription]struct{}
	all    map[*Subscription]struct{}
}

// NewBus returns a bus that stores events through durable and delivers
// them once stored.
func NewBus(durable Store) *Bus {
	b := &Bus{durable: durable, byJob: map[string]map[*Subscription]struct{}{}, byFlow: map[string]map[*Subscription]struct{}{},
		all: map[*Subscription]struct{}{}}
	durable.OnStored(b.deliver)
	return b
}

// Subscription is a live feed of events. Its queue grows only while the
// reader is behind, up to the subscription's limit; past it the
// subscription ends with ErrLagging.
type Subscription struct {
	bus    *Bus
	key    string
	flow   bool
	global bool
	filter func(*Event) bool // global subscriptions only
	limit  int
	ready  chan struct{}

	mu     sync.Mutex
	queue  []*Event
	closed bool
	err    error
}

func newSubscription(b *Bus, limit int) *Subscription {
	return &Subscription{bus: b, limit: max(limit, 1), ready: make(chan struct{}, 1)}
}

// Ready is signalled when events (or the end) are waiting to be taken.
func (s *Subscription) Ready() <-chan struct{} { return s.ready }

// Take returns the queued events in order. ok is false once the
// subscription has ended and everything queued has been taken.
func (s *Subscription) Take() (list []*Event, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	list, s.queue = s.queue, nil
	return list, len(list) > 0 || !s.closed
}

// Err says why the subscription ended: ErrLagging, or nil after Close.
func (s *Subscription) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// Close ends the subscription.
func (s *Subscription) Close() { s.bus.remove(s, nil) }

// offer queues ev; false means the queue was full, which ends the
// subscription at once (ErrLagging), so no later event slips in after the
// one it missed.
func (s *Subscription) offer(ev *Event) bool {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return true
	}
	if len(s.queue) >= s.limit {
		s.closed, s.err = true, ErrLagging
		s.mu.Unlock()
		s.signal()
		return false
	}
	s.queue = append(s.queue, ev)
	s.mu.Unlock()
	s.signal()
	return true
}

func (s *Subscription) signal() {
	select {
	case s.ready <- struct{}{}:
	default:
	}
}

// SubscribeJob follows one job's events, queueing up to limit of them.
func (b *Bus) SubscribeJob(jobID string, limit int) *Subscription {
	return b.subscribe(b.byJob, jobID, false, limit)
}

// SubscribeFlow follows the events of every job of a flow.
func (b *Bus) SubscribeFlow(flowID string, limit int) *Subscription {
	return b.subscribe(b.byFlow, flowID, true, limit)
}

// SubscribeAll follows the events of every job that pass filter; filter
// runs on the publisher's path, so it must be cheap.
func (b *Bus) SubscribeAll(limit int, filter func(*Event) bool) *Subscription {
	s := newSubscription(b, limit)
	s.global, s.filter = true, filter
	b.mu.Lock()
	b.all[s] = struct{}{}
	b.mu.Unlock()
	return s
}

func (b *Bus) subscribe(index map[string]map[*Subscription]struct{}, key string, flow bool, limit int) *Subscription {
	s := newSubscription(b, limit)
	s.key, s.flow = key, flow
	b.mu.Lock()
	set := index[key]
	if set == nil {
		set = map[*Subscription]struct{}{}
		index[key] = set
	}
	set[s] = struct{}{}
	b.mu.Unlock()
	return s
}

// Publish implements the engine's sink.
func (b *Bus) Publish(ev *Event) { b.durable.Publish(ev) }

// deliver fans stored events out to the subscribers they concern.
func (b *Bus) deliver(stored []*Event) {
	var lagging []*Subscription
	b.mu.RLock()
	if len(b.byJob) == 0 && len(b.byFlow) == 0 && len(b.all) == 0 {
		b.mu.RUnlock()
		return
	}
	for _, ev := range stored {
		for _, set := range [3]map[*Subscription]struct{}{b.byJob[ev.JobID], b.byFlow[ev.FlowID], b.all} {
			for s := range set {
				if s.filter != nil && !s.filter(ev) {
					continue
				}
				if !s.offer(ev) {
					lagging = append(lagging, s)
				}
			}
		}
	}
	b.mu.RUnlock()
	for _, s := range lagging {
		b.remove(s, ErrLagging)
	}
}

func (b *Bus) remove(s *Subscription, reason error) {
	b.mu.Lock()
	index := b.byJob
	if s.flow {
		index = b.byFlow
	}
	if s.global {
		delete(b.all, s)
	} else if set := index[s.key]; set != nil {
		delete(set, s)
		if len(set) == 0 {
			delete(index, s.key)
		}
	}
	b.mu.Unlock()
	s.mu.Lock()
	if !s.closed {
		s.closed = true
		s.err = reason
	}
	s.mu.Unlock()
	s.signal()
}
