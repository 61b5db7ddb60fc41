package domains

import (
	"bytes"
	"fmt"
	"runtime"
	"strconv"
	"testing"
	"time"
)

// million is the size of the list the issue sets targets for: it loads
// in at most 2 s into at most 64 MiB.
const million = 1_000_000

// name returns the i-th generated domain entry, as blocklists look:
// ".ads-<i>.tracker<i%97>.example".
func name(i int) string {
	return ".ads-" + strconv.Itoa(i) + ".tracker" + strconv.Itoa(i%97) + ".example"
}

// hostsText returns n names as hosts-file lines, half of them, and
// dstdomain lines, the other half.
func hostsText(n int) []byte {
	var buf bytes.Buffer
	buf.Grow(n * 40)
	for i := range n {
		if i%2 == 0 {
			buf.WriteString("0.0.0.0 " + name(i)[1:] + "\n")
		} else {
			buf.WriteString(name(i) + "\n")
		}
	}
	return buf.Bytes()
}

// loadHeap loads text and returns the list and the heap it holds
// after a collection, in bytes above the heap before.
func loadHeap(tb testing.TB, text []byte) (*List, uint64) {
	var m0, m1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m0)
	var b Builder
	if err := b.Read(bytes.NewReader(text), "gen"); err != nil {
		tb.Fatal(err)
	}
	if p, n := b.Problems(); n != 0 {
		tb.Fatalf("%d problems: %q", n, p)
	}
	l := b.List()
	runtime.GC()
	runtime.ReadMemStats(&m1)
	runtime.KeepAlive(l)
	runtime.KeepAlive(text) // else its collection is counted against the list
	return l, m1.HeapInuse - min(m1.HeapInuse, m0.HeapInuse)
}

// TestMillionMemory loads a million names and checks the memory bound
// (not the time: that is BenchmarkLoad1M's to report).
func TestMillionMemory(t *testing.T) {
	text := hostsText(million)
	l, heap := loadHeap(t, text)
	if l.Len() != million {
		t.Fatalf("Len = %d, want %d", l.Len(), million)
	}
	t.Logf("%d names: %.1f MiB of heap", l.Len(), float64(heap)/(1<<20))
	if heap > 64<<20 {
		t.Errorf("%d names hold %.1f MiB, want at most 64 MiB", million, float64(heap)/(1<<20))
	}
	for _, i := range []int{0, 1, million / 2, million - 1} {
		host := name(i)[1:]
		if i%2 == 1 {
			host = "deep.sub." + host
		}
		if !l.Match(host) {
			t.Errorf("Match(%q) = false", host)
		}
	}
	if l.Match("ads-0.tracker1.example") || l.Match("sub.ads-0.tracker0.example") {
		t.Error("a name not on the list matches")
	}
}

func BenchmarkLoad1M(b *testing.B) {
	text := hostsText(million)
	var heap uint64
	start := time.Now()
	for b.Loop() {
		_, heap = loadHeap(b, text)
	}
	b.ReportMetric(time.Since(start).Seconds()/float64(b.N), "s/load")
	b.ReportMetric(float64(heap)/(1<<20), "MiB")
}

func BenchmarkMatch(b *testing.B) {
	var bld Builder
	for i := range million {
		bld.Add(name(i))
	}
	l := bld.List()
	for _, bc := range []struct{ name, host string }{
		{"hit", name(4242)[1:]},
		{"hit-upper", "ADS-4242.Tracker71.EXAMPLE"},
		{"miss", "www.unlisted.example.org"},
		{"deep", "a.b.c.d.e.f.g.h." + name(777)[1:]},
		{"deep-miss", "a.b.c.d.e.f.g.h.i.j.unlisted.example"},
		{"idn", "bücher.example"},
		{"address", "2001:db8::2"},
	} {
		want := bc.name == "hit" || bc.name == "hit-upper" || bc.name == "deep"
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if l.Match(bc.host) != want {
					b.Fatal(fmt.Sprintf("Match(%q) != %v", bc.host, want))
				}
			}
		})
	}
}
