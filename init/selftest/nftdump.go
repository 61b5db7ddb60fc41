package selftest

import (
	"encoding/binary"
	"fmt"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// google/nftables drops the tproxy and socket expressions when it reads
// rules back (it has no decoder for them), so the ruleset check reads the
// rules of table inet tprouter with its own netlink dump, keeping every
// expression's attributes as the kernel sent them.

// Attributes google/nftables and x/sys/unix do not name
// (linux/netfilter/nf_tables.h).
const (
	nftaSocketKey     = 1 // NFTA_SOCKET_KEY
	nftaTproxyRegPort = 3 // NFTA_TPROXY_REG_PORT
	nftSocketTranspar = 0 // NFT_SOCKET_TRANSPARENT
	nftaDataValue     = 1 // NFTA_DATA_VALUE
)

// nftExpr is one expression: its name ("tproxy") and top-level attributes.
type nftExpr struct {
	name  string
	attrs map[uint16][]byte
}

// nftRule is one rule of the table.
type nftRule struct {
	chain string
	exprs []nftExpr
}

// u32 returns attribute a as a big-endian number (registers, keys, types).
func (e nftExpr) u32(a uint16) (uint32, bool) {
	b, ok := e.attrs[a]
	if !ok || len(b) != 4 {
		return 0, false
	}
	return binary.BigEndian.Uint32(b), true
}

// value returns the NFTA_DATA_VALUE inside nested attribute a (the data of
// an immediate or a cmp).
func (e nftExpr) value(a uint16) []byte {
	ad, err := netlink.NewAttributeDecoder(e.attrs[a])
	if err != nil {
		return nil
	}
	for ad.Next() {
		if ad.Type() == nftaDataValue {
			return ad.Bytes()
		}
	}
	return nil
}

// dumpRules returns every rule of table inet <table>, in chain order.
func dumpRules(table string) ([]nftRule, error) {
	c, err := netlink.Dial(unix.NETLINK_NETFILTER, nil)
	if err != nil {
		return nil, fmt.Errorf("netlink.Dial(NETLINK_NETFILTER): %w", err)
	}
	defer c.Close()
	ae := netlink.NewAttributeEncoder()
	ae.String(unix.NFTA_RULE_TABLE, table)
	attrs, err := ae.Encode()
	if err != nil {
		return nil, err
	}
	msgs, err := c.Execute(netlink.Message{
		Header: netlink.Header{
			Type:  netlink.HeaderType(unix.NFNL_SUBSYS_NFTABLES<<8 | unix.NFT_MSG_GETRULE),
			Flags: netlink.Request | netlink.Dump,
		},
		Data: append([]byte{unix.NFPROTO_INET, unix.NFNETLINK_V0, 0, 0}, attrs...),
	})
	if err != nil {
		return nil, fmt.Errorf("dumping the rules of table inet %s: %w", table, err)
	}
	var rules []nftRule
	for _, m := range msgs {
		if len(m.Data) < 4 {
			continue
		}
		r, err := parseRule(m.Data[4:])
		if err != nil {
			return nil, fmt.Errorf("table inet %s: %w", table, err)
		}
		rules = append(rules, r)
	}
	return rules, nil
}

// parseRule decodes one NFT_MSG_NEWRULE's attributes.
func parseRule(b []byte) (nftRule, error) {
	var r nftRule
	ad, err := netlink.NewAttributeDecoder(b)
	if err != nil {
		return r, err
	}
	for ad.Next() {
		switch ad.Type() {
		case unix.NFTA_RULE_CHAIN:
			r.chain = ad.String()
		case unix.NFTA_RULE_EXPRESSIONS:
			ad.Nested(func(list *netlink.AttributeDecoder) error {
				for list.Next() {
					list.Nested(func(ed *netlink.AttributeDecoder) error {
						r.exprs = append(r.exprs, parseExpr(ed))
						return nil
					})
				}
				return nil
			})
		}
	}
	return r, ad.Err()
}

func parseExpr(ad *netlink.AttributeDecoder) nftExpr {
	e := nftExpr{attrs: map[uint16][]byte{}}
	for ad.Next() {
		switch ad.Type() {
		case unix.NFTA_EXPR_NAME:
			e.name = ad.String()
		case unix.NFTA_EXPR_DATA:
			ad.Nested(func(d *netlink.AttributeDecoder) error {
				for d.Next() {
					e.attrs[d.Type()] = d.Bytes()
				}
				return nil
			})
		}
	}
	return e
}
