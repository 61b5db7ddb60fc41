package netconf

import (
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"tprouter/init/config"
)

// These tests need no privileges: they cover the decisions Apply makes,
// not the netlink calls (the lab tests cover those).

func dummy(name string, index int) netlink.Link {
	return &netlink.Dummy{LinkAttrs: netlink.LinkAttrs{Name: name, Index: index}}
}

func TestGatewayLink(t *testing.T) {
	wan, lan := dummy("wan0", 2), dummy("lan0", 3)
	links := []linkPrefixes{
		{wan, []netip.Prefix{netip.MustParsePrefix("198.51.100.1/24")}},
		{lan, []netip.Prefix{netip.MustParsePrefix("192.0.2.1/24"), netip.MustParsePrefix("2001:db8:1::1/64")}},
	}
	for _, tc := range []struct {
		gw          string
		want        netlink.Link
		wantCovered bool
	}{
		{"198.51.100.2", wan, true},
		{"192.0.2.254", lan, true},
		{"2001:db8:1::fe", lan, true},
		{"203.0.113.1", wan, false}, // e.g. WAN address from DHCP
		{"fe80::1", wan, false},
	} {
		got, covered := gatewayLink(netip.MustParseAddr(tc.gw), links, wan)
		if got != tc.want || covered != tc.wantCovered {
			t.Errorf("gatewayLink(%s) = %s, %v; want %s, %v", tc.gw, got.Attrs().Name, covered, tc.want.Attrs().Name, tc.wantCovered)
		}
	}
}

func TestStale(t *testing.T) {
	want := []netip.Prefix{netip.MustParsePrefix("192.0.2.1/24"), netip.MustParsePrefix("2001:db8:1::1/64")}
	addr := func(s string, scope, flags int) netlink.Addr {
		ip, n, err := net.ParseCIDR(s)
		if err != nil {
			t.Fatal(err)
		}
		n.IP = ip
		if v4 := ip.To4(); v4 != nil {
			n.IP = v4
		}
		return netlink.Addr{IPNet: n, Scope: scope, Flags: flags}
	}
	const perm = unix.IFA_F_PERMANENT
	for _, tc := range []struct {
		addr netlink.Addr
		want bool
	}{
		{addr("192.0.2.1/24", unix.RT_SCOPE_UNIVERSE, perm), false},
		{addr("192.0.2.1/25", unix.RT_SCOPE_UNIVERSE, perm), true}, // other prefix length
		{addr("192.0.2.2/24", unix.RT_SCOPE_UNIVERSE, perm), true},
		{addr("192.0.2.2/24", unix.RT_SCOPE_UNIVERSE, 0), false}, // has a lifetime: DHCP's
		{addr("2001:db8:1::1/64", unix.RT_SCOPE_UNIVERSE, perm|unix.IFA_F_NODAD), false},
		{addr("2001:db8:1::2/64", unix.RT_SCOPE_UNIVERSE, perm), true},
		{addr("2001:db8:1::3/64", unix.RT_SCOPE_UNIVERSE, unix.IFA_F_MANAGETEMPADDR), false}, // SLAAC
		{addr("fe80::1/64", unix.RT_SCOPE_LINK, perm), false},
		{addr("fe80::1/64", unix.RT_SCOPE_UNIVERSE, perm), false}, // link-local, whatever its scope
		{addr("127.0.0.1/8", unix.RT_SCOPE_HOST, perm), false},
	} {
		if got := stale(tc.addr, want); got != tc.want {
			t.Errorf("stale(%s scope %d flags %#x) = %v, want %v", tc.addr.IPNet, tc.addr.Scope, tc.addr.Flags, got, tc.want)
		}
	}
}

func TestCheckPolicy(t *testing.T) {
	for _, tc := range []struct {
		mark  uint32
		table int
		ok    bool
	}{
		{1, 100, true},
		{0, 100, false},
		{1, 0, false},
		{1, unix.RT_TABLE_MAIN, false},
		{1, unix.RT_TABLE_LOCAL, false},
		{1, 1000, true},
	} {
		err := checkPolicy(config.Network{Mark: tc.mark, Table: tc.table})
		if (err == nil) != tc.ok {
			t.Errorf("checkPolicy(mark %#x, table %d) = %v, want ok=%v", tc.mark, tc.table, err, tc.ok)
		}
	}
}

