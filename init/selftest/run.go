package selftest

import (
	"context"
	"time"
)

// checks are the static checks, in the order they run.
func (t *Tester) checks() []func(context.Context) Result {
	return []func(context.Context) Result{
		t.kernel, t.ruleset, t.routing, t.forwarding, t.proxyListen, t.proxyCap,
	}
}

// Run runs every check, logs each result and the summary, and returns
// the report, which Last then returns. A Run while another is in
// progress waits for that one and returns its report: the two would
// check the same thing, and the round trip's namespaces are one set.
func (t *Tester) Run(ctx context.Context) Report {
	t.mu.Lock()
	if wait := t.running; wait != nil {
		t.mu.Unlock()
		select {
		case <-wait:
		case <-ctx.Done():
		}
		if r, ok := t.Last(); ok {
			return r
		}
		return Report{Time: time.Now(), Results: []Result{{Check: "selftest", Detail: ctx.Err().Error(), Fix: "try again"}}}
	}
	done := make(chan struct{})
	t.running = done
	t.mu.Unlock()

	r := t.run(ctx)

	t.mu.Lock()
	t.last = &r
	t.running = nil
	t.mu.Unlock()
	close(done)
	return r
}

func (t *Tester) run(ctx context.Context) Report {
	start := time.Now()
	if t.Links != nil {
		t.WAN, t.LAN = t.Links() // one run at a time: Run's running
	}
	r := Report{Time: start, OK: true}
	add := func(res Result) {
		t.logf("%s", res.Line())
		r.OK = r.OK && res.OK
		r.Results = append(r.Results, res)
	}
	for _, check := range t.checks() {
		add(check(ctx))
	}
	if t.RoundTrip != nil {
		for _, res := range t.RoundTrip(ctx) {
			add(res)
		}
	}
	r.Took = time.Since(start)
	t.logf("%s", r.Summary())
	return r
}

// Last returns the report of the last run that ended, if any.
func (t *Tester) Last() (Report, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.last == nil {
		return Report{}, false
	}
	return *t.last, true
}

func ok(check, detail string) Result { return Result{Check: check, OK: true, Detail: detail} }

func fail(check, detail, fix string) Result {
	return Result{Check: check, Detail: detail, Fix: fix}
}
