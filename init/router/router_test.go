package router

import (
	"errors"
	"net"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"tprouter/internal/syncbuf"

	"golang.org/x/sys/unix"

	"tprouter/init/cmdline"
	"tprouter/init/config"
	"tprouter/init/console"
	"tprouter/init/supervise"
)

func TestListening(t *testing.T) {
	for _, addr := range []string{"127.0.0.1:0", "[::1]:0"} {
		l, err := net.Listen("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		port := uint16(l.Addr().(*net.TCPAddr).Port)
		if !Listening("/proc/net", port) {
			t.Errorf("%s port %d: not listening", addr, port)
		}
		l.Close()
		if Listening("/proc/net", port) {
			t.Errorf("%s port %d: listening after Close", addr, port)
		}
	}
}

func TestServices(t *testing.T) {
	c, probs := cmdline.Parse("tprouter.hostname=gw tprouter.proxy.port=80 tprouter.spoof=off " +
		"tprouter.lan.addr=192.0.2.1/24,2001:db8:1::1/64 tprouter.dns=198.51.100.53,2001:db8:2::53")
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	r := &Router{Config: c, bin: "/bin", runDir: "/run/tprouter"}
	p := r.proxy()
	want := supervise.Service{
		Name: "proxy", Path: "/bin/proxy",
		Args: []string{"-listen=:80", "-access-log=-", "-spoof=false", "-status=127.0.0.1:9091", "-name=gw"},
		User: &supervise.User{UID: 3129, GID: 3129, Caps: []supervise.Cap{unix.CAP_NET_ADMIN, unix.CAP_NET_BIND_SERVICE}},
	}
	if !reflect.DeepEqual(p, want) {
		t.Errorf("proxy:\n%+v\nwant\n%+v", p, want)
	}

	// dhcp4d and radvd hand out the router's own address (no -dns,
	// -rdnss), where dnsfwd forwards to tprouter.dns and the lease's
	// servers.
	got := names(r.services("wan0", []string{"lan0"}))
	wantSvcs := strings.Join([]string{
		"dhcp4c /bin/dhcp4c -iface=wan0 -state=/run/tprouter/dhcp4c/lease.json",
		"dhcp4d /bin/dhcp4d -iface=lan0 -leases=/run/tprouter/dhcp4d/leases.json",
		"radvd /bin/radvd -iface=lan0",
		"dnsfwd /bin/dnsfwd -iface=lan0 -listen=192.0.2.1,2001:db8:1::1 -upstream=198.51.100.53,2001:db8:2::53 -lease=/run/tprouter/dhcp4c/lease.json",
	}, "\n")
	if got != wantSvcs {
		t.Errorf("services:\n%s\nwant\n%s", got, wantSvcs)
	}
	// Every service runs as its own user with only the capabilities
	// its sockets need.
	users := map[string]supervise.User{
		"dhcp4c": {UID: 3068, GID: 3068, Caps: []supervise.Cap{unix.CAP_NET_ADMIN, unix.CAP_NET_RAW, unix.CAP_NET_BIND_SERVICE}},
		"dhcp4d": {UID: 3067, GID: 3067, Caps: []supervise.Cap{unix.CAP_NET_RAW, unix.CAP_NET_BIND_SERVICE}},
		"radvd":  {UID: 3134, GID: 3134, Caps: []supervise.Cap{unix.CAP_NET_RAW}},
		"dnsfwd": {UID: 3053, GID: 3053, Caps: []supervise.Cap{unix.CAP_NET_BIND_SERVICE}},
	}
	for _, svc := range r.services("wan0", []string{"lan0"}) {
		if svc.User == nil || !reflect.DeepEqual(*svc.User, users[svc.Name]) {
			t.Errorf("%s: User %+v, want %+v", svc.Name, svc.User, users[svc.Name])
		}
	}

	// Static WAN, DHCP server off, IPv4-only LAN: only the DNS
	// forwarder, without upstream servers (it says so) and no lease.
	c, _ = cmdline.Parse("tprouter.wan.addr=198.51.100.1/24 tprouter.dhcpd=off")
	r = &Router{Config: c, bin: "/bin", runDir: "/run/tprouter"}
	if got, want := names(r.services("eth0", []string{"eth1"})), "dnsfwd /bin/dnsfwd -iface=eth1 -listen=192.168.1.1"; got != want {
		t.Errorf("services %s, want %s", got, want)
	}
	// Links not known yet: nothing.
	c, _ = cmdline.Parse("")
	r = &Router{Config: c}
	if got := names(r.services("", nil)); got != "" {
		t.Errorf("services %s, want none", got)
	}
	if got := names(r.services("eth0", []string{""})); strings.Contains(got, "dnsfwd") {
		t.Errorf("services %s before the LAN link is known, want no dnsfwd", got)
	}
	// The proxy's status port moves out of the way of its listener.
	c, _ = cmdline.Parse("tprouter.proxy.port=9091")
	if got := (&Router{Config: c}).proxyStatusAddr(); got != "127.0.0.1:9092" {
		t.Errorf("proxyStatusAddr = %s", got)
	}
}

func names(svcs []supervise.Service) string {
	var s []string
	for _, svc := range svcs {
		s = append(s, svc.Name+" "+svc.Path+" "+strings.Join(svc.Args, " "))
	}
	return strings.Join(s, "\n")
}

type fakeSupervisor struct {
	mu    sync.Mutex
	added []string
}

func (f *fakeSupervisor) Add(s supervise.Service) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.added = append(f.added, s.Name)
}

