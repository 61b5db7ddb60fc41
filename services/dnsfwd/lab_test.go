package main

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"tprouter/internal/syncbuf"

	"golang.org/x/net/dns/dnsmessage"
	"golang.org/x/sys/unix"

	"tprouter/qemu/lab"
	"tprouter/qemu/labproc"
	"tprouter/services/dnsfwd/forward"
	"tprouter/services/internal/statefile"
)

func TestMain(m *testing.M) { os.Exit(labproc.Run(m)) }

const pkg = "tprouter/services/dnsfwd"

var (
	lanDNS   = netip.AddrPortFrom(lab.RouterLANv4.Addr(), 53).String() // 192.0.2.1:53
	lanDNSv6 = netip.AddrPortFrom(lab.RouterLANv6.Addr(), 53).String()
	wanDNS   = netip.AddrPortFrom(lab.RouterWANv4.Addr(), 53).String()
	exampleA = netip.MustParseAddr("203.0.113.7")
	bigA     = netip.MustParseAddr("203.0.113.8")
)

// TestResolve resolves through dnsfwd from the client, over UDP and TCP,
// on its IPv4 and IPv6 LAN addresses, and follows a truncated answer to
// the TCP retry; the fake upstream sees each query over the transport the
// client used.
func TestResolve(t *testing.T) {
	t.Parallel()
	l := lab.New(t, lab.Options{ConfigureRouter: true})
	bin := labproc.Build(t, pkg)["dnsfwd"]
	up := startUpstream(t, l.Server)
	p := labproc.Start(t, l.Router, bin, "-iface", lab.RouterLAN, "-cache-size", "0",
		"-listen", lab.RouterLANv4.Addr().String()+","+lab.RouterLANv6.Addr().String(),
		"-upstream", lab.ServerV4.String())
	p.WaitLog(t, "listening on "+lanDNSv6, 5*time.Second)

	for _, tc := range []struct{ network, server, name string }{
		{"udp", lanDNS, "example.test"},
		{"tcp", lanDNS, "example.test"},
		{"udp", lanDNSv6, "example.test"},
		{"tcp", lanDNSv6, "example.test"},
		// The upstream truncates this one over UDP: the client must get
		// the truncated answer and retry over TCP.
		{"udp", lanDNS, "big.test"},
	} {
		before := up.count()
		ips, err := lookup(l.Client, tc.network, tc.server, tc.name)
		want := exampleA
		if tc.name == "big.test" {
			want = bigA
		}
		if err != nil || !slices.Equal(ips, []netip.Addr{want}) {
			t.Errorf("%s %s via %s: %v, %v; want [%s]", tc.network, tc.name, tc.server, ips, err, want)
			continue
		}
		got := up.count().minus(before)
		wantCount := counts{}
		switch {
		case tc.name == "big.test":
			wantCount = counts{udp: 1, tcp: 1}
		case tc.network == "udp":
			wantCount = counts{udp: 1}
		default:
			wantCount = counts{tcp: 1}
		}
		if got != wantCount {
			t.Errorf("%s %s via %s: upstream got %+v, want %+v", tc.network, tc.name, tc.server, got, wantCount)
		}
	}
	p.Stop(t)
}

