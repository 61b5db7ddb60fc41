package cmdline

import (
	"fmt"
	"strings"

	"tprouter/init/config"
)

// FileName is the configuration file at the root of the boot partition:
// tprouter.* keys as on the kernel command line, which they override.
const FileName = "cmdline.txt"

// Template returns the commented cmdline.txt the disk image ships: every
// key, with the form it takes and its default, commented out, so that a
// user uncomments and edits a line. It is generated from the key table,
// so that it cannot drift from what Parse reads.
func Template() string {
	var b strings.Builder
	b.WriteString("# tprouter configuration: tprouter.* keys as on the kernel command line,\n" +
		"# separated by spaces or new lines; '#' starts a comment. The keys here\n" +
		"# override the kernel command line's. Every key is listed below with its\n" +
		"# default, commented out: remove the '#' and change the value.\n")
	def := config.Default()
	for _, k := range keys {
		fmt.Fprintf(&b, "\n# %s\n#%s=%s\n", k.want, k.name, k.value(def))
	}
	return b.String()
}
