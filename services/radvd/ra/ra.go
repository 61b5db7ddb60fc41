// Package ra sends IPv6 router advertisements (RFC 4861) on a LAN link, so
// that hosts form addresses in the link's prefixes by SLAAC (RFC 4862), use
// the router as their default gateway and learn DNS servers from the RDNSS
// option (RFC 8106). The prefixes are the link's own global /64s, read
// before every advertisement, so a prefix added later is picked up.
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
	now  func() time.Time
	rand func(n time.Duration) time.Duration // uniform in [0, n)
	link func() (linkInfo, error)

	advertised []netip.Prefix // prefixes last logged, to log changes only
	reported   bool
}

// linkInfo is what an advertisement says about the link.
type linkInfo struct {
	hw    net.HardwareAddr
	mtu   int
	addrs []netip.Prefix // the router's global addresses in /64s
}

// New returns an advertiser for cfg.
func New(cfg Config, logger *log.Logger) *Advertiser {
	return &Advertiser{
		cfg:  cfg,
		logf: logger.Printf,
		now:  time.Now,
		rand: func(n time.Duration) time.Duration { return rand.N(n) },
		link: func() (linkInfo, error) { return readLink(cfg.Iface) },
	}
}

// Run advertises until ctx is done, then sends a final advertisement with
// a router lifetime of zero, so hosts stop using the router at once
// (RFC 4861 section 6.2.5). Errors on the way are logged and retried: a
// LAN without advertisements is worse than one with a noisy log.
func (a *Advertiser) Run(ctx context.Context) {
	conn := a.listen(ctx)
	if conn == nil {
		return
	}
	defer conn.Close()

	solicited := make(chan struct{}, 1)
	go a.readSolicitations(conn, solicited)

	timer := time.NewTimer(0) // advertise at once on start
	defer timer.Stop()
	next := a.now()
	var last time.Time
	for sent := 0; ; {
		select {
		case <-ctx.Done():
			if a.send(conn, 0) {
				a.logf("sent final advertisement with router lifetime 0")
			}
			return
		case <-solicited:
			// RFC 4861 section 6.2.6: answer with the multicast
			// advertisement, after a random delay and no sooner
			// than MIN_DELAY_BETWEEN_RAS after the previous one.
			now := a.now()
			at := now.Add(a.rand(maxDelay))
			if earliest := last.Add(minDelayBetween); at.Before(earliest) {
				at = earliest
			}
			if at.Before(next) {
				next = at
				timer.Reset(at.Sub(now))
			}
		case <-timer.C:
			if a.send(conn, RouterLifetime) {
				sent++
			}
			last = a.now()
			next = last.Add(a.interval(sent))
			timer.Reset(next.Sub(last))
		}
	}
}

// listen opens the link's ICMPv6 socket, waiting for the link-local
// address it needs, which appears only once the link is up. It returns nil
// when ctx is done first.
func (a *Advertiser) listen(ctx context.Context) *conn {
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
	ra := a.advertisement(li, lifetime)
	if !a.reported || !slices.Equal(li.prefixes(), a.advertised) {
		a.advertised, a.reported = li.prefixes(), true
		if ra == nil {
			a.logf("no global /64 on %s: not advertising", a.cfg.Iface)
		} else {
			a.logf("prefixes %v, DNS %v", a.advertised, a.rdnss(li))
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
// not become the hosts' IPv6 default gateway.
func (a *Advertiser) advertisement(li linkInfo, lifetime time.Duration) *ndp.RouterAdvertisement {
	ps := li.prefixes()
	if len(ps) == 0 {
		return nil
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
		ra.Options = append(ra.Options, &ndp.PrefixInformation{
			PrefixLength:                   uint8(p.Bits()),
			OnLink:                         true,
			AutonomousAddressConfiguration: true,
			ValidLifetime:                  validLifetime,
			PreferredLifetime:              preferredLifetime,
			Prefix:                         p.Addr(),
		})
	}
	if dns := a.rdnss(li); len(dns) > 0 {
		ra.Options = append(ra.Options, &ndp.RecursiveDNSServer{Lifetime: rdnssLifetime, Servers: dns})
	}
	return ra
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
	li := linkInfo{hw: link.Attrs().HardwareAddr, mtu: link.Attrs().MTU}
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
		} else {
			dynamic = append(dynamic, netip.PrefixFrom(ip, 64))
		}
	}
	li.addrs = append(li.addrs, dynamic...)
	return li, nil
}
