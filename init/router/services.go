package router

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/sys/unix"

	"tprouter/init/boot"
	"tprouter/init/config"
	"tprouter/init/firewall"
	"tprouter/init/status"
	"tprouter/init/supervise"
)

// Bin holds the service programs.
const Bin = "/bin"

// service is one program init supervises: who it runs as, what it keeps,
// when it runs and with which arguments. The table below is the only
// description of the services: the bring-up, the status endpoint and
// README.md's table (TestReadme) use it.
type service struct {
	Name string
	// Program is the program's file name in Bin. The rescue shell has
	// none: it is the first of boot.Shells that exists.
	Program string
	// UID is the service's own user and group (uid = gid); 0 is root.
	UID uint32
	// Caps are the capabilities it gets, as ambient capabilities;
	// CapsIf adds those that only some configurations need.
	Caps   []supervise.Cap
	CapsIf func(config.Config) []supervise.Cap
	// Port, if set, is the port it binds: below 1024, it also gets
	// CAP_NET_BIND_SERVICE.
	Port func(config.Config) uint16
	// State, if set, names its state directory (stateDirs): under /perm,
	// kept across reboots, or without it under RunState, across the
	// service's restarts only. With PermOnly it has none without /perm.
	State    string
	PermOnly bool
	// Needs is the link that must be known before it starts.
	Needs need
	// Enabled says whether the configuration asks for it.
	Enabled func(config.Config) bool
	// Args are its arguments, from the configuration, the links and the
	// state directories; nil: none.
	Args func(config.Config, links, dirs) []string
	// TTY is a terminal it runs on (supervise.Service.TTY); Env is added
	// to init's environment.
	TTY string
	Env []string
	// When and What say in words when it runs and what it is.
	When, What string
}

// need is a link a service needs.
type need int

const (
	noLink need = iota
	wanLink
	lanLink // the first LAN link
)

// links are the kernel's names of the WAN and LAN links (Configure); a
// link not found yet has the name "".
type links struct {
	WAN string
	LAN []string
}

// lan0 is the first LAN link, where the LAN services run.
func (l links) lan0() string {
	if len(l.LAN) == 0 {
		return ""
	}
	return l.LAN[0]
}

func (l links) has(n need) bool {
	switch n {
	case wanLink:
		return l.WAN != ""
	case lanLink:
		return l.lan0() != ""
	}
	return true
}