// TestLeaseFile starts dnsfwd with no static upstream and a lease without
// DNS servers, then writes the lease as dhcp4c does (by rename) with the
// server's address: resolution works within a few seconds.
func TestLeaseFile(t *testing.T) {
	t.Parallel()
	l := lab.New(t, lab.Options{ConfigureRouter: true})
	bin := labproc.Build(t, pkg)["dnsfwd"]
	startUpstream(t, l.Server)
	path := filepath.Join(t.TempDir(), "dhcp4c.json")
	writeLease(t, path)
	p := labproc.Start(t, l.Router, bin, "-iface", lab.RouterLAN, "-listen", lab.RouterLANv4.Addr().String(), "-lease", path)
	p.WaitLog(t, "listening on "+lanDNS, 5*time.Second)
	if !strings.Contains(p.Log(), forward.NoUpstream) {
		t.Errorf("log lacks %q:\n%s", forward.NoUpstream, p.Log())
	}
	checkServFail(t, l.Client, "udp", lanDNS)

	writeLease(t, path, lab.ServerV4.String())
	written := time.Now()
	const within = 10 * time.Second
	for {
		ips, err := lookup(l.Client, "udp", lanDNS, "example.test")
		if err == nil && slices.Equal(ips, []netip.Addr{exampleA}) {
			break
		}
		if time.Since(written) > within {
			t.Fatalf("still %v, %v %v after the lease was written", ips, err, within)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("resolving %v after the lease was written", time.Since(written).Round(time.Millisecond))
	p.WaitLog(t, "upstream DNS servers: 198.51.100.2:53 (lease)", time.Second)
	p.Stop(t)
}

// TestNoUpstream: without upstream servers every query gets SERVFAIL, and
// the log says why once.
func TestNoUpstream(t *testing.T) {
	t.Parallel()
	l := lab.New(t, lab.Options{ConfigureRouter: true})
	bin := labproc.Build(t, pkg)["dnsfwd"]
	p := labproc.Start(t, l.Router, bin, "-iface", lab.RouterLAN, "-listen", lab.RouterLANv4.Addr().String())
	p.WaitLog(t, "listening on "+lanDNS, 5*time.Second)
	for range 2 {
		checkServFail(t, l.Client, "udp", lanDNS)
		checkServFail(t, l.Client, "tcp", lanDNS)
	}
	if n := strings.Count(p.Log(), forward.NoUpstream); n != 1 {
		t.Errorf("%q logged %d times, want once:\n%s", forward.NoUpstream, n, p.Log())
	}
	p.Stop(t)
}

// TestWANSide runs dnsfwd on the LAN link's addresses (-iface only) and
// checks from the server that neither the router's WAN address nor its
// LAN address, reached through the WAN link, answers: the lab has no
// firewall, so this is dnsfwd's own binding at work.
func TestWANSide(t *testing.T) {
	t.Parallel()
	l := lab.New(t, lab.Options{ConfigureRouter: true})
	bin := labproc.Build(t, pkg)["dnsfwd"]
	startUpstream(t, l.Server)
	p := labproc.Start(t, l.Router, bin, "-iface", lab.RouterLAN, "-upstream", lab.ServerV4.String())
	p.WaitLog(t, "listening on "+lanDNS, 5*time.Second)
	p.WaitLog(t, "listening on "+lanDNSv6, 5*time.Second)

	if ips, err := lookup(l.Client, "udp", lanDNS, "example.test"); err != nil || !slices.Equal(ips, []netip.Addr{exampleA}) {
		t.Errorf("from the LAN: %v, %v; want [%s]", ips, err, exampleA)
	}
	for _, server := range []string{wanDNS, lanDNS} {
		q := query(t, 1, "example.test.")
		for _, network := range []string{"udp", "tcp"} {
			if ans, err := exchange(l.Server, network, server, q, time.Second); err == nil {
				t.Errorf("from the WAN, %s %s answers: %x", network, server, ans)
			}
		}
	}
	p.Stop(t)
}

// TestUnprivileged runs dnsfwd as init does: its own user, with only
// CAP_NET_BIND_SERVICE as an ambient capability (supervise.User), binding
// to the LAN link, reading a lease it does not own.
func TestUnprivileged(t *testing.T) {
	t.Parallel()
	l := lab.New(t, lab.Options{ConfigureRouter: true})
	built := labproc.Build(t, pkg)["dnsfwd"]
	startUpstream(t, l.Server)

	// The build directory is private to root; the user needs to read
	// the program and the lease, as in /bin and /run/tprouter.
	dir, err := os.MkdirTemp("", "dnsfwd")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(built)
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "dnsfwd")
	if err := os.WriteFile(bin, b, 0o755); err != nil {
		t.Fatal(err)
	}
	lease := filepath.Join(dir, "dhcp4c.json")
	writeLease(t, lease, lab.ServerV4.String())

	var out syncbuf.Buffer
	cmd := exec.Command(bin, "-iface", lab.RouterLAN,
		"-listen", lab.RouterLANv4.Addr().String()+","+lab.RouterLANv6.Addr().String(), "-lease", lease)
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Credential:  &syscall.Credential{Uid: 3053, Gid: 3053, Groups: []uint32{}},
		AmbientCaps: []uintptr{unix.CAP_NET_BIND_SERVICE},
	}
	// A child starts in the network namespace of the thread that forks it.
	if err := l.Router.Do(cmd.Start); err != nil {
		t.Fatalf("start %s as uid 3053: %v", bin, err)
	}
	done := make(chan struct{})
	var waitErr error
	go func() {
		waitErr = cmd.Wait()
		close(done)
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-done
		if t.Failed() {
			t.Logf("log of dnsfwd:\n%s", out.String())
		}
	})
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(out.String(), "listening on "+lanDNSv6) {
		select {
		case <-done:
			t.Fatalf("dnsfwd as uid 3053 exited (%v):\n%s", waitErr, out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("dnsfwd as uid 3053 did not listen within 5s:\n%s", out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, server := range []string{lanDNS, lanDNSv6} {
		if ips, err := lookup(l.Client, "udp", server, "example.test"); err != nil || !slices.Equal(ips, []netip.Addr{exampleA}) {
			t.Errorf("via %s: %v, %v; want [%s]", server, ips, err, exampleA)
		}
	}
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
		if waitErr != nil {
			t.Errorf("after SIGTERM: %v, want exit 0", waitErr)
		}
	case <-time.After(5 * time.Second):
		t.Errorf("still running 5 s after SIGTERM")
	}
}

// TestUsage checks the command line; it needs no root.
func TestUsage(t *testing.T) {
	bin := labproc.Build(t, pkg)["dnsfwd"]
	labproc.CheckUsage(t, bin,
		[]string{"-bogus"},
		[]string{}, // nothing to listen on
		[]string{"-iface", "eth1", "-upstream", "dns.example"},
		[]string{"-listen", "0.0.0.0"}, // not the wildcard: the LAN only
		[]string{"-iface", "eth1", "-timeout", "0s"},
		[]string{"-iface", "eth1", "-max-inflight", "0"},
		[]string{"-iface", "eth1", "-cache-size", "-1"},
		[]string{"-iface", "eth1", "extra"})
}

// echHTTPS is the fake upstream's HTTPS record for ech.test: ".", alpn
// h2, an ECH configuration (its bytes need not be one here), ipv4hint.
func echHTTPS() *dnsmessage.HTTPSResource {
	return &dnsmessage.HTTPSResource{SVCBResource: dnsmessage.SVCBResource{
		Priority: 1, Target: dnsmessage.MustNewName("."),
		Params: []dnsmessage.SVCParam{
			{Key: dnsmessage.SVCParamALPN, Value: []byte("\x02h2")},
			{Key: dnsmessage.SVCParamIPv4Hint, Value: exampleA.AsSlice()},
			{Key: dnsmessage.SVCParamECH, Value: []byte("\x00\x45\xfe\x0d\x00\x41ech-config-of-the-test")},
		},
	}}
}

// TestStripECH asks dnsfwd from the client for ech.test's HTTPS record,
// over UDP and TCP, with -strip-ech (the client sees alpn and ipv4hint,
// no ech) and without (the upstream's answer unchanged); A records
// pass as they are either way.
func TestStripECH(t *testing.T) {
	t.Parallel()
	l := lab.New(t, lab.Options{ConfigureRouter: true})
	bin := labproc.Build(t, pkg)["dnsfwd"]
	startUpstream(t, l.Server)
	for _, strip := range []bool{true, false} {
		args := []string{"-iface", lab.RouterLAN, "-listen", lab.RouterLANv4.Addr().String(), "-upstream", lab.ServerV4.String()}
		if strip {
			args = append(args, "-strip-ech")
		}
		p := labproc.Start(t, l.Router, bin, args...)
		p.WaitLog(t, "listening on "+lanDNS, 5*time.Second)
		for _, network := range []string{"udp", "tcp"} {
			checkHTTPS(t, l.Client, network, strip)
		}
		if ips, err := lookup(l.Client, "udp", lanDNS, "example.test"); err != nil || !slices.Equal(ips, []netip.Addr{exampleA}) {
			t.Errorf("strip %v: example.test: %v, %v; want [%s]", strip, ips, err, exampleA)
		}
		if strings.Contains(p.Log(), "removing ech") != strip {
			t.Errorf("strip %v: log:\n%s", strip, p.Log())
		}
		p.Stop(t)
	}
}

// checkHTTPS asks for ech.test's HTTPS record and checks its parameters:
// those of echHTTPS, less ech when strip.
func checkHTTPS(t *testing.T, ns *lab.NS, network string, strip bool) {
	t.Helper()
	ans, err := exchange(ns, network, lanDNS, queryType(t, 0x4545, "ech.test.", dnsmessage.TypeHTTPS), 5*time.Second)
	if err != nil {
		t.Fatalf("strip %v %s: %v", strip, network, err)
	}
	var m dnsmessage.Message
	if err := m.Unpack(ans); err != nil || m.Header.ID != 0x4545 || len(m.Answers) != 1 {
		t.Fatalf("strip %v %s: answer %s (%v)", strip, network, m.GoString(), err)
	}
	got, ok := m.Answers[0].Body.(*dnsmessage.HTTPSResource)
	want := echHTTPS()
	if strip {
		want.DeleteParam(dnsmessage.SVCParamECH)
	}
	if !ok || got.GoString() != want.GoString() || m.Answers[0].Header.TTL != 300 {
		t.Errorf("strip %v %s: got %s\nwant %s", strip, network, m.Answers[0].GoString(), want.GoString())
	}
}

// lookup resolves name's IPv4 addresses from ns with Go's resolver, which
// asks server over network: over "udp" it switches to TCP by itself when
// an answer is truncated; "tcp" uses TCP from the start.
func lookup(ns *lab.NS, network, server, name string) ([]netip.Addr, error) {
	r := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, n, _ string) (net.Conn, error) {
		if network == "tcp" {
			n = "tcp"
		}
		ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		defer cancel()
		return ns.DialContext(ctx, n, server)
	}}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return r.LookupNetIP(ctx, "ip4", name)
}

