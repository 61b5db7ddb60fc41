package domains

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
)

// build reads text as "test" and fails on a read error.
func build(t *testing.T, text string) (*List, *Builder) {
	t.Helper()
	var b Builder
	if err := b.Read(strings.NewReader(text), "test"); err != nil {
		t.Fatalf("Read: %v", err)
	}
	return b.List(), &b
}

// check wants each host of match on l and none of miss.
func check(t *testing.T, l *List, match, miss []string) {
	t.Helper()
	for _, h := range match {
		if !l.Match(h) {
			t.Errorf("Match(%q) = false, want true", h)
		}
	}
	for _, h := range miss {
		if l.Match(h) {
			t.Errorf("Match(%q) = true, want false", h)
		}
	}
}

func TestSyntax(t *testing.T) {
	for _, tc := range []struct {
		name, entry string
		match, miss []string
	}{
		{"exact", "example.com", []string{"example.com", "EXAMPLE.com", "example.com."}, []string{"www.example.com", "xexample.com", "com", "example.co"}},
		{"domain", ".example.com", []string{"example.com", "a.example.com", "a.b.c.example.com"}, []string{"xexample.com", "com", "example.com.evil"}},
		{"wildcard", "*.example.com", []string{"example.com", "a.example.com"}, []string{"xexample.com"}},
		{"trailing dot", "example.com.", []string{"example.com", "Example.Com."}, []string{"a.example.com"}},
		{"domain trailing dot", ".example.com.", []string{"a.example.com."}, []string{"com"}},
		{"upper case", "ExAmPle.COM", []string{"example.com"}, nil},
		{"underscore", "_ads.example", []string{"_ads.example"}, []string{"ads.example"}},
		{"IDN entry", "bücher.example", []string{"xn--bcher-kva.example", "bücher.example", "BÜCHER.example"}, []string{"bucher.example"}},
		{"A-label entry", ".xn--bcher-kva.example", []string{"bücher.example", "www.bücher.example"}, nil},
		{"IPv4", "198.51.100.2", []string{"198.51.100.2"}, []string{"198.51.100.20", "x.198.51.100.2"}},
		{"IPv6", "2001:DB8:0::2", []string{"2001:db8::2", "[2001:db8::2]", "2001:0db8::2"}, []string{"2001:db8::3"}},
		{"comment after", "example.com # ads", []string{"example.com"}, []string{"ads"}},
		{"CRLF", "example.com\r", []string{"example.com"}, nil},
		{"tabs", "\t .example.com \t", []string{"a.example.com"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, b := build(t, tc.entry+"\n")
			if _, n := b.Problems(); n != 0 || l.Len() != 1 {
				p, _ := b.Problems()
				t.Fatalf("Len %d, problems %q; want one entry, none", l.Len(), p)
			}
			check(t, l, tc.match, tc.miss)
		})
	}
}

func TestBadLines(t *testing.T) {
	text := strings.Join([]string{
		"# a blocklist",
		"",
		".",                                  // 3: the root
		"*.",                                 // 4
		"a..example",                         // 5: empty label
		"*example.com",                       // 6
		"ex ample.com",                       // 7: two fields, the first no address
		"exa$mple.com",                       // 8
		strings.Repeat("a", 64) + ".example", // 9
		".198.51.100.2",                      // 10
		"good.example",
		strings.Repeat("a.", 130) + "example", // 12: over 253
	}, "\n")
	l, b := build(t, text)
	p, n := b.Problems()
	if n != 9 || len(p) != 9 {
		t.Fatalf("problems %d %q, want 9", n, p)
	}
	for i, line := range []string{"3", "4", "5", "6", "7", "8", "9", "10", "12"} {
		if !strings.HasPrefix(p[i], "test:"+line+": ") {
			t.Errorf("problem %d = %q, want test:%s: ...", i, p[i], line)
		}
	}
	if l.Len() != 1 || !l.Match("good.example") {
		t.Errorf("Len %d; want good.example alone", l.Len())
	}
}

func TestHostsFile(t *testing.T) {
	text := "127.0.0.1 localhost\r\n" +
		"127.0.0.1 localhost.localdomain local\r\n" +
		"255.255.255.255 broadcasthost\r\n" +
		"::1 localhost ip6-localhost ip6-loopback\r\n" +
		"fe00::0 ip6-localnet\r\n" +
		"ff02::1 ip6-allnodes\r\n" +
		"0.0.0.0 0.0.0.0\r\n" +
		"# Ads\r\n" +
		"0.0.0.0 ads.example # tracker\r\n" +
		"127.0.0.1 a.example b.example\tc.example\r\n" +
		"::1 x.example\r\n" +
		"0.0.0.0 ADS.example\r\n"
	l, b := build(t, text)
	if p, n := b.Problems(); n != 0 {
		t.Fatalf("problems %q", p)
	}
	if l.Len() != 5 {
		t.Errorf("Len = %d, want 5", l.Len())
	}
	check(t, l,
		[]string{"ads.example", "a.example", "b.example", "c.example", "x.example"},
		[]string{"localhost", "local", "broadcasthost", "ip6-localhost", "0.0.0.0", "sub.ads.example", "tracker"})
}

