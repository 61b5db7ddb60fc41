package trip_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"tprouter/init/config"
	"tprouter/init/firewall"
	"tprouter/init/selftest/trip"
	"tprouter/qemu/lab"
	"tprouter/qemu/labproc"
	"tprouter/qemu/labrouter"
)

func TestMain(m *testing.M) { os.Exit(labproc.Run(m)) }

const proxyPort = 3129

// rig is a lab router configured by the firmware's router.Configure, with
// the real proxy in it when proxyArgs is not nil.
func rig(t *testing.T, fail config.FailMode, proxyArgs ...string) (*lab.Lab, config.Network, string) {
	l := lab.New(t, lab.Options{ConfigureRouter: true})
	c := labrouter.Config(proxyPort)
	c.FailMode = fail
	labrouter.Install(t, l, c)
	logPath := t.TempDir() + "/access.log"
	if proxyArgs != nil {
		bin := labproc.Build(t, "tprouter/services/proxy")["proxy"]
		args := append([]string{fmt.Sprintf("-listen=:%d", proxyPort), "-access-log=" + logPath,
			"-access-log-max-size=0", "-name=labgw", "-selftest-net=" + firewall.SelfTestNets, "-status=127.0.0.1:9000"}, proxyArgs...)
		p := labproc.Start(t, l.Router, bin, args...)
		p.WaitLog(t, "listening on", 10*time.Second)
	}
	return l, c, logPath
}

// run runs trip.Run in l's router namespace, with namespace names of
// this test's own.
func run(t *testing.T, l *lab.Lab, c config.Network) map[string]trip.Result {
	tc := trip.FromNetwork(c)
	tc.ClientNS = fmt.Sprintf("stc-%d-%s", os.Getpid(), t.Name())
	tc.ServerNS = fmt.Sprintf("sts-%d-%s", os.Getpid(), t.Name())
	tc.ClientNS = strings.ReplaceAll(tc.ClientNS, "/", "-")
	tc.ServerNS = strings.ReplaceAll(tc.ServerNS, "/", "-")
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Second)
	defer cancel()
	var rs []trip.Result
	l.Router.Do(func() error { rs = trip.Run(ctx, tc); return nil })
	got := map[string]trip.Result{}
	for _, r := range rs {
		t.Logf("%s: ok=%v %s; fix: %s", r.Check, r.OK, r.Detail, r.Fix)
		got[r.Check] = r
	}
	if len(got) != 2 {
		t.Fatalf("results %v, want roundtrip4 and roundtrip6", rs)
	}
	// Torn down: no st-* links, no namespaces left.
	if out := l.Router.IP(t, "-br", "link"); strings.Contains(out, "st-") {
		t.Errorf("links left after Run:\n%s", out)
	}
	for _, n := range []string{tc.ClientNS, tc.ServerNS} {
		if _, err := os.Stat("/run/netns/" + n); err == nil {
			t.Errorf("namespace %s left after Run", n)
		}
	}
	return got
}

// TestRoundTrip: with the real proxy, both families pass, and the access
// log has no line for them while the metric counts them.
func TestRoundTrip(t *testing.T) {
	l, c, logPath := rig(t, config.FailOpen, []string{}...)
	for name, r := range run(t, l, c) {
		if !r.OK {
			t.Errorf("%s failed: %s; fix: %s", name, r.Detail, r.Fix)
		}
	}
	time.Sleep(1500 * time.Millisecond) // the access log's flush interval
	if b, _ := os.ReadFile(logPath); len(b) > 0 {
		t.Errorf("access log has the self-test's requests:\n%s", b)
	}
	m := l.Router.Run(t, "curl", "-s", "http://127.0.0.1:9000/metrics")
	if !strings.Contains(m, "tprouter_selftest_requests_total 2\n") {
		t.Errorf("metrics lack tprouter_selftest_requests_total 2:\n%s", grep(m, "selftest"))
	}
}

func grep(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestBroken: each broken condition fails both families with its
// diagnosis.
func TestBroken(t *testing.T) {
	for _, tc := range []struct {
		name  string
		fail  config.FailMode
		proxy []string // nil: no proxy
		want  string
	}{
		{"no proxy, fail open", config.FailOpen, nil, "without Via"},
		{"no proxy, fail closed", config.FailClosed, nil, "connection refused"},
		{"proxy not spoofing", config.FailOpen, []string{"-spoof=false"}, "not spoofed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, c, _ := rig(t, tc.fail, tc.proxy...)
			for name, r := range run(t, l, c) {
				if r.OK || !strings.Contains(r.Detail, tc.want) || r.Fix == "" {
					t.Errorf("%s: ok=%v %q (fix %q), want a failure saying %q and a fix", name, r.OK, r.Detail, r.Fix, tc.want)
				}
			}
		})
	}
}
