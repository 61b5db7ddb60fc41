package netconf_test

import (
	"encoding/json"
	"net/netip"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"tprouter/init/config"
	"tprouter/init/netconf"
	"tprouter/qemu/lab"
	"tprouter/qemu/labrouter"
)

// labConfig is the configuration of the lab's router: LAN matched by MAC,
// WAN by name, static addresses, the server as default gateway.
func labConfig() config.Network { return labrouter.Config(3129) }

// apply runs netconf.Apply inside ns and fails t on error.
func apply(t *testing.T, ns *lab.NS, c config.Network) {
	t.Helper()
	if err := ns.Do(func() error { return netconf.Apply(c) }); err != nil {
		t.Fatalf("netconf.Apply: %v", err)
	}
}

// output runs a command inside ns and returns its output, also on failure
// (ip route show of a table that does not exist fails).
func output(ns *lab.NS, name string, args ...string) string {
	out, _ := ns.Command(name, args...).CombinedOutput()
	return string(out)
}

// lines splits out into trimmed, non-empty lines.
func lines(out string) []string {
	var l []string
	for _, s := range strings.Split(out, "\n") {
		if s = strings.TrimSpace(s); s != "" {
			l = append(l, s)
		}
	}
	return l
}

// addrs returns the addresses in ns as "dev addr/len scope [dynamic]",
// sorted, from ip -j addr. Link-local addresses are left out: the kernel
// adds them when the carrier comes up, at a time of its choosing (see
// waitLinkLocal).
func addrs(t *testing.T, ns *lab.NS) []string {
	t.Helper()
	var links []struct {
		IfName   string `json:"ifname"`
		AddrInfo []struct {
			Local     string `json:"local"`
			PrefixLen int    `json:"prefixlen"`
			Scope     string `json:"scope"`
			Dynamic   bool   `json:"dynamic"`
		} `json:"addr_info"`
	}
	out := ns.IP(t, "-j", "addr", "show")
	if err := json.Unmarshal([]byte(out), &links); err != nil {
		t.Fatalf("ip -j addr show: %v\n%s", err, out)
	}
	var s []string
	for _, l := range links {
		for _, a := range l.AddrInfo {
			if a.Scope == "link" {
				continue
			}
			e := l.IfName + " " + netip.PrefixFrom(netip.MustParseAddr(a.Local), a.PrefixLen).String() + " " + a.Scope
			if a.Dynamic {
				e += " dynamic"
			}
			s = append(s, e)
		}
	}
	slices.Sort(s)
	return s
}

// waitLinkLocal waits up to five seconds for the kernel to give link its
// IPv6 link-local address, and returns it.
func waitLinkLocal(t *testing.T, ns *lab.NS, link string) string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		out := ns.IP(t, "-6", "-o", "addr", "show", "dev", link, "scope", "link")
		if f := strings.Fields(out); len(f) >= 4 {
			return f[3]
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s has no link-local address after 5s", link)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// sysctl reads /proc/sys/key inside ns.
func sysctl(t *testing.T, ns *lab.NS, key string) string {
	t.Helper()
	var b []byte
	err := ns.Do(func() (err error) {
		b, err = os.ReadFile("/proc/sys/" + key)
		return err
	})
	if err != nil {
		t.Fatalf("in %s: read sysctl %s: %v", ns.Name, key, err)
	}
	return strings.TrimSpace(string(b))
}

// checkLines compares the lines of got with want and reports the command.
func checkLines(t *testing.T, what, got string, want ...string) {
	t.Helper()
	if g := lines(got); !slices.Equal(g, want) {
		t.Errorf("%s:\ngot:\n\t%s\nwant:\n\t%s", what, strings.Join(g, "\n\t"), strings.Join(want, "\n\t"))
	}
}
