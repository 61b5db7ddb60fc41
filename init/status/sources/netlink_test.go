package sources

import (
	"context"
	"encoding/json"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"tprouter/init/status"
	"tprouter/qemu/lab"
	"tprouter/services/dhcp4c/client"
)

// TestInterfaces lists the lab router's links: roles, MACs, addresses,
// and counters that count the client's pings.
func TestInterfaces(t *testing.T) {
	l := lab.New(t, lab.Options{ConfigureRouter: true})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := l.Client.Ping(ctx, lab.RouterLANv4.Addr()); err != nil {
		t.Fatal(err)
	}
	var ifs []status.Interface
	err := l.Router.Do(func() error {
		var err error
		ifs, err = Interfaces(map[string]string{lab.RouterLAN: "lan", lab.RouterWAN: "wan"})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]status.Interface{}
	for _, i := range ifs {
		byName[i.Name] = i
	}
	lan, wan, lo := byName[lab.RouterLAN], byName[lab.RouterWAN], byName["lo"]
	if lan.Role != "lan" || !lan.Up || lan.MAC != lab.RouterLANMAC || lan.MTU != 1500 ||
		!slices.Equal(lan.Addrs[:1], []netip.Prefix{lab.RouterLANv4}) || !slices.Contains(lan.Addrs, lab.RouterLANv6) {
		t.Errorf("LAN link: %+v", lan)
	}
	if lan.RxPackets == 0 || lan.TxPackets == 0 || lan.RxBytes < 84 || lan.TxBytes < 84 {
		t.Errorf("LAN link after a ping: %+v", lan)
	}
	if wan.Role != "wan" || wan.MAC != lab.RouterWANMAC || !slices.Contains(wan.Addrs, lab.RouterWANv4) || !slices.Contains(wan.Addrs, lab.RouterWANv6) {
		t.Errorf("WAN link: %+v", wan)
	}
	if lo.Role != "loopback" || lo.MAC != "" || !slices.Contains(lo.Addrs, netip.MustParsePrefix("127.0.0.1/8")) {
		t.Errorf("loopback: %+v", lo)
	}
	if len(ifs) != 3 {
		t.Errorf("links %+v, want lo, lan0, wan0", ifs)
	}
}

// TestWAN reads the WAN link's addresses and the lease the DHCP client
// wrote, and with a static WAN (no lease path) no lease.
func TestWAN(t *testing.T) {
	l := lab.New(t, lab.Options{ConfigureRouter: true})
	path := filepath.Join(t.TempDir(), "lease.json")
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	lease := client.Lease{Iface: lab.RouterWAN, HWAddr: lab.RouterWANMAC, Address: lab.RouterWANv4.Addr(), Prefix: lab.WANv4,
		Router: lab.ServerV4, DNS: []netip.Addr{lab.ServerV4}, Server: lab.ServerV4,
		Start: start, T1: start.Add(time.Hour), T2: start.Add(2 * time.Hour), Expiry: start.Add(3 * time.Hour), ACK: []byte{1, 2}}
	var got, before, static status.WAN
	err := l.Router.Do(func() error {
		var err error
		if before, err = WAN(lab.RouterWAN, path); err != nil {
			return err
		}
		b, _ := json.Marshal(lease) // as client.Client writes it
		if err := os.WriteFile(path, b, 0o644); err != nil {
			return err
		}
		if got, err = WAN(lab.RouterWAN, path); err != nil {
			return err
		}
		static, err = WAN(lab.RouterWAN, "")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if got.Link != lab.RouterWAN || got.Addrs[0] != lab.RouterWANv4 || !slices.Contains(got.Addrs, lab.RouterWANv6) {
		t.Errorf("WAN addresses: %+v", got)
	}
	want := status.WANLease{Address: lease.Address, Prefix: lease.Prefix, Router: lease.Router, DNS: lease.DNS, Server: lease.Server, Start: start, Expiry: lease.Expiry}
	if d := got.DHCP; d == nil || d.Address != want.Address || d.Prefix != want.Prefix || d.Router != want.Router ||
		!slices.Equal(d.DNS, want.DNS) || d.Server != want.Server || !d.Start.Equal(start) || !d.Expiry.Equal(want.Expiry) {
		t.Errorf("WAN lease: %+v, want %+v", got.DHCP, want)
	}
	if before.DHCP != nil || len(before.Addrs) == 0 || static.DHCP != nil {
		t.Errorf("before the lease: %+v; static: %+v", before, static)
	}
	if _, err := WAN("nosuch0", ""); err == nil {
		t.Error("WAN(nosuch0): no error")
	}
	if w, err := WAN("", path); err != nil || w.Addrs != nil || w.DHCP == nil {
		t.Errorf("WAN link not found yet: %+v, %v", w, err)
	}
}
