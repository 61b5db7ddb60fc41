package syslog

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"tprouter/qemu/lab"
)

// rsyslog is Debian's rsyslogd in the foreground in a lab namespace,
// receiving on UDP and TCP port and writing each message as one record
// of '|'-separated fields.
type rsyslog struct {
	ns   *lab.NS
	dir  string
	port int
	cmd  *exec.Cmd
}

// record is one message as rsyslog parsed it.
type record struct {
	Input, Host, App, ProcID, MsgID, Msg string
}

// conf: RFC 5424 in, the fields out; TCP with octet counting (imtcp's
// default).
const conf = `global(workDirectory="%[1]s")
module(load="imudp")
module(load="imtcp")
template(name="fields" type="string" string="%%inputname%%|%%HOSTNAME%%|%%APP-NAME%%|%%PROCID%%|%%MSGID%%|%%msg%%\n")
input(type="imudp" address="%[3]s" port="%[2]d")
input(type="imtcp" address="%[3]s" port="%[2]d")
*.* action(type="omfile" file="%[1]s/out.log" template="fields")
`

// newRsyslog writes the configuration and starts rsyslogd in ns,
// listening on addr:port; it is stopped when t ends.
func newRsyslog(t *testing.T, ns *lab.NS, addr string, port int) *rsyslog {
	t.Helper()
	if _, err := exec.LookPath("rsyslogd"); err != nil {
		lab.Unavailable(t, "rsyslogd not found: install rsyslog (make deps)")
	}
	r := &rsyslog{ns: ns, dir: t.TempDir(), port: port}
	if err := os.WriteFile(filepath.Join(r.dir, "rsyslog.conf"), fmt.Appendf(nil, conf, r.dir, port, addr), 0o644); err != nil {
		t.Fatal(err)
	}
	r.start(t)
	t.Cleanup(func() { r.stop(t) })
	return r
}

// start runs rsyslogd and waits until it listens on both protocols.
func (r *rsyslog) start(t *testing.T) {
	t.Helper()
	r.cmd = r.ns.Command("rsyslogd", "-n", "-f", filepath.Join(r.dir, "rsyslog.conf"), "-i", filepath.Join(r.dir, "pid"))
	r.cmd.Stdout, r.cmd.Stderr = os.Stderr, os.Stderr
	if err := r.cmd.Start(); err != nil {
		t.Fatalf("starting rsyslogd: %v", err)
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

// stop ends rsyslogd with SIGTERM and waits for it.
func (r *rsyslog) stop(t *testing.T) {
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

// records returns what rsyslog wrote so far.
func (r *rsyslog) records(t *testing.T) []record {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(r.dir, "out.log"))
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var rs []record
	for _, line := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
		f := strings.SplitN(line, "|", 6)
		if len(f) == 6 {
			rs = append(rs, record{f[0], f[1], f[2], f[3], f[4], f[5]})
		}
	}
	return rs
}

// waitFor waits until ok holds for the records, for at most d.
func (r *rsyslog) waitFor(t *testing.T, d time.Duration, what string, ok func([]record) bool) []record {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		rs := r.records(t)
		if ok(rs) {
			return rs
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v, rsyslog has not got %s; it has %d records: %q", d, what, len(rs), tail(rs))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func tail(rs []record) []record { return rs[max(0, len(rs)-5):] }
