package router

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"tprouter/init/cmdline"
	"tprouter/init/config"
	"tprouter/init/console"
	"tprouter/init/storage"
	"tprouter/init/supervise"
	"tprouter/internal/syncbuf"
	"tprouter/services/dhcp4c/client"
	"tprouter/services/dhcp4d/server"
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

// started makes the state directories for c under a temporary root and
// runs startServices for c on links l, with /bin as Bin and shell as the
// shell found, and returns what it added and the console.
func started(t *testing.T, c config.Config, shell string, l links) ([]supervise.Service, string) {
	return startedOn(c, "", t.TempDir(), shell, l)
}

// startedOn is started with the persistent partition at perm ("" for
// none) and the root root.
func startedOn(c config.Config, perm, root, shell string, l links) ([]supervise.Service, string) {
	var buf syncbuf.Buffer
	con := console.New(&buf)
	sup := &fakeSupervisor{}
	r := &Router{Config: c, Log: con.Log("init", 10), Supervisor: sup, Perm: perm, bin: "/bin", root: root,
		findShell: func() string { return shell }, started: map[string]bool{}}
	r.stateDirs()
	r.startServices(l)
	con.Flush(time.Second)
	return sup.services(), buf.String()
}

func TestServices(t *testing.T) {
	c, probs := cmdline.Parse("tprouter.hostname=gw tprouter.proxy.port=80 tprouter.spoof=off " +
		"tprouter.lan.addr=192.0.2.1/24,2001:db8:1::1/64 tprouter.dns=198.51.100.53,2001:db8:2::53")
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	svcs, _ := started(t, c, "", links{WAN: "wan0", LAN: []string{"lan0"}})
	// dhcp4d and radvd hand out the router's own address (no -dns,
	// -rdnss), where dnsfwd forwards to tprouter.dns and the lease's
	// servers.
	want := strings.Join([]string{
		"proxy /bin/proxy -listen=:80 -access-log=- -access-log-format=squid -spoof=false -status=127.0.0.1:9091 -name=gw -selftest-net=198.18.0.0/15,2001:db8:5e1f::/48 -unknown=tunnel",
		"dhcp4c /bin/dhcp4c -iface=wan0 -state=/run/tprouter/dhcp4c/lease.json",
		"dhcp6c /bin/dhcp6c -iface=wan0 -state=/run/tprouter/dhcp6c/lease.json -pd-len=56",
		"dhcp4d /bin/dhcp4d -iface=lan0 -leases=/run/tprouter/dhcp4d/leases.json",
		"radvd /bin/radvd -iface=lan0",
		"dnsfwd /bin/dnsfwd -iface=lan0 -upstream=198.51.100.53,2001:db8:2::53 -lease=/run/tprouter/dhcp4c/lease.json,/run/tprouter/dhcp6c/lease.json",
	}, "\n")
	if got := names(svcs); got != want {
		t.Errorf("services:\n%s\nwant\n%s", got, want)
	}
	// Every service runs as its own user with only the capabilities
	// its sockets need; the proxy's port 80 needs CAP_NET_BIND_SERVICE.
	users := map[string]supervise.User{
		"proxy":  {UID: 3129, GID: 3129, Caps: []supervise.Cap{unix.CAP_NET_ADMIN, unix.CAP_NET_BIND_SERVICE}},
		"dhcp4c": {UID: 3068, GID: 3068, Caps: []supervise.Cap{unix.CAP_NET_ADMIN, unix.CAP_NET_RAW, unix.CAP_NET_BIND_SERVICE}},
		"dhcp6c": {UID: 3546, GID: 3546, Caps: []supervise.Cap{unix.CAP_NET_BIND_SERVICE}},
		"dhcp4d": {UID: 3067, GID: 3067, Caps: []supervise.Cap{unix.CAP_NET_RAW, unix.CAP_NET_BIND_SERVICE}},
		"radvd":  {UID: 3134, GID: 3134, Caps: []supervise.Cap{unix.CAP_NET_RAW}},
		"dnsfwd": {UID: 3053, GID: 3053, Caps: []supervise.Cap{unix.CAP_NET_BIND_SERVICE}},
	}
	for _, svc := range svcs {
		if svc.User == nil || !reflect.DeepEqual(*svc.User, users[svc.Name]) {
			t.Errorf("%s: User %+v, want %+v", svc.Name, svc.User, users[svc.Name])
		}
	}

	// With tprouter.wan.na dhcp6c asks for a WAN address and puts it on
	// the link: -na and CAP_NET_ADMIN.
	c, _ = cmdline.Parse("tprouter.wan.na=on")
	svcs, _ = started(t, c, "", links{WAN: "wan0", LAN: []string{"lan0"}})
	found := false
	for _, svc := range svcs {
		if svc.Name != "dhcp6c" {
			continue
		}
		found = true
		if got := strings.Join(svc.Args, " "); !strings.HasSuffix(got, " -pd-len=56 -na") {
			t.Errorf("dhcp6c with tprouter.wan.na=on: args %s, want -na last", got)
		}
		if want := []supervise.Cap{unix.CAP_NET_ADMIN, unix.CAP_NET_BIND_SERVICE}; !reflect.DeepEqual(svc.User.Caps, want) {
			t.Errorf("dhcp6c with tprouter.wan.na=on: caps %v, want %v", svc.User.Caps, want)
		}
	}
	if !found {
		t.Errorf("no dhcp6c with tprouter.wan.na=on: %s", names(svcs))
	}

	// The proxy on its default port needs no CAP_NET_BIND_SERVICE, and
	// its status port moves out of the way of its listener.
	c, _ = cmdline.Parse("tprouter.proxy.port=9091")
	svcs, _ = started(t, c, "", links{})
	if got, want := names(svcs), "proxy /bin/proxy -listen=:9091 -access-log=- -access-log-format=squid -spoof=true -status=127.0.0.1:9092 -name=tprouter -selftest-net=198.18.0.0/15,2001:db8:5e1f::/48 -unknown=tunnel"; got != want {
		t.Errorf("services %s, want %s", got, want)
	}
	if got := svcs[0].User.Caps; !reflect.DeepEqual(got, []supervise.Cap{unix.CAP_NET_ADMIN}) {
		t.Errorf("proxy on port 9091: caps %v, want CAP_NET_ADMIN only", got)
	}

	// Static WAN, DHCP server off, IPv4-only LAN: only the proxy and the
	// DNS forwarder, without upstream servers (it says so) and no lease.
	c, _ = cmdline.Parse("tprouter.wan.addr=198.51.100.1/24 tprouter.dhcpd=off")
	svcs, _ = started(t, c, "", links{WAN: "eth0", LAN: []string{"eth1"}})
	if got, want := names(svcs[1:]), "dnsfwd /bin/dnsfwd -iface=eth1 -listen=192.168.1.1"; got != want {
		t.Errorf("services %s, want %s", got, want)
	}
	// links not known yet: the proxy only; a WAN but no LAN: no dnsfwd.
	c, _ = cmdline.Parse("")
	if svcs, _ := started(t, c, "", links{}); len(svcs) != 1 || svcs[0].Name != "proxy" {
		t.Errorf("services %s with no links, want the proxy only", names(svcs))
	}
	if svcs, _ := started(t, c, "", links{WAN: "eth0", LAN: []string{""}}); strings.Contains(names(svcs), "dnsfwd") {
		t.Errorf("services %s before the LAN link is known, want no dnsfwd", names(svcs))
	}
}

