// Package metrics exposes the server's Prometheus metrics: what the engine
// does (jobs, activations, routine durations by kind), the event log's
// writes, the streams, the SQLite files and the Go runtime. Counters on hot
// paths are kept per label value, resolved once, so the engine pays an
// atomic add per activation; gauges are read when scraped.
package metrics

import (
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Sources are what the scrape-time gauges read; all must be set for a
// registry that is scraped.
type Sources struct {
	ActiveJobs func() int
	Backlog    func() int64 // events published but not yet stored
	Streams    func() (connections map[string]int64, sent, lagging int64)
	// HistoryCache is the post-mortem cache's estimated bytes and jobs.
	HistoryCache func() (bytes int64, jobs int)
	DBFile       string // the SQLite file; its -wal beside it
}

// Metrics holds the collectors. It implements engine.Observer, and its
// BatchWritten observes the event log's writer.
type Metrics struct {
	reg *prometheus.Registry

	jobsStarted *prometheus.CounterVec
	jobsEnded   *prometheus.CounterVec
	activations *prometheus.CounterVec
	durations   *prometheus.HistogramVec
	writeTime   prometheus.Histogram
	batchSize   prometheus.Histogram
	retained    prometheus.Counter

	kinds sync.Map // kind → *kindMetrics
}

type kindMetrics struct {
	ok, failed prometheus.Counter
	duration   prometheus.Observer
}

// New registers every collector.
func New(src Sources) *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.jobsStarted = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "switchyard_jobs_started_total", Help: "Jobs started, by flow.",
	}, []string{"flow"})
	m.jobsEnded = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "switchyard_jobs_ended_total", Help: "Jobs ended, by flow and final status (completed, failed, cancelled).",
	}, []string{"flow", "status"})
	m.activations = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "switchyard_activations_total", Help: "Activations run, by routine kind and outcome (ok, failed).",
	}, []string{"kind", "outcome"})
	m.durations = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "switchyard_routine_duration_seconds", Help: "How long activations ran, retries included, by routine kind.",
		Buckets: prometheus.ExponentialBuckets(0.00001, 4, 12), // 10 µs … 42 s
	}, []string{"kind"})
	m.writeTime = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "switchyard_event_log_write_seconds", Help: "Duration of the event log's write transactions.",
		Buckets: prometheus.ExponentialBuckets(0.0001, 2.5, 12), // 100 µs … 6 s
	})
	m.batchSize = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "switchyard_event_log_batch_events", Help: "Events per write transaction of the event log.",
		Buckets: prometheus.ExponentialBuckets(1, 4, 10), // 1 … 262,144
	})
	m.retained = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "switchyard_retention_deleted_jobs_total", Help: "Finished jobs deleted by the retention policy (retention-days, retention-jobs).",
	})
	m.reg.MustRegister(m.jobsStarted, m.jobsEnded, m.activations, m.durations, m.writeTime, m.batchSize, m.retained,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		&gauges{src: src})
	return m
}

// Handler serves the metrics in Prometheus' text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// JobStarted counts a job start (engine.Observer).
func (m *Metrics) JobStarted(flowID string) { m.jobsStarted.WithLabelValues(flowID).Inc() }

// JobEnded counts a job end (engine.Observer).
func (m *Metrics) JobEnded(flowID, status string) { m.jobsEnded.WithLabelValues(flowID, status).Inc() }

// ActivationEnded counts an activation and its duration (engine.Observer).
func (m *Metrics) ActivationEnded(kind string, took time.Duration, failed bool) {
	km := m.kind(kind)
	if failed {
		km.failed.Inc()
	} else {
		km.ok.Inc()
	}
	km.duration.Observe(took.Seconds())
}

func (m *Metrics) kind(kind string) *kindMetrics {
	if v, ok := m.kinds.Load(kind); ok {
		return v.(*kindMetrics)
	}
	km := &kindMetrics{
		ok: m.activations.WithLabelValues(kind, "ok"), failed: m.activations.WithLabelValues(kind, "failed"),
		duration: m.durations.WithLabelValues(kind),
	}
	v, _ := m.kinds.LoadOrStore(kind, km)
	return v.(*kindMetrics)
}

// BatchWritten observes one write of the event log (store.BatchObserver).
func (m *Metrics) BatchWritten(events int, took time.Duration) {
	m.writeTime.Observe(took.Seconds())
	m.batchSize.Observe(float64(events))
}

// RetentionDeleted counts jobs the retention policy deleted.
func (m *Metrics) RetentionDeleted(jobs int) { m.retained.Add(float64(jobs)) }

// gauges are read from the sources when scraped.
type gauges struct{ src Sources }

var (
	descActive      = prometheus.NewDesc("switchyard_jobs_active", "Jobs running or paused now.", nil, nil)
	descBacklog     = prometheus.NewDesc("switchyard_event_backlog", "Events published but not yet stored.", nil, nil)
	descConnections = prometheus.NewDesc("switchyard_websocket_connections", "Open WebSocket connections, by endpoint.", []string{"endpoint"}, nil)
	descSent        = prometheus.NewDesc("switchyard_websocket_messages_sent_total", "Messages written to WebSocket clients.", nil, nil)
	descLagging     = prometheus.NewDesc("switchyard_websocket_lagging_closes_total", "WebSocket clients closed for falling behind.", nil, nil)
	descFileSize    = prometheus.NewDesc("switchyard_sqlite_file_bytes", "Size of the SQLite files, by file (db, wal).", []string{"file"}, nil)
	descCacheBytes  = prometheus.NewDesc("switchyard_history_cache_bytes", "Estimated memory of the post-mortem history cache.", nil, nil)
	descCacheJobs   = prometheus.NewDesc("switchyard_history_cache_jobs", "Jobs in the post-mortem history cache.", nil, nil)
)

func (g *gauges) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descActive, descBacklog, descConnections, descSent, descLagging, descFileSize, descCacheBytes, descCacheJobs} {
		ch <- d
	}
}

func (g *gauges) Collect(ch chan<- prometheus.Metric) {
	ch <- prometheus.MustNewConstMetric(descActive, prometheus.GaugeValue, float64(g.src.ActiveJobs()))
	bytes, jobs := g.src.HistoryCache()
	ch <- prometheus.MustNewConstMetric(descCacheBytes, prometheus.GaugeValue, float64(bytes))
	ch <- prometheus.MustNewConstMetric(descCacheJobs, prometheus.GaugeValue, float64(jobs))
	ch <- prometheus.MustNewConstMetric(descBacklog, prometheus.GaugeValue, float64(g.src.Backlog()))
	conns, sent, lagging := g.src.Streams()
	for endpoint, n := range conns {
		ch <- prometheus.MustNewConstMetric(descConnections, prometheus.GaugeValue, float64(n), endpoint)
	}
	ch <- prometheus.MustNewConstMetric(descSent, prometheus.CounterValue, float64(sent))
	ch <- prometheus.MustNewConstMetric(descLagging, prometheus.CounterValue, float64(lagging))
	for file, path := range map[string]string{"db": g.src.DBFile, "wal": g.src.DBFile + "-wal"} {
		var size int64
		if st, err := os.Stat(path); err == nil {
			size = st.Size()
		}
		ch <- prometheus.MustNewConstMetric(descFileSize, prometheus.GaugeValue, float64(size), file)
	}
}
