package labproc

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"tprouter/qemu/lab"
)

// KeaBin is Debian's kea-dhcp6-server (the Makefile's TEST_DEBS).
const KeaBin = "/usr/sbin/kea-dhcp6"

// Kea is a DHCPv6 server with prefix delegation (Debian's kea-dhcp6) in
// the lab's server namespace, its files in a test's directory: the ISP of
// dhcp6c's lab tests and of the end-to-end test of prefix delegation.
type Kea struct {
	ns   *lab.NS
	dir  string
	proc *Proc
}

// KeaPool is what a Kea run hands out: prefixes of a /40 by /56,
// addresses of the WAN /64, with lifetimes short enough that renewals
// come quickly in a test.
type KeaPool struct {
	Prefix   string // e.g. "2001:db8:100::" (a /40)
	Valid    int    // seconds
	T1, T2   int
	AddrPool string // IA_NA pool within lab.WANv6
}

// KeaPoolA delegates from 2001:db8:100::/40, valid 20 s, renewing at 5.
var KeaPoolA = KeaPool{Prefix: "2001:db8:100::", Valid: 20, T1: 5, T2: 8, AddrPool: "2001:db8:2::100-2001:db8:2::1ff"}

// RequireKea stops t when kea is missing: a failure under CI=true.
func RequireKea(t testing.TB) {
	t.Helper()
	if _, err := os.Stat(KeaBin); err != nil {
		lab.Unavailable(t, fmt.Sprintf("%s: %v (apt-get install kea-dhcp6-server)", KeaBin, err))
	}
}

// StartKea gives the server its address and runs kea on lab.ServerIf once
// the link-local address has passed DAD (kea cannot bind a tentative one).
func StartKea(t testing.TB, l *lab.Lab, p KeaPool) *Kea {
	t.Helper()
	RequireKea(t)
	l.Server.IP(t, "addr", "add", lab.ServerV6.String()+"/64", "dev", lab.ServerIf, "nodad")
	k := &Kea{ns: l.Server, dir: t.TempDir()}
	WaitNoTentative(t, l.Server, lab.ServerIf)
	k.start(t, p)
	return k
}

// WaitNoTentative waits until dev in ns has a link-local address past DAD.
func WaitNoTentative(t testing.TB, ns *lab.NS, dev string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		out := ns.IP(t, "-6", "addr", "show", "dev", dev)
		if strings.Contains(out, "fe80::") && !strings.Contains(out, "tentative") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s in %s: no usable link-local address after 10 s:\n%s", dev, ns.Name, out)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// start writes the configuration for p and runs kea until it listens.
func (k *Kea) start(t testing.TB, p KeaPool) {
	t.Helper()
	cfg := filepath.Join(k.dir, "kea-dhcp6.conf")
	if err := os.WriteFile(cfg, []byte(k.config(p)), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(KeaBin, "-t", cfg).CombinedOutput(); err != nil {
		t.Fatalf("%s -t %s: %v\n%s", KeaBin, cfg, err, out)
	}
	k.proc = Start(t, k.ns, "/usr/bin/env", "KEA_PIDFILE_DIR="+k.dir, "KEA_LOCKFILE_DIR="+k.dir, KeaBin, "-c", cfg)
	k.proc.WaitLog(t, "DHCP6_STARTED", 10*time.Second)
	if strings.Contains(k.proc.Log(), "OPEN_SOCKET_FAIL") {
		t.Fatalf("kea could not open its socket:\n%s", k.proc.Log())
	}
}

// Restart stops kea, forgets its leases and runs it with p: a server
// that delegates from another pool, or a fresh one.
func (k *Kea) Restart(t testing.TB, p KeaPool) {
	t.Helper()
	k.proc.Stop(t)
	if err := os.Remove(filepath.Join(k.dir, "leases6.csv")); err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	k.start(t, p)
}

// config is kea's configuration: one subnet on the link, a fixed server
// ID (so a restarted server answers the client's RENEW), the lease file
// in the test's directory, no control socket, logs on standard output.
func (k *Kea) config(p KeaPool) string {
	return fmt.Sprintf(`{"Dhcp6": {
  "interfaces-config": {"interfaces": [%[1]q]},
  "lease-database": {"type": "memfile", "name": %[2]q, "lfc-interval": 0},
  "server-id": {"type": "EN", "enterprise-id": 2495, "identifier": "7470726f75746572", "persist": false},
  "data-directory": %[3]q,
  "preferred-lifetime": %[4]d, "valid-lifetime": %[5]d, "renew-timer": %[6]d, "rebind-timer": %[7]d,
  "option-data": [{"name": "dns-servers", "data": %[8]q}],
  "subnet6": [{
    "id": 1, "subnet": %[9]q, "interface": %[1]q,
    "pools": [{"pool": %[10]q}],
    "pd-pools": [{"prefix": %[11]q, "prefix-len": 40, "delegated-len": 56}]
  }],
  "loggers": [{"name": "kea-dhcp6", "output_options": [{"output": "stdout"}], "severity": "INFO"}]
}}
`, lab.ServerIf, filepath.Join(k.dir, "leases6.csv"), k.dir,
		p.Valid*3/4, p.Valid, p.T1, p.T2, lab.ServerV6.String(), lab.WANv6.String(), p.AddrPool, p.Prefix)
}

// Kill stops kea at once, as a server that vanishes.
func (k *Kea) Kill() { k.proc.Kill() }
