package forward

import (
	"bytes"
	"context"
	"encoding/binary"
	"log"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"tprouter/internal/syncbuf"

	"golang.org/x/net/dns/dnsmessage"

	"tprouter/services/internal/statefile"
)

// These tests need no root: upstreams and clients are on loopback.

var answerIP = [4]byte{203, 0, 113, 7}

// query builds a recursive query for name and typ with id.
func query(t testing.TB, id uint16, name string, typ dnsmessage.Type) []byte {
	t.Helper()
	b := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: id, RecursionDesired: true})
	b.StartQuestions()
	if err := b.Question(dnsmessage.Question{Name: dnsmessage.MustNewName(name), Type: typ, Class: dnsmessage.ClassINET}); err != nil {
		t.Fatal(err)
	}
	msg, err := b.Finish()
	if err != nil {
		t.Fatal(err)
	}
	return msg
}

// answer builds the upstream's answer to q: A answerIP for an A question.
// edit, if not nil, changes the header and the question first.
func answer(t testing.TB, q []byte, edit func(*dnsmessage.Header, *dnsmessage.Question)) []byte {
	t.Helper()
	var p dnsmessage.Parser
	h, err := p.Start(q)
	if err != nil {
		t.Fatal(err)
	}
	qq, err := p.Question()
	if err != nil {
		t.Fatal(err)
	}
	h.Response, h.RecursionAvailable = true, true
	if edit != nil {
		edit(&h, &qq)
	}
	b := dnsmessage.NewBuilder(nil, h)
	b.StartQuestions()
	b.Question(qq)
	b.StartAnswers()
	if qq.Type == dnsmessage.TypeA && !h.Truncated {
		b.AResource(dnsmessage.ResourceHeader{Name: qq.Name, Class: dnsmessage.ClassINET, TTL: 60}, dnsmessage.AResource{A: answerIP})
	}
	msg, err := b.Finish()
	if err != nil {
		t.Fatal(err)
	}
	return msg
}

// header parses msg's header and question, failing t if it cannot.
func header(t testing.TB, msg []byte) (dnsmessage.Header, []dnsmessage.Question) {
	t.Helper()
	var p dnsmessage.Parser
	h, err := p.Start(msg)
	if err != nil {
		t.Fatalf("answer does not parse: %v", err)
	}
	qs, err := p.AllQuestions()
	if err != nil {
		t.Fatalf("answer's questions do not parse: %v", err)
	}
	return h, qs
}

// listenBoth opens a UDP and a TCP socket on the same loopback port. A
// free UDP port may be taken for TCP (by other tests' connections), so
// it tries a few.
func listenBoth(t *testing.T) (net.PacketConn, net.Listener) {
	t.Helper()
	var err error
	for range 20 {
		var pc net.PacketConn
		pc, err = net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		var l net.Listener
		if l, err = net.Listen("tcp4", pc.LocalAddr().String()); err == nil {
			return pc, l
		}
		pc.Close()
	}
	t.Fatalf("no loopback port free for both UDP and TCP: %v", err)
	return nil, nil
}

// upstream is a DNS server on loopback, UDP and TCP on the same port. A
// nil handle makes it silent: it reads queries and never answers.
type upstream struct {
	addr     netip.AddrPort
	udp, tcp atomic.Int32 // queries received
	handle   func(q []byte) [][]byte
}

func startUpstream(t *testing.T, handle func(q []byte) [][]byte) *upstream {
	t.Helper()
	pc, l := listenBoth(t)
	u := &upstream{addr: pc.LocalAddr().(*net.UDPAddr).AddrPort(), handle: handle}
	var conns sync.WaitGroup
	t.Cleanup(func() {
		pc.Close()
		l.Close()
		conns.Wait()
	})
	go func() {
		buf := make([]byte, 65535)
		for {
			n, peer, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			u.udp.Add(1)
			if u.handle != nil {
				for _, a := range u.handle(slices.Clone(buf[:n])) {
					pc.WriteTo(a, peer)
				}
			}
		}
	}()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			conns.Add(1)
			go func() {
				defer conns.Done()
				defer c.Close()
				// Closed by the listener's cleanup at the latest.
				stop := context.AfterFunc(t.Context(), func() { c.Close() })
				defer stop()
				for {
					q, err := readMsg(c)
					if err != nil {
						return
					}
					u.tcp.Add(1)
					if u.handle != nil {
						for _, a := range u.handle(q) {
							writeMsg(c, a)
						}
					}
				}
			}()
		}
	}()
	return u
}

