package syslog

import (
	"context"
	"errors"
	"io"
	"net"
	"testing"

	"tprouter/init/config"
	"tprouter/init/console"
)

// The benchmarks measure what a logging goroutine (the supervisor's copy
// of the proxy's output) pays per line: the console alone, and the
// console teed to two collectors that cannot be reached, whose queues are
// full and drop: the worst case of the path.

func BenchmarkPrint(b *testing.B) {
	log := console.New(io.Discard).Log("proxy", 1000)
	b.ReportAllocs()
	for b.Loop() {
		log.Print("1764100000.123     12 192.0.2.2 TCP_MISS/200 1534 GET http://198.51.100.2/index.html - ORIGINAL_DST/198.51.100.2 text/html")
	}
}

func BenchmarkPrintUnreachable(b *testing.B) {
	refuse := func(context.Context, string, string) (net.Conn, error) { return nil, errors.New("refused") }
	h := Start("gw.lab", []config.Collector{
		{Network: "udp", Host: "198.51.100.2", Port: 514},
		{Network: "tcp", Host: "198.51.100.2", Port: 514},
	}, Options{Dial: refuse})
	defer h.Close()
	con := console.New(io.Discard)
	con.Tee(h.Offer)
	log := con.Log("proxy", 1000)
	b.ReportAllocs()
	for b.Loop() {
		log.Print("1764100000.123     12 192.0.2.2 TCP_MISS/200 1534 GET http://198.51.100.2/index.html - ORIGINAL_DST/198.51.100.2 text/html")
	}
}
