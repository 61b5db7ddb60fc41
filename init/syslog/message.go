package syslog

import (
	"strconv"
	"strings"
	"time"
)

// pri is facility daemon (3) times 8 plus severity info (6).
const pri = 3*8 + 6

// timeFormat is RFC 5424's TIMESTAMP: RFC 3339 with at most 6 fraction
// digits.
const timeFormat = "2006-01-02T15:04:05.000000Z07:00"

// Format returns one RFC 5424 message: PRI, version 1, t in UTC, host,
// app, nil PROCID, MSGID and STRUCTURED-DATA, then msg. Empty or
// unprintable host and app names become "-" or have '?' for the bad bytes.
func Format(host, app string, t time.Time, msg string) []byte {
	b := make([]byte, 0, 64+len(host)+len(app)+len(msg))
	b = append(b, '<')
	b = strconv.AppendInt(b, pri, 10)
	b = append(b, ">1 "...)
	b = t.UTC().AppendFormat(b, timeFormat)
	b = append(b, ' ')
	b = appendName(b, host, 255)
	b = append(b, ' ')
	b = appendName(b, app, 48)
	b = append(b, " - - - "...)
	return append(b, msg...)
}

// appendName appends a header field: PRINTUSASCII without space, at most
// n bytes, "-" when empty.
func appendName(b []byte, s string, n int) []byte {
	if s == "" {
		return append(b, '-')
	}
	for i := 0; i < len(s) && i < n; i++ {
		c := s[i]
		if c < 33 || c > 126 {
			c = '?'
		}
		b = append(b, c)
	}
	return b
}

// AppName is the APP-NAME of a console line from src: "access" for the
// proxy's access log lines, which reach init on the proxy's standard
// output when there is no /perm to write them to, else src.
func AppName(src, line string) string {
	if src == "proxy" && isAccessLine(line) {
		return "access"
	}
	return src
}

// isAccessLine reports whether line starts as a Squid native access log
// line does: seconds since the epoch, '.', milliseconds, a space. The
// proxy's own log lines start with a word.
func isAccessLine(line string) bool {
	i := 0
	for i < len(line) && line[i] >= '0' && line[i] <= '9' {
		i++
	}
	if i < 9 || len(line) < i+5 || line[i] != '.' || line[i+4] != ' ' {
		return false
	}
	for _, c := range line[i+1 : i+4] {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// accessTime is the time a Squid access log line starts with, or now.
func accessTime(line string) time.Time {
	if !isAccessLine(line) {
		return time.Now()
	}
	sec, ms, _ := strings.Cut(line[:strings.IndexByte(line, ' ')], ".")
	s, _ := strconv.ParseInt(sec, 10, 64)
	m, _ := strconv.ParseInt(ms, 10, 64)
	return time.Unix(s, m*1e6)
}
