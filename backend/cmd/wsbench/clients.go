package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gorilla/websocket"

	"github.com/switchyard/switchyard/backend/events"
)

// benchClient is one WebSocket reader. It keeps, for each tick (an
// execution_event of type event_emit carrying {i, sent_at}), the delivery
// latency: its receive time minus sent_at.
type benchClient struct {
	conn  *websocket.Conn
	ticks int // expected

	ready     atomic.Bool  // saw the pulse routine start (switchyard) or connected (melody)
	received  atomic.Int64 // distinct ticks
	seen      []bool
	dups      int64
	latencies []int64 // ns
	closeErr  error
	done      chan struct{}
}

var (
	tickMarker    = []byte(`"event_type":"event_emit"`)
	sentAtMarker  = []byte(`"sent_at":`)
	indexMarker   = []byte(`"i":`)
	readyMarkers  = [][]byte{[]byte(`"type":"routine_started"`), []byte(`"routine_id":"p"`)}
	errNoSentAt   = errors.New("tick without sent_at")
	dialer        = &websocket.Dialer{HandshakeTimeout: 30 * time.Second, ReadBufferSize: 4096, WriteBufferSize: 1024}
	slowRcvBuffer = 4096
)

func dial(ctx context.Context, url string, d *websocket.Dialer) (*websocket.Conn, error) {
	var last error
	for attempt := 0; attempt < 5; attempt++ {
		c, resp, err := d.DialContext(ctx, url, nil)
		if err == nil {
			return c, nil
		}
		if resp != nil {
			resp.Body.Close()
		}
		last = err
		time.Sleep(time.Duration(attempt+1) * 50 * time.Millisecond)
	}
	return nil, last
}

// dialAll opens n clients, at most 64 handshakes at a time.
func dialAll(ctx context.Context, url string, n, ticks int, alwaysReady bool) ([]*benchClient, error) {
	clients := make([]*benchClient, n)
	errs := make(chan error, n)
	sem := make(chan struct{}, 64)
	var wg sync.WaitGroup
	for i := range clients {
		wg.Add(1)
		sem <- struct{}{}
		go func(i int) {
			defer wg.Done()
			defer func() { <-sem }()
			conn, err := dial(ctx, url, dialer)
			if err != nil {
				errs <- err
				return
			}
			c := &benchClient{conn: conn, ticks: ticks, seen: make([]bool, ticks),
				latencies: make([]int64, 0, ticks), done: make(chan struct{})}
			if alwaysReady {
				c.ready.Store(true)
			}
			clients[i] = c
			go c.read()
		}(i)
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		closeAll(clients)
		return nil, fmt.Errorf("dial %s: %w", url, err)
	}
	return clients, nil
}

// ended counts the clients whose connection has ended.
func ended(clients []*benchClient) int {
	n := 0
	for _, c := range clients {
		select {
		case <-c.done:
			n++
		default:
		}
	}
	return n
}

// closeAll closes the clients (with a close frame) and waits for their
// readers.
func closeAll(clients []*benchClient) {
	bye := websocket.FormatCloseMessage(websocket.CloseNormalClosure, "")
	for _, c := range clients {
		if c != nil {
			_ = c.conn.WriteControl(websocket.CloseMessage, bye, time.Now().Add(time.Second))
		}
	}
	for _, c := range clients {
		if c != nil {
			select {
			case <-c.done:
			case <-time.After(2 * time.Second):
			}
			c.conn.Close()
			<-c.done
		}
	}
}

func (c *benchClient) read() {
	defer close(c.done)
	for {
		_, msg, err := c.conn.ReadMessage()
		now := time.Now().UnixNano()
		if err != nil {
			c.closeErr = err
			return
		}
		if !c.ready.Load() && bytes.Contains(msg, readyMarkers[0]) && bytes.Contains(msg, readyMarkers[1]) {
			c.ready.Store(true)
		}
		if !bytes.Contains(msg, tickMarker) {
			continue
		}
		i, sent, err := parseTick(msg)
		if err != nil || i < 0 || i >= c.ticks {
			continue
		}
		if c.seen[i] {
			c.dups++
			continue
		}
		c.seen[i] = true
		c.latencies = append(c.latencies, now-sent)
		c.received.Add(1)
	}
}

