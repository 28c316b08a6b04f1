package ws

import "sync/atomic"

// Endpoints, as the stream statistics name them.
const (
	EndpointExecutions  = "executions"   // /api/ws/executions/{id}
	EndpointJobMonitor  = "job_monitor"  // /api/ws/jobs/{id}/monitor
	EndpointJobDebug    = "job_debug"    // /api/ws/jobs/{id}/debug
	EndpointFlowMonitor = "flow_monitor" // /api/ws/flows/{id}/monitor
	EndpointMonitor     = "monitor"      // /api/ws/monitor
)

// Indexes of the endpoints in the counters.
const (
	epExecutions = iota
	epJobMonitor
	epJobDebug
	epFlowMonitor
	epMonitor
	endpointCount
)

var endpointNames = [endpointCount]string{
	epExecutions: EndpointExecutions, epJobMonitor: EndpointJobMonitor, epJobDebug: EndpointJobDebug,
	epFlowMonitor: EndpointFlowMonitor, epMonitor: EndpointMonitor,
}

// streamStats counts what the streams do, for metrics.
type streamStats struct {
	connections [endpointCount]atomic.Int64
	sent        atomic.Int64 // messages written to sockets
	lagging     atomic.Int64 // clients closed as lagging
	rateLimited atomic.Int64 // clients that went over the message rate limit
}

// endpoint is the index of the client's endpoint in endpointNames.
func (c *client) endpoint() int {
	switch {
	case c.topic.key.kind == topicFlow:
		return epFlowMonitor
	case c.topic.key.kind == topicAll:
		return epMonitor
	case c.proto == protoExecution:
		return epExecutions
	case c.proto == protoDebug:
		return epJobDebug
	default:
		return epJobMonitor
	}
}

// Stats is a snapshot of the streams' counters.
type Stats struct {
	Connections   map[string]int64 // open connections by endpoint
	Sent          int64            // messages written since start
	LaggingCloses int64            // clients closed as lagging since start
	RateLimited   int64            // times a client went over the message rate limit since start
}

// Stats returns the streams' counters now.
func (s *Server) Stats() Stats {
	st := Stats{Connections: make(map[string]int64, endpointCount), Sent: s.stats.sent.Load(), LaggingCloses: s.stats.lagging.Load(),
		RateLimited: s.stats.rateLimited.Load()}
	for i, name := range endpointNames {
		st.Connections[name] = s.stats.connections[i].Load()
	}
	return st
}
