// Package router turns a booted system into the router that the command
// line describes: it configures the network (netconf, then the firewall),
// starts the proxy, the address services and the DNS forwarder under the
// supervisor, opens the status endpoint on the LAN, and says
// `tprouter: ready` once the proxy listens and the rules are in place.
//
// Nothing here gives up: a step that fails is retried with backoff and
// reported when its error changes, while everything that can run already
// does.
package router

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"tprouter/init/config"
	"tprouter/init/console"
	"tprouter/init/firewall"
	"tprouter/init/internal/oneline"
	"tprouter/init/netconf"
	"tprouter/init/status"
	"tprouter/init/supervise"
)

// Where things are on the router.
const (
	// Bin holds the service programs: proxy, dhcp4c, dhcp4d, radvd,
	// dnsfwd.
	Bin = "/bin"
	// RunDir holds the services' state files (tmpfs: kept across
	// restarts of a service, not across reboots).
	RunDir = "/run/tprouter"
	// ProxyUID and ProxyGID are the proxy's own user and group.
	ProxyUID, ProxyGID = 3129, 3129
	// DNSUID and DNSGID are the DNS forwarder's own user and group.
	DNSUID, DNSGID = 3053, 3053
	// The address services' own users (uid = gid); each owns its state
	// directory RunDir/<name>.
	DHCP4CUID, DHCP4DUID, RADVDUID = 3068, 3067, 3134
)

// Router brings up the router.
type Router struct {
	Config config.Config
	Log    *console.Log
	// Supervisor runs the services.
	Supervisor interface{ Add(supervise.Service) }
	// Status is the status endpoint's handler, without ProxyStatus,
	// which Start fills in; nil: no endpoint.
	Status *status.Server

	// Seams for tests; zero values are the real thing.
	apply     func(config.Network) (wan string, lan []string, err error)
	listening func(port uint16) bool
	bin       string
	runDir    string
	retry     time.Duration // first retry delay
	readyWarn time.Duration // when to say what ready waits for
}

// Start starts bringing up the router and returns at once.
func (r *Router) Start() {
	if r.apply == nil {
		r.apply = Configure
	}
	if r.listening == nil {
		r.listening = func(port uint16) bool { return Listening("/proc/net", port) }
	}
	if r.bin == "" {
		r.bin = Bin
	}
	if r.runDir == "" {
		r.runDir = RunDir
	}
	if r.retry == 0 {
		r.retry = time.Second
	}
	if r.readyWarn == 0 {
		r.readyWarn = 30 * time.Second
	}
	go func() {
		defer r.Log.Recover()
		r.run()
	}()
}

// Configure puts the firewall in place, then configures the network, and
// returns the kernel's names of the WAN and LAN links. It is the whole
// network bring-up of the firmware, which the lab router runs too; it is
// idempotent, and init calls it again until it succeeds.
//
// Links matched by MAC are renamed first, so that the ruleset names them
// as they stay. The firewall comes before addresses, routes and
// forwarding: a router that forwards without its ruleset lets the WAN
// into the LAN. When the firewall cannot be applied, forwarding is off
// (netconf never turns it on, not for a moment) until a later round
// applies it; the LAN is still served.
func Configure(c config.Network) (wan string, lan []string, err error) {
	netconf.Rename(c)                // its failures are netconf.ApplyForward's too
	wan, lan, _ = netconf.Resolve(c) // a link not found: the same
	var errs []error
	fwErr := firewall.Apply(c, wan, lan)
	if fwErr != nil {
		errs = append(errs, fmt.Errorf("firewall: %w; forwarding stays off until it is in place", fwErr))
	}
	if err := netconf.ApplyForward(c, fwErr == nil); err != nil {
		errs = append(errs, fmt.Errorf("netconf: %w", err))
	}
	return wan, lan, oneline.Join(errs...)
}

