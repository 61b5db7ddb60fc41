package top

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"
)

// clock is a Counter's time, moved by the test.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func newAt(t0 time.Time) (*Counter, *clock) {
	c := New()
	k := &clock{t0}
	c.now = k.now
	return c, k
}

var (
	a1 = netip.MustParseAddr("192.0.2.1")
	a2 = netip.MustParseAddr("2001:db8::2")
)

// TestRanking: most transactions first, then most bytes, then the name;
// at most Rows rows; clients by address, a v4-mapped one as IPv4.
func TestRanking(t *testing.T) {
	c, _ := newAt(time.Unix(1764100000, 0))
	c.Add([]byte("b.example"), a1, 10)
	c.Add([]byte("a.example"), a1, 10)
	c.Add([]byte("c.example"), a2, 5)
	c.Add([]byte("c.example"), netip.MustParseAddr("::ffff:192.0.2.1"), 1)
	c.Add([]byte("d.example"), a2, 100)
	for i := range 20 {
		c.Add(fmt.Appendf(nil, "n%02d.example", i), a2, 1)
	}
	got := c.Snapshot()
	want := []Entry{{"c.example", 2, 6}, {"d.example", 1, 100}, {"a.example", 1, 10}, {"b.example", 1, 10},
		{"n00.example", 1, 1}, {"n01.example", 1, 1}, {"n02.example", 1, 1}, {"n03.example", 1, 1},
		{"n04.example", 1, 1}, {"n05.example", 1, 1}}
	if fmt.Sprint(got.Hosts) != fmt.Sprint(want) {
		t.Errorf("hosts %v\nwant %v", got.Hosts, want)
	}
	wantC := []Entry{{"2001:db8::2", 22, 125}, {"192.0.2.1", 3, 21}}
	if fmt.Sprint(got.Clients) != fmt.Sprint(wantC) {
		t.Errorf("clients %v, want %v", got.Clients, wantC)
	}
	if got.WindowSeconds != 300 {
		t.Errorf("window %d", got.WindowSeconds)
	}
}

// TestWindow: a minute's counts are in every snapshot of the next four
// minutes and gone in the fifth; a bucket reused for a later minute
// starts empty.
func TestWindow(t *testing.T) {
	t0 := time.Unix(1764100020, 0) // 20 s into a minute
	c, k := newAt(t0)
	c.Add([]byte("old.example"), a1, 1)
	k.t = t0.Add(4 * time.Minute)
	c.Add([]byte("new.example"), a1, 1)
	if h := c.Snapshot().Hosts; len(h) != 2 {
		t.Errorf("4 minutes on: %v, want both", h)
	}
	k.t = t0.Add(5 * time.Minute)
	if h := c.Snapshot().Hosts; len(h) != 1 || h[0].Name != "new.example" {
		t.Errorf("5 minutes on: %v, want new.example alone", h)
	}
	c.Add([]byte("newer.example"), a2, 1) // reuses old.example's bucket
	k.t = t0.Add(6 * time.Minute)
	if h := c.Snapshot().Hosts; len(h) != 2 || h[0].Name != "new.example" || h[1].Name != "newer.example" {
		t.Errorf("6 minutes on: %v", h)
	}
	k.t = t0.Add(time.Hour)
	if got := c.Snapshot(); len(got.Hosts) != 0 || len(got.Clients) != 0 {
		t.Errorf("an hour on: %+v, want empty", got)
	}
}

// TestBounded: names beyond MaxKeys in a minute go to Other, overlong
// names are cut, and the JSON has empty lists rather than null.
func TestBounded(t *testing.T) {
	c, _ := newAt(time.Unix(1764100000, 0))
	for i := range MaxKeys + 100 {
		c.Add(fmt.Appendf(nil, "h%d.example", i), netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)}), 1)
	}
	c.Add([]byte("h1.example"), netip.AddrFrom4([4]byte{10, 0, 0, 1}), 1) // known names still count as themselves
	if n := len(c.b[0].hosts) + len(c.b[1].hosts) + len(c.b[2].hosts) + len(c.b[3].hosts) + len(c.b[4].hosts); n != MaxKeys {
		t.Errorf("%d host names kept, want %d", n, MaxKeys)
	}
	got := c.Snapshot()
	if got.Hosts[0] != (Entry{Other, 100, 100}) || got.Clients[0] != (Entry{Other, 100, 100}) {
		t.Errorf("first rows %v %v, want (other) with 100", got.Hosts[0], got.Clients[0])
	}
	if got.Hosts[1] != (Entry{"h1.example", 2, 2}) {
		t.Errorf("second host row %v", got.Hosts[1])
	}
	c, _ = newAt(time.Unix(1764100000, 0))
	c.Add([]byte(strings.Repeat("x", 1000)), a1, 1)
	if h := c.Snapshot().Hosts; len(h[0].Name) != MaxName {
		t.Errorf("name of %d bytes kept, want %d", len(h[0].Name), MaxName)
	}
	js, _ := json.Marshal(New().Snapshot())
	if string(js) != `{"window_seconds":300,"hosts":[],"clients":[]}` {
		t.Errorf("empty: %s", js)
	}
}

// TestConcurrent runs Add and Snapshot at once (for -race).
func TestConcurrent(t *testing.T) {
	c := New()
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 1000 {
				c.Add(fmt.Appendf(nil, "h%d", i%50), netip.AddrFrom4([4]byte{10, 0, 0, byte(g)}), 100)
			}
		})
	}
	wg.Go(func() {
		for range 50 {
			c.Snapshot()
		}
	})
	wg.Wait()
	var n uint64
	for _, e := range c.Snapshot().Clients {
		n += e.Count
	}
	if n != 8000 {
		t.Errorf("%d transactions counted, want 8000", n)
	}
}

// TestAddDoesNotAllocate: a name already in its minute costs no
// allocation.
func TestAddDoesNotAllocate(t *testing.T) {
	c := New()
	h := []byte("www.example.com")
	c.Add(h, a1, 1)
	if n := testing.AllocsPerRun(1000, func() { c.Add(h, a1, 1500) }); n != 0 {
		t.Errorf("Add allocates %v times", n)
	}
}

// BenchmarkAdd is the cost per transaction on the proxy's path: names
// already in the minute, as for a busy proxy.
func BenchmarkAdd(b *testing.B) {
	c := New()
	hosts := make([][]byte, 64)
	for i := range hosts {
		hosts[i] = fmt.Appendf(nil, "host%d.example.com", i)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		c.Add(hosts[i%64], netip.AddrFrom4([4]byte{192, 168, 1, byte(i % 32)}), 1500)
		i++
	}
}

// BenchmarkAddParallel is BenchmarkAdd from every CPU at once: the
// mutex contended.
func BenchmarkAddParallel(b *testing.B) {
	c := New()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		h := []byte("www.example.com")
		for pb.Next() {
			c.Add(h, a1, 1500)
		}
	})
}

func BenchmarkSnapshot(b *testing.B) {
	c := New()
	for i := range MaxKeys {
		c.Add(fmt.Appendf(nil, "host%d.example.com", i), netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)}), 1500)
	}
	b.ReportAllocs()
	for b.Loop() {
		c.Snapshot()
	}
}