// TestServicesPolicy: the policy keys reach the proxy as its flags, the
// boot partition's lists by file name, and a list makes dnsfwd strip ECH
// unless tprouter.ech says otherwise.
func TestServicesPolicy(t *testing.T) {
	l := links{WAN: "wan0", LAN: []string{"lan0"}}
	for _, tt := range []struct {
		line, denyFile string
		proxy, dnsfwd  string
	}{
		{"tprouter.unknown=reject tprouter.logformat=tls tprouter.deny=.ads.example,tracker.example tprouter.allow=.ok.example", "",
			"-access-log-format=tls -spoof=true -status=127.0.0.1:9091 -name=tprouter -selftest-net=198.18.0.0/15,2001:db8:5e1f::/48 -unknown=reject -deny-names=.ads.example,tracker.example -allow-names=.ok.example",
			"-lease=/run/tprouter/dhcp4c/lease.json,/run/tprouter/dhcp6c/lease.json -strip-ech"},
		{"", "/boot/deny.txt", "-unknown=tunnel -deny-file=/boot/deny.txt", "-lease=/run/tprouter/dhcp4c/lease.json,/run/tprouter/dhcp6c/lease.json -strip-ech"},
		{"tprouter.ech=pass", "/boot/deny.txt", "-unknown=tunnel -deny-file=/boot/deny.txt", "-lease=/run/tprouter/dhcp4c/lease.json,/run/tprouter/dhcp6c/lease.json"},
		{"tprouter.ech=strip", "", "-unknown=tunnel", "-lease=/run/tprouter/dhcp4c/lease.json,/run/tprouter/dhcp6c/lease.json -strip-ech"},
		{"", "", "-unknown=tunnel", "-lease=/run/tprouter/dhcp4c/lease.json,/run/tprouter/dhcp6c/lease.json"},
	} {
		c, probs := cmdline.Parse(tt.line)
		c.Proxy.DenyFile = tt.denyFile
		svcs, _ := started(t, c, "", l)
		got := map[string]string{}
		for _, s := range svcs {
			got[s.Name] = strings.Join(s.Args, " ")
		}
		if len(probs) > 0 || !strings.HasSuffix(got["proxy"], tt.proxy) || !strings.HasSuffix(got["dnsfwd"], tt.dnsfwd) {
			t.Errorf("%q, deny file %q: proxy %s\ndnsfwd %s\nwant them to end with\n%s\n%s (problems %q)",
				tt.line, tt.denyFile, got["proxy"], got["dnsfwd"], tt.proxy, tt.dnsfwd, probs)
		}
	}
}

