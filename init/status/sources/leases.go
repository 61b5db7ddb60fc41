package sources

import (
	"cmp"
	"slices"

	"tprouter/init/status"
)

// Leases reads the DHCP server's leases file (services/dhcp4d's
// {"leases":[...]}), ordered by address; nil when the file does not
// exist yet.
func Leases(path string) ([]status.Lease, error) {
	var f struct {
		Leases []status.Lease `json:"leases"`
	}
	if ok, err := readJSON(path, &f); !ok {
		return nil, err
	}
	slices.SortFunc(f.Leases, func(a, b status.Lease) int {
		return cmp.Or(a.Addr.Compare(b.Addr), cmp.Compare(a.MAC, b.MAC))
	})
	return f.Leases, nil
}