func (f *fakeSupervisor) names() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.added...)
}

// TestStart runs the bring-up with a network that fails twice (the LAN
// link appears late) and a proxy that listens after a while: services
// start as their links become known, errors are reported once each, and
// ready comes when both are done.
func TestStart(t *testing.T) {
	var buf syncbuf.Buffer
	con := console.New(&buf)
	c, _ := cmdline.Parse("tprouter.status.port=off")
	var mu sync.Mutex
	calls := 0
	proxyUp := false
	sup := &fakeSupervisor{}
	r := &Router{
		Config: c, Log: con.Log("init", 100), Supervisor: sup,
		apply: func(config.Network) (string, []string, error) {
			mu.Lock()
			defer mu.Unlock()
			calls++
			if calls < 3 {
				return "eth0", []string{""}, errors.New(`links: no link named "eth1"`)
			}
			return "eth0", []string{"eth1"}, nil
		},
		listening: func(port uint16) bool {
			mu.Lock()
			defer mu.Unlock()
			return port == 3129 && proxyUp
		},
		runDir: t.TempDir(), retry: 10 * time.Millisecond, readyWarn: 100 * time.Millisecond,
	}
	r.Start()
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(buf.String(), "not ready after") && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	mu.Lock()
	proxyUp = true
	mu.Unlock()
	for !strings.Contains(buf.String(), "init: tprouter: ready") && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	con.Flush(time.Second)
	out := buf.String()
	if !strings.Contains(out, "init: tprouter: ready") {
		t.Fatalf("not ready:\n%s", out)
	}
	if n := strings.Count(out, "configuring the network: links: no link named"); n != 1 {
		t.Errorf("error reported %d times, want once:\n%s", n, out)
	}
	if !strings.Contains(out, "init: network configured") {
		t.Errorf("no recovery line:\n%s", out)
	}
	if got, want := sup.names(), []string{"proxy", "dhcp4c", "dhcp4d", "dnsfwd"}; !reflect.DeepEqual(got, want) {
		t.Errorf("started %v, want %v (dhcp4d and dnsfwd once eth1 is known; no radvd without IPv6)", got, want)
	}
	if i, j := strings.Index(out, "network configured"), strings.Index(out, "tprouter: ready"); i > j {
		t.Errorf("ready before the network was configured:\n%s", out)
	}
}
