package firewall

import (
	"fmt"

	"tprouter/init/config"
	"tprouter/init/internal/oneline"
)

// ProbeInterception checks that the kernel takes the two expressions
// interception rests on, socket matching and TPROXY, each in a throwaway
// table deleted in the same batch (init/selftest's kernel check). The
// error names each missing feature with its module and config option.
func ProbeInterception(c config.Network) error {
	r := &ruleset{proxyPort: max(c.ProxyPort, 1), mark: max(c.Mark, 1)}
	var errs []error
	for _, f := range r.features() {
		if f.name != "socket matching" && f.name != "TPROXY" {
			continue
		}
		if err := probe(f); err != nil {
			errs = append(errs, fmt.Errorf("kernel lacks nftables %s support (%s): %w", f.name, f.module, err))
		}
	}
	return oneline.Join(errs...)
}
