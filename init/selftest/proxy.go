package selftest

import (
	"context"
	"fmt"
	"strings"

	"golang.org/x/sys/unix"
)

const proxyDownFix = "the proxy does not run: its console lines (\"proxy: ...\") and the status page's services say why it exited; " +
	"the supervisor restarts it unless it exited with status 125 (bad command line)"

// proxyPID returns the proxy's pid, or a failed result for check.
func (t *Tester) proxyPID(check string) (int, *Result) {
	pid := 0
	if t.ProxyPID != nil {
		pid = t.ProxyPID()
	}
	if pid <= 0 {
		r := fail(check, "the proxy is not running", proxyDownFix)
		return 0, &r
	}
	return pid, nil
}

// proxyListen: the proxy has a transparent listener on ProxyPort for
// IPv4 (an IPv4 socket, or a dual-stack IPv6 one) and one for IPv6.
func (t *Tester) proxyListen(context.Context) Result {
	pid, res := t.proxyPID("proxy-listen")
	if res != nil {
		return *res
	}
	port := t.Net.ProxyPort
	ls, err := listeners(t.proc(), pid, port)
	if err != nil {
		return fail("proxy-listen", err.Error(), "init reads the proxy's sockets through /proc and pidfd_getfd (Linux 5.6), as root")
	}
	if len(ls) == 0 {
		return fail("proxy-listen", fmt.Sprintf("the proxy (pid %d) does not listen on TCP port %d", pid, port),
			fmt.Sprintf("the proxy must listen on :%d, the port the tproxy rule diverts to (tprouter.proxy.port); its console lines say why it does not", port))
	}
	var v4, v6 bool
	var seen []string
	for _, l := range ls {
		seen = append(seen, l.String())
		v4 = v4 || l.transparent && (l.family == 4 || !l.v6only)
		v6 = v6 || l.transparent && l.family == 6
	}
	var missing []string
	if !v4 {
		missing = append(missing, "IPv4")
	}
	if !v6 {
		missing = append(missing, "IPv6")
	}
	detail := fmt.Sprintf("pid %d on port %d: %s", pid, port, strings.Join(seen, ", "))
	if len(missing) > 0 {
		return fail("proxy-listen", detail+"; no transparent listener for "+strings.Join(missing, " and "),
			"the proxy must listen with IP_TRANSPARENT (IPv4) and IPV6_TRANSPARENT (IPv6) in both families (services/proxy/tproxy.Listen); "+
				"its console lines name the family it left out and why; setting the option needs CAP_NET_ADMIN (see proxy-cap)")
	}
	return ok("proxy-listen", detail)
}

// proxyCap: the proxy holds CAP_NET_ADMIN in its effective set, which
// IP_TRANSPARENT and the bind to the client's address need.
func (t *Tester) proxyCap(context.Context) Result {
	pid, res := t.proxyPID("proxy-cap")
	if res != nil {
		return *res
	}
	eff, err := capEff(t.proc(), pid)
	if err != nil {
		return fail("proxy-cap", fmt.Sprintf("reading the proxy's capabilities: %v", err), proxyDownFix)
	}
	if eff&(1<<unix.CAP_NET_ADMIN) == 0 {
		return fail("proxy-cap", fmt.Sprintf("the proxy (pid %d) lacks CAP_NET_ADMIN (CapEff %016x): its spoofed upstream connections (a bind to the client's address) fail", pid, eff),
			"init gives the proxy CAP_NET_ADMIN as an ambient capability (service proxy in init/router/services.go); "+
				"when it cannot, the console says why at the proxy's start (\"CAP_NET_ADMIN: ...\": init's own bounding or permitted set lacks it)")
	}
	return ok("proxy-cap", fmt.Sprintf("pid %d has CAP_NET_ADMIN (CapEff %016x)", pid, eff))
}
