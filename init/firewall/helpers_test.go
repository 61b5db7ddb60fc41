package firewall_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"tprouter/init/config"
	"tprouter/init/firewall"
	"tprouter/qemu/lab"
	"tprouter/qemu/labrouter"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// labConfig is the configuration of the lab's router: LAN matched by MAC,
// WAN by name, static addresses, port 80 intercepted, fail open, no NAT.
func labConfig() config.Network { return labrouter.Config(proxyPort) }

const proxyPort = 3129

// applyRouter configures the lab's router as the firmware does.
func applyRouter(t *testing.T, l *lab.Lab, c config.Network) { labrouter.Install(t, l, c) }

// applyFirewall applies only the firewall inside ns.
func applyFirewall(t *testing.T, ns *lab.NS, c config.Network) {
	t.Helper()
	err := ns.Do(func() error { return firewall.Apply(c, lab.RouterWAN, []string{lab.RouterLAN}) })
	if err != nil {
		t.Fatalf("in %s: firewall.Apply: %v", ns.Name, err)
	}
}

// golden compares got with testdata/name, or rewrites it under -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from the kernel's (run go test -update to accept):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

// transparentListener listens on [::]:port inside ns with IP_TRANSPARENT
// and IPV6_TRANSPARENT, as the proxy does: one dual-stack socket takes
// the connections TPROXY diverts to it, whatever their destination.
func transparentListener(t *testing.T, ns *lab.NS, port int) net.Listener {
	t.Helper()
	var ln net.Listener
	err := ns.Do(func() (err error) {
		lc := net.ListenConfig{Control: transparent}
		ln, err = lc.Listen(context.Background(), "tcp", fmt.Sprintf("[::]:%d", port))
		return err
	})
	if err != nil {
		t.Fatalf("in %s: transparent listen :%d: %v", ns.Name, port, err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}

// transparent sets IP_TRANSPARENT and, on IPv6 sockets, IPV6_TRANSPARENT.
func transparent(network, address string, c syscall.RawConn) error {
	var serr error
	err := c.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_IP, unix.IP_TRANSPARENT, 1)
		if serr == nil && !strings.HasSuffix(network, "4") {
			serr = unix.SetsockoptInt(int(fd), unix.SOL_IPV6, unix.IPV6_TRANSPARENT, 1)
		}
	})
	return errors.Join(err, serr)
}

// intercepted is one connection the spoofing proxy took: the client's
// address and the destination the client dialled.
type intercepted struct {
	client, dst netip.AddrPort
}

// spoofingProxy runs a minimal transparent proxy in ns: it accepts what
// TPROXY diverts to ProxyPort, dials the original destination (the
// accepted socket's local address) from the client's own address, and
// relays both ways. Each connection is reported on the returned channel.
func spoofingProxy(t *testing.T, ns *lab.NS) <-chan intercepted {
	t.Helper()
	ln := transparentListener(t, ns, proxyPort)
	seen := make(chan intercepted, 16)
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			client := addrPort(c.RemoteAddr())
			dst := addrPort(c.LocalAddr())
			select {
			case seen <- intercepted{client, dst}:
			default:
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				up, err := spoofedDial(ns, client.Addr(), dst)
				if err != nil {
					t.Logf("proxy: dial %s from %s: %v", dst, client.Addr(), err)
					return
				}
				defer up.Close()
				relay(c, up)
			}()
		}
	}()
	return seen
}

// spoofedDial connects to dst from src (any port), which is not the
// router's own address: IP_TRANSPARENT allows the bind.
func spoofedDial(ns *lab.NS, src netip.Addr, dst netip.AddrPort) (net.Conn, error) {
	var c net.Conn
	err := ns.Do(func() (err error) {
		network := "tcp4"
		if src.Is6() {
			network = "tcp6"
		}
		d := net.Dialer{
			Timeout:   5 * time.Second,
			LocalAddr: net.TCPAddrFromAddrPort(netip.AddrPortFrom(src, 0)),
			Control:   transparent,
		}
		c, err = d.Dial(network, dst.String())
		return err
	})
	return c, err
}

// relay copies between a and b until both directions end, with a deadline
// so a stuck test cannot hang the relay.
func relay(a, b net.Conn) {
	deadline := time.Now().Add(10 * time.Second)
	a.SetDeadline(deadline)
	b.SetDeadline(deadline)
	done := make(chan struct{})
	go func() {
		io.Copy(b, a)
		b.(*net.TCPConn).CloseWrite()
		close(done)
	}()
	io.Copy(a, b)
	a.(*net.TCPConn).CloseWrite()
	<-done
}

func addrPort(a net.Addr) netip.AddrPort {
	ap := a.(*net.TCPAddr).AddrPort()
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}

// get fetches url from inside ns and returns the body: with lab.EchoAddr,
// the client address the server saw.
func get(ns *lab.NS, url string) (string, error) {
	resp, err := ns.HTTPClient().Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

// seenBy returns the host part of a lab.EchoAddr body.
func seenBy(body string) string {
	host, _, err := net.SplitHostPort(body)
	if err != nil {
		return body
	}
	return host
}

// dial tries a TCP connection from inside ns and returns the error (nil
// when it was accepted).
func dial(ns *lab.NS, addr string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	c, err := ns.DialContext(ctx, "tcp", addr)
	if err == nil {
		c.Close()
	}
	return err
}

// expectNone fails t if c holds something now or delivers it within d.
func expectNone[T any](t *testing.T, c <-chan T, d time.Duration, what string) {
	t.Helper()
	select {
	case v := <-c:
		t.Errorf("%s: %+v", what, v)
		return
	default:
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case v := <-c:
		t.Errorf("%s: %+v", what, v)
	case <-timer.C:
	}
}

// next receives from c or fails t after d.
func next[T any](t *testing.T, c <-chan T, d time.Duration, what string) T {
	t.Helper()
	select {
	case v := <-c:
		return v
	case <-time.After(d):
		t.Fatalf("no %s within %v", what, d)
		panic("unreachable")
	}
}

// getFrom fetches url from inside ns from the local address src, as get
// does. SO_REUSEADDR lets it bind a port whose last connection is in
// TIME_WAIT.
func getFrom(ns *lab.NS, src netip.AddrPort, url string) (string, error) {
	d := net.Dialer{
		Timeout:   5 * time.Second,
		LocalAddr: net.TCPAddrFromAddrPort(src),
		Control: func(_, _ string, c syscall.RawConn) error {
			var serr error
			err := c.Control(func(fd uintptr) {
				serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEADDR, 1)
			})
			return errors.Join(err, serr)
		},
	}
	c := &http.Client{
		Timeout: 10 * time.Second,
		Transport: &http.Transport{
			DialContext: func(ctx context.Context, network, addr string) (conn net.Conn, err error) {
				err = ns.Do(func() error {
					conn, err = d.DialContext(ctx, network, addr)
					return err
				})
				return conn, err
			},
			DisableKeepAlives: true,
		},
	}
	resp, err := c.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}
