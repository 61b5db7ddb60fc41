package client

import (
	"fmt"
	"net"
	"net/netip"

	"github.com/insomniacslk/dhcp/dhcpv6"
)

// The identity associations' IAIDs: one IA_PD and one IA_NA on the one
// WAN link, fixed so that a restarted client names the same IAs.
var (
	iaidPD = [4]byte{0, 0, 0, 1}
	iaidNA = [4]byte{0, 0, 0, 1}
)

// oro is what the client asks for besides its IAs.
var oro = []dhcpv6.OptionCode{dhcpv6.OptionDNSRecursiveNameServer}

// message starts a message of type t with a fresh transaction ID, our
// client ID and the option request option.
func (c *Client) message(t dhcpv6.MessageType) (*dhcpv6.Message, error) {
	m, err := dhcpv6.NewMessage()
	if err != nil {
		return nil, fmt.Errorf("dhcpv6.NewMessage: %w", err)
	}
	m.MessageType = t
	m.AddOption(dhcpv6.OptClientID(c.duid))
	m.AddOption(dhcpv6.OptRequestedOption(oro...))
	m.AddOption(dhcpv6.OptElapsedTime(0))
	return m, nil
}

// solicit is a SOLICIT for an IA_PD of c.pdLen, hinting at the last
// prefix when it has that length (RFC 8415 section 18.2.1), and with -na
// an IA_NA.
func (c *Client) solicit() (*dhcpv6.Message, error) {
	m, err := c.message(dhcpv6.MessageTypeSolicit)
	if err != nil {
		return nil, err
	}
	hint := netip.PrefixFrom(netip.IPv6Unspecified(), c.pdLen)
	if last := c.st.Last; last.IsValid() && last.Bits() == c.pdLen {
		hint = last
	}
	m.AddOption(&dhcpv6.OptIAPD{IaId: iaidPD, Options: dhcpv6.PDOptions{Options: dhcpv6.Options{iaPrefix(hint)}}})
	if c.na {
		m.AddOption(&dhcpv6.OptIANA{IaId: iaidNA})
	}
	return m, nil
}

// request is the REQUEST for what adv offers (section 18.2.2): its
// server ID and our IAs as the server filled them.
func (c *Client) request(adv *dhcpv6.Message) (*dhcpv6.Message, error) {
	m, err := c.message(dhcpv6.MessageTypeRequest)
	if err != nil {
		return nil, err
	}
	m.AddOption(dhcpv6.OptServerID(adv.Options.ServerID()))
	var pd []netip.Prefix
	for _, p := range offeredPrefixes(adv) {
		pd = append(pd, p.Prefix)
	}
	m.AddOption(iaPD(pd))
	if c.na {
		var na []netip.Addr
		if ia := adv.Options.OneIANA(); ia != nil {
			for _, a := range ia.Options.Addresses() {
				if ip, ok := netip.AddrFromSlice(a.IPv6Addr); ok {
					na = append(na, ip)
				}
			}
		}
		m.AddOption(iaNA(na))
	}
	return m, nil
}

// extension is a RENEW (with the server ID) or a REBIND (without) of the
// bindings in the state (sections 18.2.4 and 18.2.5).
func (c *Client) extension(t dhcpv6.MessageType) (*dhcpv6.Message, error) {
	m, err := c.message(t)
	if err != nil {
		return nil, err
	}
	if t == dhcpv6.MessageTypeRenew {
		sid := c.st.serverID()
		if sid == nil {
			return nil, fmt.Errorf("no server ID saved to RENEW with")
		}
		m.AddOption(dhcpv6.OptServerID(sid))
	}
	var pd []netip.Prefix
	for _, p := range c.st.Prefixes {
		pd = append(pd, p.Prefix)
	}
	if len(pd) == 0 {
		pd = append(pd, netip.PrefixFrom(netip.IPv6Unspecified(), c.pdLen))
	}
	m.AddOption(iaPD(pd))
	if c.na {
		var na []netip.Addr
		for _, a := range c.st.Addrs {
			na = append(na, a.Addr)
		}
		m.AddOption(iaNA(na))
	}
	return m, nil
}

// iaPD is an IA_PD with prefixes, their lifetimes and T1/T2 zero: the
// server sets them (section 21.21).
func iaPD(ps []netip.Prefix) *dhcpv6.OptIAPD {
	ia := &dhcpv6.OptIAPD{IaId: iaidPD}
	for _, p := range ps {
		ia.Options.Add(iaPrefix(p))
	}
	return ia
}

func iaPrefix(p netip.Prefix) *dhcpv6.OptIAPrefix {
	return &dhcpv6.OptIAPrefix{Prefix: &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), 128)}}
}

func iaNA(as []netip.Addr) *dhcpv6.OptIANA {
	ia := &dhcpv6.OptIANA{IaId: iaidNA}
	for _, a := range as {
		ia.Options.Add(&dhcpv6.OptIAAddress{IPv6Addr: a.AsSlice()})
	}
	return ia
}
