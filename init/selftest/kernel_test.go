package selftest

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestKernelMissing: a module cannot be taken out of the host's kernel,
// so the diagnosis is tested through the seams: a probe failing as
// firewall.ProbeInterception does without nft_tproxy, and a /sys/module
// without it.
func TestKernelMissing(t *testing.T) {
	sys := t.TempDir()
	for _, m := range []string{"nft_socket", "nf_socket_ipv4", "nf_socket_ipv6"} {
		if err := os.MkdirAll(filepath.Join(sys, "module", m), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	tr := &Tester{Sys: sys, probe: func() error {
		return errors.New("kernel lacks nftables TPROXY support (nft_tproxy, CONFIG_NFT_TPROXY): no such file or directory")
	}}
	r := tr.kernel(t.Context())
	if r.OK || r.Check != "kernel" {
		t.Fatalf("kernel = %+v, want a failure", r)
	}
	for _, s := range []string{"TPROXY", "not loaded", "nft_tproxy, nf_tproxy_ipv4, nf_tproxy_ipv6"} {
		if !strings.Contains(r.Detail, s) {
			t.Errorf("detail %q lacks %q", r.Detail, s)
		}
	}
	if strings.Contains(r.Detail, "nft_socket") {
		t.Errorf("detail %q names nft_socket, which is loaded", r.Detail)
	}
	for _, s := range []string{"CONFIG_NFT_TPROXY", "board/board.go", "nft_tproxy"} {
		if !strings.Contains(r.Fix, s) {
			t.Errorf("fix %q lacks %q", r.Fix, s)
		}
	}
}
