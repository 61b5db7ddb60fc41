package sources

import (
	"fmt"

	"tprouter/init/internal/oneline"
	"tprouter/init/status"
)

// WAN returns link's addresses and the DHCP client's lease at leasePath
// (services/dhcp4c's lease.json). An empty link (not found yet) has no
// addresses; an empty leasePath (static addresses) or a missing file
// (no lease yet) gives no DHCP lease.
func WAN(link, leasePath string) (status.WAN, error) {
	w := status.WAN{Link: link}
	var errs []error
	if link != "" {
		l, err := linkByName(link)
		if err == nil {
			w.Addrs, err = addrs(l)
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	if leasePath != "" {
		var lease status.WANLease
		ok, err := readJSON(leasePath, &lease)
		if err != nil {
			errs = append(errs, fmt.Errorf("the DHCP client's lease: %w", err))
		} else if ok {
			w.DHCP = &lease
		}
	}
	return w, oneline.Join(errs...)
}
