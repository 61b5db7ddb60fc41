// Package ra sends IPv6 router advertisements (RFC 4861) on a LAN link, so
// that hosts form addresses in the link's prefixes by SLAAC (RFC 4862), use
// the router as their default gateway and learn DNS servers from the RDNSS
// option (RFC 8106). The prefixes are the link's own global /64s, read
// before every advertisement and whenever the link changes (netlink
// events, services/internal/linkwatch), so a prefix added later is
// advertised at once, with lifetimes no longer than the router's own
// address in it has left (a delegated prefix's).
//
// Changes survive without a restart (run.go, deprecate.go): after the
// link goes down and up the socket is opened again and the initial
// advertisements (RFC 4861 section 6.2.4) start over; a prefix that leaves
// the link is advertised with valid and preferred lifetimes 0 for
// deprecateFor (RFC 7084 L-13, RFC 9096), so hosts stop using addresses
// in it at once and form new ones in the prefix that replaced it.
package ra

import (
	"context"
	"fmt"
	"log"
	"math/rand/v2"
	"net"
	"net/netip"
	"slices"
	"time"

	"github.com/mdlayher/ndp"
	"github.com/vishvananda/netlink"
	"golang.org/x/net/ipv6"
	"golang.org/x/sys/unix"

	"tprouter/services/internal/linkwatch"
)

// Protocol constants and the router's advertising parameters (RFC 4861
// sections 6.2.1 and 10; RFC 8106 section 5.1).
const (
	RouterLifetime = 1800 * time.Second

	minInterval        = 100 * time.Second // MinRtrAdvInterval
	maxInterval        = 300 * time.Second // MaxRtrAdvInterval: ~200 s on average
	maxInitialInterval = 16 * time.Second  // MAX_INITIAL_RTR_ADVERT_INTERVAL
	initialAdverts     = 3                 // MAX_INITIAL_RTR_ADVERTISEMENTS
	maxDelay           = 500 * time.Millisecond
	minDelayBetween    = 3 * time.Second // MIN_DELAY_BETWEEN_RAS

	validLifetime     = 24 * time.Hour
	preferredLifetime = 4 * time.Hour
	rdnssLifetime     = 3 * maxInterval
	hopLimit          = 64
)

// Config says where and what to advertise.
type Config struct {
	Iface string
	// RDNSS are the DNS servers advertised; empty means the router's
	// own global address on the link.
	RDNSS []netip.Addr
}

// Advertiser sends the advertisements of one link. Create it with New.
type Advertiser struct {
	cfg  Config
	logf func(format string, v ...any)

	// Test seams.
	now   func() time.Time
	rand  func(n time.Duration) time.Duration // uniform in [0, n)
	link  func() (linkInfo, error)
	watch func(ctx context.Context) <-chan struct{} // signals link changes

	advertised []netip.Prefix // prefixes last logged, to log changes only
	reported   bool

	current []netip.Prefix             // the link's prefixes at the last look
	gone    map[netip.Prefix]time.Time // prefixes lost → when (deprecate.go)
}

// linkInfo is what an advertisement says about the link.
type linkInfo struct {
	hw    net.HardwareAddr
	mtu   int
	up    bool           // administratively up with a carrier
	addrs []netip.Prefix // the router's global addresses in /64s
	// lft holds the remaining lifetimes of addresses that expire (from
	// a delegated prefix), by /64; permanent addresses are absent.
	lft map[netip.Prefix]lifetime
}

// lifetime is what is left of an address's valid and preferred lifetimes.
type lifetime struct{ valid, preferred time.Duration }

// lifetimes returns what to advertise for p: the defaults, but never more
// than the router's own address in p has left.
func (li linkInfo) lifetimes(p netip.Prefix) (valid, preferred time.Duration) {
	valid, preferred = validLifetime, preferredLifetime
	if l, ok := li.lft[p]; ok {
		valid, preferred = min(valid, l.valid), min(preferred, l.preferred)
	}
	return valid, min(valid, preferred)
}

// New returns an advertiser for cfg.
func New(cfg Config, logger *log.Logger) *Advertiser {
	return &Advertiser{
		cfg:  cfg,
		logf: logger.Printf,
		now:  time.Now,
		rand: func(n time.Duration) time.Duration { return rand.N(n) },
		link: func() (linkInfo, error) { return readLink(cfg.Iface) },
		watch: func(ctx context.Context) <-chan struct{} {
			return linkwatch.Watch(ctx, cfg.Iface, logger.Printf)
		},
	}
}

