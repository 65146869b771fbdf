package main

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"leadbook/calendar"
	"leadbook/handlers"
	"leadbook/leads"
	"leadbook/mailer"
)

// metrics are the Prometheus series leadbook exports. They live in a
// registry of their own, made per server, so tests can run several.
type metrics struct {
	mu     sync.RWMutex
	series map[seriesKey]prometheus.Observer

	reg      *prometheus.Registry
	requests *prometheus.HistogramVec
	events   *prometheus.CounterVec
	attempts *prometheus.CounterVec
	refused  prometheus.Counter
	// lastRefusedLog is when a refused connection was last logged, in
	// Unix nanoseconds.
	lastRefusedLog atomic.Int64
}

// metricsSource is what the scrape-time collector reads.
type metricsSource struct {
	store *leads.Store
	feeds *calendar.Feeds
	now   func() time.Time
}

func newMetrics(src metricsSource) *metrics {
	m := &metrics{
		series: map[seriesKey]prometheus.Observer{},
		reg:    prometheus.NewRegistry(),
		requests: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "leadbook_http_request_duration_seconds",
			Help:    "Time to answer HTTP requests, by method, route pattern and status code; _count is the number of requests.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"method", "route", "code"}),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "leadbook_events_total",
			Help: "Business events since start: lead_created, booking_created, spam_held.",
		}, []string{"event"}),
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "leadbook_outbox_attempts_total",
			Help: "Outbox delivery attempts since start, by outcome: sent, retry (temporary failure), dead (given up).",
		}, []string{"outcome"}),
		refused: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "leadbook_http_connections_refused_total",
			Help: "Connections closed at once because their client address already had LEADBOOK_MAX_CONNS_PER_ADDRESS open.",
		}),
	}
	// Start every labelled counter at zero, so that rates work from the
	// first scrape.
	for _, e := range []string{handlers.EventLeadCreated, handlers.EventBookingCreated, handlers.EventSpamHeld} {
		m.events.WithLabelValues(e)
	}
	for _, o := range []string{mailer.ResultSent, mailer.ResultRetry, mailer.ResultDead} {
		m.attempts.WithLabelValues(o)
	}
	m.reg.MustRegister(m.requests, m.events, m.attempts, m.refused, &stateCollector{src: src},
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// observe is handlers.Deps.Observe. It keeps each series' observer, so a
// request costs a map read instead of hashing its labels.
//
// Every label comes from a closed set, or each new value a client makes up
// would be a series kept for the life of the process: handlers passes a
// standard method or "other" (checked again here, it costs a switch) and a
// registered route pattern or "unmatched", never the raw path, which would
// also leak secret tokens; the status is one the server itself chose.
func (m *metrics) observe(method, route string, status int, d time.Duration) {
	method = handlers.MethodLabel(method)
	if route == "" {
		route = handlers.RouteUnmatched
	}
	if status < 100 || status > 599 {
		status = 0
	}
	k := seriesKey{method, route, status}
	m.mu.RLock()
	o := m.series[k]
	m.mu.RUnlock()
	if o == nil {
		o = m.requests.WithLabelValues(method, route, strconv.Itoa(status))
		m.mu.Lock()
		m.series[k] = o
		m.mu.Unlock()
	}
	o.Observe(d.Seconds())
}

type seriesKey struct {
	method, route string
	status        int
}

func (m *metrics) count(event string)          { m.events.WithLabelValues(event).Inc() }
func (m *metrics) workerResult(outcome string) { m.attempts.WithLabelValues(outcome).Inc() }

// connRefused returns handlers.ConnLimit.Refused: it counts, and logs at
// most once a minute (a flood of refusals would otherwise flood the log;
// the address is not logged, as it is a visitor's).
func (m *metrics) connRefused(log *slog.Logger) func() {
	return func() {
		m.refused.Inc()
		now := time.Now().UnixNano()
		last := m.lastRefusedLog.Load()
		if now-last >= int64(time.Minute) && m.lastRefusedLog.CompareAndSwap(last, now) {
			log.Warn("connections refused: a client address is at LEADBOOK_MAX_CONNS_PER_ADDRESS; see leadbook_http_connections_refused_total")
		}
	}
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError, Timeout: 10 * time.Second})
}

