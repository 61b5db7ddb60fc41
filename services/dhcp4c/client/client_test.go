package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"

	"tprouter/services/dhcp4d/server"
	"tprouter/services/internal/statefile"
)

// The tests below run the client's state machine against the real server
// logic over an in-memory network, without root and in a few seconds: the
// server hands out 2 s leases, so T1 is 1 s, T2 1.75 s.

var (
	lan    = netip.MustParsePrefix("192.0.2.1/24")
	testHW = net.HardwareAddr{2, 0, 0, 0, 0xbb, 1}
)

// fakeNet connects client conns to a server.Server.
type fakeNet struct {
	mu   sync.Mutex
	srv  *server.Server
	down bool
	sent []sent
}

type sent struct {
	typ dhcpv4.MessageType
	dst string
	raw bool // sent through the packet socket, before the link has an address
}

func (n *fakeNet) setDown(down bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.down = down
}

func (n *fakeNet) setServer(s *server.Server) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.srv = s
}

func (n *fakeNet) log() []sent {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]sent(nil), n.sent...)
}

func (n *fakeNet) conn(raw bool) func() (net.PacketConn, error) {
	return func() (net.PacketConn, error) {
		return &fakeConn{net: n, raw: raw, in: make(chan []byte, 8), done: make(chan struct{})}, nil
	}
}

type fakeConn struct {
	net  *fakeNet
	raw  bool
	in   chan []byte
	done chan struct{}
	once sync.Once
}

func (c *fakeConn) WriteTo(b []byte, dst net.Addr) (int, error) {
	m, err := dhcpv4.FromBytes(b)
	if err != nil {
		return 0, err
	}
	n := c.net
	n.mu.Lock()
	n.sent = append(n.sent, sent{m.MessageType(), dst.String(), c.raw})
	srv, down := n.srv, n.down
	n.mu.Unlock()
	if srv == nil || down {
		return len(b), nil
	}
	if r := srv.Reply(m); r != nil {
		select {
		case c.in <- r.ToBytes():
		default:
		}
	}
	return len(b), nil
}

func (c *fakeConn) ReadFrom(b []byte) (int, net.Addr, error) {
	select {
	case p := <-c.in:
		return copy(b, p), &net.UDPAddr{IP: lan.Addr().AsSlice(), Port: 67}, nil
	case <-c.done:
		return 0, nil, net.ErrClosed
	}
}

func (c *fakeConn) Close() error                     { c.once.Do(func() { close(c.done) }); return nil }
func (c *fakeConn) LocalAddr() net.Addr              { return &net.UDPAddr{Port: 68} }
func (c *fakeConn) SetDeadline(time.Time) error      { return nil }
func (c *fakeConn) SetReadDeadline(time.Time) error  { return nil }
func (c *fakeConn) SetWriteDeadline(time.Time) error { return nil }

// fakeSys records what the client would do to the kernel.
type fakeSys struct{ ev chan event }

type event struct {
	op       string // "apply" or "remove"
	old, new *Lease
}

func (s fakeSys) apply(old, l *Lease, _ time.Time) error {
	s.ev <- event{"apply", old, l}
	return nil
}

func (s fakeSys) remove(l *Lease) error {
	s.ev <- event{"remove", nil, l}
	return nil
}

func newServer(t *testing.T) *server.Server {
	t.Helper()
	s, err := server.New(server.Config{Addr: lan, Lease: 2 * time.Second}, log.New(io.Discard, "", 0))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// start runs a client on n until the test ends and returns its events.
func start(t *testing.T, n *fakeNet, state string) <-chan event {
	t.Helper()
	ev := make(chan event, 16)
	c := &Client{
		iface:      "wan0",
		hw:         testHW,
		state:      state,
		logf:       t.Logf,
		msgs:       nopLogger{},
		now:        time.Now,
		rawConn:    n.conn(true),
		udpConn:    n.conn(false),
		sys:        fakeSys{ev},
		timeout:    50 * time.Millisecond,
		retries:    2,
		rebootWait: 300 * time.Millisecond,
		minRetry:   100 * time.Millisecond,
		minBackoff: 50 * time.Millisecond,
		maxBackoff: 200 * time.Millisecond,
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Errorf("Run did not return after cancel")
		}
	})
	return ev
}

type nopLogger struct{}

func (nopLogger) PrintMessage(string, *dhcpv4.DHCPv4) {}
func (nopLogger) Printf(string, ...any)               {}

// eventually polls f for up to 2 s until it returns nil.
func eventually(t *testing.T, f func() error) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func next(t *testing.T, ev <-chan event, op string, within time.Duration) event {
	t.Helper()
	select {
	case e := <-ev:
		if e.op != op {
			t.Fatalf("got %s of %s, want %s", e.op, e.new.Address, op)
		}
		return e
	case <-time.After(within):
		t.Fatalf("no %s within %v", op, within)
	}
	panic("unreachable")
}

