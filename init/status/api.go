package status

import (
	"net/netip"
	"time"
)

// The status page's panels, each also served as JSON under /api/ (the
// README's "Status page" documents them). The page renders the same
// values as HTML tables, so that it reads without JavaScript; its script
// polls /api/ and redraws.
//
//	/api/history     rates of the last hour (History)
//	/api/top         top destinations and clients of the last minutes (Top)
//	/api/leases      the DHCP server's leases ([]Lease)
//	/api/wan         the WAN's addresses and DHCP lease (WAN)
//	/api/interfaces  links with addresses and counters ([]Interface)
//	/api/services    services with state and recent lines ([]ServiceState)
//	/api/config      every key in force and where it came from ([]Setting)
//	/api/selftest    the last self-test (SelfTest), "ran":false before

// Panels are the sources of the page's panels; a nil func leaves its
// panel empty (an empty list in /api/, "none" on the page).
type Panels struct {
	// History returns the last points after seq (0: all), oldest first.
	History func(after uint64) History
	// Leases reads the DHCP server's leases file.
	Leases func() ([]Lease, error)
	// WAN reads the WAN link's addresses and the DHCP client's lease.
	WAN func() (WAN, error)
	// Interfaces lists the links init configured, with their counters.
	Interfaces func() ([]Interface, error)
	// Config is every tprouter.* key in force, in the reference's order.
	Config []Setting
	// SelfTest returns the last self-test; false before the first.
	SelfTest func() (SelfTest, bool)
}

// SelfTest is the last self-test (init/selftest.Report, as its JSON).
// Before the first run Ran is false and Results empty: not having run yet
// is a state of the router, not an error of the page.
type SelfTest struct {
	Ran     bool      `json:"ran"`
	Time    time.Time `json:"time,omitzero"`
	OK      bool      `json:"ok"`
	Results []Check   `json:"results"`
}

// Check is one check of a SelfTest.
type Check struct {
	Check  string `json:"check"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail"`
	Fix    string `json:"fix,omitempty"`
}

// History is the page's graphs: one value per series per point, every
// Step, rates per second. Series names are fixed (SeriesNames).
type History struct {
	Step   time.Duration `json:"-"`
	StepMS int64         `json:"step_ms"`
	// Last is the sequence number of the newest point; ask for
	// ?after=Last to get only what is new.
	Last uint64 `json:"last"`
	// Names are the series, in the order of each point's Values.
	Names  []string `json:"names"`
	Points []Point  `json:"points"`
}

// Point is one sample of every series.
type Point struct {
	Seq    uint64    `json:"seq"`
	Time   time.Time `json:"time"`
	Values []float64 `json:"values"`
}

// SeriesNames are the graphs' series, the order of Point.Values: requests
// and connections per second, bytes per second each way, transactions by
// kind, connections by address family.
var SeriesNames = []string{
	"requests", "connections",
	"bytes_to_clients", "bytes_to_servers",
	"http", "tls", "tunnel", "denied",
	"ipv4", "ipv6",
}

// Top is what the proxy saw most in its last Window: by destination (Host
// or SNI) and by client address. It comes from the proxy's /top.
type Top struct {
	WindowSeconds int        `json:"window_seconds"`
	Hosts         []TopEntry `json:"hosts"`
	Clients       []TopEntry `json:"clients"`
}

// TopEntry is one row of Top: a name (host or client address), how many
// transactions and how many bytes (both ways).
type TopEntry struct {
	Name  string `json:"name"`
	Count uint64 `json:"count"`
	Bytes uint64 `json:"bytes"`
}

// Lease is one of the DHCP server's leases (services/dhcp4d's file).
type Lease struct {
	MAC      string     `json:"mac"`
	Addr     netip.Addr `json:"addr"`
	Hostname string     `json:"hostname,omitempty"`
	Expiry   time.Time  `json:"expiry"`
}

// WAN is the WAN link: its addresses now and, with DHCP, the lease.
type WAN struct {
	Link  string         `json:"link"`
	Addrs []netip.Prefix `json:"addrs"`
	// DHCP is the DHCP client's lease; nil with static addresses or
	// before the first lease.
	DHCP *WANLease `json:"dhcp"`
}

// WANLease is the DHCP client's lease (services/dhcp4c's file).
type WANLease struct {
	Address netip.Addr   `json:"address"`
	Prefix  netip.Prefix `json:"prefix"`
	Router  netip.Addr   `json:"router,omitzero"`
	DNS     []netip.Addr `json:"dns"`
	Server  netip.Addr   `json:"server,omitzero"`
	Start   time.Time    `json:"start"`
	Expiry  time.Time    `json:"expiry"`
}

// Interface is one link with its addresses and kernel counters.
type Interface struct {
	Name  string         `json:"name"`
	Role  string         `json:"role"` // "wan", "lan", "loopback", ""
	Up    bool           `json:"up"`
	MAC   string         `json:"mac,omitempty"`
	MTU   int            `json:"mtu"`
	Addrs []netip.Prefix `json:"addrs"`

	RxBytes   uint64 `json:"rx_bytes"`
	TxBytes   uint64 `json:"tx_bytes"`
	RxPackets uint64 `json:"rx_packets"`
	TxPackets uint64 `json:"tx_packets"`
	RxErrors  uint64 `json:"rx_errors"`
	TxErrors  uint64 `json:"tx_errors"`
	RxDropped uint64 `json:"rx_dropped"`
	TxDropped uint64 `json:"tx_dropped"`
}

// ServiceState is a row of the services panel: the table's row, the
// supervisor's state, and the service's recent log lines.
type ServiceState struct {
	Name     string    `json:"name"`
	State    string    `json:"state"` // "running", "restarting", "stopped", "waiting", "off"
	Detail   string    `json:"detail"`
	PID      int       `json:"pid,omitempty"`
	Since    time.Time `json:"since,omitzero"`
	Restarts int       `json:"restarts"`
	RunsAs   string    `json:"runs_as"`
	When     string    `json:"when"`
	Log      []LogLine `json:"log"`
}

// LogLine is one line of a log ring.
type LogLine struct {
	Time time.Time `json:"time"`
	Text string    `json:"text"`
}

// Setting is one key in force: its value as the command line writes it
// and where it came from ("default", "kernel command line",
// "cmdline.txt:7").
type Setting struct {
	Key    string `json:"key"`
	Value  string `json:"value"`
	Source string `json:"source"`
}