var (
	outboxDesc = prometheus.NewDesc("leadbook_outbox_messages",
		"Outbox rows by status: queued, sent, dead, cancelled.", []string{"status"}, nil)
	oldestDesc = prometheus.NewDesc("leadbook_outbox_oldest_queued_age_seconds",
		"Age of the oldest queued outbox message; 0 when none is queued.", nil, nil)
	feedAgeDesc = prometheus.NewDesc("leadbook_busy_feed_age_seconds",
		"Time since a busy feed was last fetched successfully; absent until its first success.", []string{"source"}, nil)
	feedStaleDesc = prometheus.NewDesc("leadbook_busy_feed_stale",
		"1 when a busy feed was never loaded or its last good copy is too old (booking then blocks every slot).", []string{"source"}, nil)
	feedSkippedDesc = prometheus.NewDesc("leadbook_busy_feed_skipped_components",
		"Components, or parts of one, that reading a busy feed's last good copy left out because they could not be understood (leadbook check and /staff/feeds list them).", []string{"source"}, nil)
	dbSizeDesc = prometheus.NewDesc("leadbook_database_size_bytes",
		"Size of the database: the SQLite file plus its write-ahead log, or PostgreSQL's pg_database_size.", nil, nil)
	poolConnsDesc = prometheus.NewDesc("leadbook_db_pool_connections",
		"Connections of the pool that writes use, by state: in_use, idle.", []string{"state"}, nil)
	poolMaxDesc = prometheus.NewDesc("leadbook_db_pool_max_connections",
		"Most connections the pool opens.", nil, nil)
	poolWaitsDesc = prometheus.NewDesc("leadbook_db_pool_waits_total",
		"Times a query waited for a free connection.", nil, nil)
	poolWaitDesc = prometheus.NewDesc("leadbook_db_pool_wait_seconds_total",
		"Time spent waiting for a free connection.", nil, nil)
)

// stateCollector reads the outbox, the busy feeds and the database size
// when scraped, so the figures are those of the database, not of this
// process's memory.
type stateCollector struct{ src metricsSource }

func (c *stateCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{outboxDesc, oldestDesc, feedAgeDesc, feedStaleDesc, feedSkippedDesc, dbSizeDesc,
		poolConnsDesc, poolMaxDesc, poolWaitsDesc, poolWaitDesc} {
		ch <- d
	}
}

func (c *stateCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	now := c.src.now()
	if st, err := c.src.store.MailStats(ctx); err != nil {
		ch <- prometheus.NewInvalidMetric(outboxDesc, err)
	} else {
		for status, n := range map[string]int{leads.OutboxQueued: st.Queued, leads.OutboxSent: st.Sent,
			leads.OutboxDead: st.Dead, leads.OutboxCancelled: st.Cancelled} {
			ch <- prometheus.MustNewConstMetric(outboxDesc, prometheus.GaugeValue, float64(n), status)
		}
		age := 0.0
		if st.Queued > 0 && !st.OldestQueued.IsZero() {
			age = max(now.Sub(st.OldestQueued).Seconds(), 0)
		}
		ch <- prometheus.MustNewConstMetric(oldestDesc, prometheus.GaugeValue, age)
	}
	if c.src.feeds != nil {
		for _, fs := range c.src.feeds.Status() {
			stale := 0.0
			if fs.Stale {
				stale = 1
			}
			ch <- prometheus.MustNewConstMetric(feedStaleDesc, prometheus.GaugeValue, stale, fs.Source)
			ch <- prometheus.MustNewConstMetric(feedSkippedDesc, prometheus.GaugeValue, float64(fs.SkippedCount), fs.Source)
			if !fs.LastSuccess.IsZero() {
				ch <- prometheus.MustNewConstMetric(feedAgeDesc, prometheus.GaugeValue,
					max(now.Sub(fs.LastSuccess).Seconds(), 0), fs.Source)
			}
		}
	}
	if n, err := c.src.store.Size(ctx); err != nil {
		ch <- prometheus.NewInvalidMetric(dbSizeDesc, err)
	} else {
		ch <- prometheus.MustNewConstMetric(dbSizeDesc, prometheus.GaugeValue, float64(n))
	}
	ps := c.src.store.PoolStats()
	ch <- prometheus.MustNewConstMetric(poolConnsDesc, prometheus.GaugeValue, float64(ps.InUse), "in_use")
	ch <- prometheus.MustNewConstMetric(poolConnsDesc, prometheus.GaugeValue, float64(ps.Idle), "idle")
	ch <- prometheus.MustNewConstMetric(poolMaxDesc, prometheus.GaugeValue, float64(ps.MaxOpenConnections))
	ch <- prometheus.MustNewConstMetric(poolWaitsDesc, prometheus.CounterValue, float64(ps.WaitCount))
	ch <- prometheus.MustNewConstMetric(poolWaitDesc, prometheus.CounterValue, ps.WaitDuration.Seconds())
}
