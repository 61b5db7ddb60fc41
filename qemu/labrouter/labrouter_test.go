package labrouter

import (
	"strings"
	"testing"

	"tprouter/qemu/lab"
)

// TestInstall checks that Install leaves a working router whose ruleset
// names the lab's links, and that installing again changes nothing.
func TestInstall(t *testing.T) {
	t.Parallel()
	l := lab.New(t, lab.Options{})
	c := Config(3129)
	Install(t, l, c)
	first := l.Router.Run(t, "nft", "list", "ruleset")
	if !strings.Contains(first, `iifname "lan0" tcp dport @intercept tproxy to :3129`) {
		t.Errorf("ruleset lacks the tproxy rule on lan0:\n%s", first)
	}
	Install(t, l, c)
	if again := l.Router.Run(t, "nft", "list", "ruleset"); again != first {
		t.Errorf("second Install changed the ruleset:\n%s\nwas:\n%s", again, first)
	}
	for _, key := range forwarding {
		if v := strings.TrimSpace(l.Router.Run(t, "cat", "/proc/sys/"+key)); v != "1" {
			t.Errorf("%s = %s, want 1", key, v)
		}
	}
	if _, err := l.Client.Ping(t.Context(), lab.ServerV4); err != nil {
		t.Errorf("client to server through the router: %v", err)
	}
}

// TestInstallFirewallFails checks that Install is the firmware's bring-up
// and not a copy of its steps: when the firewall cannot be applied, the
// error says so and forwarding is off, as the firmware leaves it, although
// netconf's part succeeded.
func TestInstallFirewallFails(t *testing.T) {
	t.Parallel()
	l := lab.New(t, lab.Options{})
	c := Config(3129)
	c.Intercept = []uint16{0} // the firewall refuses port 0
	err := InstallErr(l, c)
	if err == nil || !strings.Contains(err.Error(), "port 0") {
		t.Errorf("InstallErr = %v, want the firewall's error about port 0", err)
	}
	if out := l.Router.IP(t, "addr", "show", lab.RouterLAN); !strings.Contains(out, lab.RouterLANv4.String()) {
		t.Errorf("netconf did not run: %s has no %s:\n%s", lab.RouterLAN, lab.RouterLANv4, out)
	}
	for _, key := range forwarding {
		if v := strings.TrimSpace(l.Router.Run(t, "cat", "/proc/sys/"+key)); v != "0" {
			t.Errorf("%s = %s with no ruleset, want 0", key, v)
		}
	}
}

var forwarding = []string{"net/ipv4/ip_forward", "net/ipv6/conf/all/forwarding"}