// TestServicesPerm: with the persistent partition, the state directories
// are on it, owned by each service's user, the services are given their
// files there, and the proxy writes its access log there.
func TestServicesPerm(t *testing.T) {
	c, _ := cmdline.Parse("tprouter.lan.addr=192.0.2.1/24,2001:db8:1::1/64")
	root := t.TempDir()
	svcs, con := startedOn(c, "/perm", root, "", links{WAN: "wan0", LAN: []string{"lan0"}})
	want := strings.Join([]string{
		"proxy /bin/proxy -listen=:3129 -access-log=/perm/proxy/access.log -access-log-format=squid -spoof=true -status=127.0.0.1:9091 -name=tprouter -selftest-net=198.18.0.0/15,2001:db8:5e1f::/48 -unknown=tunnel",
		"dhcp4c /bin/dhcp4c -iface=wan0 -state=/perm/dhcp4c/lease.json",
		"dhcp6c /bin/dhcp6c -iface=wan0 -state=/perm/dhcp6c/lease.json -pd-len=56",
		"dhcp4d /bin/dhcp4d -iface=lan0 -leases=/perm/dhcp4d/leases.json",
		"radvd /bin/radvd -iface=lan0",
		"dnsfwd /bin/dnsfwd -iface=lan0 -lease=/perm/dhcp4c/lease.json,/perm/dhcp6c/lease.json",
	}, "\n")
	if got := names(svcs); got != want {
		t.Errorf("services:\n%s\nwant\n%s\nconsole:\n%s", got, want, con)
	}
	for dir, uid := range map[string]int{"perm/proxy": 3129, "perm/dhcp4c": 3068, "perm/dhcp6c": 3546, "perm/dhcp4d": 3067} {
		var st syscall.Stat_t
		if err := syscall.Stat(filepath.Join(root, dir), &st); err != nil || int(st.Uid) != uid || int(st.Gid) != uid {
			t.Errorf("%s: %v, owner %d:%d, want %d", dir, err, st.Uid, st.Gid, uid)
		}
	}
	if _, err := os.Stat(filepath.Join(root, RunState)); err == nil {
		t.Errorf("%s made with /perm there", RunState)
	}
}

// TestServicesPermFails: a /perm where no directory can be made (gone
// read-only) leaves the services their state in memory for this boot,
// and the proxy its standard output.
func TestServicesPermFails(t *testing.T) {
	c, _ := cmdline.Parse("")
	root := t.TempDir()
	os.WriteFile(filepath.Join(root, "perm"), nil, 0o644) // not a directory
	svcs, con := startedOn(c, "/perm", root, "", links{WAN: "eth0", LAN: []string{"eth1"}})
	got := names(svcs)
	for _, want := range []string{"-access-log=- ", "-state=/run/tprouter/dhcp4c/lease.json", "-leases=/run/tprouter/dhcp4d/leases.json"} {
		if !strings.Contains(got, want) {
			t.Errorf("services:\n%s\nwant %s", got, want)
		}
	}
	for _, want := range []string{
		"init: proxy's state directory: mkdir " + root + "/perm: not a directory; it keeps no state",
		"init: dhcp4c's state directory: mkdir " + root + "/perm: not a directory; using /run/tprouter/dhcp4c instead",
	} {
		if !strings.Contains(con, want) {
			t.Errorf("console:\n%s\nwant %s", con, want)
		}
	}
}

