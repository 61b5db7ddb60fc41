// Package history keeps the last hour of the proxy's traffic for the
// status page's graphs. A Sampler fetches the proxy's /metrics every
// Step, reads the counters of status.SeriesNames (see selectors) and
// keeps, in fixed rings of Points, each counter's rate per second over
// the step. History returns the points after a sequence number, for a
// page that polls for what is new.
//
// A step has rate 0 for a counter that went down (the proxy restarted)
// or is missing, and for every counter when the scrape failed; the next
// good scrape after a failure is a new baseline, so its step is 0 too.
// No rate is ever negative, and no restart shows as a spike.
package history

import (
	"context"
	"sync"
	"time"

	"tprouter/init/status"
)

// The rings' shape: one point every Step, Points of them (an hour).
const (
	Step   = 2 * time.Second
	Points = 1800
)

// Sampler samples the proxy's counters. Create it with New, start Run;
// History is safe to call at any time, from any goroutine.
type Sampler struct {
	fetch func(context.Context) ([]byte, error)
	step  time.Duration    // Step; tests shorten it
	now   func() time.Time // time.Now; tests move it

	mu    sync.Mutex
	last  uint64 // sequence number of the newest point; 0: none yet
	held  int    // points in the rings, at most Points
	times [Points]time.Time
	rings [numSeries][Points]float64
	prev  counters  // the baseline: the last good scrape
	prevT time.Time // when it was taken
	based bool      // prev is valid (the last scrape was good)
}

// New returns a Sampler that gets the proxy's /metrics text from fetch,
// which must return within its context's deadline (one Step).
func New(fetch func(context.Context) ([]byte, error)) *Sampler {
	return &Sampler{fetch: fetch, step: Step, now: time.Now}
}

// Run samples at once and then every Step until ctx is done.
func (s *Sampler) Run(ctx context.Context) {
	t := time.NewTicker(s.step)
	defer t.Stop()
	for {
		s.scrape(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// scrape fetches and records one point; a failed fetch or a text that
// does not parse records a point of zeros.
func (s *Sampler) scrape(ctx context.Context) {
	fctx, cancel := context.WithTimeout(ctx, s.step)
	text, err := s.fetch(fctx)
	cancel()
	if ctx.Err() != nil {
		return // stopping: the failure is ours, not the proxy's
	}
	var samples []sample
	if err == nil {
		samples, err = parse(text)
	}
	c := pick(samples)
	s.record(s.now(), c, err == nil)
}

// record appends the point of a scrape at t: rates against the baseline,
// which c then replaces if the scrape was good.
func (s *Sampler) record(t time.Time, c counters, good bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.last++
	i := int((s.last - 1) % Points)
	s.times[i] = t
	dt := t.Sub(s.prevT).Seconds()
	for k := range s.rings {
		r := 0.0
		if good && s.based && dt > 0 && c.ok[k] && s.prev.ok[k] && c.v[k] >= s.prev.v[k] {
			r = (c.v[k] - s.prev.v[k]) / dt
		}
		s.rings[k][i] = r
	}
	s.held = min(s.held+1, Points)
	s.based = good
	if good {
		s.prev, s.prevT = c, t
	}
}

// History returns the points whose sequence number is above after,
// oldest first: all it holds for 0, or for an after beyond the newest
// (a page older than this Sampler, which Last below its after tells).
func (s *Sampler) History(after uint64) status.History {
	s.mu.Lock()
	defer s.mu.Unlock()
	h := status.History{Step: Step, StepMS: Step.Milliseconds(), Last: s.last,
		Names: append([]string(nil), status.SeriesNames...), Points: []status.Point{}}
	first := s.last - uint64(s.held) + 1 // oldest held
	if after >= first && after <= s.last {
		first = after + 1
	}
	for seq := first; seq <= s.last; seq++ {
		i := int((seq - 1) % Points)
		p := status.Point{Seq: seq, Time: s.times[i], Values: make([]float64, numSeries)}
		for k := range s.rings {
			p.Values[k] = s.rings[k][i]
		}
		h.Points = append(h.Points, p)
	}
	return h
}
