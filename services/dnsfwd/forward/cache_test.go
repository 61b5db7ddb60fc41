package forward

import (
	"io"
	"log"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

// reply describes what the test upstream answers; the zero value is an A
// record with TTL 300.
type upReply struct {
	rcode          dnsmessage.RCode
	ttl            uint32 // of the A record
	noData         bool   // no answer records
	soa            bool   // a SOA in the authority section
	soaTTL, soaMin uint32
	tc             bool
}

func buildReply(t testing.TB, q []byte, r upReply) []byte {
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
	h.Response, h.RecursionAvailable, h.RCode, h.Truncated = true, true, r.rcode, r.tc
	b := dnsmessage.NewBuilder(nil, h)
	b.EnableCompression()
	b.StartQuestions()
	b.Question(qq)
	b.StartAnswers()
	if r.rcode == dnsmessage.RCodeSuccess && !r.noData {
		ttl := r.ttl
		if ttl == 0 {
			ttl = 300
		}
		b.AResource(dnsmessage.ResourceHeader{Name: qq.Name, Class: dnsmessage.ClassINET, TTL: ttl}, dnsmessage.AResource{A: answerIP})
	}
	b.StartAuthorities()
	if r.soa {
		zone := dnsmessage.MustNewName("test.")
		b.SOAResource(dnsmessage.ResourceHeader{Name: zone, Class: dnsmessage.ClassINET, TTL: r.soaTTL}, dnsmessage.SOAResource{
			NS: dnsmessage.MustNewName("ns.test."), MBox: dnsmessage.MustNewName("host.test."),
			Serial: 1, Refresh: 3600, Retry: 600, Expire: 86400, MinTTL: r.soaMin})
	}
	msg, err := b.Finish()
	if err != nil {
		t.Fatal(err)
	}
	return msg
}

// cached returns a forwarder with a cache on a fake clock, and its
// upstream answering with r.
func cached(t *testing.T, size int, r *upReply, strip bool) (*Forwarder, *upstream, *time.Time) {
	t.Helper()
	u := startUpstream(t, func(q []byte) [][]byte { return [][]byte{buildReply(t, q, *r)} })
	if size == 0 {
		size = DefaultCacheSize
	}
	f, _ := newForwarder(t, Config{Upstream: []netip.AddrPort{u.addr}, CacheSize: size, StripECH: strip})
	now := time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)
	f.cache.now = func() time.Time { return now }
	return f, u, &now
}

func ttls(t *testing.T, ans []byte) []uint32 {
	t.Helper()
	var m dnsmessage.Message
	if err := m.Unpack(ans); err != nil {
		t.Fatal(err)
	}
	var out []uint32
	for _, r := range append(m.Answers, m.Authorities...) {
		out = append(out, r.Header.TTL)
	}
	return out
}

// TestCacheTTL: a repeated question is answered from the cache with its
// TTL decremented, under any case of the name, until the TTL runs out.
func TestCacheTTL(t *testing.T) {
	r := &upReply{ttl: 300}
	f, u, now := cached(t, 0, r, false)
	ask := func(id uint16, name, network string) []byte {
		ans := f.Forward(t.Context(), network, query(t, id, name, dnsmessage.TypeA))
		if h, _ := header(t, ans); h.ID != id {
			t.Fatalf("answer ID %d, want %d", h.ID, id)
		}
		return ans
	}
	ask(1, "www.example.test.", "udp")
	*now = now.Add(100 * time.Second)
	ans := ask(2, "WWW.Example.TEST.", "tcp")
	if got := ttls(t, ans); len(got) != 1 || got[0] != 200 {
		t.Errorf("cached TTLs %v after 100 s, want [200]", got)
	}
	// The question comes back as the client spelled it (resolvers that
	// randomize the case, "0x20", check it).
	if _, qs := header(t, ans); qs[0].Name.String() != "WWW.Example.TEST." {
		t.Errorf("cached answer's question %s, want the client's WWW.Example.TEST.", qs[0].Name)
	}
	if n := u.udp.Load() + u.tcp.Load(); n != 1 {
		t.Errorf("upstream asked %d times, want 1", n)
	}
	// Another type, and the DO bit, are other questions.
	f.Forward(t.Context(), "udp", query(t, 3, "www.example.test.", dnsmessage.TypeAAAA))
	f.Forward(t.Context(), "udp", withDO(t, query(t, 4, "www.example.test.", dnsmessage.TypeA)))
	if n := u.udp.Load() + u.tcp.Load(); n != 3 {
		t.Errorf("upstream asked %d times after AAAA and DO, want 3", n)
	}
	*now = now.Add(200 * time.Second) // 300 s: expired
	ask(5, "www.example.test.", "udp")
	if n := u.udp.Load() + u.tcp.Load(); n != 4 {
		t.Errorf("upstream asked %d times after the TTL ran out, want 4", n)
	}
}