// good answers every query correctly.
func good(t *testing.T) func([]byte) [][]byte {
	return func(q []byte) [][]byte { return [][]byte{answer(t, q, nil)} }
}

// newForwarder returns a forwarder for cfg, without a cache unless
// cfg.CacheSize asks for one: the tests of forwarding count upstream
// queries.
func newForwarder(t *testing.T, cfg Config) (*Forwarder, *syncbuf.Buffer) {
	t.Helper()
	if cfg.CacheSize == 0 {
		cfg.CacheSize = -1
	}
	var buf syncbuf.Buffer
	f := New(cfg, log.New(&buf, "", 0))
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("forwarder log:\n%s", buf.String())
		}
	})
	return f, &buf
}

// TestIDRewrite checks that the upstream sees its own ID, that answers
// with another ID or another question are skipped, and that the matching
// answer is relayed byte for byte but for the client's ID.
func TestIDRewrite(t *testing.T) {
	var relayed atomic.Pointer[[]byte] // the answer that matches
	u := startUpstream(t, func(q []byte) [][]byte {
		id := binary.BigEndian.Uint16(q)
		wrongID := answer(t, q, func(h *dnsmessage.Header, _ *dnsmessage.Question) { h.ID = id + 1 })
		wrongQ := answer(t, q, func(_ *dnsmessage.Header, q *dnsmessage.Question) { q.Name = dnsmessage.MustNewName("other.test.") })
		right := answer(t, q, func(_ *dnsmessage.Header, q *dnsmessage.Question) {
			q.Name = dnsmessage.MustNewName("EXAMPLE.test.") // case may differ (0x20)
		})
		relayed.Store(&right)
		return [][]byte{wrongID, wrongQ, right}
	})
	f, _ := newForwarder(t, Config{Upstream: []netip.AddrPort{u.addr}})
	for _, network := range []string{"udp", "tcp"} {
		q := query(t, 0x1234, "example.test.", dnsmessage.TypeA)
		ans := f.Forward(t.Context(), network, q)
		h, _ := header(t, ans)
		if h.ID != 0x1234 {
			t.Errorf("%s: answer ID %#x, want the client's 0x1234", network, h.ID)
		}
		if r := *relayed.Load(); network == "udp" && !bytes.Equal(ans[2:], r[2:]) {
			t.Errorf("udp: answer is not the upstream's matching one:\n%x\nwant\n%x", ans[2:], r[2:])
		}
		if network == "tcp" {
			// Over TCP the first answer must match; it does not here.
			if h.RCode != dnsmessage.RCodeServerFailure {
				t.Errorf("tcp: mismatched first answer relayed (%v), want SERVFAIL", h.RCode)
			}
		}
		if got := q; binary.BigEndian.Uint16(got) != 0x1234 {
			t.Errorf("%s: Forward changed the caller's query", network)
		}
	}
	if u.udp.Load() != 1 || u.tcp.Load() != 1 {
		t.Errorf("upstream got %d udp and %d tcp queries, want 1 each", u.udp.Load(), u.tcp.Load())
	}
}

// TestTCPRelay checks a TCP query forwarded over TCP with its ID restored.
func TestTCPRelay(t *testing.T) {
	u := startUpstream(t, good(t))
	f, _ := newForwarder(t, Config{Upstream: []netip.AddrPort{u.addr}})
	ans := f.Forward(t.Context(), "tcp", query(t, 7, "example.test.", dnsmessage.TypeA))
	h, qs := header(t, ans)
	if h.ID != 7 || h.RCode != dnsmessage.RCodeSuccess || len(qs) != 1 {
		t.Errorf("answer %+v %v, want ID 7 NOERROR", h, qs)
	}
	if u.tcp.Load() != 1 || u.udp.Load() != 0 {
		t.Errorf("upstream got %d udp and %d tcp queries, want tcp only", u.udp.Load(), u.tcp.Load())
	}
}