func TestMerge(t *testing.T) {
	l, _ := build(t, "example.com\n.example.com\nexample.com\n0.0.0.0 example.com\n")
	if l.Len() != 1 {
		t.Errorf("Len = %d, want 1 for one name given four times", l.Len())
	}
	check(t, l, []string{"example.com", "a.example.com"}, nil)
}

func TestAdd(t *testing.T) {
	var b Builder
	for _, e := range []string{".example.com", "one.test", "*.two.test"} {
		if err := b.Add(e); err != nil {
			t.Errorf("Add(%q): %v", e, err)
		}
	}
	for _, e := range []string{".", "", "a b", "0.0.0.0 x.test", "*x.test"} {
		if err := b.Add(e); err == nil {
			t.Errorf("Add(%q) = nil, want an error", e)
		}
	}
	before := b.List()
	b.Add("three.test")
	after := b.List()
	check(t, before, []string{"x.example.com", "one.test", "two.test"}, []string{"three.test"})
	check(t, after, []string{"three.test", "one.test"}, nil)
	if _, n := b.Problems(); n != 0 {
		t.Errorf("Add counted %d problems, want none", n)
	}
}

func TestLongLine(t *testing.T) {
	l, b := build(t, "a.example\n"+strings.Repeat("x", maxLine+10)+"\nb.example")
	p, n := b.Problems()
	if n != 1 || !strings.HasPrefix(p[0], "test:2: line longer") {
		t.Errorf("problems %q, want test:2 too long", p)
	}
	check(t, l, []string{"a.example", "b.example"}, nil)
}

func TestReadError(t *testing.T) {
	var b Builder
	boom := errors.New("boom")
	if err := b.Read(iotest.ErrReader(boom), "x"); !errors.Is(err, boom) {
		t.Errorf("Read = %v, want boom", err)
	}
}

func TestManyProblems(t *testing.T) {
	_, b := build(t, strings.Repeat("bad$name\n", 100))
	p, n := b.Problems()
	if n != 100 || len(p) != maxProblems {
		t.Errorf("Problems: %d kept, %d in all; want %d, 100", len(p), n, maxProblems)
	}
}

func TestNilAndEmpty(t *testing.T) {
	var l *List
	if l.Len() != 0 || l.Match("example.com") {
		t.Error("nil list is not empty")
	}
	var b Builder
	e := b.List()
	if e.Len() != 0 || e.Match("example.com") || e.Match("") {
		t.Error("empty list is not empty")
	}
	l, _ = build(t, ".example.com")
	for _, h := range []string{"", ".", "[]", "com."} {
		if l.Match(h) {
			t.Errorf("Match(%q) = true", h)
		}
	}
	if !l.Match(strings.Repeat("a.", 200) + "example.com") {
		t.Error("a name longer than a DNS name escapes its domain")
	}
}

func TestPolicy(t *testing.T) {
	deny, _ := build(t, ".bad.example\n.school.example")
	allow, _ := build(t, ".school.example\n")
	empty, _ := build(t, "")
	for _, tc := range []struct {
		name   string
		p      *Policy
		active bool
		denied []string
		passed []string
	}{
		{"nil", nil, false, nil, []string{"bad.example"}},
		{"neither", &Policy{}, false, nil, []string{"bad.example"}},
		{"empty lists", &Policy{Deny: empty, Allow: empty}, false, nil, []string{"bad.example"}},
		{"deny only", &Policy{Deny: deny}, true, []string{"bad.example", "x.bad.example", "school.example"}, []string{"good.example"}},
		{"allow only", &Policy{Allow: allow}, true, []string{"good.example", "bad.example", "198.51.100.2"}, []string{"school.example", "www.school.example"}},
		{"both", &Policy{Deny: deny, Allow: allow}, true, []string{"bad.example"}, []string{"school.example", "good.example"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.p.Active(); got != tc.active {
				t.Errorf("Active = %v, want %v", got, tc.active)
			}
			for _, h := range tc.denied {
				if !tc.p.Denied(h) {
					t.Errorf("Denied(%q) = false", h)
				}
			}
			for _, h := range tc.passed {
				if tc.p.Denied(h) {
					t.Errorf("Denied(%q) = true", h)
				}
			}
		})
	}
}

// TestConcurrent matches from many goroutines at once (run with -race)
// while the builder goes on adding to a later list.
func TestConcurrent(t *testing.T) {
	var b Builder
	for i := range 1000 {
		b.Add(name(i))
	}
	l := b.List()
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 2000 {
				if !l.Match("x." + name(i%1000)) {
					t.Errorf("goroutine %d: %s missing", g, name(i%1000))
					return
				}
				if l.Match(name(1000 + i)) {
					t.Errorf("goroutine %d: %s present", g, name(1000+i))
					return
				}
			}
		})
	}
	for i := 1000; i < 3000; i++ {
		b.Add(name(i))
	}
	wg.Wait()
	if l.Len() != 1000 || b.List().Len() != 3000 {
		t.Errorf("Len %d and %d, want 1000 and 3000", l.Len(), b.List().Len())
	}
}
