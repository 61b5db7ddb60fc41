package config

import (
	"net"
	"strconv"
)

// Collector is a remote syslog collector (tprouter.syslog): where the
// router sends its console lines and access log as RFC 5424 messages.
type Collector struct {
	// Network is "udp" or "tcp".
	Network string
	// Host is an IP address or a host name; Port its port (514 unless
	// given).
	Host string
	Port uint16
}

// Addr is host:port, with brackets around an IPv6 address, for net.Dial.
func (c Collector) Addr() string { return net.JoinHostPort(c.Host, strconv.Itoa(int(c.Port))) }

// String writes c as the command line gives it: udp://198.51.100.2:514.
func (c Collector) String() string { return c.Network + "://" + c.Addr() }
