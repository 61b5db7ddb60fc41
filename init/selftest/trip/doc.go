// Package trip is the self-test's real round trip through the
// interception path, from inside the router, over IPv4 and IPv6.
//
// Run makes two network namespaces joined to the caller's (the router's)
// by veth pairs: a client, ClientNS, behind the router's link
// firewall.SelfTestClient ("st-client"), and a server, ServerNS, behind
// firewall.SelfTestServer ("st-server"). The client sends GET to the
// server's address on an intercepted port; the firewall diverts it to the
// proxy like a LAN client's, the proxy connects to the server from the
// client's address (spoofing), and the server's replies come back on
// st-server, where the divert rule delivers them to the proxy. The server
// records the source address and the Via header it saw. A family passes
// when the response came, the server saw the client's own address and the
// proxy's Via. Everything is removed again before Run returns, on error
// and on ctx's end too.
//
// The addresses are in 198.18.0.0/15, RFC 2544's range for benchmarking
// network devices: never routed on the internet nor used on a real LAN,
// unlike the documentation ranges 192.0.2/24, 198.51.100/24 and
// 203.0.113/24, which tprouter's own lab and many test LANs do use; so
// the synthetic client can never shadow a real one. IPv6 uses
// 2001:db8:5e1f::/48 (documentation range). The proxy is told these
// prefixes (firewall.SelfTestNets, its flag -selftest-net) and keeps their requests
// out of the access log, counting them in tprouter_selftest_requests_total.
//
//	client 198.18.0.2/30, 2001:db8:5e1f:c::2/64 — router 198.18.0.1, 2001:db8:5e1f:c::1 (st-client)
//	server 198.18.0.6/30, 2001:db8:5e1f:5::2/64 — router 198.18.0.5, 2001:db8:5e1f:5::1 (st-server)
//
// Run works in the network namespace of the calling OS thread, which must
// be the router's (init's, or a lab's router namespace entered by Do).
package trip

import (
	"net/netip"

	"tprouter/init/firewall"
)

// Default namespace names (ip netns list shows them during a run).
const (
	ClientNS = "tprouter-stc"
	ServerNS = "tprouter-sts"
)

// side is one end of the round trip: a namespace behind a router link.
type side struct {
	link         string       // router side of the veth pair
	router4, ns4 netip.Prefix // router's and namespace's IPv4 addresses
	router6, ns6 netip.Prefix // and IPv6, without DAD
}

var (
	client = side{link: firewall.SelfTestClient,
		router4: netip.MustParsePrefix("198.18.0.1/30"), ns4: netip.MustParsePrefix("198.18.0.2/30"),
		router6: netip.MustParsePrefix("2001:db8:5e1f:c::1/64"), ns6: netip.MustParsePrefix("2001:db8:5e1f:c::2/64"),
	}
	server = side{link: firewall.SelfTestServer,
		router4: netip.MustParsePrefix("198.18.0.5/30"), ns4: netip.MustParsePrefix("198.18.0.6/30"),
		router6: netip.MustParsePrefix("2001:db8:5e1f:5::1/64"), ns6: netip.MustParsePrefix("2001:db8:5e1f:5::2/64"),
	}
)
