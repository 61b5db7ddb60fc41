package selftest

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"slices"
	"strings"

	"golang.org/x/sys/unix"

	"tprouter/init/config"
	"tprouter/init/firewall"
)

const rulesetFix = "the firewall's ruleset is not the one init applies: look for an error of the firewall on the console, " +
	"and for whatever else changes table inet " + firewall.Table + " (an nft command on the box); a restart of tprouter applies it again"

// ruleset reads table inet tprouter back from the kernel and checks the
// parts interception needs against the configuration.
func (t *Tester) ruleset(context.Context) Result {
	rules, err := dumpRules(firewall.Table)
	if err != nil {
		return fail("ruleset", err.Error()+" (is the firewall applied?)", rulesetFix)
	}
	var problems []string
	problems = append(problems, checkDivert(rules, t.Net.Mark)...)
	problems = append(problems, checkTproxy(rules, t.LAN, t.Net.ProxyPort)...)
	problems = append(problems, checkFailMode(rules, t.LAN, t.Net.FailMode)...)
	ports, err := interceptPorts()
	if err != nil {
		problems = append(problems, err.Error())
	} else if want := wantPorts(t.Net); !slices.Equal(ports, want) {
		problems = append(problems, fmt.Sprintf("set intercept holds ports %v, the configuration intercepts %v", ports, want))
	}
	if len(problems) > 0 {
		return fail("ruleset", strings.Join(problems, "; "), rulesetFix)
	}
	return ok("ruleset", fmt.Sprintf("divert rule first, tproxy to :%d on %s, ports %v, fail %v",
		t.Net.ProxyPort, strings.Join(t.LAN, ","), wantPorts(t.Net), t.Net.FailMode))
}

func wantPorts(c config.Network) []uint16 {
	p := slices.Clone(c.Intercept)
	slices.Sort(p)
	return slices.Compact(p)
}

func chainRules(rules []nftRule, chain string) []nftRule {
	var r []nftRule
	for _, x := range rules {
		if x.chain == chain {
			r = append(r, x)
		}
	}
	return r
}

func (r nftRule) has(name string) (nftExpr, bool) {
	for _, e := range r.exprs {
		if e.name == name {
			return e, true
		}
	}
	return nftExpr{}, false
}

// checkDivert: the first rule of chain divert is the DIVERT rule, socket
// transparent with meta mark set <mark>. Before it, nothing may decide a
// packet of a proxied connection.
func checkDivert(rules []nftRule, mark uint32) []string {
	d := chainRules(rules, "divert")
	if len(d) == 0 {
		return []string{"chain divert has no rules: the DIVERT rule (socket transparent ... meta mark set) is missing, so the proxy's connections are not delivered to it"}
	}
	if !isDivert(d[0], mark) {
		for i, r := range d {
			if isDivert(r, mark) {
				return []string{fmt.Sprintf("the DIVERT rule is rule %d of chain divert, not the first", i+1)}
			}
		}
		return []string{fmt.Sprintf("chain divert has no DIVERT rule (meta l4proto tcp socket transparent 1 ... meta mark set %#x): the proxy's connections are not delivered to it", mark)}
	}
	return nil
}

func isDivert(r nftRule, mark uint32) bool {
	if !matchesTCP(r) {
		return false
	}
	s, ok := r.has("socket")
	if key, _ := s.u32(nftaSocketKey); !ok || key != nftSocketTranspar {
		return false
	}
	return setsMark(r, mark)
}

// setsMark: an immediate of mark followed by meta set mark.
func setsMark(r nftRule, mark uint32) bool {
	want := binary.NativeEndian.AppendUint32(nil, mark)
	for i, e := range r.exprs[:max(len(r.exprs)-1, 0)] {
		next := r.exprs[i+1]
		key, _ := next.u32(unix.NFTA_META_KEY)
		_, sreg := next.attrs[unix.NFTA_META_SREG]
		if e.name == "immediate" && bytes.Equal(e.value(unix.NFTA_IMMEDIATE_DATA), want) &&
			next.name == "meta" && sreg && key == unix.NFT_META_MARK {
			return true
		}
	}
	return false
}

// matchesTCP: the rule has "meta l4proto tcp".
func matchesTCP(r nftRule) bool {
	for i, e := range r.exprs[:max(len(r.exprs)-1, 0)] {
		key, _ := e.u32(unix.NFTA_META_KEY)
		next := r.exprs[i+1]
		if e.name == "meta" && key == unix.NFT_META_L4PROTO && next.name == "cmp" &&
			bytes.Equal(next.value(unix.NFTA_CMP_DATA), []byte{unix.IPPROTO_TCP}) {
			return true
		}
	}
	return false
}

// iif returns the name a rule's "iifname" match compares with, if any.
func iif(r nftRule) string {
	for i, e := range r.exprs[:max(len(r.exprs)-1, 0)] {
		key, _ := e.u32(unix.NFTA_META_KEY)
		if e.name == "meta" && key == unix.NFT_META_IIFNAME && r.exprs[i+1].name == "cmp" {
			return string(bytes.TrimRight(r.exprs[i+1].value(unix.NFTA_CMP_DATA), "\x00"))
		}
	}
	return ""
}
