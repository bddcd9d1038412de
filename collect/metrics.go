package collect

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics are the collector's Prometheus series, on a registry of their own.
type Metrics struct {
	reg          *prometheus.Registry
	requests     *prometheus.CounterVec
	events       *prometheus.CounterVec
	spanResults  *prometheus.CounterVec
	commitRows   prometheus.Histogram
	commitReqs   prometheus.Histogram
	commitSecs   prometheus.Histogram
	commitErrors prometheus.Counter
}

// NewMetrics registers the series.
func NewMetrics() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "aispend_http_requests_total", Help: "HTTP requests answered, by status code.",
		}, []string{"code"}),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "aispend_events_total", Help: "Events received, by result: accepted, duplicate, rejected.",
		}, []string{"result"}),
		spanResults: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "aispend_otlp_spans_total",
			Help: "OTLP spans received on /v1/traces, by result: event (had GenAI usage and became an event), ignored (no GenAI usage), rejected (invalid).",
		}, []string{"result"}),
		commitRows: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "aispend_commit_rows", Help: "Events written per group commit.",
			Buckets: prometheus.ExponentialBuckets(1, 4, 8),
		}),
		commitReqs: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "aispend_commit_requests", Help: "HTTP requests served per group commit.",
			Buckets: prometheus.ExponentialBuckets(1, 2, 10),
		}),
		commitSecs: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "aispend_commit_seconds", Help: "Latency of group commits.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
		}),
		commitErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "aispend_commit_errors_total", Help: "Group commits that failed.",
		}),
	}
	m.reg.MustRegister(m.requests, m.events, m.spanResults, m.commitRows, m.commitReqs, m.commitSecs, m.commitErrors,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	for _, r := range []string{"accepted", "duplicate", "rejected"} {
		m.events.WithLabelValues(r)
	}
	for _, r := range []string{"event", "ignored", "rejected"} {
		m.spanResults.WithLabelValues(r)
	}
	return m
}

// Handler serves the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// ObserveCommit records one group commit; pass it as pgstore.Options.OnCommit.
func (m *Metrics) ObserveCommit(requests, rows int, took time.Duration, err error) {
	if err != nil {
		m.commitErrors.Inc()
		return
	}
	m.commitRows.Observe(float64(rows))
	m.commitReqs.Observe(float64(requests))
	m.commitSecs.Observe(took.Seconds())
}

func (m *Metrics) request(code int) { m.requests.WithLabelValues(strconv.Itoa(code)).Inc() }

func (m *Metrics) stored(accepted, dups int) {
	m.events.WithLabelValues("accepted").Add(float64(accepted))
	m.events.WithLabelValues("duplicate").Add(float64(dups))
}

func (m *Metrics) rejected(n int) { m.events.WithLabelValues("rejected").Add(float64(n)) }

func (m *Metrics) spans(events, ignored, rejected int) {
	m.spanResults.WithLabelValues("event").Add(float64(events))
	m.spanResults.WithLabelValues("ignored").Add(float64(ignored))
	m.spanResults.WithLabelValues("rejected").Add(float64(rejected))
}
