package router

import (
	"os"
	"path/filepath"
	"testing"

	"tprouter/init/cmdline"
	"tprouter/init/console"
	"tprouter/init/status"
)

// TestPanels: the status page's sources read the services' state files
// under the router's root, the links found, and the configuration.
func TestPanels(t *testing.T) {
	c, _ := cmdline.Parse("tprouter.hostname=gw")
	root := t.TempDir()
	r := &Router{Config: c, Log: console.New(os.Stderr).Log("init", 10), Status: &status.Server{}, root: root}
	r.stateDirs()
	r.seen.set(links{LAN: []string{"lo"}})
	r.panels()
	p := r.Status.Panels

	if ls, err := p.Leases(); ls != nil || err != nil {
		t.Errorf("before dhcp4d wrote its file: %v, %v", ls, err)
	}
	os.WriteFile(filepath.Join(root, RunState, "dhcp4d", leasesFile),
		[]byte(`{"leases":[{"mac":"02:00:00:00:00:0a","addr":"192.168.1.100","expiry":"2026-01-02T03:04:05Z"}]}`), 0o644)
	if ls, err := p.Leases(); err != nil || len(ls) != 1 || ls[0].MAC != "02:00:00:00:00:0a" {
		t.Errorf("Leases() = %+v, %v", ls, err)
	}
	os.WriteFile(filepath.Join(root, RunState, "dhcp4c", leaseFile),
		[]byte(`{"iface":"eth0","address":"198.51.100.7","prefix":"198.51.100.0/24","dns":[]}`), 0o644)
	if w, err := p.WAN(); err != nil || w.Link != "" || w.DHCP == nil || w.DHCP.Address.String() != "198.51.100.7" {
		t.Errorf("WAN() = %+v, %v (no WAN link yet, a lease)", w, err)
	}
	ifs, err := p.Interfaces()
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range ifs {
		if i.Name == "lo" && i.Role != "lan" {
			t.Errorf("lo, found as the LAN link: role %q", i.Role)
		}
	}
	if len(p.Config) != len(cmdline.Settings(c)) || p.Config[0] != (status.Setting{Key: "tprouter.hostname", Value: "gw", Source: "kernel command line"}) {
		t.Errorf("Config = %+v", p.Config)
	}
	if h := p.History(0); len(h.Names) != len(status.SeriesNames) {
		t.Errorf("History(0) = %+v", h)
	}
}
