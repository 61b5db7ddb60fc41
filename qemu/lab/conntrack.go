package lab

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/vishvananda/netlink"
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

// ConntrackStatsErr reads /proc/net/stat/nf_conntrack in ns: every
// counter (insert_failed, drop, early_drop, clashres, ...) summed over
// the CPUs, except entries, the namespace's table size, which each CPU's
// line repeats.
func (ns *NS) ConntrackStatsErr() (map[string]int64, error) {
	out, err := ns.RunErr("cat", "/proc/net/stat/nf_conntrack")
	if err != nil {
		return nil, err
	}
	ls := strings.Split(strings.TrimSpace(out), "\n")
	head := strings.Fields(ls[0])
	m := map[string]int64{}
	for i, l := range ls[1:] {
		for j, f := range strings.Fields(l) {
			if j >= len(head) {
				break
			}
			v, err := strconv.ParseInt(f, 16, 64)
			if err != nil {
				return nil, fmt.Errorf("in %s: /proc/net/stat/nf_conntrack: %s: %w", ns.Name, head[j], err)
			}
			if head[j] == "entries" && i > 0 {
				continue
			}
			m[head[j]] += v
		}
	}
	return m, nil
}

// ConntrackFlushErr removes ns's IPv4 conntrack entries (conntrack -F -f
// ipv4; the netlink request names the family), for a measurement that
// must not inherit the entries of the one before.
func (ns *NS) ConntrackFlushErr() error {
	err := ns.Do(func() error {
		return netlink.ConntrackTableFlush(netlink.ConntrackTable)
	})
	if err != nil {
		return fmt.Errorf("in %s: netlink.ConntrackTableFlush: %w", ns.Name, err)
	}
	return nil
}
