package boot

import "os"

// Shells are where the rescue shell is looked for: u-root's busybox
// (/bbin), then a classic /bin/sh.
var Shells = []string{"/bbin/sh", "/bin/sh", "/bbin/gosh"}

// FindShell returns the first of Shells that exists, or "".
func FindShell() string {
	for _, sh := range Shells {
		if st, err := os.Stat(sh); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
			return sh
		}
	}
	return ""
}
