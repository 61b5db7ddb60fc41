package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"tprouter/image/disk"
	"tprouter/init/console"
	"tprouter/qemu"
	"tprouter/qemu/lab"
	"tprouter/qemu/labproc"
)

// TestReboot is a router box's life across a reboot, in two boots of one
// disk image and one firmware variable store, with an orderly power-off
// (the power button) between them and cmdline.txt edited on the disk while
// the machine is off, as a user edits it on the stick:
//
//   - the edited cmdline.txt changes the host name (in the proxy's Via) and
//     the intercepted ports (8080 as well as 80), overriding the kernel
//     command line's host name; its bad value is named with its line, and
//     the router still serves;
//   - the LAN client that had a lease before the reboot is offered the same
//     address after it, though it remembers nothing itself: it would get
//     the lowest free one, which another client had before the reboot,
//     were the leases not kept;
//   - /access.log has the requests from before the reboot, the last of
//     them made just before the power button; /logs has the previous
//     boot's lines above the marker;
//   - the router's own DHCP client asks to keep its WAN lease from before
//     (INIT-REBOOT), and its DHCPv6 client is given the same delegated
//     prefix back (kea, which keeps running, would give a router with
//     another DUID the next prefix), which the LAN client still has an
//     address in and fetches from.
func TestReboot(t *testing.T) {
	qemu.RequireUEFI(t)
	l := lab.New(t, lab.Options{Unaddressed: true})
	bins := labproc.Build(t, "tprouter/services/dhcp4c", "tprouter/services/dhcp4d", "tprouter/services/radvd")
	state := t.TempDir()
	// The home case, as TestHome: the WAN address from a DHCP server on
	// the WAN, NAT, the router's DHCP server on the LAN.
	l.Server.IP(t, "addr", "add", lab.ServerV4.String()+"/24", "dev", lab.ServerIf)
	labproc.Start(t, l.Server, bins["dhcp4d"], "-iface", lab.ServerIf, "-leases", filepath.Join(state, "wan-leases.json"), "-lease", "10m")
	for _, port := range []string{":80", ":8080"} {
		l.Server.ServeHTTP(t, port, echoVia)
	}
	o := qemu.Options{
		Disk:    qemu.Disk(t, "qemu-x86_64"),
		Vars:    filepath.Join(t.TempDir(), "vars.fd"),
		Cmdline: "tprouter.lan.addr=192.0.2.1/24 tprouter.hostname=before",
		NICs:    []qemu.NIC{{NS: l.Server}, {NS: l.Client}},
	}

	l.Client.Sysctl(t, "net/ipv6/conf/"+lab.ClientIf+"/accept_ra", "1")
	l.Client.Sysctl(t, "net/ipv6/conf/"+lab.ClientIf+"/autoconf", "1")

	vm := bootDisk(t, o)
	if c := vm.Console(); !strings.Contains(c, "init: config: host before;") {
		t.Errorf("the first boot does not have the kernel command line's host name")
	}
	pdISP(t, l, bins["radvd"])
	delegated := delegatedLAN(t, vm)
	decoy := decoyLease(t, l, bins["dhcp4c"], filepath.Join(state, "decoy.json"))
	dhcp, addr := lease(t, l, bins["dhcp4c"], filepath.Join(state, "client-1.json"))
	if addr == decoy {
		t.Fatalf("the client and the decoy with another MAC both got %s", addr)
	}
	if got := getRetry(t, l.Client, "http://198.51.100.2:8080/before-reboot"); got != "" {
		t.Errorf("port 8080 before cmdline.txt asks for it: the server saw Via %q, want none (not intercepted)", got)
	}
	// The last request right before the power button: its access log
	// line is written out when the proxy stops.
	if got, want := getRetry(t, l.Client, "http://198.51.100.2/before-reboot"), "1.1 before (tprouter)"; got != want {
		t.Errorf("the server saw Via %q, want %q", got, want)
	}
	powerOff(t, vm)
	dhcp.Stop(t)
	l.Client.IP(t, "-4", "addr", "flush", "dev", lab.ClientIf)

	// Uncomment the template's lines and change them, as a user would.
	lines := editCmdline(t, o.Disk, map[string]string{
		"#tprouter.hostname=gw.lan":       "tprouter.hostname=after",
		"#tprouter.intercept=80,443,8080": "tprouter.intercept=80,443,8080",
		"#tprouter.failmode=closed":       "tprouter.failmode=sideways",
	})

	vm = bootDisk(t, o)
	c := vm.Console()
	for _, s := range []string{
		fmt.Sprintf(`init: cmdline.txt:%d: tprouter.failmode="sideways": `, lines["#tprouter.failmode=closed"]),
		"init: config: host after;",
	} {
		if !strings.Contains(c, s) {
			t.Errorf("the second boot's console lacks %q", s)
		}
	}
	if _, got := lease(t, l, bins["dhcp4c"], filepath.Join(state, "client-2.json")); got != addr {
		t.Errorf("after the reboot the client was offered %s, want its lease from before, %s", got, addr)
	}
	for _, url := range []string{"http://198.51.100.2/after-reboot", "http://198.51.100.2:8080/after-reboot"} {
		if got, want := getRetry(t, l.Client, url), "1.1 after (tprouter)"; got != want {
			t.Errorf("GET %s: the server saw Via %q, want %q", url, got, want)
		}
	}
	checkAccessLog(t, l, addr)
	checkPreviousBoot(t, l)
	if got := delegatedLAN(t, vm); got != delegated {
		t.Errorf("after the reboot the LAN took %s of the delegated prefix, want %s as before", got, delegated)
	}
	if _, via := pdFetch(t, l, delegated, "/after-reboot-v6"); via != "1.1 after (tprouter)" {
		t.Errorf("GET over IPv6 after the reboot: the server saw Via %q, want %q", via, "1.1 after (tprouter)")
	}
	if c := vm.Console(); !strings.Contains(c, "dhcp4c: asking to keep saved lease of 198.51.100.") {
		t.Errorf("the router's DHCP client did not ask to keep its WAN lease from before the reboot")
	}
}