// checkServFail sends a query from ns to server and wants SERVFAIL back.
func checkServFail(t *testing.T, ns *lab.NS, network, server string) {
	t.Helper()
	ans, err := exchange(ns, network, server, query(t, 0xbeef, "example.test."), 5*time.Second)
	if err != nil {
		t.Fatalf("%s %s: %v", network, server, err)
	}
	var p dnsmessage.Parser
	h, err := p.Start(ans)
	if err != nil || h.ID != 0xbeef || h.RCode != dnsmessage.RCodeServerFailure {
		t.Errorf("%s %s: answer %+v (%v), want SERVFAIL with ID 0xbeef", network, server, h, err)
	}
}

// exchange sends q from ns to server over network and returns the answer.
func exchange(ns *lab.NS, network, server string, q []byte, within time.Duration) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	c, err := ns.DialContext(ctx, network, server)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(within))
	if network == "udp" {
		if _, err := c.Write(q); err != nil {
			return nil, err
		}
		buf := make([]byte, 65535)
		n, err := c.Read(buf)
		return buf[:n], err
	}
	if err := writeMsg(c, q); err != nil {
		return nil, err
	}
	return readMsg(c)
}

func query(t testing.TB, id uint16, name string) []byte {
	t.Helper()
	return queryType(t, id, name, dnsmessage.TypeA)
}

