package metrics

import (
	"bufio"
	"strings"
	"testing"
	"time"
)

func TestExposition(t *testing.T) {
	var c Counter
	c.Add(3)
	var g Gauge
	g.Inc()
	g.Inc()
	g.Dec()
	h := NewHistogram([]float64{.001, .1})
	h.Observe(500 * time.Microsecond)
	h.Observe(50 * time.Millisecond)
	h.Observe(time.Second)
	h.Observe(time.Millisecond) // on the bound: le is inclusive

	var sb strings.Builder
	w := Writer{bufio.NewWriter(&sb)}
	w.Counter("x_total", "Things.", &c)
	w.Gauge("y", "Now.", &g)
	w.Histogram("z_seconds", "Latency.", h)
	w.Head("v_total", "counter", "Labelled.")
	w.Sample("v_total", `kind="a"`, 1.5)
	if err := w.W.Flush(); err != nil {
		t.Fatal(err)
	}
	want := `# HELP x_total Things.
# TYPE x_total counter
x_total 3
# HELP y Now.
# TYPE y gauge
y 1
# HELP z_seconds Latency.
# TYPE z_seconds histogram
z_seconds_bucket{le="0.001"} 2
z_seconds_bucket{le="0.1"} 3
z_seconds_bucket{le="+Inf"} 4
z_seconds_sum 1.0515
z_seconds_count 4
# HELP v_total Labelled.
# TYPE v_total counter
v_total{kind="a"} 1.5
`
	if got := sb.String(); got != want {
		t.Errorf("exposition:\n%s\nwant:\n%s", got, want)
	}
}

func TestObserveDoesNotAllocate(t *testing.T) {
	h := NewHistogram(LatencyBuckets)
	var c Counter
	if n := testing.AllocsPerRun(100, func() { h.Observe(time.Millisecond); c.Inc() }); n != 0 {
		t.Errorf("Observe allocates %v times", n)
	}
}
