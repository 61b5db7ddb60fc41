package status

import (
	"bytes"
	"context"
	_ "embed"
	"html/template"
	"net/http"
	"time"

	"tprouter/init/internal/oneline"
)

// The status page at "/": one HTML answer with its style and script
// inline (nothing from elsewhere, at most maxPage bytes), its tables
// rendered here from the same values /api/ serves, so that it reads
// without JavaScript. Its script polls /api/ every 2 s, redraws the
// tables' bodies and draws the graphs of /api/history as SVG. The DOM
// names (ids, data- attributes) are the contract's "Page DOM contract".

//go:embed page.html
var pageHTML string

//go:embed page.css
var pageCSS string

//go:embed page.js
var pageJS string

// maxPage is the most the page may weigh, HTML, style and script.
const maxPage = 100 << 10

// pageTimeout bounds what the page waits for its sources (the proxy's
// /top), so that a stuck proxy does not stall the page.
const pageTimeout = time.Second

var pageTmpl = template.Must(template.New("page").Funcs(pageFuncs).Parse(pageHTML))

// graph is one of the page's graphs: an SVG the script draws the named
// series into, each in its own colour.
type graph struct {
	Name   string // id "graph-"+Name
	Title  string
	Unit   string // "/s" (a rate), "bit/s" (bytes per second, drawn as bits)
	Series []series
}

// series is one line of a graph: a name of SeriesNames and its legend.
type series struct{ Name, Label string }

// graphs are the page's graphs, in its order.
var graphs = []graph{
	{"requests", "Requests", "/s", []series{{"requests", "requests"}}},
	{"connections", "Connections", "/s", []series{{"connections", "connections"}}},
	{"bytes", "Traffic", "bit/s", []series{{"bytes_to_clients", "to clients"}, {"bytes_to_servers", "to servers"}}},
	{"kinds", "By kind", "/s", []series{{"http", "HTTP"}, {"tls", "TLS"}, {"tunnel", "tunnelled"}, {"denied", "denied"}}},
	{"families", "By family", "/s", []series{{"ipv4", "IPv4"}, {"ipv6", "IPv6"}}},
}

// pageData is what the template renders: every panel, and each panel's
// error ("" when it read fine).
type pageData struct {
	Now, Start time.Time
	Hostname   string
	Graphs     []graph

	Top                                  Top
	Leases                               []Lease
	WAN                                  WAN
	Interfaces                           []Interface
	Services                             []ServiceState
	Config                               []Setting
	SelfTest                             SelfTest
	SelfTestRan                          bool
	TopErr, LeasesErr, WANErr, IfacesErr string

	CSS template.CSS
	JS  template.JS
}

// page serves the status page.
func (s *Server) page(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), pageTimeout)
	defer cancel()
	d := s.pageData(ctx)
	var b bytes.Buffer
	if err := pageTmpl.Execute(&b, d); err != nil {
		http.Error(w, "status page: template: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Security-Policy", "default-src 'self'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src 'self' data:")
	w.Write(b.Bytes())
}

// pageData reads every panel for the page.
func (s *Server) pageData(ctx context.Context) pageData {
	d := pageData{Now: time.Now(), Start: s.Start, Graphs: graphs,
		CSS: template.CSS(pageCSS), JS: template.JS(pageJS)}
	var err error
	d.Top, err = s.pageTop(ctx)
	d.TopErr = errText(err)
	d.Leases, err = s.pageLeases()
	d.LeasesErr = errText(err)
	d.WAN, err = s.pageWAN()
	d.WANErr = errText(err)
	d.Interfaces, err = s.pageInterfaces()
	d.IfacesErr = errText(err)
	d.Services = s.pageServices()
	d.Config = s.Panels.Config
	for _, c := range d.Config {
		if c.Key == "tprouter.hostname" {
			d.Hostname = c.Value
		}
	}
	if s.Panels.SelfTest != nil {
		d.SelfTest, d.SelfTestRan = s.Panels.SelfTest()
	}
	return d
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return oneline.Join(err).Error()
}
