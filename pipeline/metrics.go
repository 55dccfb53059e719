package pipeline

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// StageMetrics are the counters the engine keeps for one stage (or for the
// source or sink). Times are summed over the stage's workers, so a stage
// with 2 workers can be busy for up to twice the wall time.
type StageMetrics struct {
	Name    string
	Workers int

	DocsIn, DocsOut   atomic.Int64
	BytesIn, BytesOut atomic.Int64 // UTF-8 bytes of text
	busy              atomic.Int64 // nanoseconds in finished Process calls
	inflight          atomic.Int64 // Process calls running now
	inflightStarts    atomic.Int64 // sum of their start times, Unix nanoseconds
	waitIn            atomic.Int64 // nanoseconds waiting for the next batch
	blockedOut        atomic.Int64 // nanoseconds waiting for the next stage to take a batch

	mu    sync.Mutex
	drops map[string]int64

	events *Counters
	queue  func() int // batches waiting in the stage's input channel
}

// Busy returns the time spent in finished Process calls.
func (m *StageMetrics) Busy() time.Duration { return time.Duration(m.busy.Load()) }

// BusyNow returns the time spent processing, counting the calls still
// running up to now, so a stage that takes seconds per batch shows as busy
// before its first batch is done.
func (m *StageMetrics) BusyNow() time.Duration {
	busy := m.busy.Load()
	running := m.inflight.Load()*time.Now().UnixNano() - m.inflightStarts.Load()
	return time.Duration(busy + max(running, 0))
}

// startWork and endWork bracket one Process call.
func (m *StageMetrics) startWork(start time.Time) {
	m.inflight.Add(1)
	m.inflightStarts.Add(start.UnixNano())
}

func (m *StageMetrics) endWork(start time.Time) {
	m.busy.Add(int64(time.Since(start)))
	m.inflightStarts.Add(-start.UnixNano())
	m.inflight.Add(-1)
}

// WaitInput returns the time spent waiting for input.
func (m *StageMetrics) WaitInput() time.Duration { return time.Duration(m.waitIn.Load()) }

// BlockedOutput returns the time spent blocked on the next stage.
func (m *StageMetrics) BlockedOutput() time.Duration { return time.Duration(m.blockedOut.Load()) }

// Drops returns a copy of the drop counts by reason.
func (m *StageMetrics) Drops() map[string]int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[string]int64, len(m.drops))
	for k, v := range m.drops {
		out[k] = v
	}
	return out
}

// Events returns a copy of the stage's event counts.
func (m *StageMetrics) Events() map[string]int64 { return m.events.Snapshot() }

func (m *StageMetrics) addDrops(counts map[string]int64) {
	if len(counts) == 0 {
		return
	}
	m.mu.Lock()
	for k, v := range counts {
		m.drops[k] += v
	}
	m.mu.Unlock()
}

// Metrics holds the metrics of every stage of a run, in dataflow order.
type Metrics struct {
	Stages []*StageMetrics
	Start  time.Time
}

func (ms *Metrics) add(name string, workers int, events *Counters) *StageMetrics {
	m := &StageMetrics{Name: name, Workers: workers, drops: map[string]int64{}, events: events}
	if m.events == nil {
		m.events = NewCounters()
	}
	ms.Stages = append(ms.Stages, m)
	return m
}

// Bottleneck returns the stage with the largest busy time per worker, the
// one that limits throughput, or nil before any work was done.
func (ms *Metrics) Bottleneck() *StageMetrics {
	var best *StageMetrics
	var bestBusy time.Duration
	for _, m := range ms.Stages {
		per := m.BusyNow() / time.Duration(max(m.Workers, 1))
		if per > bestBusy {
			best, bestBusy = m, per
		}
	}
	return best
}

var (
	descDocsIn     = prometheus.NewDesc("winnow_stage_docs_in_total", "Documents received by the stage.", []string{"stage"}, nil)
	descDocsOut    = prometheus.NewDesc("winnow_stage_docs_out_total", "Documents passed on by the stage.", []string{"stage"}, nil)
	descBytesIn    = prometheus.NewDesc("winnow_stage_bytes_in_total", "Text bytes received by the stage.", []string{"stage"}, nil)
	descBytesOut   = prometheus.NewDesc("winnow_stage_bytes_out_total", "Text bytes passed on by the stage.", []string{"stage"}, nil)
	descDropped    = prometheus.NewDesc("winnow_stage_dropped_total", "Documents dropped by the stage, by reason code.", []string{"stage", "reason"}, nil)
	descEvents     = prometheus.NewDesc("winnow_stage_events_total", "Events counted by the stage that are not drops, such as repairs and replacements.", []string{"stage", "event"}, nil)
	descBusy       = prometheus.NewDesc("winnow_stage_busy_seconds_total", "Time the stage spent processing, summed over its workers.", []string{"stage"}, nil)
	descWaitIn     = prometheus.NewDesc("winnow_stage_wait_input_seconds_total", "Time the stage spent waiting for input.", []string{"stage"}, nil)
	descBlockedOut = prometheus.NewDesc("winnow_stage_blocked_output_seconds_total", "Time the stage spent blocked handing batches to the next stage.", []string{"stage"}, nil)
	descQueue      = prometheus.NewDesc("winnow_stage_queue_depth", "Batches waiting in the stage's input channel.", []string{"stage"}, nil)
	descWorkers    = prometheus.NewDesc("winnow_stage_workers", "Workers running the stage.", []string{"stage"}, nil)
)

// Describe implements prometheus.Collector.
func (ms *Metrics) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descDocsIn, descDocsOut, descBytesIn, descBytesOut, descDropped, descEvents, descBusy, descWaitIn, descBlockedOut, descQueue, descWorkers} {
		ch <- d
	}
}

// Collect implements prometheus.Collector, reading the counters at scrape
// time.
func (ms *Metrics) Collect(ch chan<- prometheus.Metric) {
	for _, m := range ms.Stages {
		counter := func(d *prometheus.Desc, v float64, labels ...string) {
			ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, append([]string{m.Name}, labels...)...)
		}
		counter(descDocsIn, float64(m.DocsIn.Load()))
		counter(descDocsOut, float64(m.DocsOut.Load()))
		counter(descBytesIn, float64(m.BytesIn.Load()))
		counter(descBytesOut, float64(m.BytesOut.Load()))
		counter(descBusy, m.Busy().Seconds())
		counter(descWaitIn, m.WaitInput().Seconds())
		counter(descBlockedOut, m.BlockedOutput().Seconds())
		for reason, n := range m.Drops() {
			counter(descDropped, float64(n), reason)
		}
		for event, n := range m.Events() {
			counter(descEvents, float64(n), event)
		}
		q := 0
		if m.queue != nil {
			q = m.queue()
		}
		ch <- prometheus.MustNewConstMetric(descQueue, prometheus.GaugeValue, float64(q), m.Name)
		ch <- prometheus.MustNewConstMetric(descWorkers, prometheus.GaugeValue, float64(m.Workers), m.Name)
	}
}
