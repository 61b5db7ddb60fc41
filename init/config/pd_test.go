package config

import (
	"net/netip"
	"testing"
)

func TestLANPrefix(t *testing.T) {
	for _, tt := range []struct {
		lan       uint64
		delegated string
		want      string // "" for none
	}{
		{0, "2001:db8:100::/56", "2001:db8:100::/64"},
		{1, "2001:db8:100::/56", "2001:db8:100:1::/64"},
		{0xff, "2001:db8:100::/56", "2001:db8:100:ff::/64"},
		{0x100, "2001:db8:100::/56", ""},
		{0, "2001:db8:100:4200::/64", "2001:db8:100:4200::/64"},
		{3, "2001:db8:100:4200::/62", "2001:db8:100:4203::/64"},
		{0, "2001:db8:100::1/128", ""},
		{0, "198.51.100.0/24", ""},
	} {
		n := Network{PD: PD{Len: 56, LAN: tt.lan}}
		got, ok := n.LANPrefix(netip.MustParsePrefix(tt.delegated))
		if ok != (tt.want != "") || ok && got != netip.MustParsePrefix(tt.want) {
			t.Errorf("LAN /64 %d of %s: %s, %v; want %q", tt.lan, tt.delegated, got, ok, tt.want)
		}
	}
}

// TestCheckPD: a LAN /64 beyond the prefix asked for falls back to the
// first; delegation off needs no check.
func TestCheckPD(t *testing.T) {
	c := Default()
	c.Network.PD = PD{Len: 60, LAN: 16}
	probs := c.Check()
	if len(probs) != 1 || probs[0].Key != "tprouter.lan.pd" || c.Network.PD.LAN != 0 || probs[0].Want != "0 to 15" {
		t.Errorf("lan.pd 16 of a /60: %q, LAN %d; want one problem and 0", probs, c.Network.PD.LAN)
	}
	c = Default()
	c.Network.PD = PD{Len: 60, LAN: 15}
	if probs := c.Check(); len(probs) != 0 || !c.Network.PDOn() {
		t.Errorf("lan.pd 15 of a /60: %q, want none", probs)
	}
	c.Network.WANAddrs = []netip.Prefix{netip.MustParsePrefix("198.51.100.2/24")}
	if c.Network.PDOn() {
		t.Errorf("PDOn with a static WAN")
	}
}