func parseTick(msg []byte) (i int, sentAt int64, err error) {
	sentAt, err = intAfter(msg, sentAtMarker)
	if err != nil {
		return 0, 0, err
	}
	n, err := intAfter(msg, indexMarker)
	return int(n), sentAt, err
}

func intAfter(msg, marker []byte) (int64, error) {
	k := bytes.Index(msg, marker)
	if k < 0 {
		return 0, errNoSentAt
	}
	rest := msg[k+len(marker):]
	end := 0
	for end < len(rest) && rest[end] >= '0' && rest[end] <= '9' {
		end++
	}
	return strconv.ParseInt(string(rest[:end]), 10, 64)
}

// slowClient connects with a small receive buffer and reads nothing until
// drain is called.
type slowClient struct {
	conn *websocket.Conn
}

func dialSlow(ctx context.Context, url string) (*slowClient, error) {
	d := *dialer
	d.NetDialContext = (&net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, slowRcvBuffer)
		})
		return errors.Join(err, serr)
	}}).DialContext
	conn, err := dial(ctx, url, &d)
	if err != nil {
		return nil, err
	}
	return &slowClient{conn: conn}, nil
}

type slowResult struct {
	frames   int // frames read before the connection ended
	ticks    int // ticks among them
	gaps     int // ticks missing between the first and the last one read
	code     int // close code received (0: none)
	reason   string
	err      error // how the read ended
	lastTick int
	lastPos  events.Pos // position of the last event message read
}

// drain reads what the server managed to send, up to the end of the
// connection, within timeout.
func (s *slowClient) drain(timeout time.Duration) slowResult {
	var r slowResult
	r.lastTick = -1
	_ = s.conn.SetReadDeadline(time.Now().Add(timeout))
	for {
		_, msg, err := s.conn.ReadMessage()
		if err != nil {
			r.err = err
			var ce *websocket.CloseError
			if errors.As(err, &ce) {
				r.code, r.reason = ce.Code, ce.Text
			}
			break
		}
		r.frames++
		if k := bytes.LastIndex(msg, []byte(`"pos":"`)); k >= 0 {
			rest := msg[k+len(`"pos":"`):]
			if end := bytes.IndexByte(rest, '"'); end > 0 {
				if p, err := events.ParsePos(string(rest[:end])); err == nil {
					r.lastPos = p
				}
			}
		}
		if bytes.Contains(msg, tickMarker) {
			if i, _, err := parseTick(msg); err == nil {
				if r.lastTick >= 0 && i != r.lastTick+1 {
					r.gaps += i - r.lastTick - 1
				}
				r.lastTick = i
				r.ticks++
			}
		}
	}
	s.conn.Close()
	return r
}

// latencyStats merges the clients' latencies.
type latencyStats struct {
	p50, p99, max time.Duration
	delivered     int64 // ticks delivered, over all clients
	expected      int64
	dups          int64
	dropped       int // clients whose connection ended before the end of the run
}

func (s latencyStats) lost() int64 { return s.expected - s.delivered }

func collect(clients []*benchClient) latencyStats {
	var all []int64
	var st latencyStats
	for _, c := range clients {
		all = append(all, c.latencies...)
		st.delivered += int64(len(c.latencies))
		st.expected += int64(c.ticks)
		st.dups += c.dups
	}
	if len(all) == 0 {
		return st
	}
	sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
	pick := func(q float64) time.Duration {
		return time.Duration(all[min(len(all)-1, int(q*float64(len(all))))])
	}
	st.p50, st.p99, st.max = pick(0.50), pick(0.99), time.Duration(all[len(all)-1])
	return st
}