// listen opens the link's ICMPv6 socket, waiting for the link-local
// address it needs, which appears only once the link is up. It returns nil
// when ctx is done first.
func (a *Advertiser) listen(ctx context.Context, changes <-chan struct{}) *conn {
	wait := 100 * time.Millisecond
	for logged := false; ; {
		conn, err := a.listenOnce()
		if err == nil {
			return conn
		}
		if !logged {
			a.logf("waiting for %s: %v", a.cfg.Iface, err)
			logged = true
		}
		select {
		case <-ctx.Done():
			return nil
		case <-changes: // the link came up, or its link-local address
		case <-time.After(wait):
			wait = min(2*wait, 5*time.Second)
		}
	}
}

func (a *Advertiser) listenOnce() (*conn, error) {
	ifi, err := net.InterfaceByName(a.cfg.Iface)
	if err != nil {
		return nil, fmt.Errorf("InterfaceByName(%q): %w", a.cfg.Iface, err)
	}
	c, err := listen(ifi)
	if err != nil {
		return nil, err
	}
	a.logf("advertising on %s from %s", a.cfg.Iface, c.src)
	return c, nil
}

// readSolicitations signals valid Router Solicitations on c until c is
// closed.
func (a *Advertiser) readSolicitations(c *conn, solicited chan<- struct{}) {
	for {
		m, cm, src, err := c.read()
		if isClosed(err) {
			return
		}
		if err != nil {
			a.logf("reading solicitations: %v", err)
			time.Sleep(time.Second) // do not spin on a persistent error
			continue
		}
		if rs, ok := m.(*ndp.RouterSolicitation); ok && validSolicitation(rs, cm, src) {
			select {
			case solicited <- struct{}{}:
			default: // one is pending already
			}
		}
	}
}

// validSolicitation applies the checks of RFC 4861 section 6.1.1 that the
// kernel leaves to us.
func validSolicitation(rs *ndp.RouterSolicitation, cm *ipv6.ControlMessage, src netip.Addr) bool {
	if cm == nil || cm.HopLimit != ndp.HopLimit {
		return false // not from the link
	}
	if src.IsUnspecified() {
		for _, o := range rs.Options {
			if _, ok := o.(*ndp.LinkLayerAddress); ok {
				return false
			}
		}
	}
	return true
}

// send multicasts an advertisement with the given router lifetime and
// reports whether there was anything to advertise.
func (a *Advertiser) send(c *conn, lifetime time.Duration) bool {
	li, err := a.link()
	if err != nil {
		a.logf("%v", err)
		return false
	}
	a.track(li.prefixes(), a.now())
	ra := a.advertisement(li, lifetime)
	if !a.reported || !slices.Equal(li.prefixes(), a.advertised) {
		a.advertised, a.reported = li.prefixes(), true
		if len(a.advertised) == 0 {
			a.logf("no global /64 on %s: not advertising%s", a.cfg.Iface, a.goneSuffix())
		} else {
			a.logf("prefixes %v, DNS %v%s", a.advertised, a.rdnss(li), a.goneSuffix())
		}
	}
	if ra == nil {
		return false
	}
	if err := c.write(ra, netip.IPv6LinkLocalAllNodes()); err != nil {
		a.logf("%v", err)
		return false
	}
	return true
}

