package events

import (
	"errors"
	"sync"
)

// Publisher receives events; Publish must not block.
type Publisher interface {
	Publish(ev *Event)
}

// ErrLagging ends a subscription whose reader fell a whole buffer behind.
// The reader resumes from the stored log with the last seq it saw.
var ErrLagging = errors.New("subscriber lagging: too many undelivered events")

// Bus fans each event out to the durable log and to live subscribers. It
// never blocks the publisher: a subscriber whose buffer is full is cut off
// with ErrLagging instead of being fed a stream with holes.
type Bus struct {
	durable Publisher

	mu     sync.RWMutex
	byJob  map[string]map[*Subscription]struct{}
	byFlow map[string]map[*Subscription]struct{}
}

// NewBus returns a bus that stores events through durable.
func NewBus(durable Publisher) *Bus {
	return &Bus{durable: durable, byJob: map[string]map[*Subscription]struct{}{}, byFlow: map[string]map[*Subscription]struct{}{}}
}

// Subscription is a live feed of events.
type Subscription struct {
	bus  *Bus
	key  string
	flow bool
	ch   chan *Event

	mu     sync.Mutex
	closed bool
	err    error
}

// C delivers events in seq order per job; it is closed when the
// subscription ends (see Err).
func (s *Subscription) C() <-chan *Event { return s.ch }

// Err says why C was closed: ErrLagging, or nil after Close.
func (s *Subscription) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// Close ends the subscription.
func (s *Subscription) Close() { s.bus.remove(s, nil) }

// SubscribeJob follows one job's events, buffering up to buffer of them.
func (b *Bus) SubscribeJob(jobID string, buffer int) *Subscription {
	return b.subscribe(b.byJob, jobID, false, buffer)
}

// SubscribeFlow follows the events of every job of a flow.
func (b *Bus) SubscribeFlow(flowID string, buffer int) *Subscription {
	return b.subscribe(b.byFlow, flowID, true, buffer)
}

func (b *Bus) subscribe(index map[string]map[*Subscription]struct{}, key string, flow bool, buffer int) *Subscription {
	s := &Subscription{bus: b, key: key, flow: flow, ch: make(chan *Event, max(buffer, 1))}
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
func (b *Bus) Publish(ev *Event) {
	b.durable.Publish(ev)
	b.mu.RLock()
	jobSubs, flowSubs := b.byJob[ev.JobID], b.byFlow[ev.FlowID]
	if len(jobSubs) == 0 && len(flowSubs) == 0 {
		b.mu.RUnlock()
		return
	}
	var lagging []*Subscription
	for _, set := range [2]map[*Subscription]struct{}{jobSubs, flowSubs} {
		for s := range set {
			select {
			case s.ch <- ev:
			default:
				lagging = append(lagging, s)
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
	if set := index[s.key]; set != nil {
		delete(set, s)
		if len(set) == 0 {
			delete(index, s.key)
		}
	}
	b.mu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed {
		s.closed = true
		s.err = reason
		close(s.ch)
	}
}
