// Package history samples the proxy's metrics for the status page's
// graphs.
//
// TEMPORARY STUB (branch panels): helper "traffic" writes the real
// sampler; this file only has its API so that init builds, and goes when
// traffic's branch is merged. It records nothing: History is always
// empty.
package history

import (
	"context"
	"time"

	"tprouter/init/status"
)

// Sampler scrapes the proxy's /metrics and keeps the last hour of rates.
type Sampler struct {
	fetch func(context.Context) ([]byte, error)
}

// New returns a sampler that reads the proxy's metrics with fetch.
func New(fetch func(context.Context) ([]byte, error)) *Sampler {
	return &Sampler{fetch: fetch}
}

// Run samples until ctx is done.
func (s *Sampler) Run(ctx context.Context) { <-ctx.Done() }

// History returns the points after seq after (0: all), oldest first.
func (s *Sampler) History(after uint64) status.History {
	return status.History{Step: 2 * time.Second, Names: status.SeriesNames}
}
