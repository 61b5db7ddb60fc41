// Package router turns a booted system into the router that the command
// line describes. It configures the network (Configure: the firewall,
// then netconf), starts the services of its table (services.go) under
// the supervisor as their links appear, opens the status endpoint on the
// LAN, and says `tprouter: ready` once the proxy listens and the rules
// are in place.
//
// Nothing here gives up: a step that fails is retried with backoff and
// reported when its error changes, while everything that can run already
// does.
package router

import (
	"time"

	"tprouter/init/netconf"

	"tprouter/init/boot"
	"tprouter/init/config"
	"tprouter/init/console"
	"tprouter/init/status"
	"tprouter/init/supervise"
)

// Router brings up the router.
type Router struct {
	Config config.Config
	Log    *console.Log
	// Supervisor runs the services.
	Supervisor interface{ Add(supervise.Service) }
	// Status is the status endpoint's handler, without ProxyStatus, Table
	// and the Panels' sources other than SelfTest, which Start fills in
	// (panels.go); nil: no endpoint.
	Status *status.Server
	// Ready, when set, runs once after `tprouter: ready` (the self-test,
	// then the update's blessing or rollback), in a goroutine of its own.
	Ready func()
	// Perm is where the persistent partition is mounted (storage.PermDir),
	// or "" without one: the services' state directories are on it,
	// else in memory under RunState.
	Perm string

	// Seams for tests; zero values are the real thing.
	apply     func(config.Network) (wan string, lan []string, err error)
	listening func(port uint16) bool
	findShell func() string
	bin       string
	root      string        // prefixes the state directories
	retry     time.Duration // first retry delay
	readyWarn time.Duration // when to say what ready waits for

	started map[string]bool // services added, by name
	dirs    dirs            // the services' state directories (stateDirs)
	seen    seenLinks       // the links found so far, for the status page
}

// Start starts bringing up the router and returns at once.
func (r *Router) Start() {
	if r.apply == nil {
		r.apply = Configure
	}
	if r.listening == nil {
		r.listening = func(port uint16) bool { return Listening("/proc/net", port) }
	}
	if r.findShell == nil {
		r.findShell = boot.FindShell
	}
	if r.bin == "" {
		r.bin = Bin
	}
	if r.root == "" {
		r.root = "/"
	}
	if r.retry == 0 {
		r.retry = time.Second
	}
	if r.readyWarn == 0 {
		r.readyWarn = 30 * time.Second
	}
	r.started = map[string]bool{}
	go func() {
		defer r.Log.Recover()
		r.run()
	}()
}

// run is the bring-up: the services that need no link, then rounds of
// Configure until it succeeds, each starting the services whose links it
// found.
func (r *Router) run() {
	r.stateDirs()
	if err := netconf.Loopback(); err != nil {
		r.Log.Printf("configuring the network: %v; the proxy cannot serve its status until it is up", err)
	}
	r.startServices(links{})

	applied := make(chan struct{})
	go func() {
		defer r.Log.Recover()
		r.waitReady(applied)
	}()

	statusUp, pdUp := false, false
	delay, lastErr := r.retry, ""
	for {
		wan, lan, err := r.apply(r.Config.Network)
		l := links{WAN: wan, LAN: lan}
		r.seen.set(l)
		r.startServices(l)
		if !statusUp && l.lan0() != "" {
			statusUp = r.serveStatus(l.lan0())
		}
		if !pdUp && l.lan0() != "" && r.Config.Network.PDOn() {
			pdUp = true
			go r.delegate(l.lan0())
		}
		if err == nil {
			if lastErr != "" {
				r.Log.Printf("network configured")
			}
			close(applied)
			return
		}
		if e := err.Error(); e != lastErr {
			r.Log.Printf("configuring the network: %v; retrying", err)
			lastErr = e
		}
		time.Sleep(delay)
		delay = min(2*delay, 30*time.Second)
	}
}
