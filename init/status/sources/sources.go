// Package sources reads what the status page's panels show from where
// the router keeps it: the DHCP server's leases file (Leases), the WAN
// link's addresses and the DHCP client's lease file (WAN), and every
// link with its addresses and kernel counters (Interfaces), the links
// from netlink in the caller's network namespace.
//
// A state file that does not exist yet is not an error: the service has
// not written it (no leases yet, no DHCP lease yet, a static WAN).
package sources

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
)

// maxFile caps a state file read, in case one is corrupt.
const maxFile = 4 << 20

// readJSON decodes the JSON file at path into v, and reports whether the
// file was there.
func readJSON(path string, v any) (bool, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxFile+1))
	if err != nil {
		return false, fmt.Errorf("read %s: %w", path, err)
	}
	if len(b) > maxFile {
		return false, fmt.Errorf("read %s: larger than %d MiB; is it a state file?", path, maxFile>>20)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return false, fmt.Errorf("%s: %w (written by another version of the service?)", path, err)
	}
	return true, nil
}