func (r *Router) run() {
	c := r.Config
	if err := os.MkdirAll(r.runDir, 0o755); err != nil {
		r.Log.Printf("mkdir %s: %v", r.runDir, err)
	}
	r.stateDirs()
	// The proxy needs no configured network to listen, so it starts
	// first and is ready sooner.
	r.Supervisor.Add(r.proxy())

	applied := make(chan struct{})
	go func() {
		defer r.Log.Recover()
		r.waitReady(applied)
	}()

	started := map[string]bool{}
	statusUp := false
	delay, lastErr := r.retry, ""
	for {
		wan, lan, err := r.apply(c.Network)
		// Services whose link is known start now; the rest on a later
		// round.
		for _, svc := range r.services(wan, lan) {
			if !started[svc.Name] {
				started[svc.Name] = true
				r.Supervisor.Add(svc)
			}
		}
		if !statusUp && len(lan) > 0 && lan[0] != "" {
			statusUp = r.serveStatus(lan[0])
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

// waitReady prints `tprouter: ready` once the network is configured and
// the proxy listens, and says what it still waits for when that takes
// long.
func (r *Router) waitReady(applied chan struct{}) {
	port := r.Config.Network.ProxyPort
	start := time.Now()
	warned := false
	for {
		net := false
		select {
		case <-applied:
			net = true
		default:
		}
		proxy := r.listening(port)
		if net && proxy {
			r.Log.Printf("tprouter: ready")
			return
		}
		if !warned && time.Since(start) >= r.readyWarn {
			warned = true
			var waiting []string
			if !net {
				waiting = append(waiting, "the network configuration and firewall rules")
			}
			if !proxy {
				waiting = append(waiting, fmt.Sprintf("the proxy to listen on port %d", port))
			}
			r.Log.Printf("not ready after %v: waiting for %s", r.readyWarn, strings.Join(waiting, " and "))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// serveStatus opens the status endpoint on the LAN addresses of link.
func (r *Router) serveStatus(link string) bool {
	c := r.Config
	if r.Status == nil || c.StatusPort == 0 {
		return true
	}
	var addrs []netip.Addr
	for _, p := range c.Network.LANAddrs {
		addrs = append(addrs, p.Addr())
	}
	ls, err := status.Listen(addrs, c.StatusPort, link)
	if err != nil {
		r.Log.Printf("status endpoint: %v", err)
		return false
	}
	r.Status.ProxyStatus = r.proxyStatusAddr()
	status.Serve(ls, r.Status.Handler(), r.Log.Printf)
	var urls []string
	for _, l := range ls {
		urls = append(urls, "http://"+l.Addr().String()+"/")
	}
	r.Log.Printf("status endpoint on %s (%s only)", strings.Join(urls, " and "), link)
	return true
}

func (r *Router) proxyStatusAddr() string {
	return fmt.Sprintf("127.0.0.1:%d", r.Config.ProxyStatusPort())
}

// proxy is the proxy's service: its own user, with CAP_NET_ADMIN for
// IP_TRANSPARENT, and CAP_NET_BIND_SERVICE when its port needs it.
func (r *Router) proxy() supervise.Service {
	c := r.Config
	caps := []supervise.Cap{unix.CAP_NET_ADMIN}
	if c.Network.ProxyPort < 1024 {
		caps = append(caps, unix.CAP_NET_BIND_SERVICE)
	}
	return supervise.Service{
		Name: "proxy",
		Path: filepath.Join(r.bin, "proxy"),
		Args: []string{
			fmt.Sprintf("-listen=:%d", c.Network.ProxyPort),
			"-access-log=-",
			fmt.Sprintf("-spoof=%t", c.Spoof),
			"-status=" + r.proxyStatusAddr(),
			"-name=" + c.Hostname,
		},
		User: &supervise.User{UID: ProxyUID, GID: ProxyGID, Caps: caps},
	}
}

// services are the services that run on the links named wan and lan
// (netconf.Resolve): the address services and the DNS forwarder; a
// service whose link is not known yet is left out.
func (r *Router) services(wan string, lan []string) []supervise.Service {
	svcs := r.addressServices(wan, lan)
	if len(lan) > 0 && lan[0] != "" && len(r.Config.Network.LANAddrs) > 0 {
		svcs = append(svcs, r.dnsfwd(lan[0]))
	}
	return svcs
}

// addressServices are the DHCP and RA services the configuration asks
// for, on the links named wan and lan; a service whose link is not known
// yet is left out.
//
// dhcp4d and radvd hand out the router's own LAN address as the DNS
// server (their default), where dnsfwd answers, also when tprouter.dns
// is set: a DHCP client keeps the DNS servers of its lease until it
// renews it, hours later, so servers handed out directly would linger on
// the LAN after tprouter.dns or the WAN lease changed. The router's
// address stays, and a change takes effect at once, in one place.
func (r *Router) addressServices(wan string, lan []string) []supervise.Service {
	c := r.Config
	var v4, v6 bool
	for _, p := range c.Network.LANAddrs {
		v4 = v4 || p.Addr().Is4()
		v6 = v6 || p.Addr().Is6()
	}
	var lan0 string
	if len(lan) > 0 {
		lan0 = lan[0]
	}

	// Each runs as its own user with only the capabilities its sockets
	// need: packet sockets and SO_BINDTODEVICE (CAP_NET_RAW), ports 67
	// and 68 (CAP_NET_BIND_SERVICE), and for dhcp4c, which applies its
	// lease, addresses and routes (CAP_NET_ADMIN).
	var svcs []supervise.Service
	if c.Network.WANDHCP() && wan != "" {
		svcs = append(svcs, supervise.Service{Name: "dhcp4c", Path: filepath.Join(r.bin, "dhcp4c"),
			Args: []string{"-iface=" + wan, "-state=" + r.leaseFile()},
			User: &supervise.User{UID: DHCP4CUID, GID: DHCP4CUID,
				Caps: []supervise.Cap{unix.CAP_NET_ADMIN, unix.CAP_NET_RAW, unix.CAP_NET_BIND_SERVICE}}})
	}
	if c.DHCPD && v4 && lan0 != "" {
		svcs = append(svcs, supervise.Service{Name: "dhcp4d", Path: filepath.Join(r.bin, "dhcp4d"),
			Args: []string{"-iface=" + lan0, "-leases=" + filepath.Join(r.runDir, "dhcp4d", "leases.json")},
			User: &supervise.User{UID: DHCP4DUID, GID: DHCP4DUID,
				Caps: []supervise.Cap{unix.CAP_NET_RAW, unix.CAP_NET_BIND_SERVICE}}})
	}
	if c.RA && v6 && lan0 != "" {
		svcs = append(svcs, supervise.Service{Name: "radvd", Path: filepath.Join(r.bin, "radvd"),
			Args: []string{"-iface=" + lan0},
			User: &supervise.User{UID: RADVDUID, GID: RADVDUID, Caps: []supervise.Cap{unix.CAP_NET_RAW}}})
	}
	return svcs
}

// leaseFile is where dhcp4c keeps the WAN lease (dnsfwd reads it).
func (r *Router) leaseFile() string { return filepath.Join(r.runDir, "dhcp4c", "lease.json") }

// stateDirs makes RunDir/<name>, owned by the service's user, for each
// service that keeps state.
func (r *Router) stateDirs() {
	for name, uid := range map[string]int{"dhcp4c": DHCP4CUID, "dhcp4d": DHCP4DUID} {
		dir := filepath.Join(r.runDir, name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			r.Log.Printf("mkdir %s: %v", dir, err)
			continue
		}
		if err := os.Chown(dir, uid, uid); err != nil {
			r.Log.Printf("chown %s: %v", dir, err)
		}
	}
}

// dnsfwd is the DNS forwarder on the LAN link lan0: it listens on the
// configured LAN addresses (it binds them before netconf has added them)
// and on that link only, and asks the servers of tprouter.dns first, then
// those of the WAN lease. It runs as its own user, with
// CAP_NET_BIND_SERVICE for port 53 and nothing else: it only forwards,
// and reads the lease file, which everyone may read.
func (r *Router) dnsfwd(lan0 string) supervise.Service {
	c := r.Config
	var listen, upstream []string
	for _, p := range c.Network.LANAddrs {
		listen = append(listen, p.Addr().String())
	}
	for _, a := range c.Network.DNS {
		upstream = append(upstream, a.String())
	}
	args := []string{"-iface=" + lan0, "-listen=" + strings.Join(listen, ",")}
	if len(upstream) > 0 {
		args = append(args, "-upstream="+strings.Join(upstream, ","))
	}
	if c.Network.WANDHCP() {
		args = append(args, "-lease="+r.leaseFile())
	}
	return supervise.Service{
		Name: "dnsfwd",
		Path: filepath.Join(r.bin, "dnsfwd"),
		Args: args,
		User: &supervise.User{UID: DNSUID, GID: DNSGID, Caps: []supervise.Cap{unix.CAP_NET_BIND_SERVICE}},
	}
}
