package lab

import (
	"net"
	"net/http"
	"net/netip"
	"os"
	"testing"
)

// The testing.TB wrappers of the lab's core: each calls the function of
// the same name ending in Err, fails t on error, and removes what it made
// when t ends.

// New builds a lab for t and removes it when t ends. It fails t (under
// CI=true) or skips it (elsewhere) when the machine cannot run it.
func New(t testing.TB, o Options) *Lab {
	t.Helper()
	Require(t)
	l, err := Make(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := l.Close(); err != nil {
			t.Error(err)
		}
	})
	return l
}

// Require stops t when the machine cannot run namespace tests: it fails t
// under CI=true, where a missing capability is a broken CI machine, and
// skips it with the same message elsewhere. Nothing skips silently.
func Require(t testing.TB) {
	t.Helper()
	if msg := missing(); msg != "" {
		Unavailable(t, msg)
	}
}

// Unavailable fails t under CI=true and skips it otherwise, with msg.
func Unavailable(t testing.TB, msg string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("required under CI=true: %s", msg)
	}
	t.Skipf("skipped: %s (set CI=true to make this a failure)", msg)
}

// AddFar is AddFarErr for t.
func (l *Lab) AddFar(t testing.TB, mtu int) *NS {
	t.Helper()
	far, err := l.AddFarErr(mtu)
	if err != nil {
		t.Fatal(err)
	}
	return far
}

// IP runs ip(8) with args inside ns and returns its output; it fails t on
// error.
func (ns *NS) IP(t testing.TB, args ...string) string {
	t.Helper()
	out, err := ns.IPErr(args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// Run runs a command inside ns and returns its combined output; it fails t
// on error.
func (ns *NS) Run(t testing.TB, name string, args ...string) string {
	t.Helper()
	out, err := ns.RunErr(name, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// Sysctl writes value to /proc/sys/key inside ns, or fails t; key uses
// slashes.
func (ns *NS) Sysctl(t testing.TB, key, value string) {
	t.Helper()
	if err := ns.SysctlErr(key, value); err != nil {
		t.Fatal(err)
	}
}

// Listen opens a listener inside ns and closes it when t ends.
func (ns *NS) Listen(t testing.TB, network, addr string) net.Listener {
	t.Helper()
	ln, err := ns.ListenErr(network, addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}

// ServeHTTP serves h on addr inside ns until t ends and returns the
// listener's address.
func (ns *NS) ServeHTTP(t testing.TB, addr string, h http.Handler) net.Addr {
	t.Helper()
	srv, a, err := ns.ServeHTTPErr(addr, h)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return a
}

// ConntrackEntries is ConntrackEntriesErr for t.
func (ns *NS) ConntrackEntries(t testing.TB, src, dst netip.AddrPort) int {
	t.Helper()
	n, err := ns.ConntrackEntriesErr(src, dst)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// NewOrigin is NewOriginErr for t.
func NewOrigin(t testing.TB, names ...string) *Origin {
	t.Helper()
	o, err := NewOriginErr(names...)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// ServeHTTPS is ServeHTTPSErr for t, closed when the test ends.
func (ns *NS) ServeHTTPS(t testing.TB, addr string, o *Origin, h http.Handler) net.Addr {
	t.Helper()
	srv, a, err := ns.ServeHTTPSErr(addr, o, h)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return a
}
