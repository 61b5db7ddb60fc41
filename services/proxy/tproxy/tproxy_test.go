package tproxy

import (
	"context"
	"io"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"tprouter/qemu/lab"
	"tprouter/qemu/labrouter"
)

// TestTransparent checks the whole kernel contract in the lab, for both
// families: a connection from the client to the server's port 80 is
// accepted on our listener with the server's address as its local address,
// and a spoofed upstream connection reaches the server from the client's
// own address.
func TestTransparent(t *testing.T) {
	t.Parallel()
	l := lab.New(t, lab.Options{ConfigureRouter: true})
	labrouter.Install(t, l, labrouter.Config(3129))
	srv := l.Server.Listen(t, "tcp", ":80")
	go func() {
		for {
			c, err := srv.Accept()
			if err != nil {
				return
			}
			// Answer with the peer address the server sees.
			io.WriteString(c, c.RemoteAddr().String())
			c.Close()
		}
	}()

	lns, notes := listenInRouter(t, l, ":3129")
	if len(lns) != 2 || len(notes) != 0 {
		t.Fatalf("Listen: %d listeners, notes %q; want both families", len(lns), notes)
	}
	for _, ln := range lns {
		t.Cleanup(func() { ln.Close() })
	}

	for _, tc := range []struct {
		client, server netip.Addr
		fam            Family
	}{
		{lab.ClientV4, lab.ServerV4, 4},
		{lab.ClientV6, lab.ServerV6, 6},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		dst := netip.AddrPortFrom(tc.server, 80)
		cc, err := l.Client.DialContext(ctx, "tcp", dst.String())
		if err != nil {
			t.Fatalf("client dial %v: %v", dst, err)
		}
		defer cc.Close()
		var ln net.Listener
		for _, x := range lns {
			if x.Family == tc.fam {
				ln = x.Listener
			}
		}
		ln.(*net.TCPListener).SetDeadline(time.Now().Add(5 * time.Second))
		ac, err := ln.Accept()
		if err != nil {
			t.Fatalf("%v accept: %v", tc.fam, err)
		}
		defer ac.Close()
		local := ac.LocalAddr().(*net.TCPAddr).AddrPort()
		remote := ac.RemoteAddr().(*net.TCPAddr).AddrPort()
		if local != dst || remote.Addr() != tc.client {
			t.Errorf("%v accepted %v -> %v, want %v -> %v", tc.fam, remote, local, tc.client, dst)
		}

		d := Dialer{Spoof: true, Timeout: 5 * time.Second, Mark: 0x100, TOS: 0x20}
		var up net.Conn
		err = l.Router.Do(func() (err error) {
			up, err = d.Dial(ctx, remote, local)
			return err
		})
		if err != nil {
			t.Fatalf("spoofed dial %v -> %v: %v", remote, local, err)
		}
		up.SetDeadline(time.Now().Add(5 * time.Second))
		seen, err := io.ReadAll(up)
		up.Close()
		if err != nil {
			t.Fatalf("read from server: %v", err)
		}
		host, _, _ := net.SplitHostPort(string(seen))
		if host != tc.client.String() {
			t.Errorf("%v: server saw %q, want the client %v", tc.fam, seen, tc.client)
		}

		plain := Dialer{Timeout: 5 * time.Second}
		var pc net.Conn
		err = l.Router.Do(func() (err error) {
			pc, err = plain.Dial(ctx, remote, local)
			return err
		})
		if err != nil {
			t.Fatalf("plain dial: %v", err)
		}
		pc.SetDeadline(time.Now().Add(5 * time.Second))
		seen, _ = io.ReadAll(pc)
		pc.Close()
		if strings.HasPrefix(string(seen), tc.client.String()) || string(seen) == "" {
			t.Errorf("%v: unspoofed dial: server saw %q, want the router's address", tc.fam, seen)
		}
	}
}

func TestProbeAndCaps(t *testing.T) {
	lab.Require(t)
	ok, err := HasNetAdmin()
	if err != nil || !ok {
		t.Errorf("HasNetAdmin as root = %v, %v", ok, err)
	}
	if err := Probe(4); err != nil {
		t.Errorf("Probe(4): %v", err)
	}
}

func TestListenBadAddress(t *testing.T) {
	for _, a := range []string{"3129", ":http-alt", "example.com:3129", ":70000"} {
		if _, _, err := Listen(context.Background(), a); err == nil {
			t.Errorf("Listen(%q) succeeded", a)
		}
	}
}

// TestDeferAccept: the listener hands over a connection once its first
// bytes are there (TCP_DEFER_ACCEPT), not at the handshake, and still
// hands over a client that stays silent, once the wait is over.
func TestDeferAccept(t *testing.T) {
	t.Parallel()
	l := lab.New(t, lab.Options{ConfigureRouter: true})
	labrouter.Install(t, l, labrouter.Config(3129))
	lns, _ := listenInRouter(t, l, "0.0.0.0:3129")
	ln := lns[0].Listener.(*net.TCPListener)
	t.Cleanup(func() { ln.Close() })
	dst := netip.AddrPortFrom(lab.ServerV4, 80).String()
	accept := func(within time.Duration) (net.Conn, time.Duration, error) {
		t0 := time.Now()
		ln.SetDeadline(t0.Add(within))
		c, err := ln.Accept()
		return c, time.Since(t0), err
	}

	talker, err := l.Client.DialContext(context.Background(), "tcp", dst)
	if err != nil {
		t.Fatalf("client dial %v: %v", dst, err)
	}
	defer talker.Close()
	if c, _, err := accept(300 * time.Millisecond); err == nil {
		c.Close()
		t.Fatal("a connection was accepted before its client sent anything")
	}
	io.WriteString(talker, "GET")
	c, d, err := accept(2 * time.Second)
	if err != nil {
		t.Fatalf("the connection was not accepted after its first bytes: %v", err)
	}
	b := make([]byte, 3)
	c.SetReadDeadline(time.Now().Add(time.Second))
	if _, err := io.ReadFull(c, b); err != nil || string(b) != "GET" {
		t.Errorf("accepted %v after the bytes; read %q, %v; want them there", d, b, err)
	}
	c.Close()

	silent, err := l.Client.DialContext(context.Background(), "tcp", dst)
	if err != nil {
		t.Fatalf("client dial %v: %v", dst, err)
	}
	defer silent.Close()
	c, d, err = accept(10 * time.Second)
	if err != nil {
		t.Fatalf("a silent client was not accepted within 10 s: %v", err)
	}
	c.Close()
	t.Logf("a silent client was accepted after %v", d.Round(time.Millisecond))
}

// listenInRouter runs Listen(addr) in the lab's router namespace.
func listenInRouter(t *testing.T, l *lab.Lab, addr string) ([]Listener, []string) {
	t.Helper()
	var lns []Listener
	var notes []string
	err := l.Router.Do(func() (err error) {
		lns, notes, err = Listen(context.Background(), addr)
		return err
	})
	if err != nil {
		t.Fatalf("Listen: %v", err)
	}
	return lns, notes
}
