package tlshello

import (
	"crypto/tls"
	"testing"
)

// BenchmarkParse parses crypto/tls's default (post-quantum) ClientHello
// in one record, re-fragmented into 100-byte records, and the
// incomplete prefixes a proxy sees of it one segment at a time; at
// worst, each segment a record of one byte.
func BenchmarkParse(b *testing.B) {
	one := clientHello(b, &tls.Config{ServerName: "www.example.com", NextProtos: []string{"h2", "http/1.1"}})
	frag := records(handshake(b, one), 100)
	worst := records(handshake(b, one), 1) // the most records a hello may span
	for _, c := range []struct {
		name string
		in   []byte
	}{
		{"one record", one},
		{"100-byte records", frag},
		{"incomplete, 100-byte records", frag[:len(frag)-1]},
		{"incomplete, header only", one[:9]},
		{"incomplete, 1-byte records", worst[:len(worst)-1]},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(c.in)))
			for b.Loop() {
				Parse(c.in)
			}
		})
	}
}
