package firewall

import (
	"fmt"
	"os"
	"sync/atomic"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

// A feature is an nftables capability the ruleset uses, with the smallest
// rule that needs it. When the kernel rejects the ruleset, Apply probes
// the features one by one to say which one is missing, instead of
// returning a bare errno (the kernel answers ENOENT for an expression type
// it has no module for).
type feature struct {
	name   string // what the error calls it: "TPROXY"
	module string // where it comes from: "nft_tproxy, CONFIG_NFT_TPROXY"
	chain  hook
	rule   func(*batch) ([]expr.Any, error)
}

// hook is where a probe's chain hangs, as in the real table; the hooks
// are named for the table's chains.
type hook struct {
	typ  nftables.ChainType
	hook *nftables.ChainHook
	prio *nftables.ChainPriority
}

var (
	preroutingHook  = hook{nftables.ChainTypeFilter, nftables.ChainHookPrerouting, nftables.ChainPriorityRaw}
	divertHook      = hook{nftables.ChainTypeFilter, nftables.ChainHookPrerouting, nftables.ChainPriorityMangle}
	inputHook       = hook{nftables.ChainTypeFilter, nftables.ChainHookInput, nftables.ChainPriorityFilter}
	forwardHook     = hook{nftables.ChainTypeFilter, nftables.ChainHookForward, nftables.ChainPriorityFilter}
	postroutingHook = hook{nftables.ChainTypeNAT, nftables.ChainHookPostrouting, nftables.ChainPriorityNATSource}
)

func exprs(e ...[]expr.Any) func(*batch) ([]expr.Any, error) {
	return func(*batch) ([]expr.Any, error) { return rule(e...), nil }
}

// baseFeature is nftables itself: when a table with an accepting filter
// chain cannot be added, no feature is to blame.
var baseFeature = feature{"inet tables", "nf_tables, CONFIG_NF_TABLES_INET", divertHook, exprs(accept())}

// features returns what r's ruleset uses, in the order the table uses it.
func (r *ruleset) features() []feature {
	f := []feature{
		{"interval sets", "nf_tables set backends (nft_set_rbtree)", divertHook,
			func(b *batch) ([]expr.Any, error) {
				s := &nftables.Set{Name: "probe", KeyType: nftables.TypeIPAddr, Interval: true}
				if err := b.addSet(s, intervalElements(r.exempt4)); err != nil {
					return nil, err
				}
				return rule(nfproto(unix.NFPROTO_IPV4), []expr.Any{loadNetwork(ip4Saddr, ip4Length), lookup(s, false)}), nil
			}},
		{"socket matching", "nft_socket, CONFIG_NFT_SOCKET", divertHook,
			exprs(l4proto(unix.IPPROTO_TCP), socketTransparent(), setMark(r.mark))},
		{"fib", "nft_fib_inet, CONFIG_NFT_FIB_INET", preroutingHook,
			exprs(fibDaddrLocal(), accept())},
		{"TPROXY", "nft_tproxy, CONFIG_NFT_TPROXY", preroutingHook,
			exprs(l4proto(unix.IPPROTO_TCP), tproxyToPort(r.proxyPort))},
		{"conntrack", "nft_ct, CONFIG_NFT_CT", inputHook,
			exprs(ctState(ctEstablished|ctRelated), accept())},
		{"conntrack zones", "nft_ct with CONFIG_NF_CONNTRACK_ZONES", preroutingHook,
			exprs(ctZoneSet(InterceptZone))},
	}
	if r.failClosed {
		f = append(f, feature{"reject", "nft_reject_inet, CONFIG_NFT_REJECT", forwardHook,
			exprs(l4proto(unix.IPPROTO_TCP), rejectTCPReset())})
	}
	if r.blockQUIC {
		f = append(f, feature{"named counters", "nft_objref, CONFIG_NFT_OBJREF", forwardHook,
			func(b *batch) ([]expr.Any, error) {
				b.conn.AddObj(&nftables.NamedObj{Table: b.t, Name: QUICCounter, Type: nftables.ObjTypeCounter, Obj: &expr.Counter{}})
				return rule(l4proto(unix.IPPROTO_UDP), counterRef(QUICCounter)), nil
			}},
			feature{"reject with port unreachable", "nft_reject_inet, CONFIG_NFT_REJECT_INET", forwardHook,
				exprs(l4proto(unix.IPPROTO_UDP), rejectPortUnreachable())})
	}
	if r.nat {
		f = append(f,
			feature{"NAT chains", "nft_chain_nat, CONFIG_NFT_NAT", postroutingHook, nil},
			feature{"masquerade", "nft_masq, CONFIG_NFT_MASQ", postroutingHook,
				exprs(nfproto(unix.NFPROTO_IPV4), masquerade())})
	}
	return f
}

// diagnose explains err, the kernel's rejection of the ruleset, by running
// the probes: the first feature whose probe fails is what the kernel lacks.
// run is probe, or a fake in tests.
func diagnose(err error, needed []feature, run func(feature) error) error {
	if perr := run(baseFeature); perr != nil {
		return fmt.Errorf("%w (nftables itself is unusable: a minimal inet table fails too: %v)", err, perr)
	}
	for _, f := range needed {
		if perr := run(f); perr != nil {
			return fmt.Errorf("kernel lacks nftables %s support (%s): probe: %w (%v)", f.name, f.module, perr, err)
		}
	}
	return fmt.Errorf("%w (every feature probe passed: the ruleset itself is at fault)", err)
}

var probeSeq atomic.Uint64

// probe adds a throwaway table with f's chain and rule and deletes it in
// the same batch, so nothing remains whatever happens. The table's name
// is unique and created exclusively: no one else's table is touched.
func probe(f feature) error {
	conn, err := nftables.New()
	if err != nil {
		return fmt.Errorf("nftables.New: %w", err)
	}
	b := &batch{conn: conn, t: &nftables.Table{
		Family: nftables.TableFamilyINet,
		Name:   fmt.Sprintf("%s_probe_%d_%d", Table, os.Getpid(), probeSeq.Add(1)),
	}}
	conn.CreateTable(b.t)
	c := b.chain("probe", f.chain.typ, f.chain.hook, f.chain.prio, nftables.ChainPolicyAccept)
	if f.rule != nil {
		e, err := f.rule(b)
		if err != nil {
			return err
		}
		b.rule(c, e)
	}
	conn.DelTable(b.t)
	return conn.Flush()
}