// TestFailover has a silent first upstream: the first query times out
// there and is answered by the second; later queries go to the second
// upstream first.
func TestFailover(t *testing.T) {
	for _, network := range []string{"udp", "tcp"} {
		t.Run(network, func(t *testing.T) {
			silent := startUpstream(t, nil)
			u := startUpstream(t, good(t))
			const attempt = 300 * time.Millisecond
			f, logs := newForwarder(t, Config{Upstream: []netip.AddrPort{silent.addr, u.addr}, AttemptTimeout: attempt})

			start := time.Now()
			ans := f.Forward(t.Context(), network, query(t, 1, "example.test.", dnsmessage.TypeA))
			took := time.Since(start)
			if h, _ := header(t, ans); h.RCode != dnsmessage.RCodeSuccess {
				t.Fatalf("answer %v, want NOERROR from the second upstream", h.RCode)
			}
			if took < attempt || took > attempt+time.Second {
				t.Errorf("first query took %v, want about the attempt timeout %v", took, attempt)
			}
			if want := "upstream " + silent.addr.String() + " not answering"; !strings.Contains(logs.String(), want) {
				t.Errorf("log lacks %q:\n%s", want, logs)
			}

			start = time.Now()
			f.Forward(t.Context(), network, query(t, 2, "example.test.", dnsmessage.TypeA))
			if took := time.Since(start); took >= attempt {
				t.Errorf("second query took %v: the silent upstream was asked first again", took)
			}
			if n := silent.udp.Load() + silent.tcp.Load(); n > 1 {
				t.Errorf("silent upstream got %d queries, want 1", n)
			}
		})
	}
}

// TestRefused: an upstream port where nothing listens answers with ICMP
// port unreachable, which fails over at once rather than after a timeout.
func TestRefused(t *testing.T) {
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := pc.LocalAddr().(*net.UDPAddr).AddrPort()
	pc.Close()
	u := startUpstream(t, good(t))
	f, _ := newForwarder(t, Config{Upstream: []netip.AddrPort{closed, u.addr}})
	start := time.Now()
	ans := f.Forward(t.Context(), "udp", query(t, 1, "example.test.", dnsmessage.TypeA))
	if h, _ := header(t, ans); h.RCode != dnsmessage.RCodeSuccess {
		t.Errorf("answer %v, want NOERROR", h.RCode)
	}
	if took := time.Since(start); took > time.Second {
		t.Errorf("took %v, want an immediate failover", took)
	}
}

// TestServFail: without upstreams, and when none answers within the
// query deadline, the client gets SERVFAIL with its ID and question.
func TestServFail(t *testing.T) {
	f, logs := newForwarder(t, Config{})
	if n := strings.Count(logs.String(), NoUpstream); n != 1 {
		t.Errorf("%q logged %d times, want once:\n%s", NoUpstream, n, logs)
	}
	checkServFail(t, f.Forward(t.Context(), "udp", query(t, 9, "example.test.", dnsmessage.TypeA)), 9)
	if n := strings.Count(logs.String(), NoUpstream); n != 1 {
		t.Errorf("%q logged %d times after a query, want once", NoUpstream, n)
	}

	s1, s2 := startUpstream(t, nil), startUpstream(t, nil)
	f, _ = newForwarder(t, Config{Upstream: []netip.AddrPort{s1.addr, s2.addr},
		AttemptTimeout: 300 * time.Millisecond, QueryTimeout: 400 * time.Millisecond})
	start := time.Now()
	checkServFail(t, f.Forward(t.Context(), "udp", query(t, 10, "example.test.", dnsmessage.TypeA)), 10)
	if took := time.Since(start); took < 400*time.Millisecond || took > 1500*time.Millisecond {
		t.Errorf("SERVFAIL after %v, want after the query timeout of 400ms", took)
	}
}

