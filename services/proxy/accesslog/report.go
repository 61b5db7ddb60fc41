package accesslog

import (
	"sync/atomic"
	"time"
)

// reporter says when the writer fails, how many lines were dropped, at
// most every ReportInterval, and when writing works again: a full
// partition gives a few lines a minute on the console, not one per request.
type reporter struct {
	logf    atomic.Pointer[func(format string, args ...any)] // nil: silent
	failing bool
	at      time.Time // of the last report
	count   uint64    // dropped lines at the last report
}

// after is called after each batch with the writer's error and the lines
// dropped so far.
func (r *reporter) after(err error, dropped uint64, now time.Time) {
	p := r.logf.Load()
	if p == nil {
		return
	}
	logf := *p
	switch {
	case err != nil && !r.failing:
		logf("access log: %v; dropping lines until it can be written again (/access.log keeps them, tprouter_proxy_access_log_dropped_total counts them)", err)
	case err != nil && dropped != r.count && now.Sub(r.at) >= ReportInterval:
		logf("access log: %v; %d lines dropped since %s", err, dropped-r.count, r.at.UTC().Format(time.TimeOnly))
	case err == nil && r.failing:
		logf("access log: written again; %d lines were dropped in all", dropped)
	case err == nil && dropped != r.count && now.Sub(r.at) >= ReportInterval:
		logf("access log: the file falls behind the requests; %d lines dropped since %s", dropped-r.count, r.at.UTC().Format(time.TimeOnly))
	default:
		return
	}
	r.failing, r.at, r.count = err != nil, now, dropped
}
