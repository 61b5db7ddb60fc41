package sources

import (
	"log"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"

	"tprouter/services/dhcp4d/server"
)

// TestLeases reads the file the real DHCP server writes, after it leased
// addresses to two clients.
func TestLeases(t *testing.T) {
	path := filepath.Join(t.TempDir(), "dhcp4d", "leases.json")
	if ls, err := Leases(path); ls != nil || err != nil {
		t.Fatalf("before the server wrote it: %v, %v; want no leases, no error", ls, err)
	}
	srv, err := server.New(server.Config{Addr: netip.MustParsePrefix("192.0.2.1/24"), Lease: time.Hour, Path: path}, log.New(os.Stderr, "", 0))
	if err != nil {
		t.Fatal(err)
	}
	for _, mac := range []string{"02:00:00:00:00:0a", "02:00:00:00:00:0b"} {
		hw, _ := net.ParseMAC(mac)
		disc, err := dhcpv4.NewDiscovery(hw, dhcpv4.WithOption(dhcpv4.OptHostName("host-"+mac[len(mac)-1:])))
		if err != nil {
			t.Fatal(err)
		}
		offer := srv.Reply(disc)
		req, err := dhcpv4.NewRequestFromOffer(offer, dhcpv4.WithOption(dhcpv4.OptHostName("host-"+mac[len(mac)-1:])))
		if err != nil {
			t.Fatal(err)
		}
		if ack := srv.Reply(req); ack == nil || ack.MessageType() != dhcpv4.MessageTypeAck {
			t.Fatalf("%s: no ACK: %v", mac, ack)
		}
	}
	ls, err := Leases(path)
	if err != nil {
		t.Fatal(err)
	}
	want := srv.Leases()
	if len(ls) != 2 || len(want) != 2 {
		t.Fatalf("Leases = %+v, the server has %+v", ls, want)
	}
	for i, l := range ls {
		if i > 0 && !ls[i-1].Addr.Less(l.Addr) {
			t.Errorf("not in address order: %+v", ls)
		}
		var w *server.Lease
		for j := range want {
			if want[j].MAC == l.MAC {
				w = &want[j]
			}
		}
		if w == nil || w.Addr != l.Addr || w.Hostname != l.Hostname || !w.Expiry.Equal(l.Expiry) || !strings.HasPrefix(l.Hostname, "host-") {
			t.Errorf("lease %+v, the server's %+v", l, w)
		}
	}
}

func TestLeasesBad(t *testing.T) {
	path := filepath.Join(t.TempDir(), "leases.json")
	os.WriteFile(path, []byte("{\"leases\":[{"), 0o644)
	if _, err := Leases(path); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("a torn file: %v, want an error naming it", err)
	}
}
