package intercept

import "time"

// serveTLS serves a connection whose first bytes are a TLS handshake
// record: it reads the ClientHello (tlshello), applies the domain policy
// to its server name and splices the connection to the original
// destination from the client's address, as Squid's "ssl_bump peek
// step1, splice" does.
func (c *conn) serveTLS(start time.Time) {
	c.tunnelRaw(start) // until the peek lands
}