// checkAccessLog checks the second boot's /access.log: the request from
// before the reboot is there, the unintercepted one is not, and both of
// this boot's are.
func checkAccessLog(t *testing.T, l *lab.Lab, client netip.Addr) {
	t.Helper()
	log := accessLog(t, l.Client, " GET http://198.51.100.2:8080/after-reboot ")
	for url, want := range map[string]bool{
		"http://198.51.100.2/before-reboot":      true,
		"http://198.51.100.2:8080/before-reboot": false,
		"http://198.51.100.2/after-reboot":       true,
		"http://198.51.100.2:8080/after-reboot":  true,
	} {
		if got := hasLine(log, " "+client.String()+" TCP_MISS/200 ", " GET "+url+" "); got != want {
			t.Errorf("/access.log has GET %s: %t, want %t:\n%s", url, got, want, log)
		}
	}
}

// checkPreviousBoot checks that init's /logs has the first boot's lines,
// then the marker, then this boot's.
func checkPreviousBoot(t *testing.T, l *lab.Lab) {
	t.Helper()
	log := get(t, l.Client, "http://192.0.2.1:9090/logs?service=init")
	before := strings.Index(log, "config: host before;")
	marker := strings.Index(log, console.PreviousBoot)
	after := strings.Index(log, "config: host after;")
	if before < 0 || marker < before || after < marker {
		t.Errorf("/logs?service=init does not have the first boot's lines (at %d), the marker (at %d), this boot's (at %d) in that order:\n%s",
			before, marker, after, log)
	}
}

// TestPermBroken boots disk images whose persistent partition is damaged
// or missing: the console names the problem on a storage: line, and the
// router serves with its state in memory. It never formats the damaged
// partition.
func TestPermBroken(t *testing.T) {
	qemu.RequireUEFI(t)
	t.Run("Corrupt", func(t *testing.T) {
		img := qemu.Disk(t, "qemu-x86_64")
		perm := partition(t, img, disk.PermName)
		zeros := make([]byte, 1024)
		writeAt(t, img, perm.Offset()+1024, zeros) // ext4's superblock
		vm := checkWithoutPerm(t, img, "storage: /perm: ", "has no ext4 file system", "e2fsck", "the router keeps its state in memory")
		vm.Close()
		if got := readAt(t, img, perm.Offset()+1024, len(zeros)); string(got) != string(zeros) {
			t.Errorf("the router wrote the damaged partition's superblock")
		}
	})
	t.Run("Missing", func(t *testing.T) {
		img := qemu.Disk(t, "qemu-x86_64")
		removePartition(t, img, disk.PermName)
		checkWithoutPerm(t, img, "storage: no partition named "+disk.PermName+" on ", "the router keeps its state in memory")
	})
}

