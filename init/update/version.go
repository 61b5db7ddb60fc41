package update

import (
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// VersionHandler serves GET /version, text:
//
//	version 2
//	slot a
//	entry tprouter-a.conf
//	rolled back: version 3 in slot b failed 3 boots: selftest FAILED: proxy-cap
//
// the last line only after a rollback.
func (u *Updater) VersionHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		slot, entry, why := u.Running()
		var b strings.Builder
		fmt.Fprintf(&b, "version %s\n", u.Version)
		if slot == "" {
			fmt.Fprintf(&b, "slot unknown: %s\n", why)
		} else {
			fmt.Fprintf(&b, "slot %s\nentry %s\n", slot, entry)
		}
		if rb := u.RolledBack(); rb != "" {
			fmt.Fprintf(&b, "rolled back: %s\n", rb)
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, b.String())
	})
}

// WriteMetrics writes the update's metrics (status.Server.Metrics).
func (u *Updater) WriteMetrics(w io.Writer) {
	slot, entry, _ := u.Running()
	e, _ := parseEntry(entry)
	metric := func(name, help string) {
		fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s gauge\n", name, help, name)
	}
	metric("tprouter_version_info", "The running version and slot (\"\" when it cannot be told).")
	fmt.Fprintf(w, "tprouter_version_info{version=%s,slot=%s} 1\n", strconv.Quote(u.Version), strconv.Quote(slot))
	metric("tprouter_update_rolled_back", "Whether this boot runs because an update was rolled back.")
	fmt.Fprintf(w, "tprouter_update_rolled_back %d\n", b2i(u.RolledBack() != ""))
	metric("tprouter_update_pending_blessing", "Whether the running slot is on trial: no passing self-test yet.")
	fmt.Fprintf(w, "tprouter_update_pending_blessing %d\n", b2i(e.counting))
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
