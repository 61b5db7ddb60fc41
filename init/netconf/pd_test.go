package netconf_test

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"tprouter/init/config"
	"tprouter/init/netconf"
	"tprouter/qemu/lab"
)

// TestPD puts a delegated prefix's /64 on the lab router's LAN link with
// real netlink: the address with the lease's lifetimes and the
// unreachable route; the same state applied twice changes nothing; a new
// prefix replaces the old one; the end of the lease removes both.
func TestPD(t *testing.T) {
	l := lab.New(t, lab.Options{})
	r := l.Router
	n := config.Default().Network
	n.PD.LAN = 2
	pd := &netconf.PD{Link: lab.RouterLAN, Net: n}
	now := time.Now()
	a := netconf.Delegated{Prefix: netip.MustParsePrefix("2001:db8:100::/56"), Preferred: now.Add(30 * time.Minute), Valid: now.Add(time.Hour)}
	update := func(ds ...netconf.Delegated) string {
		t.Helper()
		var changed string
		if err := r.Do(func() (err error) { changed, err = pd.Update(ds, now); return err }); err != nil {
			t.Fatalf("Update(%v): %v", ds, err)
		}
		return changed
	}
	if got := update(); got != "" {
		t.Errorf("no prefix: %q, want nothing", got)
	}
	if got := update(a); !strings.Contains(got, "pd: LAN 2001:db8:100:2::/64 on lan0 from delegated 2001:db8:100::/56 (valid 1h0m0s)") {
		t.Errorf("first prefix: %q", got)
	}
	addr := r.IP(t, "-6", "addr", "show", "dev", lab.RouterLAN, "scope", "global")
	if !strings.Contains(addr, "2001:db8:100:2::1/64") || !strings.Contains(addr, "valid_lft 3600sec preferred_lft 1800sec") {
		t.Errorf("LAN addresses:\n%s", addr)
	}
	if route := r.IP(t, "-6", "route", "show", "type", "unreachable"); !strings.Contains(route, "unreachable 2001:db8:100::/56") {
		t.Errorf("no unreachable route for the delegated prefix:\n%s", route)
	}
	if got := update(a); got != "" {
		t.Errorf("the same prefix again: %q, want nothing", got)
	}

	b := netconf.Delegated{Prefix: netip.MustParsePrefix("2001:db8:200::/56"), Preferred: now.Add(time.Hour), Valid: now.Add(2 * time.Hour)}
	got := update(b)
	if !strings.Contains(got, "pd: 2001:db8:100:2::/64 withdrawn from lan0") || !strings.Contains(got, "pd: LAN 2001:db8:200:2::/64") {
		t.Errorf("new prefix: %q", got)
	}
	addr = r.IP(t, "-6", "addr", "show", "dev", lab.RouterLAN, "scope", "global")
	if strings.Contains(addr, "2001:db8:100:") || !strings.Contains(addr, "2001:db8:200:2::1/64") {
		t.Errorf("LAN addresses after the change:\n%s", addr)
	}
	route := r.IP(t, "-6", "route", "show", "type", "unreachable")
	if strings.Contains(route, "2001:db8:100::/56") || !strings.Contains(route, "2001:db8:200::/56") {
		t.Errorf("unreachable routes after the change:\n%s", route)
	}

	// A link that went down lost the address (the kernel drops one
	// with a lifetime); the next update puts it back.
	r.IP(t, "link", "set", lab.RouterLAN, "down")
	r.IP(t, "link", "set", lab.RouterLAN, "up")
	update(b)
	if addr := r.IP(t, "-6", "addr", "show", "dev", lab.RouterLAN, "scope", "global"); !strings.Contains(addr, "2001:db8:200:2::1/64") {
		t.Errorf("after the link went down and up:\n%s", addr)
	}

	// A /64 has no third /64: the LAN takes the first and says why.
	small := netconf.Delegated{Prefix: netip.MustParsePrefix("2001:db8:300::/64"), Preferred: now.Add(time.Hour), Valid: now.Add(2 * time.Hour)}
	if got := update(small); !strings.Contains(got, "pd: LAN 2001:db8:300::/64 on lan0 from delegated 2001:db8:300::/64 (valid 2h0m0s); the first /64: tprouter.lan.pd=2 is beyond") {
		t.Errorf("a prefix smaller than tprouter.lan.pd needs: %q", got)
	}
	update(b)

	expired := b
	expired.Valid = now.Add(-time.Second)
	if got := update(expired); !strings.Contains(got, "withdrawn") {
		t.Errorf("expired: %q", got)
	}
	if addr := r.IP(t, "-6", "addr", "show", "dev", lab.RouterLAN, "scope", "global"); strings.Contains(addr, "2001:db8:200:") {
		t.Errorf("the expired prefix's address is still there:\n%s", addr)
	}
}
