package kmod

import (
	"fmt"
	"strings"
	"testing"
)

// table is a small dependency graph shaped like nftables': nft_tproxy needs
// nf_tables and nf_tproxy_ipv4, which both need a shared library module.
var table = map[string]*Module{
	"nft_tproxy":     {Name: "nft_tproxy", Path: "net/nft_tproxy.ko", Depends: []string{"nf_tables", "nf_tproxy_ipv4"}},
	"nf_tables":      {Name: "nf_tables", Path: "net/nf_tables.ko", Depends: []string{"nfnetlink", "libcrc32c"}},
	"nf_tproxy_ipv4": {Name: "nf_tproxy_ipv4", Path: "net/ipv4/nf_tproxy_ipv4.ko", Depends: []string{"nf_defrag_ipv4"}},
	"nfnetlink":      {Name: "nfnetlink", Path: "net/nfnetlink.ko"},
	"libcrc32c":      {Name: "libcrc32c", Path: "lib/libcrc32c.ko"},
	"nf_defrag_ipv4": {Name: "nf_defrag_ipv4", Path: "net/ipv4/nf_defrag_ipv4.ko", Depends: []string{"libcrc32c"}},
	"virtio_net":     {Name: "virtio_net", Path: "drivers/virtio_net.ko"},
	"a":              {Name: "a", Path: "a.ko", Depends: []string{"b"}},
	"b":              {Name: "b", Path: "b.ko", Depends: []string{"a"}},
}

func read(name string) (*Module, error) {
	m, ok := table[name]
	if !ok {
		return nil, fmt.Errorf("module %s: not in table", name)
	}
	return m, nil
}

func names(mods []*Module) string {
	var s []string
	for _, m := range mods {
		s = append(s, m.Name)
	}
	return strings.Join(s, " ")
}

func TestOrder(t *testing.T) {
	mods, err := order([]string{"virtio-net", "nft_tproxy", "nf_tables"}, read)
	if err != nil {
		t.Fatal(err)
	}
	want := "virtio_net nfnetlink libcrc32c nf_tables nf_defrag_ipv4 nf_tproxy_ipv4 nft_tproxy"
	if got := names(mods); got != want {
		t.Errorf("order:\n got %s\nwant %s", got, want)
	}
}

func TestOrderErrors(t *testing.T) {
	for _, tc := range []struct {
		roots []string
		want  string
	}{
		{[]string{"a"}, "cycle: a → b → a"},
		{[]string{"nosuch"}, "module nosuch: not in table"},
	} {
		_, err := order(tc.roots, read)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("order(%v) = %v, want an error with %q", tc.roots, err, tc.want)
		}
	}
}

// TestWriteDep checks the depmod format: every module has a line with a
// colon, and lists all it needs, direct or not, the deepest last.
func TestWriteDep(t *testing.T) {
	mods, err := order([]string{"nft_tproxy"}, read)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := WriteDep(&b, mods); err != nil {
		t.Fatal(err)
	}
	want := `net/nfnetlink.ko:
lib/libcrc32c.ko:
net/nf_tables.ko: lib/libcrc32c.ko net/nfnetlink.ko
net/ipv4/nf_defrag_ipv4.ko: lib/libcrc32c.ko
net/ipv4/nf_tproxy_ipv4.ko: net/ipv4/nf_defrag_ipv4.ko lib/libcrc32c.ko
net/nft_tproxy.ko: net/ipv4/nf_tproxy_ipv4.ko net/ipv4/nf_defrag_ipv4.ko net/nf_tables.ko lib/libcrc32c.ko net/nfnetlink.ko
`
	if b.String() != want {
		t.Errorf("modules.dep:\n%s\nwant:\n%s", b.String(), want)
	}
	if err := WriteDep(&b, mods[1:]); err == nil {
		t.Errorf("WriteDep without nfnetlink: no error")
	}
}

func TestName(t *testing.T) {
	for in, want := range map[string]string{
		"kernel/drivers/i2c/algos/i2c-algo-bit.ko": "i2c_algo_bit",
		"nf_tables":    "nf_tables",
		"i2c-algo-bit": "i2c_algo_bit",
	} {
		if got := Name(in); got != want {
			t.Errorf("Name(%q) = %q, want %q", in, got, want)
		}
	}
}