// TestRunState: without /perm init passes the files the services use by
// default, so that a service run by hand on the router finds them.
func TestRunState(t *testing.T) {
	if got := filepath.Join(RunState, "dhcp4c", leaseFile); got != client.DefaultState {
		t.Errorf("dhcp4c's lease: init passes %s, its default is %s", got, client.DefaultState)
	}
	if got := filepath.Join(RunState, "dhcp4d", leasesFile); got != server.DefaultLeases {
		t.Errorf("dhcp4d's leases: init passes %s, its default is %s", got, server.DefaultLeases)
	}
}

// TestShell: tprouter.shell=on runs the shell found as root on the
// console, in init's environment with TERM and HOME; without one, init
// says where it looked.
func TestShell(t *testing.T) {
	c, _ := cmdline.Parse("tprouter.shell")
	svcs, _ := started(t, c, "/bbin/sh", links{})
	if len(svcs) != 2 {
		t.Fatalf("services %s, want the proxy and the shell", names(svcs))
	}
	sh := svcs[1]
	if sh.Name != "shell" || sh.Path != "/bbin/sh" || sh.TTY != "/dev/console" || sh.User != nil ||
		!slices.Contains(sh.Env, "TERM=vt100") || !slices.Contains(sh.Env, "HOME=/") || len(sh.Env) < 3 {
		t.Errorf("shell: %+v", sh)
	}
	svcs, log := started(t, c, "", links{})
	if len(svcs) != 1 || !strings.Contains(log, "init: tprouter.shell=on, but there is no shell at [/bbin/sh /bin/sh /bbin/gosh]") {
		t.Errorf("no shell: services %s, console %q", names(svcs), log)
	}
}

// TestReadme checks README.md's table of services against the table:
// the same services in the same order, each row as rendered here.
func TestReadme(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	in := false
	for _, line := range strings.Split(string(b), "\n") {
		switch {
		case strings.HasPrefix(line, "| service | runs as |"):
			in = true
		case in && strings.HasPrefix(line, "| `"):
			got = append(got, line)
		case in && !strings.HasPrefix(line, "|"):
			in = false
		}
	}
	var want []string
	d := config.Default()
	for _, s := range services {
		state := "none"
		switch {
		case s.PermOnly:
			state = "`" + filepath.Join(storage.PermDir, s.State) + "`, none without /perm"
		case s.State != "":
			state = "`" + filepath.Join(storage.PermDir, s.State) + "`, `" + filepath.Join(RunState, s.State) + "` without /perm"
		}
		want = append(want, fmt.Sprintf("| `%s` | %s | %s | %s | %s |", s.Name, s.runsAs(d), state, s.When, s.What))
	}
	if !slices.Equal(got, want) {
		t.Errorf("README's services table:\n%s\nwant (from services.go):\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func names(svcs []supervise.Service) string {
	var s []string
	for _, svc := range svcs {
		s = append(s, strings.TrimSpace(svc.Name+" "+svc.Path+" "+strings.Join(svc.Args, " ")))
	}
	return strings.Join(s, "\n")
}

type fakeSupervisor struct {
	mu    sync.Mutex
	added []supervise.Service
}

func (f *fakeSupervisor) Add(s supervise.Service) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.added = append(f.added, s)
}

func (f *fakeSupervisor) services() []supervise.Service {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.added)
}

func (f *fakeSupervisor) names() []string {
	var n []string
	for _, s := range f.services() {
		n = append(n, s.Name)
	}
	return n
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
	root := t.TempDir()
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
		root: root, retry: 10 * time.Millisecond, readyWarn: 100 * time.Millisecond,
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
	if got, want := sup.names(), []string{"proxy", "dhcp4c", "dhcp6c", "dhcp4d", "radvd", "dnsfwd"}; !reflect.DeepEqual(got, want) {
		t.Errorf("started %v, want %v (dhcp4d, radvd and dnsfwd once eth1 is known; radvd for the delegated prefix of a DHCP WAN)", got, want)
	}
	if i, j := strings.Index(out, "network configured"), strings.Index(out, "tprouter: ready"); i > j {
		t.Errorf("ready before the network was configured:\n%s", out)
	}
	// The state directories of the services that run, owned by their
	// users.
	for dir, uid := range map[string]uint32{"run/tprouter/dhcp4c": 3068, "run/tprouter/dhcp4d": 3067} {
		st, err := os.Stat(filepath.Join(root, dir))
		if err != nil || !st.IsDir() || st.Sys().(*syscall.Stat_t).Uid != uid {
			t.Errorf("state directory %s: %v, want a directory owned by uid %d", dir, err, uid)
		}
	}
}
