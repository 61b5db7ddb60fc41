package intercept

import (
	"time"
)

// allowed applies the domain policy to a request whose routing authority
// is host (h1.Request.Host), before anything is dialled. A denied request
// gets a 403 page naming the domain and the router, as Squid's
// ERR_ACCESS_DENIED, is logged TCP_DENIED/403 and counted; the
// connection closes.
func (c *conn) allowed(host []byte, start time.Time) bool {
	p := c.s.policy.Load()
	if !p.Active() {
		return true // no lists: nothing to name the request for
	}
	var buf [256]byte
	name := appendPolicyName(buf[:0], host, c.dst)
	if !p.Denied(unsafeString(name)) {
		return true
	}
	c.s.Stats.Denied[0].Inc()
	c.page(403, "Access denied: the policy of the router "+c.s.Name+" does not allow "+string(name)+".")
	c.log(start, "TCP_DENIED")
	return false
}
