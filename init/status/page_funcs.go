package status

import (
	"fmt"
	"html/template"
	"net/netip"
	"strings"
	"time"

	"tprouter/init/console"
)

// The page's human units, as its template writes them; page.js has the
// same functions for what it redraws (fmtBytes, fmtCount, ago, dur).
var pageFuncs = template.FuncMap{
	"bytes":  humanBytes,
	"count":  humanCount,
	"ago":    ago,
	"until":  until,
	"dur":    humanDuration,
	"utc":    func(t time.Time) string { return t.UTC().Format(console.TimeFormat) },
	"since":  func(now, t time.Time) string { return humanDuration(now.Sub(t)) },
	"ip":     func(a netip.Addr) string { return orDash(a.IsValid(), a.String()) },
	"addrs":  joinPrefixes,
	"ips":    joinAddrs,
	"toprow": func(e TopEntry, rows []TopEntry) topRow { return topRow{e, pct(e.Count, rows)} },
	"secs": func(n int) string {
		if n <= 0 {
			n = 300
		}
		return humanDuration(time.Duration(n) * time.Second)
	},
	"lines":  logText,
	"isZero": func(t time.Time) bool { return t.IsZero() },
}

// humanBytes writes n bytes with an SI prefix: "512 B", "1.2 kB", "3.4 GB".
func humanBytes(n uint64) string {
	return humanSI(float64(n), "B")
}

// humanCount writes n with an SI prefix and no unit: "950", "12.3k".
func humanCount(n uint64) string {
	return strings.ReplaceAll(humanSI(float64(n), ""), " ", "")
}

// humanSI writes v with three significant digits and an SI prefix.
func humanSI(v float64, unit string) string {
	prefixes := []string{"", "k", "M", "G", "T", "P"}
	i := 0
	for v >= 999.5 && i < len(prefixes)-1 {
		v /= 1000
		i++
	}
	switch {
	case i == 0:
		return fmt.Sprintf("%.0f %s", v, unit)
	case v < 9.995:
		return fmt.Sprintf("%.2f %s%s", v, prefixes[i], unit)
	case v < 99.95:
		return fmt.Sprintf("%.1f %s%s", v, prefixes[i], unit)
	}
	return fmt.Sprintf("%.0f %s%s", v, prefixes[i], unit)
}

// humanDuration writes d in its two largest units: "45s", "3m 20s",
// "5m", "2h 3m", "4d 1h".
func humanDuration(d time.Duration) string {
	s := int64(d.Round(time.Second) / time.Second)
	if s < 0 {
		s = 0
	}
	switch {
	case s < 60:
		return fmt.Sprintf("%ds", s)
	case s < 3600:
		return two(s/60, "m", s%60, "s")
	case s < 86400:
		return two(s/3600, "h", s%3600/60, "m")
	}
	return two(s/86400, "d", s%86400/3600, "h")
}

// two writes a duration in two units, leaving out a zero second one.
func two(a int64, ua string, b int64, ub string) string {
	if b == 0 {
		return fmt.Sprint(a, ua)
	}
	return fmt.Sprint(a, ua, " ", b, ub)
}

// ago writes how long before now t was: "12 s ago", "3 min ago", "2 h
// ago", "4 d ago"; "never" for the zero time.
func ago(now, t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	s := int64(now.Sub(t) / time.Second)
	switch {
	case s < 0:
		return "just now"
	case s < 60:
		return fmt.Sprintf("%d s ago", s)
	case s < 3600:
		return fmt.Sprintf("%d min ago", s/60)
	case s < 86400:
		return fmt.Sprintf("%d h ago", s/3600)
	}
	return fmt.Sprintf("%d d ago", s/86400)
}

// until writes how long after now t is: "in 2h 3m", or "expired".
func until(now, t time.Time) string {
	if t.IsZero() {
		return "–"
	}
	if !t.After(now) {
		return "expired"
	}
	return "in " + humanDuration(t.Sub(now))
}

func joinPrefixes(ps []netip.Prefix) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.String()
	}
	return orDash(len(s) > 0, strings.Join(s, " "))
}

func joinAddrs(as []netip.Addr) string {
	s := make([]string, len(as))
	for i, a := range as {
		s[i] = a.String()
	}
	return orDash(len(s) > 0, strings.Join(s, " "))
}

func orDash(ok bool, s string) string {
	if !ok {
		return "–"
	}
	return s
}

// topRow is a row of a top table, with its bar's length.
type topRow struct {
	E   TopEntry
	Pct int
}

// pct is n as a whole percentage of the largest count in rows, for the
// top tables' bars.
func pct(n uint64, rows []TopEntry) int {
	var top uint64
	for _, r := range rows {
		top = max(top, r.Count)
	}
	if top == 0 {
		return 0
	}
	return int(n * 100 / top)
}

// logText is a service's recent lines, one a line, each with its time.
func logText(lines []LogLine) string {
	var b strings.Builder
	for _, l := range lines {
		b.WriteString(l.Time.UTC().Format("15:04:05") + " " + l.Text + "\n")
	}
	return b.String()
}
