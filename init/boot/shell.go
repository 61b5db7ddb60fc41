package boot

import "os"

// Shells are where the rescue shell is looked for, in order: u-root's
// busybox sh (/bbin), a classic /bin/sh, then u-root's own gosh.
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
