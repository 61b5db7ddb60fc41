package client

import (
	"net/netip"
	"testing"
	"time"
)

// TestTiming checks RFC 8415 section 15's retransmission times: the first
// SOLICIT after more than IRT, each next one about twice the last, none
// beyond MRT plus its jitter, over enough draws to catch a bad bound.
func TestTiming(t *testing.T) {
	tm := timing{irt: time.Second, mrt: 120 * time.Second}
	for range 1000 {
		if rt := tm.next(0, true); rt <= time.Second || rt > 1100*time.Millisecond {
			t.Fatalf("first SOLICIT RT %v, want in (1s, 1.1s]", rt)
		}
		if rt := tm.next(0, false); rt < 900*time.Millisecond || rt > 1100*time.Millisecond {
			t.Fatalf("first RT %v, want in [0.9s, 1.1s]", rt)
		}
		if rt := tm.next(10*time.Second, false); rt < 19*time.Second || rt > 21*time.Second {
			t.Fatalf("RT after 10s: %v, want in [19s, 21s]", rt)
		}
		if rt := tm.next(100*time.Second, false); rt < 108*time.Second || rt > 132*time.Second {
			t.Fatalf("RT after 100s: %v, want MRT 120s ± 10%%", rt)
		}
	}
}

func TestTimers(t *testing.T) {
	for _, c := range []struct {
		t1, t2, shortest time.Duration
		w1, w2           time.Duration
	}{
		{5 * time.Second, 8 * time.Second, 15 * time.Second, 5 * time.Second, 8 * time.Second},
		{0, 0, 100 * time.Second, 50 * time.Second, 80 * time.Second}, // left to the client
		{90 * time.Second, 80 * time.Second, Infinite, 40 * time.Second, 80 * time.Second},
		{0, 0, Infinite, Infinite, Infinite},
	} {
		g1, g2 := timers([]time.Duration{c.t1}, []time.Duration{c.t2}, c.shortest)
		if g1 != c.w1 || g2 != c.w2 {
			t.Errorf("timers(%v, %v, %v) = %v, %v; want %v, %v", c.t1, c.t2, c.shortest, g1, g2, c.w1, c.w2)
		}
	}
}

// TestWithdraw: a replaced prefix is withdrawn for WithdrawFor, one
// delegated again leaves the withdrawn, and an old entry is forgotten.
func TestWithdraw(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	a, b := netip.MustParsePrefix("2001:db8:100::/56"), netip.MustParsePrefix("2001:db8:200::/56")
	pa, pb := []Prefix{{Prefix: a, Valid: now.Add(time.Minute)}}, []Prefix{{Prefix: b}}
	var s State
	if gone := s.withdraw(pa, pb, now); len(gone) != 1 || gone[0] != a || len(s.Withdrawn) != 1 || s.Withdrawn[0].Until != now.Add(WithdrawFor) {
		t.Fatalf("a replaced by b: gone %v, withdrawn %+v", gone, s.Withdrawn)
	}
	if gone := s.withdraw(pb, pb, now.Add(time.Minute)); len(gone) != 0 || len(s.Withdrawn) != 1 {
		t.Fatalf("b renewed: gone %v, withdrawn %+v; want a still withdrawn", gone, s.Withdrawn)
	}
	if s.withdraw(pb, pa, now.Add(2*time.Minute)); len(s.Withdrawn) != 1 || s.Withdrawn[0].Prefix != b {
		t.Fatalf("a back, b replaced: withdrawn %+v, want b alone", s.Withdrawn)
	}
	if s.withdraw(pa, pa, now.Add(3*time.Hour)); len(s.Withdrawn) != 0 {
		t.Fatalf("after WithdrawFor: withdrawn %+v, want none", s.Withdrawn)
	}
}
