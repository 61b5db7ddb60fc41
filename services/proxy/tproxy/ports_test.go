package tproxy

import (
	"testing"
	"time"
)

// TestPlanPorts: whatever the namespace's range and the client's port,
// the plan never lets the kernel (or the dialer) take the client's port.
func TestPlanPorts(t *testing.T) {
	now := time.Now()
	defer func() { ephemeral.lo, ephemeral.read = 0, time.Time{} }()
	for _, rg := range [][2]uint16{{32768, 60999}, {40000, 40000}, {40000, 40001}, {1024, 65535}} {
		ephemeral.lo, ephemeral.hi, ephemeral.read = rg[0], rg[1], now
		for _, p := range []uint16{1, rg[0] - 1, rg[0], rg[0] + 1, (rg[0] + rg[1]) / 2, rg[1] - 1, rg[1], rg[1] + 1, 65535} {
			for range 50 {
				pl := planPorts(p, now)
				switch {
				case pl.explicit:
					if q := pl.pick(p); q == p || q < pl.lo || q > pl.hi {
						t.Fatalf("range %v, port %d: explicit plan %+v picked %d", rg, p, pl, q)
					}
				case pl.skRange != 0:
					lo, hi := uint16(pl.skRange), uint16(pl.skRange>>16)
					if lo < rg[0] || hi > rg[1] || lo > hi || (lo <= p && p <= hi) {
						t.Fatalf("range %v, port %d: socket range %d-%d", rg, p, lo, hi)
					}
				case p >= rg[0] && p <= rg[1]:
					t.Fatalf("range %v, port %d in it: no plan", rg, p)
				}
			}
		}
	}
}
