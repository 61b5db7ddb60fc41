// Package labrouter installs the TPROXY interception rules of a tprouter in a
// lab router namespace, for the proxy's tests. It stands in for
// tprouter/init/firewall and tprouter/init/netconf, which set up the same
// thing on a real router, until the tests can use those packages.
package labrouter

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"tprouter/qemu/lab"
)

// Ruleset diverts TCP port 80 arriving on the LAN to a transparent listener
// on port, for IPv4 and IPv6. Packets of sockets that already exist and are
// transparent (the proxy's spoofed upstream connections, and accepted
// connections) get mark 1 so the policy routes below deliver them locally;
// traffic to the router's own addresses is left alone.
func Ruleset(port int) string {
	return fmt.Sprintf(`table inet tprouter {
	chain prerouting {
		type filter hook prerouting priority mangle; policy accept;
		fib daddr type local accept
		meta l4proto tcp socket transparent 1 meta mark set 0x1 accept
		iifname "lan0" tcp dport 80 tproxy to :%d meta mark set 0x1 accept
	}
}
`, port)
}

// Install loads Ruleset(port) into l's router and adds the policy routing
// that makes marked packets local: "ip rule add fwmark 1/1 lookup 100" and
// "ip route add local default dev lo table 100", for both families.
func Install(t testing.TB, l *lab.Lab, port int) {
	t.Helper()
	f := filepath.Join(t.TempDir(), "tprouter.nft")
	if err := os.WriteFile(f, []byte(Ruleset(port)), 0o644); err != nil {
		t.Fatal(err)
	}
	l.Router.Run(t, "nft", "-f", f)
	for _, fam := range []string{"-4", "-6"} {
		l.Router.IP(t, fam, "rule", "add", "fwmark", "1/1", "lookup", "100")
		def := "0.0.0.0/0"
		if fam == "-6" {
			def = "::/0"
		}
		l.Router.IP(t, fam, "route", "add", "local", def, "dev", "lo", "table", "100")
	}
}
