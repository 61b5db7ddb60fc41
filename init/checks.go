package main

import (
	"context"
	"net/netip"
	"time"

	"tprouter/init/boot"
	"tprouter/init/config"
	"tprouter/init/console"
	"tprouter/init/netconf"
	"tprouter/init/selftest"
	"tprouter/init/selftest/trip"
	"tprouter/init/storage"
	"tprouter/init/supervise"
	"tprouter/init/update"
	"tprouter/internal/bundle"
)

// Self-test timing. An updated slot must pass within updateDeadline of
// boot or it reboots and spends a try; the self-test waits for `tprouter:
// ready` at most selfTestWait, so that a slot whose proxy never listens
// fails in seconds, not at the deadline.
const (
	selfTestWait    = 30 * time.Second
	selfTestTimeout = 30 * time.Second
	updateDeadline  = 3 * time.Minute
)

// newUpdater is the update state of the boot: which slot runs, and
// whether the last update was rolled back (said on the console now).
func newUpdater(log *console.Log, m storage.Mounted, down *boot.Shutdown, c config.Network) *update.Updater {
	u := &update.Updater{
		Boot: m.Boot, Perm: m.Perm, Log: log.Printf,
		Board:   update.ReadLine(bundle.BoardFile),
		Version: update.ReadLine(bundle.VersionFile),
		Reboot:  func(why string) { down.Do(boot.Reboot, why) },
		LAN:     func() []netip.Prefix { return c.LANAddrs },
	}
	log.Printf("tprouter version %s (board %s)", u.Version, u.Board)
	if m.Boot != "" {
		u.CheckRollback()
		u.StartDeadline(updateDeadline)
	}
	return u
}

// newSelfTest is the self-test of the running router, with the round trip
// through its interception path.
func newSelfTest(log *console.Log, c config.Network, sup *supervise.Supervisor) *selftest.Tester {
	return &selftest.Tester{
		Net: c, Log: log.Printf,
		Links: func() (string, []string) {
			wan, lan, _ := netconf.Resolve(c)
			return wan, lan
		},
		ProxyPID: func() int {
			for _, s := range sup.Status() {
				if s.Name == "proxy" {
					return s.PID
				}
			}
			return 0
		},
		RoundTrip: func(ctx context.Context) []selftest.Result { return trip.Run(ctx, trip.FromNetwork(c)) },
	}
}

// selfTestAtReady runs the self-test once the router is ready (ready is
// closed), or after selfTestWait without it, and gives the verdict to the
// update, which blesses a slot on trial or reboots it. A run that did not
// wait for ready is repeated when ready comes, for the status page.
func selfTestAtReady(ready <-chan struct{}, st *selftest.Tester, u *update.Updater, log *console.Log) {
	defer log.Recover()
	waited := false
	select {
	case <-ready:
	case <-time.After(selfTestWait):
		waited = true
		log.Printf("selftest: not ready after %v: testing anyway", selfTestWait)
	}
	run := func() {
		ctx, cancel := context.WithTimeout(context.Background(), selfTestTimeout)
		defer cancel()
		r := st.Run(ctx)
		u.AfterSelfTest(r.OK, r.Summary())
	}
	run()
	if waited {
		<-ready
		run()
	}
}