func checkServFail(t *testing.T, ans []byte, id uint16) {
	t.Helper()
	h, qs := header(t, ans)
	if h.ID != id || !h.Response || h.RCode != dnsmessage.RCodeServerFailure || !h.RecursionDesired {
		t.Errorf("answer %+v, want SERVFAIL with ID %d and RD", h, id)
	}
	if len(qs) != 1 || qs[0].Name.String() != "example.test." {
		t.Errorf("answer's question %v, want the query's", qs)
	}
}

// TestTruncated: a truncated UDP answer is relayed as it is, and the
// forwarder does not retry over TCP itself (the client does).
func TestTruncated(t *testing.T) {
	u := startUpstream(t, func(q []byte) [][]byte {
		return [][]byte{answer(t, q, func(h *dnsmessage.Header, _ *dnsmessage.Question) { h.Truncated = true })}
	})
	f, _ := newForwarder(t, Config{Upstream: []netip.AddrPort{u.addr}})
	h, _ := header(t, f.Forward(t.Context(), "udp", query(t, 3, "example.test.", dnsmessage.TypeA)))
	if !h.Truncated || h.RCode != dnsmessage.RCodeSuccess || h.ID != 3 {
		t.Errorf("answer %+v, want the truncated answer", h)
	}
	if u.tcp.Load() != 0 {
		t.Errorf("the forwarder retried over TCP itself")
	}
}

// TestNotQueries: messages too short for a header and responses get no
// answer; a query whose question does not parse gets FORMERR.
func TestNotQueries(t *testing.T) {
	u := startUpstream(t, good(t))
	f, _ := newForwarder(t, Config{Upstream: []netip.AddrPort{u.addr}})
	if ans := f.Forward(t.Context(), "udp", []byte{1, 2, 3}); ans != nil {
		t.Errorf("3-byte message answered: %x", ans)
	}
	resp := answer(t, query(t, 4, "example.test.", dnsmessage.TypeA), nil)
	if ans := f.Forward(t.Context(), "udp", resp); ans != nil {
		t.Errorf("response answered: %x", ans)
	}
	bad := query(t, 5, "example.test.", dnsmessage.TypeA)[:14] // QDCOUNT 1, question cut
	h, _ := header(t, f.Forward(t.Context(), "udp", bad))
	if h.ID != 5 || h.RCode != dnsmessage.RCodeFormatError {
		t.Errorf("cut query answered %+v, want FORMERR with ID 5", h)
	}
	if u.udp.Load() != 0 {
		t.Errorf("upstream got %d queries, want none", u.udp.Load())
	}
}

// TestSelf: an upstream on an address the forwarder listens on is left out.
func TestSelf(t *testing.T) {
	a, b := netip.MustParseAddrPort("192.0.2.1:53"), netip.MustParseAddrPort("198.51.100.2:53")
	f, logs := newForwarder(t, Config{Upstream: []netip.AddrPort{a, b}})
	f.AddSelf(a)
	if got := f.Upstreams(); !slices.Equal(got, []netip.AddrPort{b}) {
		t.Errorf("upstreams %v, want [%s]", got, b)
	}
	if !strings.Contains(logs.String(), "ignoring upstream 192.0.2.1:53") {
		t.Errorf("log lacks why:\n%s", logs)
	}
}

