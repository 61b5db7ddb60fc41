// Package syslog sends the router's log lines to remote collectors
// (tprouter.syslog): every console line, init's and each service's, and
// the proxy's access log: from the console (AppName) when the proxy
// writes it on its standard output, else from its file (Follow).
//
// Messages are RFC 5424, facility daemon, severity info:
//
//	<30>1 2026-11-25T21:00:00.123000Z gw.lan proxy - - - listening on :3129
//
// PRI 30 is daemon.info; TIMESTAMP is UTC with microseconds; HOSTNAME the
// router's host name (tprouter.hostname); APP-NAME the line's source
// (init, proxy, dhcp4c, ...), or "access" for an access log line; PROCID,
// MSGID and STRUCTURED-DATA are the nil value "-"; MSG is the line, UTF-8
// without a BOM.
//
// Over UDP (RFC 5426) each message is one datagram, cut to 2048 bytes.
// Over TCP each message is framed by octet counting (RFC 6587 3.4.1):
// "LEN SP MSG", LEN the message's length in bytes in decimal; a broken
// connection is dialed again with a backoff from 100 ms doubling to 5 s.
//
// Each collector has its own bounded queue of Queue messages (10,000).
// Offer never blocks: it appends to every queue and returns. While a
// collector is unreachable (dial or write fails) its messages wait in its
// queue; when the queue is full the oldest message is dropped and counted.
// The message being sent when the link broke is sent again first, so a
// collector that comes back gets everything its queue held, in order.
// Before each TCP write the connection is peeked for the collector's FIN,
// so a collector that was stopped loses nothing; TCP has no message
// acknowledgement, though, so a message written in the instant a
// collector dies (before its FIN or RST arrives) can be lost (RELP would
// be needed to rule that out). Over UDP, the messages sent before the
// first ICMP port unreachable are lost, as UDP syslog always is; while a
// UDP collector is down, a datagram counts as answered only if no ICMP
// error has come back for it 200 ms later (else it is sent again), so a
// collector that is down stays down rather than seeming to answer at
// every other write.
// Once a write succeeds again after drops, Logf reports
// "syslog: <n> messages dropped while <collector> was unreachable", which
// init prints on the console, from where it reaches the collectors too.
package syslog
