package accesslog

import (
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

// The benchmarks measure what a request goroutine pays for its line:
// Write with the ring only, and with a file behind the buffer. The file
// ones report dropped/op: lines the writer could not keep up with take a
// shorter path, so a run with drops measures less than the whole.

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

// BenchmarkWriteFileYielding yields every 256 lines, as request goroutines
// do when they wait for their connections, so that the writer gets a turn
// even when the machine's other CPU is busy: it measures Write with no
// line dropped.
func BenchmarkWriteFileYielding(b *testing.B) {
	l := fileLog(b)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		l.Write(&benchEntry)
		if i++; i%256 == 0 {
			runtime.Gosched()
		}
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
