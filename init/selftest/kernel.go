package selftest

import (
	"context"
	"os"
	"path/filepath"
	"strings"

	"tprouter/init/firewall"
)

// interceptModules are the modules of nftables' tproxy and socket
// expressions (board.go's router list loads them).
var interceptModules = []string{"nft_tproxy", "nft_socket", "nf_tproxy_ipv4", "nf_tproxy_ipv6", "nf_socket_ipv4", "nf_socket_ipv6"}

// kernel proves that nftables takes a tproxy rule and a socket rule.
// Only when it does not, /sys/module says which modules are not loaded
// (built-in ones may be absent there too, so their absence alone proves
// nothing).
func (t *Tester) kernel(context.Context) Result {
	probe := t.probe
	if probe == nil {
		probe = func() error { return firewall.ProbeInterception(t.Net) }
	}
	err := probe()
	if err == nil {
		return ok("kernel", "nftables took a tproxy rule and a socket transparent rule (throwaway table)")
	}
	detail := err.Error()
	if missing := t.notLoaded(); len(missing) > 0 {
		detail += "; not loaded (no " + filepath.Join(t.sys(), "module") + "/<name>): " + strings.Join(missing, ", ")
	}
	return fail("kernel", detail,
		"build the kernel with CONFIG_NFT_TPROXY and CONFIG_NFT_SOCKET (and CONFIG_NF_TPROXY_IPV4/IPV6, CONFIG_NF_SOCKET_IPV4/IPV6), "+
			"built in or as modules; as modules, the board's module list (board/board.go) must load "+strings.Join(interceptModules, ", ")+
			" (there is no modprobe on the box)")
}

func (t *Tester) notLoaded() []string {
	var missing []string
	for _, m := range interceptModules {
		if _, err := os.Stat(filepath.Join(t.sys(), "module", m)); err != nil {
			missing = append(missing, m)
		}
	}
	return missing
}