// services is the service table, in the order the services start. dhcp4d
// and radvd hand out the router's own LAN address as the DNS server
// (their default), where dnsfwd answers, also when tprouter.dns is set: a
// DHCP client keeps its lease's servers for hours, so servers handed out
// directly would linger after tprouter.dns or the WAN lease changed.
var services = []service{
	{
		Name: "proxy", Program: "proxy", UID: 3129,
		Caps:  []supervise.Cap{unix.CAP_NET_ADMIN}, // IP_TRANSPARENT
		Port:  func(c config.Config) uint16 { return c.Network.ProxyPort },
		State: "proxy", PermOnly: true,
		Enabled: func(config.Config) bool { return true },
		Args:    proxyArgs,
		When:    "always, first: it needs no link to listen",
		What: "the TPROXY proxy (HTTP, and TLS by peek and splice); its access log in `" + accessLog + "` there, without /perm on its standard output; " +
			"with `tprouter.proxy.port` below 1024 it also gets CAP_NET_BIND_SERVICE",
	},
	{
		Name: "dhcp4c", Program: "dhcp4c", UID: 3068,
		// Packet socket and SO_BINDTODEVICE; it applies the lease.
		Caps:    []supervise.Cap{unix.CAP_NET_ADMIN, unix.CAP_NET_RAW},
		Port:    port(68),
		State:   "dhcp4c",
		Needs:   wanLink,
		Enabled: func(c config.Config) bool { return c.Network.WANDHCP() },
		Args: func(_ config.Config, l links, d dirs) []string {
			return []string{"-iface=" + l.WAN, "-state=" + d.file("dhcp4c", leaseFile)}
		},
		When: "`tprouter.wan.addr=dhcp`, once the WAN link is found",
		What: "DHCPv4 client on the WAN; the lease in `" + leaseFile + "` there",
	},
	{
		Name: "dhcp6c", Program: "dhcp6c", UID: 3546,
		// Port 546 on the link-local address; it changes nothing in the
		// kernel (no -na), and dhcp4c brings the WAN link up.
		Port:    port(546),
		CapsIf:  dhcp6cCaps,
		State:   "dhcp6c",
		Needs:   wanLink,
		Enabled: func(c config.Config) bool { return c.Network.PDOn() },
		Args:    dhcp6cArgs,
		When:    "`tprouter.wan.addr=dhcp` and `tprouter.wan.pd` not `off`, once the WAN link is found",
		What: "DHCPv6 client on the WAN: a delegated prefix of `tprouter.wan.pd` bits (IA_PD); the prefixes, DNS servers, DUID and the last prefix " +
			"(asked for again after a reboot) in `" + leaseFile + "` there; with `tprouter.wan.na=on` also a WAN address (IA_NA), " +
			"which it puts on the link with CAP_NET_ADMIN",
	},
	{
		Name: "dhcp4d", Program: "dhcp4d", UID: 3067,
		Caps:    []supervise.Cap{unix.CAP_NET_RAW},
		Port:    port(67),
		State:   "dhcp4d",
		Needs:   lanLink,
		Enabled: func(c config.Config) bool { return c.DHCPD && hasFamily(c, true) },
		Args: func(_ config.Config, l links, d dirs) []string {
			return []string{"-iface=" + l.lan0(), "-leases=" + d.file("dhcp4d", leasesFile)}
		},
		When: "`tprouter.dhcpd=on` and an IPv4 LAN address, once the LAN link is found",
		What: "DHCPv4 server on the LAN; leases in `" + leasesFile + "` there, so that a client keeps its address",
	},
	{
		Name: "radvd", Program: "radvd", UID: 3134,
		Caps:    []supervise.Cap{unix.CAP_NET_RAW},
		Needs:   lanLink,
		Enabled: func(c config.Config) bool { return c.RA && (hasFamily(c, false) || c.Network.PDOn()) },
		Args:    func(_ config.Config, l links, _ dirs) []string { return []string{"-iface=" + l.lan0()} },
		When:    "`tprouter.ra=on` and an IPv6 LAN /64 or a delegated prefix (`tprouter.wan.pd`), once the LAN link is found",
		What:    "router advertisements for the LAN's /64s as they come and go (SLAAC, RDNSS)",
	},
	{
		// It only forwards, and reads the DHCP clients' leases, which everyone may
		// read; it binds the LAN addresses before netconf adds them.
		Name: "dnsfwd", Program: "dnsfwd", UID: 3053,
		Port:    port(53),
		Needs:   lanLink,
		Enabled: func(c config.Config) bool { return len(c.Network.LANAddrs) > 0 },
		Args:    dnsfwdArgs,
		When:    "a LAN address, once the LAN link is found",
		What:    "DNS forwarder on the LAN addresses to `tprouter.dns` and the servers of the WAN's DHCPv4 and DHCPv6 leases",
	},
	{
		Name: "shell", TTY: "/dev/console", Env: []string{"TERM=vt100", "HOME=/"},
		Enabled: func(c config.Config) bool { return c.Shell },
		When:    "`tprouter.shell=on`",
		What:    "a rescue shell on the console: the first of " + strings.Join(boot.Shells, ", "),
	},
}

func port(p uint16) func(config.Config) uint16 { return func(config.Config) uint16 { return p } }

// hasFamily reports whether the LAN has an IPv4 (or IPv6) address.
func hasFamily(c config.Config, v4 bool) bool {
	return slices.ContainsFunc(c.Network.LANAddrs, func(p netip.Prefix) bool { return p.Addr().Is4() == v4 })
}

// proxyArgs: where it listens and logs, its policy for what is neither
// HTTP nor TLS, and the domain lists: the keys' entries inline, the boot
// partition's files by name (the proxy re-reads them on SIGHUP).
func proxyArgs(c config.Config, _ links, d dirs) []string {
	log := "-" // its standard output: init's ring and the console
	if f := d.file("proxy", accessLog); f != "" {
		log = f
	}
	p := c.Proxy
	args := []string{
		fmt.Sprintf("-listen=:%d", c.Network.ProxyPort),
		"-access-log=" + log,
		"-access-log-format=" + p.LogFormat.String(),
		fmt.Sprintf("-spoof=%t", c.Spoof),
		fmt.Sprintf("-status=127.0.0.1:%d", c.ProxyStatusPort()),
		"-name=" + c.Hostname,
		"-selftest-net=" + firewall.SelfTestNets, // the self-test's client: not in the access log
		"-unknown=" + p.Unknown.String(),
	}
	for _, l := range []struct {
		flag  string
		names []string
		file  string
	}{{"deny", p.Deny, p.DenyFile}, {"allow", p.Allow, p.AllowFile}} {
		if len(l.names) > 0 {
			args = append(args, "-"+l.flag+"-names="+strings.Join(l.names, ","))
		}
		if l.file != "" {
			args = append(args, "-"+l.flag+"-file="+l.file)
		}
	}
	return args
}