func queryType(t testing.TB, id uint16, name string, typ dnsmessage.Type) []byte {
	t.Helper()
	b := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: id, RecursionDesired: true})
	b.StartQuestions()
	b.Question(dnsmessage.Question{Name: dnsmessage.MustNewName(name), Type: typ, Class: dnsmessage.ClassINET})
	msg, err := b.Finish()
	if err != nil {
		t.Fatal(err)
	}
	return msg
}

// writeLease writes a lease file as dhcp4c does (statefile.Write renames
// a complete file into place), with the given DNS servers.
func writeLease(t *testing.T, path string, dns ...string) {
	t.Helper()
	addrs := []netip.Addr{}
	for _, d := range dns {
		addrs = append(addrs, netip.MustParseAddr(d))
	}
	l := struct {
		Iface   string       `json:"iface"`
		Address netip.Addr   `json:"address"`
		DNS     []netip.Addr `json:"dns"`
	}{lab.RouterWAN, lab.RouterWANv4.Addr(), addrs}
	if err := statefile.Write(path, l); err != nil {
		t.Fatal(err)
	}
}

// fakeUpstream is a DNS server in the server namespace on
// 198.51.100.2:53, UDP and TCP: A example.test is 203.0.113.7; A big.test
// is truncated over UDP and 203.0.113.8 over TCP; HTTPS ech.test has
// alpn, ech and ipv4hint (echHTTPS); other names do not exist.
type fakeUpstream struct{ udp, tcp atomic.Int32 }

