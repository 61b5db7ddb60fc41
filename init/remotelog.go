package main

import (
	"context"
	"time"

	"tprouter/init/config"
	"tprouter/init/console"
	"tprouter/init/router"
	"tprouter/init/syslog"
)

// startSyslog sends every console line to the collectors of
// tprouter.syslog from now on, and the lines of this boot so far (the
// rings hold them). Call it before keepLogs, which restores the last
// boot's lines into the rings: those were sent in their time.
//
// The access log reaches the collectors once either way: without /perm
// the proxy writes it on its standard output, whose lines come through
// the console (syslog.AppName calls them "access"); with /perm it writes
// the file only, which is followed here.
func startSyslog(con *console.Console, log *console.Log, cfg config.Config, perm string) {
	if len(cfg.Syslog) == 0 {
		return
	}
	hub := syslog.Start(cfg.Hostname, cfg.Syslog, syslog.Options{Logf: log.Printf})
	since := time.Now()
	con.Tee(hub.Offer)
	for _, l := range con.Logs() {
		for _, line := range l.Lines() {
			if line.Time.Before(since) {
				hub.Offer(l.Name(), line.Time, line.Text)
			}
		}
	}
	if perm != "" {
		go func() {
			defer log.Recover()
			syslog.Follow(context.Background(), router.AccessLog(perm), syslog.FollowInterval, hub.OfferAccess)
		}()
	}
	log.Printf("syslog: sending the console lines and the access log to %s", config.Commas(cfg.Syslog))
}