// dnsfwdArgs: listen on the LAN addresses of the first LAN link (with
// prefix delegation, on the link's addresses as they come, since the
// delegated one is not known at boot), ask the
// servers of tprouter.dns first, then those of the WAN's leases (DHCPv4,
// then DHCPv6), wherever dhcp4c and dhcp6c keep them.
func dnsfwdArgs(c config.Config, l links, d dirs) []string {
	var listen, upstream []string
	for _, p := range c.Network.LANAddrs {
		listen = append(listen, p.Addr().String())
	}
	for _, a := range c.Network.DNS {
		upstream = append(upstream, a.String())
	}
	args := []string{"-iface=" + l.lan0()}
	if !c.Network.PDOn() {
		args = append(args, "-listen="+strings.Join(listen, ","))
	} // else the link's addresses as they come: the delegated /64's too
	if len(upstream) > 0 {
		args = append(args, "-upstream="+strings.Join(upstream, ","))
	}
	var leases []string
	if c.Network.WANDHCP() {
		leases = append(leases, d.file("dhcp4c", leaseFile))
	}
	if c.Network.PDOn() {
		leases = append(leases, d.file("dhcp6c", leaseFile))
	}
	if len(leases) > 0 {
		args = append(args, "-lease="+strings.Join(leases, ","))
	}
	if c.Proxy.StripECH() {
		args = append(args, "-strip-ech")
	}
	return args
}

// caps are the capabilities s gets with c.
func (s service) caps(c config.Config) []supervise.Cap {
	caps := slices.Clone(s.Caps)
	if s.CapsIf != nil {
		caps = append(caps, s.CapsIf(c)...)
	}
	if s.Port != nil && s.Port(c) < 1024 {
		caps = append(caps, unix.CAP_NET_BIND_SERVICE)
	}
	return caps
}

// runsAs says who s runs as with c: "uid 3129, CAP_NET_ADMIN".
func (s service) runsAs(c config.Config) string {
	if s.UID == 0 {
		if s.TTY != "" {
			return "root, on " + s.TTY
		}
		return "root"
	}
	w := []string{fmt.Sprintf("uid %d", s.UID)}
	for _, c := range s.caps(c) {
		w = append(w, c.String())
	}
	return strings.Join(w, ", ")
}

// supervised returns s as the supervisor runs it, with c on links l, or
// false when its program is missing (only the shell's can be).
func (r *Router) supervised(s service, l links) (supervise.Service, bool) {
	path := filepath.Join(r.bin, s.Program)
	if s.Program == "" {
		if path = r.findShell(); path == "" {
			return supervise.Service{}, false
		}
	}
	svc := supervise.Service{Name: s.Name, Path: path, TTY: s.TTY}
	if s.Args != nil {
		svc.Args = s.Args(r.Config, l, r.dirs)
	}
	if s.Env != nil {
		svc.Env = append(os.Environ(), s.Env...)
	}
	if s.UID != 0 {
		svc.User = &supervise.User{UID: s.UID, GID: s.UID, Caps: s.caps(r.Config)}
	}
	return svc, true
}

// startServices adds the enabled services that links l allow and that
// have not been added yet.
func (r *Router) startServices(l links) {
	for _, s := range services {
		if r.started[s.Name] || !s.Enabled(r.Config) || !l.has(s.Needs) {
			continue
		}
		r.started[s.Name] = true
		svc, ok := r.supervised(s, l)
		if !ok {
			r.Log.Printf("tprouter.shell=on, but there is no shell at %v", boot.Shells)
			continue
		}
		r.Supervisor.Add(svc)
	}
}

// table describes the services for the status endpoint.
func (r *Router) table() []status.Service {
	var t []status.Service
	for _, s := range services {
		t = append(t, status.Service{Name: s.Name, RunsAs: s.runsAs(r.Config), When: s.When, Enabled: s.Enabled(r.Config)})
	}
	return t
}
