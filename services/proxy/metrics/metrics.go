// Package metrics has lock-free counters, gauges and histograms and writes
// them in the Prometheus text exposition format (version 0.0.4). It is a
// few dozen lines instead of the Prometheus client library, whose
// dependencies would be larger than the proxy; updating a metric is one
// atomic add and never allocates, so the request path can afford it.
package metrics

import (
	"bufio"
	"math"
	"strconv"
	"sync/atomic"
	"time"
)

// ContentType is what a /metrics handler sends.
const ContentType = "text/plain; version=0.0.4; charset=utf-8"

// Counter only goes up.
type Counter struct{ v atomic.Uint64 }

func (c *Counter) Inc()          { c.v.Add(1) }
func (c *Counter) Add(n uint64)  { c.v.Add(n) }
func (c *Counter) Value() uint64 { return c.v.Load() }

// Gauge goes up and down.
type Gauge struct{ v atomic.Int64 }

func (g *Gauge) Add(n int64)  { g.v.Add(n) }
func (g *Gauge) Value() int64 { return g.v.Load() }
func (g *Gauge) Set(n int64)  { g.v.Store(n) }
func (g *Gauge) Inc()         { g.v.Add(1) }
func (g *Gauge) Dec()         { g.v.Add(-1) }

// LatencyBuckets are upper bounds in seconds, from a LAN round trip to a
// slow origin.
var LatencyBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}

// Histogram counts durations into fixed buckets. Create it with
// NewHistogram.
type Histogram struct {
	bounds []time.Duration
	le     []string
	counts []atomic.Uint64 // per bucket, not cumulative; last is +Inf
	sum    atomic.Int64    // nanoseconds
}

// NewHistogram returns a histogram with the given upper bounds in seconds,
// which must be increasing.
func NewHistogram(bounds []float64) *Histogram {
	h := &Histogram{counts: make([]atomic.Uint64, len(bounds)+1)}
	for _, b := range bounds {
		h.bounds = append(h.bounds, time.Duration(b*float64(time.Second)))
		h.le = append(h.le, strconv.FormatFloat(b, 'g', -1, 64))
	}
	h.le = append(h.le, "+Inf")
	return h
}

// Observe records d.
func (h *Histogram) Observe(d time.Duration) {
	i := 0
	for i < len(h.bounds) && d > h.bounds[i] {
		i++
	}
	h.counts[i].Add(1)
	h.sum.Add(int64(d))
}

// Writer writes metric families. Errors stick in the underlying
// bufio.Writer and come out of its Flush.
type Writer struct{ W *bufio.Writer }

// Head writes the HELP and TYPE lines of a family.
func (w Writer) Head(name, typ, help string) {
	w.W.WriteString("# HELP " + name + " " + help + "\n# TYPE " + name + " " + typ + "\n")
}

// Sample writes one sample; labels is either empty or `key="value",...`
// already escaped (label values here are fixed identifiers).
func (w Writer) Sample(name, labels string, v float64) {
	w.W.WriteString(name)
	if labels != "" {
		w.W.WriteString("{" + labels + "}")
	}
	w.W.WriteByte(' ')
	var b [32]byte
	w.W.Write(appendFloat(b[:0], v))
	w.W.WriteByte('\n')
}

// Counter writes a family with one unlabelled counter.
func (w Writer) Counter(name, help string, c *Counter) {
	w.Head(name, "counter", help)
	w.Sample(name, "", float64(c.Value()))
}

// Gauge writes a family with one unlabelled gauge.
func (w Writer) Gauge(name, help string, g *Gauge) {
	w.Head(name, "gauge", help)
	w.Sample(name, "", float64(g.Value()))
}

// Histogram writes a histogram family: cumulative buckets, sum in seconds
// and count. Concurrent Observe calls may land between the reads, so
// totals can lag by an observation; Prometheus tolerates that.
func (w Writer) Histogram(name, help string, h *Histogram) {
	w.Head(name, "histogram", help)
	var cum uint64
	for i := range h.counts {
		cum += h.counts[i].Load()
		w.Sample(name+"_bucket", `le="`+h.le[i]+`"`, float64(cum))
	}
	w.Sample(name+"_sum", "", float64(h.sum.Load())/1e9)
	w.Sample(name+"_count", "", float64(cum))
}

func appendFloat(b []byte, v float64) []byte {
	switch {
	case math.IsInf(v, 1):
		return append(b, "+Inf"...)
	case math.IsInf(v, -1):
		return append(b, "-Inf"...)
	case math.IsNaN(v):
		return append(b, "NaN"...)
	case v == math.Trunc(v) && math.Abs(v) < 1e15:
		return strconv.AppendInt(b, int64(v), 10)
	}
	return strconv.AppendFloat(b, v, 'g', -1, 64)
}
