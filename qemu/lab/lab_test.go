package lab

import (
	"io"
	"net"
	"net/netip"
	"strings"
	"testing"
)

// TestRouted checks the lab itself: with the router configured, the client
// reaches the server over both families and the server sees the client's
// own address.
func TestRouted(t *testing.T) {
	t.Parallel()
	l := New(t, Options{ConfigureRouter: true})
	l.Server.ServeHTTP(t, ":80", EchoAddr)
	c := l.Client.HTTPClient()
	for _, tc := range []struct {
		url  string
		want netip.Addr
	}{
		{"http://198.51.100.2/", ClientV4},
		{"http://[2001:db8:2::2]/", ClientV6},
	} {
		resp, err := c.Get(tc.url)
		if err != nil {
			t.Fatalf("GET %s: %v", tc.url, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		host, _, err := net.SplitHostPort(string(body))
		if err != nil || host != tc.want.String() {
			t.Errorf("GET %s: server saw %q, want %s", tc.url, body, tc.want)
		}
	}
}

// TestIsolated checks that two labs do not see each other and that the
// router's links start down with the fixed MACs.
func TestIsolated(t *testing.T) {
	t.Parallel()
	a := New(t, Options{})
	b := New(t, Options{})
	if a.Router.Name == b.Router.Name {
		t.Fatalf("two labs share namespace %s", a.Router.Name)
	}
	out := a.Router.IP(t, "link", "show", RouterLAN)
	if !strings.Contains(out, RouterLANMAC) || strings.Contains(out, ",UP") {
		t.Errorf("router %s: want down with MAC %s, got:\n%s", RouterLAN, RouterLANMAC, out)
	}
	if _, err := a.Client.DialContext(t.Context(), "tcp", "198.51.100.2:80"); err == nil {
		t.Errorf("client reached the server through an unconfigured router")
	}
}

// TestMakeClose checks the error core as programs use it: Close removes
// every namespace Make and AddFarErr made, also after AddFarErr failed
// half-way, and a second Close does nothing.
func TestMakeClose(t *testing.T) {
	Require(t)
	l, err := Make(Options{ConfigureRouter: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.AddFarErr(10); err == nil || !strings.Contains(err.Error(), "mtu") {
		t.Errorf("AddFarErr(10) = %v, want ip's error about the MTU", err)
	}
	names := []string{l.Client.Name, l.Router.Name, l.Server.Name, strings.TrimSuffix(l.Server.Name, "-s") + "-f"}
	before := netnsList(t)
	for _, n := range names {
		if !strings.Contains(before, n) {
			t.Errorf("namespace %s missing before Close:\n%s", n, before)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	after := netnsList(t)
	for _, n := range names {
		if strings.Contains(after, n) {
			t.Errorf("namespace %s left after Close:\n%s", n, after)
		}
	}
	if err := l.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func netnsList(t *testing.T) string {
	out, err := ip("netns", "list")
	if err != nil {
		t.Fatal(err)
	}
	return out
}