type counts struct{ udp, tcp int32 }

func (c counts) minus(d counts) counts { return counts{c.udp - d.udp, c.tcp - d.tcp} }

func (u *fakeUpstream) count() counts { return counts{u.udp.Load(), u.tcp.Load()} }

func startUpstream(t *testing.T, ns *lab.NS) *fakeUpstream {
	t.Helper()
	addr := netip.AddrPortFrom(lab.ServerV4, 53).String()
	var pc net.PacketConn
	if err := ns.Do(func() (err error) { pc, err = net.ListenPacket("udp", addr); return err }); err != nil {
		t.Fatalf("in %s: listen udp %s: %v", ns.Name, addr, err)
	}
	ln := ns.Listen(t, "tcp", addr)
	u := &fakeUpstream{}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		pc.Close()
		ln.Close()
		wg.Wait()
	})
	wg.Add(2)
	go func() {
		defer wg.Done()
		buf := make([]byte, 65535)
		for {
			n, peer, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			u.udp.Add(1)
			if ans := respond(buf[:n], false); ans != nil {
				pc.WriteTo(ans, peer)
			}
		}
	}()
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				c.SetDeadline(time.Now().Add(10 * time.Second))
				for {
					q, err := readMsg(c)
					if err != nil {
						return
					}
					u.tcp.Add(1)
					if ans := respond(q, true); ans != nil {
						writeMsg(c, ans)
					}
				}
			}()
		}
	}()
	return u
}

// respond is the fake upstream's answer to q.
func respond(q []byte, tcp bool) []byte {
	var p dnsmessage.Parser
	h, err := p.Start(q)
	if err != nil {
		return nil
	}
	qq, err := p.Question()
	if err != nil {
		return nil
	}
	h.Response, h.RecursionAvailable = true, true
	var a *dnsmessage.AResource
	var https *dnsmessage.HTTPSResource
	switch name := strings.ToLower(qq.Name.String()); {
	case name == "ech.test." && qq.Type == dnsmessage.TypeHTTPS:
		https = echHTTPS()
	case name == "example.test." && qq.Type == dnsmessage.TypeA:
		a = &dnsmessage.AResource{A: exampleA.As4()}
	case name == "big.test." && !tcp:
		h.Truncated = true
	case name == "big.test." && qq.Type == dnsmessage.TypeA:
		a = &dnsmessage.AResource{A: bigA.As4()}
	case name != "example.test." && name != "big.test." && name != "ech.test.":
		h.RCode = dnsmessage.RCodeNameError
	}
	b := dnsmessage.NewBuilder(nil, h)
	b.StartQuestions()
	b.Question(qq)
	b.StartAnswers()
	if a != nil {
		b.AResource(dnsmessage.ResourceHeader{Name: qq.Name, Class: dnsmessage.ClassINET, TTL: 60}, *a)
	}
	if https != nil {
		b.HTTPSResource(dnsmessage.ResourceHeader{Name: qq.Name, Class: dnsmessage.ClassINET, TTL: 300}, *https)
	}
	msg, err := b.Finish()
	if err != nil {
		return nil
	}
	return msg
}

func readMsg(r io.Reader) ([]byte, error) {
	var n [2]byte
	if _, err := io.ReadFull(r, n[:]); err != nil {
		return nil, err
	}
	msg := make([]byte, binary.BigEndian.Uint16(n[:]))
	if len(msg) == 0 {
		return nil, errors.New("empty message")
	}
	_, err := io.ReadFull(r, msg)
	return msg, err
}

func writeMsg(w io.Writer, msg []byte) error {
	_, err := w.Write(append(binary.BigEndian.AppendUint16(nil, uint16(len(msg))), msg...))
	return err
}
