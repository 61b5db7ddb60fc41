package selftest

import (
	"encoding/binary"
	"fmt"
	"slices"

	"github.com/google/nftables"
	"golang.org/x/sys/unix"

	"tprouter/init/config"
	"tprouter/init/firewall"
)

// checkTproxy: chain prerouting has, for every LAN link, a tproxy rule
// whose port is the proxy's.
func checkTproxy(rules []nftRule, lan []string, port uint16) []string {
	var problems []string
	found := map[string]bool{}
	for _, r := range chainRules(rules, "prerouting") {
		if _, ok := r.has("tproxy"); !ok {
			continue
		}
		name := iif(r)
		if got := tproxyPort(r); got != port {
			problems = append(problems, fmt.Sprintf("the tproxy rule for %q diverts to port %d, the proxy listens on %d", name, got, port))
			continue
		}
		found[name] = true
	}
	for _, l := range lan {
		if !found[l] {
			problems = append(problems, fmt.Sprintf("chain prerouting has no tproxy rule to :%d for LAN link %s", port, l))
		}
	}
	return problems
}

// tproxyPort is the port loaded into the register the tproxy takes.
func tproxyPort(r nftRule) uint16 {
	var port uint16
	for _, e := range r.exprs {
		switch e.name {
		case "immediate":
			if v := e.value(unix.NFTA_IMMEDIATE_DATA); len(v) == 2 {
				port = binary.BigEndian.Uint16(v)
			}
		case "tproxy":
			if _, ok := e.attrs[nftaTproxyRegPort]; ok {
				return port
			}
			return 0
		}
	}
	return 0
}

// checkFailMode: fail closed has a tcp reset reject in forward for each LAN
// link; fail open has none.
func checkFailMode(rules []nftRule, lan []string, mode config.FailMode) []string {
	rejects := map[string]bool{}
	for _, r := range chainRules(rules, "forward") {
		if e, ok := r.has("reject"); ok {
			if typ, _ := e.u32(unix.NFTA_REJECT_TYPE); typ == unix.NFT_REJECT_TCP_RST {
				rejects[iif(r)] = true
			}
		}
	}
	var problems []string
	for _, l := range lan {
		switch {
		case mode == config.FailClosed && !rejects[l]:
			problems = append(problems, fmt.Sprintf("fail mode closed, but chain forward has no tcp reset rule for %s: intercepted connections would pass when the proxy is down", l))
		case mode == config.FailOpen && rejects[l]:
			problems = append(problems, fmt.Sprintf("fail mode open, but chain forward resets intercepted connections from %s", l))
		}
	}
	return problems
}

// interceptPorts reads the elements of set intercept, sorted.
func interceptPorts() ([]uint16, error) {
	conn, err := nftables.New()
	if err != nil {
		return nil, fmt.Errorf("nftables.New: %w", err)
	}
	t := &nftables.Table{Family: nftables.TableFamilyINet, Name: firewall.Table}
	s, err := conn.GetSetByName(t, "intercept")
	if err != nil {
		return nil, fmt.Errorf("set intercept of table inet %s: %w", firewall.Table, err)
	}
	elems, err := conn.GetSetElements(s)
	if err != nil {
		return nil, fmt.Errorf("elements of set intercept: %w", err)
	}
	var ports []uint16
	for _, e := range elems {
		if len(e.Key) >= 2 {
			ports = append(ports, binary.BigEndian.Uint16(e.Key))
		}
	}
	slices.Sort(ports)
	return ports, nil
}
