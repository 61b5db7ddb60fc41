package history

// selector says where a series' counter is in the proxy's /metrics: the
// metric and, unless label is empty, the one sample whose label has
// value; with an empty label the metric's samples are summed.
type selector struct{ metric, label, value string }

// numSeries is len(status.SeriesNames); TestSeriesNames keeps them equal.
const numSeries = 10

// selectors are the series' counters, in status.SeriesNames order.
var selectors = [numSeries]selector{
	{metric: "tprouter_proxy_requests_total"},                     // requests
	{metric: "tprouter_proxy_connections_total"},                  // connections
	{"tprouter_proxy_bytes_total", "to", "client"},                // bytes_to_clients
	{"tprouter_proxy_bytes_total", "to", "server"},                // bytes_to_servers
	{metric: "tprouter_proxy_requests_total"},                     // http
	{metric: "tprouter_proxy_tls_connections_total"},              // tls
	{metric: "tprouter_proxy_tunnels_total"},                      // tunnel
	{metric: "tprouter_proxy_denied_total"},                       // denied
	{"tprouter_proxy_client_connections_total", "family", "ipv4"}, // ipv4
	{"tprouter_proxy_client_connections_total", "family", "ipv6"}, // ipv6
}

// counters are one scrape's values of the series' counters; a series
// whose metric the text lacks is not ok.
type counters struct {
	v  [numSeries]float64
	ok [numSeries]bool
}

// pick finds the series' counters in samples.
func pick(samples []sample) counters {
	var c counters
	for _, s := range samples {
		for i, sel := range selectors {
			if s.name != sel.metric || sel.label != "" && s.labels[sel.label] != sel.value {
				continue
			}
			c.v[i] += s.value
			c.ok[i] = true
		}
	}
	return c
}
