package tlshello

import (
	"crypto/tls"
	"testing"
)

// BenchmarkParse parses crypto/tls's default (post-quantum) ClientHello
// in one record, re-fragmented into 100-byte records, and the
// incomplete prefixes a proxy sees of it one segment at a time.
func BenchmarkParse(b *testing.B) {
	one := clientHello(b, &tls.Config{ServerName: "www.example.com", NextProtos: []string{"h2", "http/1.1"}})
	frag := records(handshake(b, one), 100)
	for _, c := range []struct {
		name string
		in   []byte
	}{
		{"one record", one},
		{"100-byte records", frag},
		{"incomplete, 100-byte records", frag[:len(frag)-1]},
		{"incomplete, header only", one[:9]},
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
