package main

import (
	"bytes"
	"strings"
	"testing"

	"tprouter/services/internal/cli"
	"tprouter/services/proxy/accesslog"
)

func TestAccessLogFormatFlag(t *testing.T) {
	c, err := parseFlags(nil)
	if err != nil || c.logFormat != accesslog.FormatSquid {
		t.Errorf("default -access-log-format: %v, %v; want squid", c.logFormat, err)
	}
	if c, err = parseFlags([]string{"-access-log-format", "tls"}); err != nil || c.logFormat != accesslog.FormatTLS {
		t.Errorf("-access-log-format tls: %v, %v", c.logFormat, err)
	}
	var out bytes.Buffer
	if code := run([]string{"-access-log-format", "combined"}, &out); code != cli.ExitUsage || !strings.Contains(out.String(), "access-log-format") {
		t.Errorf("-access-log-format combined: exit %d, %q; want %d naming the flag", code, out.String(), cli.ExitUsage)
	}
}