// advertisement builds the advertisement for li, or returns nil when the
// link has no prefix to advertise: a router without IPv6 on the LAN must
// not become the hosts' IPv6 default gateway. Prefixes the link lost
// recently (track) go along with zero lifetimes; with nothing else to
// advertise, they go in an advertisement of router lifetime 0.
func (a *Advertiser) advertisement(li linkInfo, lifetime time.Duration) *ndp.RouterAdvertisement {
	ps := li.prefixes()
	gone := a.deprecated(a.now())
	if len(ps) == 0 && len(gone) == 0 {
		return nil
	}
	if len(ps) == 0 {
		lifetime = 0
	}
	ra := &ndp.RouterAdvertisement{
		CurrentHopLimit: hopLimit,
		RouterLifetime:  lifetime,
	}
	if len(li.hw) > 0 {
		ra.Options = append(ra.Options, &ndp.LinkLayerAddress{Direction: ndp.Source, Addr: li.hw})
	}
	if li.mtu > 0 {
		ra.Options = append(ra.Options, ndp.NewMTU(uint32(li.mtu)))
	}
	for _, p := range ps {
		valid, preferred := li.lifetimes(p)
		ra.Options = append(ra.Options, pio(p, valid, preferred))
	}
	for _, p := range gone {
		ra.Options = append(ra.Options, pio(p, 0, 0))
	}
	if dns := a.rdnss(li); len(dns) > 0 {
		ra.Options = append(ra.Options, &ndp.RecursiveDNSServer{Lifetime: rdnssLifetime, Servers: dns})
	}
	return ra
}

func pio(p netip.Prefix, valid, preferred time.Duration) *ndp.PrefixInformation {
	return &ndp.PrefixInformation{
		PrefixLength:                   uint8(p.Bits()),
		OnLink:                         true,
		AutonomousAddressConfiguration: true,
		ValidLifetime:                  valid,
		PreferredLifetime:              preferred,
		Prefix:                         p.Addr(),
	}
}

func (a *Advertiser) rdnss(li linkInfo) []netip.Addr {
	if len(a.cfg.RDNSS) > 0 {
		return a.cfg.RDNSS
	}
	if len(li.addrs) == 0 {
		return nil
	}
	return []netip.Addr{li.addrs[0].Addr()}
}

// interval is the time from the sent-th advertisement to the next: random
// in [minInterval, maxInterval), but at most maxInitialInterval for the
// first few, so that hosts that miss the first one learn soon.
func (a *Advertiser) interval(sent int) time.Duration {
	d := minInterval + a.rand(maxInterval-minInterval)
	if sent < initialAdverts {
		d = min(d, maxInitialInterval)
	}
	return d
}

// prefixes returns the distinct /64s of li.addrs.
func (li linkInfo) prefixes() []netip.Prefix {
	var ps []netip.Prefix
	for _, a := range li.addrs {
		if p := a.Masked(); !slices.Contains(ps, p) {
			ps = append(ps, p)
		}
	}
	return ps
}

// readLink reads the link's hardware address, MTU and global /64 addresses.
func readLink(name string) (linkInfo, error) {
	link, err := netlink.LinkByName(name)
	if err != nil {
		return linkInfo{}, fmt.Errorf("LinkByName(%q): %w", name, err)
	}
	addrs, err := netlink.AddrList(link, netlink.FAMILY_V6)
	if err != nil {
		return linkInfo{}, fmt.Errorf("AddrList(%s, v6): %w", name, err)
	}
	attrs := link.Attrs()
	li := linkInfo{hw: attrs.HardwareAddr, mtu: attrs.MTU, lft: map[netip.Prefix]lifetime{},
		up: attrs.Flags&net.FlagUp != 0 && attrs.OperState != netlink.OperDown && attrs.OperState != netlink.OperLowerLayerDown}
	var dynamic []netip.Prefix
	for _, ad := range addrs {
		ip, ok := netip.AddrFromSlice(ad.IP)
		if !ok || !ip.Is6() || !ip.IsGlobalUnicast() || ad.Flags&unix.IFA_F_DADFAILED != 0 {
			continue
		}
		if ones, _ := ad.Mask.Size(); ones != 64 {
			continue
		}
		// Configured addresses come first: the default RDNSS is the
		// first address, and should not be one that expires.
		if ad.Flags&unix.IFA_F_PERMANENT != 0 {
			li.addrs = append(li.addrs, netip.PrefixFrom(ip, 64))
			continue
		}
		dynamic = append(dynamic, netip.PrefixFrom(ip, 64))
		p := netip.PrefixFrom(ip, 64).Masked()
		l := lifetime{time.Duration(ad.ValidLft) * time.Second, time.Duration(ad.PreferedLft) * time.Second}
		if o, ok := li.lft[p]; !ok || o.valid < l.valid {
			li.lft[p] = l // of two addresses in p, the longer-lived
		}
	}
	li.addrs = append(li.addrs, dynamic...)
	return li, nil
}
