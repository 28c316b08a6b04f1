package events

import (
	"errors"
	"sync"
	"testing"
)

// sink is a durable log that stores each event as it is published, unless
// held: then it stores them when released.
type sink struct {
	mu     sync.Mutex
	got    []*Event
	held   []*Event
	hold   bool
	stored func([]*Event)
}

func (s *sink) Publish(ev *Event) {
	s.mu.Lock()
	s.got = append(s.got, ev)
	if s.hold {
		s.held = append(s.held, ev)
		s.mu.Unlock()
		return
	}
	fn := s.stored
	s.mu.Unlock()
	fn([]*Event{ev})
}

func (s *sink) OnStored(fn func([]*Event)) { s.stored = fn }

func (s *sink) release() {
	s.mu.Lock()
	batch := s.held
	s.held, s.hold = nil, false
	s.mu.Unlock()
	s.stored(batch)
}

func TestBusFansOutByJobFlowAndFilter(t *testing.T) {
	durable := &sink{}
	b := NewBus(durable)
	job := b.SubscribeJob("j1", 10)
	flow := b.SubscribeFlow("f", 10)
	lifecycle := b.SubscribeAll(10, func(ev *Event) bool { return ev.Type == JobStarted })
	b.Publish(&Event{Seq: 1, Type: JobStarted, JobID: "j1", FlowID: "f"})
	b.Publish(&Event{Seq: 1, Type: JobStarted, JobID: "j2", FlowID: "f"})
	b.Publish(&Event{Seq: 2, Type: Log, JobID: "j2", FlowID: "g"})
	if len(durable.got) != 3 {
		t.Fatalf("durable got %d", len(durable.got))
	}
	jl, _ := job.Take()
	fl, _ := flow.Take()
	al, _ := lifecycle.Take()
	if len(jl) != 1 || len(fl) != 2 || len(al) != 2 || fl[1].JobID != "j2" {
		t.Fatalf("job %d flow %d all %d", len(jl), len(fl), len(al))
	}
	b.Publish(&Event{Seq: 2, Type: Log, JobID: "j1", FlowID: "f"})
	job.Close()
	if list, ok := job.Take(); len(list) != 1 || !ok {
		t.Fatal("queued event lost on close")
	}
	if _, ok := job.Take(); ok {
		t.Fatal("subscription not ended")
	}
	if job.Err() != nil {
		t.Fatalf("closed subscription err %v", job.Err())
	}
}

func TestBusDeliversOnlyWhatIsStored(t *testing.T) {
	durable := &sink{hold: true}
	b := NewBus(durable)
	sub := b.SubscribeJob("j", 10)
	b.Publish(&Event{Seq: 1, JobID: "j"})
	b.Publish(&Event{Seq: 2, JobID: "j"})
	if list, _ := sub.Take(); len(list) != 0 {
		t.Fatalf("%d events delivered before they were stored", len(list))
	}
	durable.release()
	if list, _ := sub.Take(); len(list) != 2 || list[0].Seq != 1 || list[1].Seq != 2 {
		t.Fatalf("after the store: %v", list)
	}
}

func TestBusCutsLaggingSubscriberInsideABatch(t *testing.T) {
	durable := &sink{hold: true}
	b := NewBus(durable)
	slow := b.SubscribeJob("j", 2)
	for i := 1; i <= 4; i++ {
		b.Publish(&Event{Seq: int64(i), JobID: "j"})
	}
	durable.release()
	list, _ := slow.Take()
	rest, more := slow.Take()
	if len(list) != 2 || list[1].Seq != 2 || len(rest) != 0 || more || !errors.Is(slow.Err(), ErrLagging) {
		t.Fatalf("slow got %d then %d, more=%v err %v", len(list), len(rest), more, slow.Err())
	}
}

func TestBusCutsLaggingSubscriberWithoutBlocking(t *testing.T) {
	b := NewBus(&sink{})
	slow := b.SubscribeJob("j", 2)
	fast := b.SubscribeJob("j", 100)
	for i := 1; i <= 5; i++ {
		b.Publish(&Event{Seq: int64(i), JobID: "j"})
	}
	list, _ := slow.Take()
	if _, more := slow.Take(); len(list) != 2 || more || !errors.Is(slow.Err(), ErrLagging) {
		t.Fatalf("slow got %d, err %v", len(list), slow.Err())
	}
	if list, _ := fast.Take(); len(list) != 5 {
		t.Fatalf("fast subscriber got %d", len(list))
	}
}
