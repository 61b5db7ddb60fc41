package ra

import (
	"context"
	"time"
)

// Run advertises until ctx is done, then sends a final advertisement with
// a router lifetime of zero, so hosts stop using the router at once
// (RFC 4861 section 6.2.5). Errors on the way are logged and retried: a
// LAN without advertisements is worse than one with a noisy log. When the
// link goes down, Run waits for it to come up, opens its socket again and
// starts the initial advertisements over.
func (a *Advertiser) Run(ctx context.Context) {
	changes := a.watch(ctx)
	for {
		conn := a.listen(ctx, changes)
		if conn == nil {
			return
		}
		done := a.serve(ctx, conn, changes)
		conn.Close()
		if done {
			return
		}
		a.logf("%s went down or lost %s: waiting for it", a.cfg.Iface, conn.src)
	}
}

// serve advertises on c until ctx is done (it returns true) or the link
// went down or changed its link-local address (false: open it again).
func (a *Advertiser) serve(ctx context.Context, c *conn, changes <-chan struct{}) bool {
	solicited := make(chan struct{}, 1)
	go a.readSolicitations(c, solicited)

	timer := time.NewTimer(0) // advertise at once on start
	defer timer.Stop()
	next := a.now()
	var last time.Time
	// soon moves the next advertisement to a random delay from now, but
	// no sooner than MIN_DELAY_BETWEEN_RAS after the previous one.
	soon := func() {
		now := a.now()
		at := now.Add(a.rand(maxDelay))
		if earliest := last.Add(minDelayBetween); at.Before(earliest) {
			at = earliest
		}
		if at.Before(next) {
			next = at
			timer.Reset(at.Sub(now))
		}
	}
	for sent := 0; ; {
		select {
		case <-ctx.Done():
			if a.send(c, 0) {
				a.logf("sent final advertisement with router lifetime 0")
			}
			return true
		case <-solicited: // RFC 4861 section 6.2.6
			soon()
		case <-changes:
			li, err := a.link()
			if err != nil || !li.up || !hasAddr(c) {
				return false
			}
			if a.track(li.prefixes(), a.now()) {
				// RFC 4861 section 6.2.4: changed information
				// is advertised as a new interface's would be.
				sent = 0
				soon()
			}
		case <-timer.C:
			if a.send(c, RouterLifetime) {
				sent++
			}
			last = a.now()
			next = last.Add(a.interval(sent))
			timer.Reset(next.Sub(last))
		}
	}
}

// hasAddr reports whether c's source address is still on the link.
func hasAddr(c *conn) bool {
	ll, err := linkLocal(c.ifi)
	return err == nil && ll == c.src
}
