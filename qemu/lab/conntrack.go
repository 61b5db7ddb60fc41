package lab

import (
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// ConntrackEntriesErr counts the conntrack entries in ns whose original
// direction is src -> dst over TCP, in any zone. It reads
// /proc/net/nf_conntrack (CONFIG_NF_CONNTRACK_PROCFS), which writes IPv6
// addresses in full.
func (ns *NS) ConntrackEntriesErr(src, dst netip.AddrPort) (int, error) {
	out, err := ns.RunErr("cat", "/proc/net/nf_conntrack")
	if err != nil {
		return 0, err
	}
	addr := func(a netip.Addr) string {
		if a.Is6() {
			return a.StringExpanded()
		}
		return a.String()
	}
	want := []string{"tcp", "6", "src=" + addr(src.Addr()), "dst=" + addr(dst.Addr()),
		"sport=" + strconv.Itoa(int(src.Port())), "dport=" + strconv.Itoa(int(dst.Port()))}
	n := 0
	for _, l := range strings.Split(out, "\n") {
		// ipv4 2 tcp 6 <timeout> <state> src=... dst=... sport=... dport=... (reply direction)
		if f := strings.Fields(l); len(f) >= 10 && slices.Equal(append(f[2:4:4], f[6:10]...), want) {
			n++
		}
	}
	return n, nil
}