// withDO adds an OPT record with the DO bit to q.
func withDO(t *testing.T, q []byte) []byte {
	t.Helper()
	var m dnsmessage.Message
	if err := m.Unpack(q); err != nil {
		t.Fatal(err)
	}
	var opt dnsmessage.ResourceHeader
	if err := opt.SetEDNS0(1232, dnsmessage.RCodeSuccess, true); err != nil {
		t.Fatal(err)
	}
	m.Additionals = append(m.Additionals, dnsmessage.Resource{Header: opt, Body: &dnsmessage.OPTResource{}})
	b, err := m.Pack()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestCacheWhat: which answers are cached, and for how long.
func TestCacheWhat(t *testing.T) {
	for _, tc := range []struct {
		name string
		r    upReply
		want time.Duration // 0: not cached
	}{
		{"positive", upReply{ttl: 60}, 60 * time.Second},
		{"positive capped", upReply{ttl: 86400 * 7}, maxTTL},
		{"SERVFAIL", upReply{rcode: dnsmessage.RCodeServerFailure}, 0},
		{"REFUSED", upReply{rcode: dnsmessage.RCodeRefused}, 0},
		{"truncated", upReply{tc: true, noData: true}, 0},
		{"NXDOMAIN with SOA MINIMUM below TTL", upReply{rcode: dnsmessage.RCodeNameError, soa: true, soaTTL: 3600, soaMin: 30}, 30 * time.Second},
		{"NXDOMAIN with SOA TTL below MINIMUM", upReply{rcode: dnsmessage.RCodeNameError, soa: true, soaTTL: 20, soaMin: 900}, 20 * time.Second},
		{"NXDOMAIN capped", upReply{rcode: dnsmessage.RCodeNameError, soa: true, soaTTL: 86400, soaMin: 86400}, maxNegTTL},
		{"NXDOMAIN without SOA", upReply{rcode: dnsmessage.RCodeNameError}, 0},
		{"NODATA with SOA", upReply{noData: true, soa: true, soaTTL: 600, soaMin: 120}, 120 * time.Second},
		{"NODATA without SOA", upReply{noData: true}, 0},
	} {
		r := tc.r
		f, u, now := cached(t, 0, &r, false)
		q := query(t, 1, "x.test.", dnsmessage.TypeA)
		f.Forward(t.Context(), "udp", q)
		f.Forward(t.Context(), "udp", q)
		asked := u.udp.Load()
		switch {
		case tc.want == 0 && asked != 2:
			t.Errorf("%s: cached (upstream asked %d times), want not", tc.name, asked)
		case tc.want != 0 && asked != 1:
			t.Errorf("%s: not cached (upstream asked %d times)", tc.name, asked)
		case tc.want != 0:
			*now = now.Add(tc.want - time.Second)
			f.Forward(t.Context(), "udp", q)
			*now = now.Add(time.Second)
			f.Forward(t.Context(), "udp", q)
			if asked := u.udp.Load(); asked != 2 {
				t.Errorf("%s: upstream asked %d times over the lifetime %v and once after, want 2", tc.name, asked, tc.want)
			}
		}
	}
}

// TestCacheBound: the cache holds at most its size, the least recently
// used answers going first.
func TestCacheBound(t *testing.T) {
	r := &upReply{}
	f, u, _ := cached(t, 16<<10, r, false)
	keep := query(t, 1, "keep.test.", dnsmessage.TypeA)
	for i := range 1000 {
		f.Forward(t.Context(), "udp", keep) // used all along: stays
		f.Forward(t.Context(), "udp", query(t, 2, strings.Repeat("a", i%50+1)+".n"+strconv.Itoa(i)+".test.", dnsmessage.TypeA))
	}
	if f.cache.used > 16<<10 || f.cache.len() > 16<<10/entryOverhead {
		t.Errorf("cache holds %d bytes in %d entries, want at most %d bytes", f.cache.used, f.cache.len(), 16<<10)
	}
	if f.cache.len() < 20 {
		t.Errorf("cache holds only %d entries", f.cache.len())
	}
	if got := u.udp.Load(); got != 1001 {
		t.Errorf("upstream asked %d times, want 1001 (keep.test once)", got)
	}
}

// TestCacheStripECH: an answer from the cache is stripped of ech as a
// forwarded one is.
func TestCacheStripECH(t *testing.T) {
	withECH := pack(t, []dnsmessage.Resource{rr("Www.Example.test.", 1234, https(alpn, v4hint, ech))}, nil)
	u := startUpstream(t, func(q []byte) [][]byte {
		ans := append([]byte(nil), withECH...)
		copy(ans, q[:2])
		return [][]byte{ans}
	})
	f, _ := newForwarder(t, Config{Upstream: []netip.AddrPort{u.addr}, StripECH: true, CacheSize: DefaultCacheSize})
	for i := range 3 {
		m := unpack(t, f.Forward(t.Context(), "udp", query(t, uint16(i), "www.example.test.", dnsmessage.TypeHTTPS)))
		if len(m.Answers) != 1 {
			t.Fatalf("query %d: %s", i, m.GoString())
		}
		if _, has := m.Answers[0].Body.(*dnsmessage.HTTPSResource).GetParam(dnsmessage.SVCParamECH); has {
			t.Errorf("query %d: answer has ech", i)
		}
	}
	if n := u.udp.Load(); n != 1 {
		t.Errorf("upstream asked %d times, want 1", n)
	}
}

// BenchmarkCacheHit is the forwarder's cost of an answer from the cache
// (no sockets).
func BenchmarkCacheHit(b *testing.B) {
	f := New(Config{Upstream: []netip.AddrPort{netip.MustParseAddrPort("127.0.0.1:9")}}, log.New(io.Discard, "", 0))
	q := query(b, 1, "www.example.test.", dnsmessage.TypeA)
	f.cache.put(cacheKeyOf(b, q), buildReply(b, q, upReply{ttl: 300}))
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if f.Forward(b.Context(), "udp", q) == nil {
				b.Fatal("no answer")
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "answers/s")
}

func cacheKeyOf(t testing.TB, q []byte) string {
	h, qs, err := parseQuery(q)
	if err != nil {
		t.Fatal(err)
	}
	do, _ := queryEDNS(q)
	return cacheKey(h, qs, do)
}