// TestLease follows a lease file as dhcp4c writes it: missing, written,
// replaced, broken, removed.
func TestLease(t *testing.T) {
	path := filepath.Join(t.TempDir(), "dhcp4c.json")
	static := netip.MustParseAddrPort("192.0.2.53:53")
	f, logs := newForwarder(t, Config{Upstream: []netip.AddrPort{static}, Leases: []string{path}, LeasePoll: 20 * time.Millisecond})
	go f.Watch(t.Context())
	waitUpstreams := func(want ...string) { t.Helper(); waitUpstreams(t, f, want...) }
	waitUpstreams("192.0.2.53:53")

	// As dhcp4c writes it, with fields the forwarder does not read.
	write := func(dns ...string) {
		t.Helper()
		l := map[string]any{"iface": "eth0", "address": "198.51.100.10", "dns": dns}
		if err := statefile.Write(path, l); err != nil {
			t.Fatal(err)
		}
	}
	write("198.51.100.2", "192.0.2.53")
	waitUpstreams("192.0.2.53:53", "198.51.100.2:53")
	if !strings.Contains(logs.String(), "upstream DNS servers: 192.0.2.53:53 (static), 198.51.100.2:53 (lease)") {
		t.Errorf("log lacks the new servers:\n%s", logs)
	}
	write("198.51.100.3")
	waitUpstreams("192.0.2.53:53", "198.51.100.3:53")

	if err := os.WriteFile(path+".tmp", []byte("{not json"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path+".tmp", path); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(3 * time.Second)
	for !strings.Contains(logs.String(), "keeping the upstream servers as they are") {
		if time.Now().After(deadline) {
			t.Fatalf("broken lease file not reported:\n%s", logs)
		}
		time.Sleep(10 * time.Millisecond)
	}
	waitUpstreams("192.0.2.53:53", "198.51.100.3:53")

	os.Remove(path)
	waitUpstreams("192.0.2.53:53")
}

// TestLeaseOnly starts with no upstream at all, says so, then takes the
// lease's servers.
func TestLeaseOnly(t *testing.T) {
	path := filepath.Join(t.TempDir(), "dhcp4c.json")
	f, logs := newForwarder(t, Config{Leases: []string{path}, LeasePoll: 20 * time.Millisecond})
	if !strings.Contains(logs.String(), NoUpstream+"; answering SERVFAIL (the leases in "+path+" list none yet)") {
		t.Errorf("log lacks %q:\n%s", NoUpstream, logs)
	}
	go f.Watch(t.Context())
	if err := statefile.Write(path, lease{DNS: []netip.Addr{netip.MustParseAddr("198.51.100.2")}}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(3 * time.Second)
	for !slices.Equal(f.Upstreams(), []netip.AddrPort{netip.MustParseAddrPort("198.51.100.2:53")}) {
		if time.Now().After(deadline) {
			t.Fatalf("upstreams %v after the lease was written; log:\n%s", f.Upstreams(), logs)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if n := strings.Count(logs.String(), NoUpstream); n != 1 {
		t.Errorf("%q logged %d times, want once", NoUpstream, n)
	}
}

// serve runs f on loopback UDP and TCP sockets and returns their address.
func serve(t *testing.T, f *Forwarder) string {
	t.Helper()
	pc, l := listenBoth(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{}, 2)
	go func() { f.ServeUDP(ctx, pc); done <- struct{}{} }()
	go func() { f.ServeTCP(ctx, l); done <- struct{}{} }()
	t.Cleanup(func() {
		cancel()
		for range 2 {
			select {
			case <-done:
			case <-time.After(5 * time.Second):
				t.Error("Serve did not return after cancel")
				return
			}
		}
	})
	return pc.LocalAddr().String()
}

// TestServe resolves through ServeUDP and ServeTCP with Go's resolver.
func TestServe(t *testing.T) {
	u := startUpstream(t, good(t))
	f, _ := newForwarder(t, Config{Upstream: []netip.AddrPort{u.addr}, Verbose: true})
	addr := serve(t, f)
	for _, network := range []string{"udp", "tcp"} {
		r := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
			d := net.Dialer{Timeout: 2 * time.Second}
			return d.DialContext(ctx, network, addr)
		}}
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		ips, err := r.LookupNetIP(ctx, "ip4", "example.test")
		cancel()
		if err != nil || len(ips) != 1 || ips[0] != netip.AddrFrom4(answerIP) {
			t.Errorf("%s: LookupNetIP = %v, %v; want [203.0.113.7]", network, ips, err)
		}
	}
	if u.udp.Load() == 0 || u.tcp.Load() == 0 {
		t.Errorf("upstream got %d udp and %d tcp queries, want both", u.udp.Load(), u.tcp.Load())
	}
}

// TestTCPHalfClose: a client that shuts down its sending side after the
// query still gets the answer.
func TestTCPHalfClose(t *testing.T) {
	u := startUpstream(t, good(t))
	f, _ := newForwarder(t, Config{Upstream: []netip.AddrPort{u.addr}})
	c, err := net.DialTimeout("tcp", serve(t, f), 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	for id := range uint16(3) { // pipelined
		if err := writeMsg(c, query(t, id, "example.test.", dnsmessage.TypeA)); err != nil {
			t.Fatal(err)
		}
	}
	c.(*net.TCPConn).CloseWrite()
	seen := map[uint16]bool{}
	for range 3 {
		ans, err := readMsg(c)
		if err != nil {
			t.Fatalf("after %d answers: %v", len(seen), err)
		}
		h, _ := header(t, ans)
		seen[h.ID] = true
	}
	if len(seen) != 3 {
		t.Errorf("answers to IDs %v, want 0, 1, 2", seen)
	}
}

// TestInFlightLimit: with the one in-flight slot taken by a query to a
// silent upstream, a TCP query gets SERVFAIL at once.
func TestInFlightLimit(t *testing.T) {
	silent := startUpstream(t, nil)
	f, logs := newForwarder(t, Config{Upstream: []netip.AddrPort{silent.addr}, MaxInFlight: 1, AttemptTimeout: 3 * time.Second})
	addr := serve(t, f)
	dial := func() net.Conn {
		c, err := net.DialTimeout("tcp", addr, 2*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		c.SetDeadline(time.Now().Add(5 * time.Second))
		return c
	}
	c1 := dial()
	writeMsg(c1, query(t, 1, "example.test.", dnsmessage.TypeA))
	deadline := time.Now().Add(3 * time.Second)
	for silent.tcp.Load() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("first query never reached the upstream")
		}
		time.Sleep(10 * time.Millisecond)
	}
	c2 := dial()
	start := time.Now()
	writeMsg(c2, query(t, 2, "example.test.", dnsmessage.TypeA))
	ans, err := readMsg(c2)
	if err != nil {
		t.Fatal(err)
	}
	checkServFail(t, ans, 2)
	if took := time.Since(start); took > time.Second {
		t.Errorf("SERVFAIL after %v, want at once", took)
	}
	if !strings.Contains(logs.String(), "1 queries in flight") {
		t.Errorf("log lacks the limit:\n%s", logs)
	}
}

// TestLeases takes the servers of two lease files, dhcp4c's and
// dhcp6c's, in the order of the files, and follows each on its own.
func TestLeases(t *testing.T) {
	dir := t.TempDir()
	v4, v6 := filepath.Join(dir, "dhcp4c.json"), filepath.Join(dir, "dhcp6c.json")
	f, _ := newForwarder(t, Config{Leases: []string{v4, v6}, LeasePoll: 20 * time.Millisecond})
	go f.Watch(t.Context())
	want := func(ups ...string) { t.Helper(); waitUpstreams(t, f, ups...) }
	write := func(path string, dns ...string) {
		t.Helper()
		// dhcp6c's state as it writes it, with fields not read here.
		st := map[string]any{"iface": "eth0", "prefixes": []any{}, "dns": dns}
		if err := statefile.Write(path, st); err != nil {
			t.Fatal(err)
		}
	}
	write(v6, "2001:db8:2::2")
	want("[2001:db8:2::2]:53")
	write(v4, "198.51.100.2")
	want("198.51.100.2:53", "[2001:db8:2::2]:53")
	write(v6, "2001:db8:2::3", "198.51.100.2")
	want("198.51.100.2:53", "[2001:db8:2::3]:53")
	os.Remove(v4)
	want("[2001:db8:2::3]:53", "198.51.100.2:53")
}

// waitUpstreams waits up to 3 s for f's upstream servers to be want, in
// order (newForwarder logs the forwarder's lines if it fails).
func waitUpstreams(t *testing.T, f *Forwarder, want ...string) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for {
		var got []string
		for _, u := range f.Upstreams() {
			got = append(got, u.String())
		}
		if slices.Equal(got, want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("upstreams %v, want %v", got, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
