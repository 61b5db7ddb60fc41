package router_test

import (
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"tprouter/init/config"
	"tprouter/init/router"
	"tprouter/qemu/lab"
	"tprouter/qemu/labrouter"
)

// configure runs router.Configure inside ns.
func configure(ns *lab.NS, c config.Network) (wan string, lan []string, err error) {
	err = ns.Do(func() error {
		var err error
		wan, lan, err = router.Configure(c)
		return err
	})
	return wan, lan, err
}

// forwardingWatch reads the forwarding sysctls inside ns, over and over,
// until the returned func is called, which says whether it ever saw
// either on. It reads at most for 30 s.
func forwardingWatch(t *testing.T, ns *lab.NS) (stop func() (sawOn bool)) {
	t.Helper()
	done := make(chan struct{})
	var wg sync.WaitGroup
	var on bool
	wg.Add(1)
	go func() {
		defer wg.Done()
		err := ns.Do(func() error {
			for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); {
				for _, k := range []string{"/proc/sys/net/ipv4/ip_forward", "/proc/sys/net/ipv6/conf/all/forwarding"} {
					b, err := os.ReadFile(k)
					if err != nil {
						return err
					}
					on = on || strings.TrimSpace(string(b)) != "0"
				}
				select {
				case <-done:
					return nil
				default:
				}
			}
			return nil
		})
		if err != nil {
			t.Error(err)
		}
	}()
	return func() bool {
		close(done)
		wg.Wait()
		return on
	}
}

func sysctl(t *testing.T, ns *lab.NS, key string) string {
	t.Helper()
	var b []byte
	if err := ns.Do(func() (err error) { b, err = os.ReadFile("/proc/sys/" + key); return err }); err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// TestConfigureWithoutFirewall gives Configure a ruleset the firewall
// cannot apply, twice (two rounds of init's retry loop): forwarding is
// never on, not even for a moment, and the error says so on one line,
// naming the firewall once. The rest of the network is configured.
func TestConfigureWithoutFirewall(t *testing.T) {
	t.Parallel()
	l := lab.New(t, lab.Options{})
	r := l.Router
	r.Sysctl(t, "net/ipv4/ip_forward", "0")
	r.Sysctl(t, "net/ipv6/conf/all/forwarding", "0")
	c := labrouter.Config(3129)
	c.Intercept = []uint16{80, 0} // port 0: the firewall refuses the ruleset

	stop := forwardingWatch(t, r)
	var err error
	for range 2 {
		_, _, err = configure(r, c)
	}
	if stop() {
		t.Errorf("forwarding was on while the firewall could not be applied")
	}
	for _, k := range []string{"net/ipv4/ip_forward", "net/ipv6/conf/all/forwarding"} {
		if v := sysctl(t, r, k); v != "0" {
			t.Errorf("%s = %s, want 0", k, v)
		}
	}
	s := ""
	if err != nil {
		s = err.Error()
	}
	if !strings.Contains(s, "firewall: intercepted port 0; forwarding stays off") ||
		strings.Count(s, "firewall") != 1 || strings.Contains(s, "\n") {
		t.Errorf("Configure: %q, want one line naming the firewall once and forwarding off", s)
	}
	if out := r.IP(t, "addr", "show", "dev", lab.RouterWAN); !strings.Contains(out, lab.RouterWANv4.String()) {
		t.Errorf("WAN not configured without the firewall:\n%s", out)
	}

	// Once the firewall applies, forwarding goes on.
	if _, _, err := configure(r, labrouter.Config(3129)); err != nil {
		t.Fatal(err)
	}
	if v := sysctl(t, r, "net/ipv4/ip_forward"); v != "1" {
		t.Errorf("ip_forward = %s with the firewall in place, want 1", v)
	}
}

// TestConfigureRenames matches the LAN link by MAC with another name
// (tprouter.lan=inside0@02:00:00:00:01:01), twice: the link is renamed
// and up, and the ruleset names it by its new name only.
func TestConfigureRenames(t *testing.T) {
	t.Parallel()
	l := lab.New(t, lab.Options{})
	r := l.Router
	c := labrouter.Config(3129)
	c.LAN[0].Name = "inside0"
	for i := range 2 {
		wan, lan, err := configure(r, c)
		if err != nil || wan != lab.RouterWAN || !slices.Equal(lan, []string{"inside0"}) {
			t.Fatalf("Configure #%d = %q, %q, %v; want %s, [inside0], nil", i+1, wan, lan, err, lab.RouterWAN)
		}
	}
	if out := r.IP(t, "link", "show", "inside0"); !strings.Contains(out, lab.RouterLANMAC) || !strings.Contains(out, ",UP") {
		t.Errorf("inside0: want up with MAC %s, got:\n%s", lab.RouterLANMAC, out)
	}
	rules := r.Run(t, "nft", "list", "table", "inet", "tprouter")
	if !strings.Contains(rules, `iifname "inside0" tcp dport @intercept tproxy`) || strings.Contains(rules, lab.RouterLAN) {
		t.Errorf("ruleset does not name inside0 (only):\n%s", rules)
	}
	if v := sysctl(t, r, "net/ipv4/ip_forward"); v != "1" {
		t.Errorf("ip_forward = %s, want 1", v)
	}
}