// TestLifecycle: DORA, renewal by unicast, expiry when the server is gone,
// and a new lease once it is back.
func TestLifecycle(t *testing.T) {
	t.Parallel()
	n := &fakeNet{srv: newServer(t)}
	state := filepath.Join(t.TempDir(), "dhcp4c.json")
	ev := start(t, n, state)

	first := next(t, ev, "apply", 2*time.Second)
	l := first.new
	if first.old != nil || l.Address != netip.MustParseAddr("192.0.2.2") || l.Router != lan.Addr() ||
		len(l.DNS) != 1 || l.DNS[0] != lan.Addr() || l.Prefix != lan.Masked() {
		t.Fatalf("first lease: old %v, new %+v", first.old, l)
	}
	eventually(t, func() error {
		var saved Lease
		if err := statefile.Read(state, &saved); err != nil {
			return err
		}
		if saved.Address != l.Address || !saved.Expiry.Equal(l.Expiry) {
			return fmt.Errorf("state file holds %s until %s", saved.Address, saved.Expiry)
		}
		return nil
	})

	renewed := next(t, ev, "apply", 2*time.Second)
	if renewed.old != l || renewed.new.Address != l.Address || !renewed.new.Start.After(l.Start) {
		t.Fatalf("renewal: old %+v, new %+v", renewed.old, renewed.new)
	}
	if s := n.log(); s[len(s)-1].dst != "192.0.2.1:67" || s[len(s)-1].raw {
		t.Errorf("RENEW sent as %+v, want unicast to 192.0.2.1:67 from the UDP socket", s[len(s)-1])
	}

	n.setDown(true)
	gone := next(t, ev, "remove", 3*time.Second)
	if gone.new.Address != l.Address {
		t.Errorf("removed %s, want %s", gone.new.Address, l.Address)
	}
	eventually(t, func() error {
		if _, err := os.Stat(state); !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("state file after expiry: %v, want it removed", err)
		}
		return nil
	})
	var renews, rebinds int
	for _, s := range n.log() {
		if s.typ == dhcpv4.MessageTypeRequest && !s.raw {
			if s.dst == "255.255.255.255:67" {
				rebinds++
			} else {
				renews++
			}
		}
	}
	if renews < 2 || rebinds < 1 {
		t.Errorf("before expiry: %d unicast and %d broadcast REQUESTs, want both RENEW and REBIND", renews, rebinds)
	}

	n.setDown(false)
	again := next(t, ev, "apply", 3*time.Second)
	if again.old != nil || again.new.Address != l.Address {
		t.Errorf("after the server came back: old %v, new %s; want a fresh lease of %s", again.old, again.new.Address, l.Address)
	}
}

// TestNak: a server that no longer grants the address makes the client
// drop it at once and start over.
func TestNak(t *testing.T) {
	t.Parallel()
	n := &fakeNet{srv: newServer(t)}
	ev := start(t, n, filepath.Join(t.TempDir(), "dhcp4c.json"))
	l := next(t, ev, "apply", 2*time.Second).new

	// A new server on which another client holds that address.
	s := newServer(t)
	other, err := dhcpv4.New(dhcpv4.WithHwAddr(net.HardwareAddr{2, 0, 0, 0, 0xcc, 1}),
		dhcpv4.WithMessageType(dhcpv4.MessageTypeRequest),
		dhcpv4.WithOption(dhcpv4.OptRequestedIPAddress(l.Address.AsSlice())))
	if err != nil {
		t.Fatal(err)
	}
	if r := s.Reply(other); r == nil || r.MessageType() != dhcpv4.MessageTypeAck {
		t.Fatalf("setting up the other client: %v", r)
	}
	n.setServer(s)

	if e := next(t, ev, "remove", 2*time.Second); e.new.Address != l.Address {
		t.Errorf("removed %s, want %s", e.new.Address, l.Address)
	}
	if e := next(t, ev, "apply", 2*time.Second); e.old != nil || e.new.Address == l.Address {
		t.Errorf("after NAK: old %v, new %s; want a fresh lease of another address", e.old, e.new.Address)
	}
}

// TestRestore: a restarted client asks to keep its saved lease (INIT-
// REBOOT), keeps it if nobody answers, and drops it once expired.
func TestRestore(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	dir := t.TempDir()
	state := filepath.Join(dir, "dhcp4c.json")
	{
		n := &fakeNet{srv: srv}
		c := start(t, n, state)
		next(t, c, "apply", 2*time.Second)
	}
	var saved Lease
	eventually(t, func() error { return statefile.Read(state, &saved) })
	copyState := func(name string) string {
		p := filepath.Join(dir, name)
		if err := statefile.Write(p, saved); err != nil {
			t.Fatal(err)
		}
		return p
	}

	t.Run("answered", func(t *testing.T) {
		t.Parallel()
		n := &fakeNet{srv: srv}
		e := next(t, start(t, n, copyState("a.json")), "apply", 2*time.Second)
		if e.old == nil || e.old.Address != saved.Address || e.new.Address != saved.Address || !e.new.Start.After(saved.Start) {
			t.Errorf("INIT-REBOOT: old %v, new %+v; want %s confirmed", e.old, e.new, saved.Address)
		}
		if s := n.log(); len(s) == 0 || s[0].typ != dhcpv4.MessageTypeRequest || !s[0].raw {
			t.Errorf("first message %+v, want a broadcast REQUEST", s)
		}
	})
	t.Run("unanswered", func(t *testing.T) {
		t.Parallel()
		n := &fakeNet{}
		e := next(t, start(t, n, copyState("u.json")), "apply", 2*time.Second)
		if e.old != nil || e.new.Address != saved.Address || !e.new.Expiry.Equal(saved.Expiry) {
			t.Errorf("unanswered INIT-REBOOT: old %v, new %+v; want the saved lease kept", e.old, e.new)
		}
	})
	t.Run("expired", func(t *testing.T) {
		t.Parallel()
		old := saved
		old.Expiry = time.Now().Add(-time.Second)
		p := filepath.Join(dir, "e.json")
		if err := statefile.Write(p, old); err != nil {
			t.Fatal(err)
		}
		ev := start(t, &fakeNet{srv: srv}, p)
		if e := next(t, ev, "remove", 2*time.Second); e.new.Address != saved.Address {
			t.Errorf("removed %s, want the expired %s", e.new.Address, saved.Address)
		}
		if e := next(t, ev, "apply", 2*time.Second); e.old != nil {
			t.Errorf("after an expired saved lease: old %v, want a fresh lease", e.old)
		}
	})
}