// fakeProcSys makes the files of ss under a new directory, each holding
// "x", except those named in missing.
func fakeProcSys(t *testing.T, ss []sysctl, missing ...string) string {
	t.Helper()
	root := t.TempDir()
	for _, s := range ss {
		if slices.Contains(missing, s.key) {
			continue
		}
		p := filepath.Join(root, s.key)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("x\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// TestSysctls writes into a fake /proc/sys: every setting is attempted, and
// a missing file (a link without IPv6, say) is reported by key without
// stopping the others or being created.
func TestSysctls(t *testing.T) {
	ss := append(sysctls("wan0", []string{"lan0"}), forwarding(true)...)
	root := fakeProcSys(t, ss, "net/ipv6/conf/wan0/accept_ra")
	a := &applier{procSys: root}
	err := a.write(ss)
	if err == nil || !strings.Contains(err.Error(), "sysctl net/ipv6/conf/wan0/accept_ra=2") {
		t.Errorf("sysctls: err = %v, want one naming accept_ra", err)
	}
	if _, err := os.Stat(filepath.Join(root, "net/ipv6/conf/wan0/accept_ra")); err == nil {
		t.Errorf("sysctls created a missing sysctl file")
	}
	for key, want := range map[string]string{
		"net/ipv4/ip_forward":          "1",
		"net/ipv6/conf/all/forwarding": "1",
		"net/ipv4/conf/all/rp_filter":  "0",
		"net/ipv4/conf/lan0/rp_filter": "0",
		"net/ipv4/conf/wan0/rp_filter": "2",
	} {
		b, err := os.ReadFile(filepath.Join(root, key))
		if err != nil || string(b) != want {
			t.Errorf("%s = %q, %v; want %q", key, b, err, want)
		}
	}
}

// TestForwarding checks the plan: forwarding is two settings, which only
// forwarding writes; off, both are 0, so no step of an Apply that keeps
// forwarding off writes a 1 into either.
func TestForwarding(t *testing.T) {
	keys := []string{"net/ipv4/ip_forward", "net/ipv6/conf/all/forwarding"}
	for _, on := range []bool{false, true} {
		want := map[bool]string{false: "0", true: "1"}[on]
		f := forwarding(on)
		if len(f) != len(keys) {
			t.Fatalf("forwarding(%v) = %v, want %v", on, f, keys)
		}
		for i, s := range f {
			if s.key != keys[i] || s.value != want {
				t.Errorf("forwarding(%v) sets %s=%s, want %s=%s", on, s.key, s.value, keys[i], want)
			}
		}
	}
	for _, s := range sysctls("wan0", []string{"lan0", "lan1"}) {
		if strings.HasSuffix(s.key, "forwarding") || strings.HasSuffix(s.key, "ip_forward") {
			t.Errorf("sysctls sets %s: forwarding is forwarding's alone", s.key)
		}
	}
	root := fakeProcSys(t, forwarding(true))
	if err := (&applier{procSys: root}).write(forwarding(false)); err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if b, _ := os.ReadFile(filepath.Join(root, k)); string(b) != "0" {
			t.Errorf("%s = %q after forwarding(false), want 0", k, b)
		}
	}
}

func TestRouteKey(t *testing.T) {
	// The kernel reports default routes without a destination; Apply
	// builds them with one. Both must be the same route.
	listed := netlink.Route{Family: netlink.FAMILY_V6, Table: 100, Type: unix.RTN_LOCAL, LinkIndex: 1}
	built := listed
	built.Dst = &net.IPNet{IP: net.IPv6zero, Mask: net.CIDRMask(0, 128)}
	if routeKey(listed) != routeKey(built) {
		t.Errorf("routeKey: %q != %q", routeKey(listed), routeKey(built))
	}
	v4 := listed
	v4.Family = netlink.FAMILY_V4
	if routeKey(listed) == routeKey(v4) {
		t.Errorf("routeKey does not tell the families apart: %q", routeKey(v4))
	}
}
