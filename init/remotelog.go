package main

import (
	"time"

	"tprouter/init/config"
	"tprouter/init/console"
	"tprouter/init/syslog"
)

// startSyslog sends every console line to the collectors of
// tprouter.syslog from now on, and the lines of this boot so far (the
// rings hold them). Call it before keepLogs, which restores the last
// boot's lines into the rings: those were sent in their time.
func startSyslog(con *console.Console, log *console.Log, cfg config.Config) {
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
	log.Printf("syslog: sending the console lines to %s", config.Commas(cfg.Syslog))
}
