package accesslog

import (
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// The benchmarks measure what a request goroutine pays for its line:
// Write with the ring only, and with a file behind the buffer. The file
// ones report dropped/op: a loop that does nothing but Write makes lines
// far faster than any proxy (millions a second), and when the machine's
// other CPU is busy the writer goroutine falls behind and lines are
// dropped, which takes a shorter path through Write.

var benchEntry = Entry{
	Time: time.Unix(1764100000, 123e6), Elapsed: 12 * time.Millisecond,
	Client: netip.MustParseAddr("192.0.2.2"), Code: "TCP_MISS", Status: 200, Bytes: 1534,
	Method: []byte("GET"), URL: []byte("http://198.51.100.2/index.html"), Hier: "ORIGINAL_DST",
	Server: netip.MustParseAddr("198.51.100.2"), MIME: []byte("text/html"),
}

func BenchmarkWriteRing(b *testing.B) {
	l := New(nil, 1000)
	defer l.Close()
	b.ReportAllocs()
	for b.Loop() {
		l.Write(&benchEntry)
	}
}

// fileLog returns a Log writing to a file, both closed when b ends.
func fileLog(b *testing.B) *Log {
	f, err := os.Create(filepath.Join(b.TempDir(), "access.log"))
	if err != nil {
		b.Fatal(err)
	}
	l := New(f, 1000)
	b.Cleanup(func() {
		l.Close()
		f.Close()
	})
	return l
}

func BenchmarkWriteFile(b *testing.B) {
	l := fileLog(b)
	b.ReportAllocs()
	for b.Loop() {
		l.Write(&benchEntry)
	}
	b.ReportMetric(float64(l.Dropped())/float64(b.N), "dropped/op")
}

func BenchmarkWriteFileParallel(b *testing.B) {
	l := fileLog(b)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		e := benchEntry
		for pb.Next() {
			l.Write(&e)
		}
	})
	b.ReportMetric(float64(l.Dropped())/float64(b.N), "dropped/op")
}
