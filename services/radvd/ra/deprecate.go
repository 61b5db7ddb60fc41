package ra

import (
	"fmt"
	"net/netip"
	"slices"
	"time"
)

// A prefix that leaves the link (the delegated prefix changed or expired)
// is advertised with valid and preferred lifetimes 0 (RFC 7084 L-13,
// RFC 9096 section 3.5): hosts deprecate their addresses in it at once
// and use those in the new prefix for new connections. Hosts that follow
// RFC 4862 section 5.5.3 (e) keep such an address valid for up to 2 hours
// more whatever the router says, so after deprecateFor there is nothing
// left to deprecate and the prefix is dropped from the advertisements.
// At most maxGone prefixes are kept, the most recently lost ones, so that
// a flapping prefix cannot grow the advertisement without bound.
const (
	deprecateFor = 2 * time.Hour
	maxGone      = 8
)

// track records the link's prefixes ps at now and reports whether they
// differ from the last look: prefixes that left go to a.gone, prefixes
// that came back leave it.
func (a *Advertiser) track(ps []netip.Prefix, now time.Time) bool {
	if a.gone == nil {
		a.gone = map[netip.Prefix]time.Time{}
	}
	changed := !slices.Equal(ps, a.current)
	for _, p := range a.current {
		if !slices.Contains(ps, p) {
			a.gone[p] = now
		}
	}
	for _, p := range ps {
		delete(a.gone, p)
	}
	a.current = slices.Clone(ps)
	for len(a.gone) > maxGone {
		delete(a.gone, a.oldestGone())
	}
	return changed
}

func (a *Advertiser) oldestGone() netip.Prefix {
	var oldest netip.Prefix
	for p, t := range a.gone {
		if !oldest.IsValid() || t.Before(a.gone[oldest]) {
			oldest = p
		}
	}
	return oldest
}

// deprecated returns the lost prefixes still to advertise with zero
// lifetimes at now, in order, forgetting those lost deprecateFor ago.
func (a *Advertiser) deprecated(now time.Time) []netip.Prefix {
	var ps []netip.Prefix
	for p, t := range a.gone {
		if now.Sub(t) >= deprecateFor {
			delete(a.gone, p)
			continue
		}
		ps = append(ps, p)
	}
	slices.SortFunc(ps, func(x, y netip.Prefix) int { return x.Addr().Compare(y.Addr()) })
	return ps
}

// goneSuffix describes the deprecated prefixes for the log.
func (a *Advertiser) goneSuffix() string {
	ps := a.deprecated(a.now())
	if len(ps) == 0 {
		return ""
	}
	return fmt.Sprintf(", deprecating %v (lifetimes 0)", ps)
}
