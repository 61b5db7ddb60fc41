package cmdline

import (
	"fmt"
	"strings"

	"tprouter/init/config"
)

// Template returns the commented cmdline.txt the disk image ships: every
// key with the form it takes, its default and an example, commented out,
// so that the file changes nothing until a user uncomments a line and
// edits it. It is generated from the key table, so that it cannot drift
// from what Parse reads.
func Template() string {
	var b strings.Builder
	b.WriteString("# tprouter's configuration, read at every boot: tprouter.* keys as on the\n" +
		"# kernel command line, separated by spaces or new lines; '#' starts a comment\n" +
		"# to the end of the line. The keys here override the kernel command line's.\n" +
		"# A value that does not parse is reported on the console with this file's\n" +
		"# name and the line, and the router boots with the safe choice (README.md).\n" +
		"# Each key is below with its default and an example, commented out: remove\n" +
		"# the '#' in front of the key and change the value.\n")
	def := config.Default()
	for _, k := range keys {
		d := k.value(def)
		if d == "" {
			d = "none"
		}
		fmt.Fprintf(&b, "\n# %s: %s.\n# Default: %s.\n#%s=%s\n", k.name, k.want, d, k.name, k.example)
	}
	return b.String()
}
