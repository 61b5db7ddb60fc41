package config

import (
	"net"
	"net/netip"
	"testing"
)

func TestLastAddr(t *testing.T) {
	for p, want := range map[string]string{
		"192.0.2.1/24":     "192.0.2.255",
		"192.0.2.77/26":    "192.0.2.127",
		"192.0.2.9/32":     "192.0.2.9",
		"0.0.0.0/0":        "255.255.255.255",
		"2001:db8:1::1/64": "2001:db8:1::ffff:ffff:ffff:ffff",
		"2001:db8::/127":   "2001:db8::1",
	} {
		if got := LastAddr(netip.MustParsePrefix(p)); got != netip.MustParseAddr(want) {
			t.Errorf("LastAddr(%s) = %s, want %s", p, got, want)
		}
	}
}

func TestLink(t *testing.T) {
	mac := func(s string) net.HardwareAddr {
		m, err := net.ParseMAC(s)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	byName := Link{Name: "eth0"}
	byMAC := Link{MAC: mac("02:00:00:00:01:01")}
	renamed := Link{Name: "lan0", MAC: mac("02:00:00:00:01:01")}
	for _, tc := range []struct {
		l          Link
		s          string
		same, name bool // with renamed
	}{
		{byName, "eth0", false, false},
		{byMAC, "02:00:00:00:01:01", true, false},
		{renamed, "lan0@02:00:00:00:01:01", true, true},
		{Link{Name: "lan0"}, "lan0", false, true},
	} {
		if got := tc.l.String(); got != tc.s {
			t.Errorf("String() = %q, want %q", got, tc.s)
		}
		if got := tc.l.Same(renamed); got != tc.same {
			t.Errorf("%s.Same(%s) = %v", tc.l, renamed, got)
		}
		if got := tc.l.SameName(renamed); got != tc.name {
			t.Errorf("%s.SameName(%s) = %v", tc.l, renamed, got)
		}
	}
	if (Link{}).SameName(Link{}) {
		t.Errorf("two links without names share a name")
	}
}
