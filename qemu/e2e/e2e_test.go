// Package e2e boots the firmware image in QEMU between a lab's LAN client
// and WAN server and proves from outside that the router intercepts HTTP
// over IPv4 and IPv6 with the client's address preserved.
//
// Each test boots its own VM: eth0 (WAN) on the server's link, eth1 (LAN)
// on the client's. TPROUTER_IMAGE=build/qemu-x86_64 reuses an image that
// `make image` built; otherwise the tests build one once per run.
package e2e

import (
	"context"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"tprouter/init/console"
	"tprouter/qemu"
	"tprouter/qemu/lab"
	"tprouter/qemu/labproc"
)

func TestMain(m *testing.M) { os.Exit(labproc.Run(m)) }

// Timeouts for a software-emulated VM on a busy 2-core machine.
const (
	bootTimeout = 3 * time.Minute
	waitTimeout = time.Minute
)

// routed is the command line of a routed (no NAT) router with static
// addresses on the lab's documentation prefixes.
const routed = "tprouter.wan.addr=198.51.100.1/24,2001:db8:2::1/64 " +
	"tprouter.lan.addr=192.0.2.1/24,2001:db8:1::1/64 tprouter.nat=off"

// boot starts the image with eth0 on l's server and eth1 on l's client and
// waits for `tprouter: ready`, logging the boot time.
func boot(t *testing.T, l *lab.Lab, cmdline string) *qemu.VM {
	t.Helper()
	vm := qemu.Boot(t, qemu.Options{
		Image:   qemu.Image(t, "qemu-x86_64"),
		Cmdline: cmdline,
		NICs:    []qemu.NIC{{NS: l.Server}, {NS: l.Client}},
	})
	d := vm.Expect(t, "tprouter: ready", bootTimeout)
	t.Logf("boot: %.1f s from QEMU start to tprouter: ready%s", d.Seconds(), initTimes(vm.Console()))
	return vm
}

// initTimes says how the time to ready divides, from the timestamps of
// init's console lines: until init's first line (QEMU, the kernel, the
// initramfs) and in init (of that, loading the kernel modules).
func initTimes(con string) string {
	var first, ready time.Time
	modules := "?"
	for _, line := range strings.Split(con, "\n") {
		stamp, text, ok := strings.Cut(strings.TrimSpace(line), " init: ")
		at, err := time.Parse(console.TimeFormat, stamp)
		if !ok || err != nil {
			continue
		}
		if first.IsZero() {
			first = at
		}
		if _, in, ok := strings.Cut(text, " in "); ok && strings.HasPrefix(text, "loaded ") {
			modules = in
		}
		if text == "tprouter: ready" {
			ready = at
			break
		}
	}
	if first.IsZero() || ready.IsZero() {
		return ""
	}
	return fmt.Sprintf(", %.1f s of it in init (kernel modules %s)", ready.Sub(first).Seconds(), modules)
}

// TestRouted is the ISP/school case: the router forwards between two
// routed networks, and the proxy connects to the server from the client's
// own address, over IPv4 and (with the client's address from the router's
// advertisements) IPv6. It also kills the proxy and expects it back, and
// checks that nothing on the router's WAN addresses accepts connections.
func TestRouted(t *testing.T) {
	l, o := routedLab(t)
	vm := boot(t, l, routed+" tprouter.shell=on")
	checkWatchdog(t, vm)
	checkTLS(t, l, o) // before checkRouted's ProxyRestart empties the log ring
	checkRouted(t, l, vm)
}

// checkWatchdog checks that init armed the VM's watchdog (softdog on
// the qemu-x86_64 board, see board.go): the ioctls worked, the timeout
// is init's.
func checkWatchdog(t *testing.T, vm *qemu.VM) {
	t.Helper()
	const want = "init: watchdog: /dev/watchdog (Software Watchdog), timeout 60s"
	if con := vm.Console(); !strings.Contains(con, want) {
		t.Errorf("console lacks %q:\n%s", want, con)
	}
}

