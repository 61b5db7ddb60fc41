package lab

import (
	"context"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// TestTapPeer checks that a tap for the client's link lands beside the
// router's end of it, bridged with it, and that Close undoes the bridge.
func TestTapPeer(t *testing.T) {
	t.Parallel()
	l := New(t, Options{})
	tap, err := l.Client.TapPeer(ClientIf)
	if err != nil {
		t.Fatal(err)
	}
	if tap.NS.Name != l.Router.Name || tap.Name != "tap-"+RouterLAN {
		t.Errorf("tap %s in %s, want tap-%s in %s", tap.Name, tap.NS.Name, RouterLAN, l.Router.Name)
	}
	for _, dev := range []string{RouterLAN, tap.Name} {
		if out := l.Router.IP(t, "link", "show", dev); !strings.Contains(out, "master br-"+RouterLAN) {
			t.Errorf("%s is not in the bridge:\n%s", dev, out)
		}
	}
	if _, err := l.Client.TapPeer(ClientIf); err == nil {
		t.Errorf("a second tap on the same link: no error")
	}
	if err := tap.Close(); err != nil {
		t.Fatal(err)
	}
	if out := l.Router.IP(t, "link", "show"); strings.Contains(out, "br-") || strings.Contains(out, "tap-") {
		t.Errorf("after Close:\n%s", out)
	}
}

// TestPing pings the configured lab router over both families.
func TestPing(t *testing.T) {
	t.Parallel()
	l := New(t, Options{ConfigureRouter: true})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, a := range []string{"192.0.2.1", "2001:db8:1::1", "198.51.100.2"} {
		if _, err := l.Client.Ping(ctx, netip.MustParseAddr(a)); err != nil {
			t.Error(err)
		}
	}
	short, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	if _, err := l.Client.Ping(short, netip.MustParseAddr("192.0.2.99")); err == nil {
		t.Errorf("ping of an absent host: no error")
	}
}
