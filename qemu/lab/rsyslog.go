package lab

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Rsyslog is Debian's rsyslogd in the foreground in a lab namespace, a
// syslog collector for tests (init/syslog's and the QEMU e2e test's): it
// receives on UDP and TCP (octet counting, imtcp's default) on one
// address and port, parses each message as RFC 5424 and writes its fields
// as one record of '|'-separated fields, which Records reads back.
type Rsyslog struct {
	ns   *NS
	dir  string
	port int
	cmd  *exec.Cmd
}

// SyslogRecord is one message as rsyslog parsed it: the input (imudp,
// imtcp), PRI, the protocol version (1 for RFC 5424), the TIMESTAMP in
// RFC 3339, HOSTNAME, APP-NAME, PROCID, MSGID, STRUCTURED-DATA and MSG.
type SyslogRecord struct {
	Input, Pri, Version, Time, Host, App, ProcID, MsgID, SD, Msg string
}

// rsyslogFields is the number of fields of a record.
const rsyslogFields = 10

// rsyslogConf: RFC 5424 in, the fields out.
const rsyslogConf = `global(workDirectory="%[1]s")
module(load="imudp")
module(load="imtcp")
template(name="fields" type="string" string="%%inputname%%|%%pri%%|%%protocol-version%%|%%timereported:::date-rfc3339%%|%%HOSTNAME%%|%%APP-NAME%%|%%PROCID%%|%%MSGID%%|%%STRUCTURED-DATA%%|%%msg%%\n")
input(type="imudp" address="%[3]s" port="%[2]d")
input(type="imtcp" address="%[3]s" port="%[2]d")
*.* action(type="omfile" file="%[1]s/out.log" template="fields")
`

// NewRsyslog writes the configuration and starts rsyslogd in ns,
// listening on addr:port over UDP and TCP; it is stopped when t ends.
// Without rsyslogd, t fails under CI=true and is skipped elsewhere.
func NewRsyslog(t testing.TB, ns *NS, addr string, port int) *Rsyslog {
	t.Helper()
	if _, err := exec.LookPath("rsyslogd"); err != nil {
		Unavailable(t, "rsyslogd not found: install rsyslog (make deps)")
	}
	r := &Rsyslog{ns: ns, dir: t.TempDir(), port: port}
	if err := os.WriteFile(filepath.Join(r.dir, "rsyslog.conf"), fmt.Appendf(nil, rsyslogConf, r.dir, port, addr), 0o644); err != nil {
		t.Fatal(err)
	}
	r.Start(t)
	t.Cleanup(func() { r.Stop(t) })
	return r
}

// Start runs rsyslogd and waits until it listens on both protocols.
func (r *Rsyslog) Start(t testing.TB) {
	t.Helper()
	r.cmd = r.ns.Command("rsyslogd", "-n", "-f", filepath.Join(r.dir, "rsyslog.conf"), "-i", filepath.Join(r.dir, "pid"))
	r.cmd.Stdout, r.cmd.Stderr = os.Stderr, os.Stderr
	if err := r.cmd.Start(); err != nil {
		t.Fatalf("starting rsyslogd in %s: %v", r.ns.Name, err)
	}
	p := fmt.Sprintf(":%d ", r.port)
	deadline := time.Now().Add(10 * time.Second)
	for {
		out, _ := r.ns.RunErr("ss", "-Hnlut")
		if strings.Count(out, p) >= 2 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("rsyslogd does not listen on udp and tcp %s after 10 s:\n%s", p, out)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Stop ends rsyslogd with SIGTERM and waits for it; it does nothing if
// rsyslogd is not running.
func (r *Rsyslog) Stop(t testing.TB) {
	t.Helper()
	if r.cmd == nil {
		return
	}
	r.cmd.Process.Signal(syscall.SIGTERM)
	if err := r.cmd.Wait(); err != nil {
		t.Errorf("rsyslogd: %v", err)
	}
	r.cmd = nil
}

// Records returns what rsyslog wrote so far.
func (r *Rsyslog) Records(t testing.TB) []SyslogRecord {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(r.dir, "out.log"))
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var rs []SyslogRecord
	for _, line := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
		f := strings.SplitN(line, "|", rsyslogFields)
		if len(f) == rsyslogFields {
			rs = append(rs, SyslogRecord{f[0], f[1], f[2], f[3], f[4], f[5], f[6], f[7], f[8], f[9]})
		}
	}
	return rs
}

// WaitFor waits until ok holds for the records, for at most d, and
// returns them; it fails t, naming what, if ok never held.
func (r *Rsyslog) WaitFor(t testing.TB, d time.Duration, what string, ok func([]SyslogRecord) bool) []SyslogRecord {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		rs := r.Records(t)
		if ok(rs) {
			return rs
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v, rsyslog has not got %s; it has %d records, the last: %q", d, what, len(rs), rs[max(0, len(rs)-5):])
		}
		time.Sleep(50 * time.Millisecond)
	}
}
