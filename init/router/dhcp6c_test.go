package router

import (
	"path/filepath"
	"strings"
	"testing"

	"tprouter/init/cmdline"
	dhcp6c "tprouter/services/dhcp6c/client"
)

// TestDHCP6c: dhcp6c runs on a DHCP WAN with the size hint of
// tprouter.wan.pd, not with a static WAN or with delegation off, and init
// passes the state file that is dhcp6c's own default.
func TestDHCP6c(t *testing.T) {
	l := links{WAN: "wan0", LAN: []string{"lan0"}}
	for _, tt := range []struct{ line, want string }{
		{"", "dhcp6c /bin/dhcp6c -iface=wan0 -state=/run/tprouter/dhcp6c/lease.json -pd-len=56"},
		{"tprouter.wan.pd=/60", "dhcp6c /bin/dhcp6c -iface=wan0 -state=/run/tprouter/dhcp6c/lease.json -pd-len=60"},
		{"tprouter.wan.pd=off", ""},
		{"tprouter.wan.addr=198.51.100.1/24,2001:db8:2::1/64", ""},
	} {
		c, probs := cmdline.Parse(tt.line)
		svcs, _ := started(t, c, "", l)
		got := ""
		for _, line := range strings.Split(names(svcs), "\n") {
			if strings.HasPrefix(line, "dhcp6c ") {
				got = line
			}
		}
		if len(probs) > 0 || got != tt.want {
			t.Errorf("%q: dhcp6c %q, want %q (problems %q)", tt.line, got, tt.want, probs)
		}
	}
	if got := filepath.Join(RunState, "dhcp6c", leaseFile); got != dhcp6c.DefaultState {
		t.Errorf("dhcp6c's state: init passes %s, its default is %s", got, dhcp6c.DefaultState)
	}
}
