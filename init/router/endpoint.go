package router

import (
	"fmt"
	"net/netip"
	"strings"

	"tprouter/init/firewall"
	"tprouter/init/status"
)

// serveStatus opens the status endpoint on the LAN addresses of link, and
// reports whether it is done (or not wanted).
func (r *Router) serveStatus(link string) bool {
	c := r.Config
	if r.Status == nil || c.StatusPort == 0 {
		return true
	}
	var addrs []netip.Addr
	for _, p := range c.Network.LANAddrs {
		addrs = append(addrs, p.Addr())
	}
	ls, err := status.Listen(addrs, c.StatusPort, link)
	if err != nil {
		r.Log.Printf("status endpoint: %v", err)
		return false
	}
	r.Status.ProxyStatus = fmt.Sprintf("127.0.0.1:%d", c.ProxyStatusPort())
	r.Status.Table = r.table()
	r.panels()
	if r.Status.QUICBlocked == nil {
		r.Status.QUICBlocked = firewall.QUICBlocked
	}
	status.Serve(ls, r.Status.Handler(), r.Log.Printf)
	var urls []string
	for _, l := range ls {
		urls = append(urls, "http://"+l.Addr().String()+"/")
	}
	r.Log.Printf("status endpoint on %s (%s only)", strings.Join(urls, " and "), link)
	return true
}