// typeUntil types cmd on the rescue shell until want appears on the
// console: the shell drops what is typed before it has set up the
// terminal.
func typeUntil(t *testing.T, vm *qemu.VM, cmd, want string) {
	t.Helper()
	for i := 0; ; i++ {
		if err := vm.Send(cmd); err != nil {
			t.Fatalf("typing on the console: %v", err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, err := vm.Wait(ctx, want)
		cancel()
		if err == nil {
			return
		}
		if i == 10 {
			t.Fatalf("no %q on the console after typing %q 11 times: %v", want, cmd, err)
		}
	}
}

// routedLab is the lab of TestRouted: the client takes its IPv6 address
// from the router's advertisements, and the server answers with the
// client's address as it sees it, over HTTP and HTTPS (with the origin's
// certificate).
func routedLab(t *testing.T) (*lab.Lab, *lab.Origin) {
	l := lab.New(t, lab.Options{})
	l.Client.IP(t, "-6", "addr", "flush", "dev", lab.ClientIf, "scope", "global")
	l.Client.IP(t, "-6", "route", "flush", "default")
	l.Client.Sysctl(t, "net/ipv6/conf/"+lab.ClientIf+"/accept_ra", "1")
	l.Client.Sysctl(t, "net/ipv6/conf/"+lab.ClientIf+"/autoconf", "1")
	l.Server.ServeHTTP(t, ":80", lab.EchoAddr)
	o := lab.NewOrigin(t, originName)
	l.Server.ServeHTTPS(t, ":443", o, lab.EchoAddr)
	return l, o
}

// checkRouted checks a router on routedLab(t) booted with routed and the
// rescue shell on (tprouter.shell=on), as TestRouted describes.
func checkRouted(t *testing.T, l *lab.Lab, vm *qemu.VM) {
	t.Run("IPv4", func(t *testing.T) {
		got := fetch(t, l.Client, "http://198.51.100.2/")
		if got != lab.ClientV4 {
			t.Errorf("server saw %s, want the client's own %s", got, lab.ClientV4)
		}
		log := accessLog(t, l.Client, " GET http://198.51.100.2/ ")
		if !strings.Contains(log, " 192.0.2.2 TCP_MISS/200 ") || !strings.Contains(log, " GET http://198.51.100.2/ - ORIGINAL_DST/198.51.100.2 ") {
			t.Errorf("access log lacks the request:\n%s", log)
		}
	})

	t.Run("IPv6", func(t *testing.T) {
		client := slaacAddr(t, l.Client)
		got := fetch(t, l.Client, "http://[2001:db8:2::2]/")
		if got != client {
			t.Errorf("server saw %s, want the client's own %s", got, client)
		}
	})

	t.Run("WANClosed", func(t *testing.T) {
		// Every port below 1025 and those tprouter's services use.
		ports := []uint16{3129, 5353, 8080, 9090, 9091}
		for p := uint16(1); p <= 1024; p++ {
			ports = append(ports, p)
		}
		wan := []netip.Addr{lab.RouterWANv4.Addr(), lab.RouterWANv6.Addr()}
		if open := acceptors(l.Server, wan, ports); len(open) > 0 {
			t.Errorf("from the WAN, these accepted a connection: %v", open)
		}
		// The check can fail: the status endpoint answers on the LAN.
		lan := []netip.Addr{lab.RouterLANv4.Addr(), lab.RouterLANv6.Addr()}
		if open := acceptors(l.Client, lan, []uint16{9090}); len(open) != 2 {
			t.Errorf("from the LAN, the status port accepted on %v, want both LAN addresses", open)
		}
	})

	t.Run("ProxyRestart", func(t *testing.T) {
		typeUntil(t, vm, "kill -9 $(pidof proxy)\n", "proxy exited after")
		deadline := time.Now().Add(waitTimeout)
		for {
			got, err := tryFetch(l.Client, "http://198.51.100.2/")
			if err == nil && got == lab.ClientV4 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("no interception %v after the proxy was killed: %v (server saw %s)", waitTimeout, err, got)
			}
			time.Sleep(200 * time.Millisecond)
		}
		log := get(t, l.Client, "http://192.0.2.1:9090/logs?service=init")
		if !strings.Contains(log, "proxy exited after") {
			t.Errorf("init's log lacks the restart:\n%s", log)
		}
		// The new proxy clears the TIME_WAITs the killed one left
		// (sock_diag: the board's tcp_diag module).
		plog := get(t, l.Client, "http://192.0.2.1:9090/logs?service=proxy")
		if strings.Contains(plog, "clearing an earlier proxy's TIME_WAIT sockets:") {
			t.Errorf("the restarted proxy could not clear TIME_WAITs:\n%s", plog)
		}
	})
}

// TestHome is the home case: the WAN address comes from a DHCP server on
// the WAN, NAT is on, and the client gets its address from the router's
// DHCP server before it fetches through the proxy. The router's status
// page is then checked in a browser (checkStatusPage) and its remote logs
// at a collector in the server's namespace (checkSyslog).
func TestHome(t *testing.T) {
	bins := labproc.Build(t, "tprouter/services/dhcp4d", "tprouter/services/dhcp4c")
	l := lab.New(t, lab.Options{Unaddressed: true})
	l.Server.IP(t, "addr", "add", "198.51.100.2/24", "dev", lab.ServerIf)
	l.Server.ServeHTTP(t, ":80", lab.EchoAddr)
	dir := t.TempDir()
	labproc.Start(t, l.Server, bins["dhcp4d"], "-iface", lab.ServerIf, "-leases", dir+"/wan-leases.json", "-lease", "10m")
	collector := syslogCollector(t, l)

	vm := boot(t, l, "tprouter.lan.addr=192.0.2.1/24 "+syslogCmdline)

	c := labproc.Start(t, l.Client, bins["dhcp4c"], "-iface", lab.ClientIf, "-state", dir+"/client.json")
	c.WaitLog(t, "192.0.2.", waitTimeout)
	got := fetch(t, l.Client, "http://198.51.100.2/")
	if !lab.WANv4.Contains(got) || got == lab.ServerV4 {
		t.Errorf("server saw %s, want the router's WAN address from DHCP in %s", got, lab.WANv4)
	}
	log := accessLog(t, l.Client, " GET http://198.51.100.2/ ")
	if !strings.Contains(log, " GET http://198.51.100.2/ ") {
		t.Errorf("the request did not go through the proxy; access log:\n%s", log)
	}
	checkStatusPage(t, l, vm)
	checkSyslog(t, l, vm, collector)
}

// TestBadInput boots with values that do not parse and an unknown key:
// the console names each, and the router still serves the LAN.
func TestBadInput(t *testing.T) {
	l := lab.New(t, lab.Options{})
	l.Server.ServeHTTP(t, ":80", lab.EchoAddr)
	vm := boot(t, l, routed+" tprouter.failmode=sideways tprouter.intercept=http tprouter.colour=blue")
	for _, s := range []string{`tprouter.failmode="sideways"`, `tprouter.intercept="http"`, `tprouter.colour`} {
		if !strings.Contains(vm.Console(), s) {
			t.Errorf("console does not name %s:\n%s", s, vm.Console())
		}
	}
	if got := fetch(t, l.Client, "http://198.51.100.2/"); got != lab.ClientV4 {
		t.Errorf("server saw %s, want %s", got, lab.ClientV4)
	}
	log := accessLog(t, l.Client, " GET http://198.51.100.2/ ")
	if !strings.Contains(log, " GET http://198.51.100.2/ ") {
		t.Errorf("the request did not go through the proxy; access log:\n%s", log)
	}
}

// fetch GETs url from ns (retrying for a while: the router may still be
// settling) and returns the address the lab.EchoAddr server saw.
func fetch(t *testing.T, ns *lab.NS, url string) netip.Addr {
	t.Helper()
	body := getRetry(t, ns, url)
	ap, err := netip.ParseAddrPort(body)
	if err != nil {
		t.Fatalf("GET %s: the server answered %q: %v", url, body, err)
	}
	return ap.Addr()
}

// getRetry GETs url from ns, retrying for a while, and returns the body.
func getRetry(t *testing.T, ns *lab.NS, url string) string {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		body, err := tryGet(ns, url)
		if err == nil {
			return body
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s: %v", url, err)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

func tryFetch(ns *lab.NS, url string) (netip.Addr, error) {
	body, err := tryGet(ns, url)
	if err != nil {
		return netip.Addr{}, err
	}
	ap, err := netip.ParseAddrPort(body)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("server answered %q: %v", body, err)
	}
	return ap.Addr(), nil
}

// accessLog GETs the router's /access.log from ns until it has want,
// for a few seconds: the proxy writes a line once the client has its
// answer, so a request just answered may not be there yet.
func accessLog(t *testing.T, ns *lab.NS, want string) string {
	t.Helper()
	const url = "http://192.0.2.1:9090/access.log"
	deadline := time.Now().Add(5 * time.Second)
	for {
		log := get(t, ns, url)
		if strings.Contains(log, want) || time.Now().After(deadline) {
			return log
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func get(t *testing.T, ns *lab.NS, url string) string {
	t.Helper()
	body, err := tryGet(ns, url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return body
}

func tryGet(ns *lab.NS, url string) (string, error) {
	resp, err := ns.HTTPClient().Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != 200 {
		return "", fmt.Errorf("%s: %s", resp.Status, b)
	}
	return string(b), nil
}

// slaacAddr waits for ns's client link to form a global address in the
// LAN's /64 from the router's advertisements and returns it.
func slaacAddr(t *testing.T, ns *lab.NS) netip.Addr { return slaacIn(t, ns, lab.LANv6) }

// slaacIn waits for ns's client link to have a global address in p that
// is not deprecated, and a default route from an advertisement, and
// returns the address.
func slaacIn(t *testing.T, ns *lab.NS, p netip.Prefix) netip.Addr {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		out := ns.IP(t, "-6", "-o", "addr", "show", "dev", lab.ClientIf, "scope", "global")
		for _, line := range strings.Split(out, "\n") {
			if strings.Contains(line, " deprecated") {
				continue
			}
			for _, f := range strings.Fields(line) {
				if a, err := netip.ParsePrefix(f); err == nil && p.Contains(a.Addr()) {
					if routes := ns.IP(t, "-6", "route", "show", "default"); strings.Contains(routes, "via fe80:") {
						return a.Addr()
					}
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no address in %s from the router's advertisements after %v:\n%s", p, waitTimeout, out)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// acceptors returns the addresses among addrs × ports on which a TCP
// connection from ns is accepted, trying many at once with a short timeout.
func acceptors(ns *lab.NS, addrs []netip.Addr, ports []uint16) []string {
	var (
		mu   sync.Mutex
		open []string
		wg   sync.WaitGroup
		sem  = make(chan struct{}, 128)
	)
	for _, a := range addrs {
		for _, p := range ports {
			wg.Add(1)
			sem <- struct{}{}
			go func(ap netip.AddrPort) {
				defer func() { <-sem; wg.Done() }()
				ctx, cancel := context.WithTimeout(context.Background(), time.Second)
				defer cancel()
				if c, err := ns.DialContext(ctx, "tcp", ap.String()); err == nil {
					c.Close()
					mu.Lock()
					open = append(open, ap.String())
					mu.Unlock()
				}
			}(netip.AddrPortFrom(a, p))
		}
	}
	wg.Wait()
	return open
}

// TestPowerButton presses the ACPI power button (QEMU's system_powerdown):
// init stops the services in order and powers the machine off.
func TestPowerButton(t *testing.T) {
	l := lab.New(t, lab.Options{})
	vm := boot(t, l, routed)
	// A press before init watches the button's device (it looks for
	// new input devices every second) is lost, so press until it acts.
	for i := 0; ; i++ {
		if out, err := vm.Monitor("system_powerdown"); err != nil {
			t.Fatalf("system_powerdown: %v (%s)", err, out)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, err := vm.Wait(ctx, "power off now")
		cancel()
		if err == nil {
			break
		}
		if i == 10 {
			t.Fatalf("no power off after pressing the power button 11 times: %v", err)
		}
	}
	select {
	case <-vm.Done():
		if err := vm.Err(); err != nil {
			t.Errorf("QEMU: %v", err)
		}
	case <-time.After(waitTimeout):
		t.Fatalf("still running %v after the power button", waitTimeout)
	}
	if c := vm.Console(); !strings.Contains(c, "reboot: Power down") {
		t.Errorf("the kernel did not power down:\n%s", c)
	}
	// init disarmed the watchdog with the magic close (boot.Shutdown's
	// Disarm), or the kernel says so when the device is closed.
	if c := vm.Console(); strings.Contains(c, "watchdog did not stop!") {
		t.Errorf("the watchdog was left running at power off:\n%s", c)
	}
}