// checkWithoutPerm boots img routed on a lab of its own, expects a line
// with each of want on the console, and checks that the router
// intercepts. It returns the VM, still running.
func checkWithoutPerm(t *testing.T, img string, want ...string) *qemu.VM {
	t.Helper()
	l := lab.New(t, lab.Options{})
	l.Server.ServeHTTP(t, ":80", lab.EchoAddr)
	vm := bootDisk(t, qemu.Options{Disk: img, Cmdline: routed, NICs: []qemu.NIC{{NS: l.Server}, {NS: l.Client}}})
	c := vm.Console()
	if !hasLine(c, want...) {
		t.Errorf("the console lacks a line with %q", want)
	}
	if hasLine(c, "storage: /perm: ", " mounted") {
		t.Errorf("the console says /perm mounted")
	}
	if got := fetch(t, l.Client, "http://198.51.100.2/"); got != lab.ClientV4 {
		t.Errorf("server saw %s, want %s", got, lab.ClientV4)
	}
	log := accessLog(t, l.Client, " GET http://198.51.100.2/ ")
	if !strings.Contains(log, " GET http://198.51.100.2/ ") {
		t.Errorf("the request did not go through the proxy; access log:\n%s", log)
	}
	return vm
}

// hasLine reports whether a line of text has each of parts.
func hasLine(text string, parts ...string) bool {
	for _, line := range strings.Split(text, "\n") {
		n := 0
		for _, p := range parts {
			if strings.Contains(line, p) {
				n++
			}
		}
		if n == len(parts) {
			return true
		}
	}
	return false
}

// echoVia answers with the request's Via field: the proxy's name, or
// nothing for a request that was not intercepted.
var echoVia = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain")
	fmt.Fprint(w, r.Header.Get("Via"))
})

// bootDisk boots o (a disk image) and waits for tprouter: ready, logging
// the firmware's and tprouter's share of the boot.
func bootDisk(t *testing.T, o qemu.Options) *qemu.VM {
	t.Helper()
	vm := qemu.Boot(t, o)
	fw := vm.Expect(t, qemu.FirmwareBoots, bootTimeout)
	ready := vm.Expect(t, "tprouter: ready", bootTimeout)
	t.Logf("boot from the disk image: %.1f s from QEMU start to the firmware starting the boot loader, then %.1f s to tprouter: ready",
		fw.Seconds(), (ready - fw).Seconds())
	return vm
}

// powerOff presses the power button and waits for the machine to go, and
// checks that init unmounted the partitions.
func powerOff(t *testing.T, vm *qemu.VM) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	start := time.Now()
	if err := vm.PowerDown(ctx); err != nil {
		t.Fatalf("power button: %v", err)
	}
	t.Logf("power off: %.1f s after the first press of the power button", time.Since(start).Seconds())
	c := vm.Console()
	if !strings.Contains(c, "reboot: Power down") {
		t.Errorf("the kernel did not power down")
	}
	for _, bad := range []string{"storage: umount", "console: saving logs", "the last lines are lost"} {
		if strings.Contains(c, bad) {
			t.Errorf("the shutdown says %q", bad)
		}
	}
	vm.Close()
}

// lease runs a DHCP client on the lab client's link with the state file
// state, which it reads at start: a new file is a client that remembers no
// lease and asks for any (DISCOVER). Once it has bound a lease, it returns
// the client and the lease's address, from the state file.
func lease(t *testing.T, l *lab.Lab, bin, state string) (*labproc.Proc, netip.Addr) {
	t.Helper()
	p := labproc.Start(t, l.Client, bin, "-iface", lab.ClientIf, "-state", state)
	p.WaitLog(t, "bound ", waitTimeout)
	b, err := os.ReadFile(state)
	if err != nil {
		t.Fatal(err)
	}
	var lease struct{ Address netip.Addr }
	if err := json.Unmarshal(b, &lease); err != nil || !lab.LANv4.Contains(lease.Address) {
		t.Fatalf("%s: %v; address %s, want one in %s", state, err, lease.Address, lab.LANv4)
	}
	return p, lease.Address
}

// decoyLease takes a lease for another device on the lab client's link:
// with another MAC, which it then gives back to the link, and without the
// address. It returns the decoy's address.
func decoyLease(t *testing.T, l *lab.Lab, bin, state string) netip.Addr {
	t.Helper()
	mac := l.Client.IP(t, "-br", "link", "show", "dev", lab.ClientIf)
	f := strings.Fields(mac)
	if len(f) < 3 {
		t.Fatalf("ip -br link show: %q", mac)
	}
	setMAC := func(mac string) {
		l.Client.IP(t, "link", "set", "dev", lab.ClientIf, "down")
		l.Client.IP(t, "link", "set", "dev", lab.ClientIf, "address", mac)
		l.Client.IP(t, "link", "set", "dev", lab.ClientIf, "up")
	}
	setMAC("02:00:00:00:00:dc")
	p, a := lease(t, l, bin, state)
	p.Stop(t)
	l.Client.IP(t, "-4", "addr", "flush", "dev", lab.ClientIf)
	setMAC(f[2])
	return a
}
