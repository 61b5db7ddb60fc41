package status

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"
)

// render GETs the page from s's Handler and parses it.
func render(t *testing.T, s *Server) (string, *html.Node) {
	t.Helper()
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /: %d %s", rec.Code, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "text/html; charset=utf-8" {
		t.Errorf("GET /: Content-Type %q", ct)
	}
	doc, err := html.Parse(strings.NewReader(rec.Body.String()))
	if err != nil {
		t.Fatal(err)
	}
	return rec.Body.String(), doc
}

func attr(n *html.Node, key string) (string, bool) {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val, true
		}
	}
	return "", false
}

// find returns the elements under n for which match is true.
func find(n *html.Node, match func(*html.Node) bool) []*html.Node {
	var out []*html.Node
	for d := range n.Descendants() {
		if d.Type == html.ElementNode && match(d) {
			out = append(out, d)
		}
	}
	return out
}

func byID(doc *html.Node, id string) *html.Node {
	l := find(doc, func(n *html.Node) bool { v, _ := attr(n, "id"); return v == id })
	if len(l) != 1 {
		return nil
	}
	return l[0]
}

func text(n *html.Node) string {
	var b strings.Builder
	for d := range n.Descendants() {
		if d.Type == html.TextNode {
			b.WriteString(d.Data)
		}
	}
	return b.String()
}

// row returns the tbody row of table id with attribute key=val, and its
// cells.
func row(t *testing.T, doc *html.Node, id, key, val string) []*html.Node {
	t.Helper()
	tab := byID(doc, id)
	if tab == nil {
		t.Fatalf("no single element id=%q", id)
	}
	bodies := find(tab, func(n *html.Node) bool { return n.Data == "tbody" })
	if len(bodies) != 1 {
		t.Fatalf("#%s: %d tbody, want 1", id, len(bodies))
	}
	rows := find(bodies[0], func(n *html.Node) bool { v, ok := attr(n, key); return n.Data == "tr" && ok && v == val })
	if len(rows) != 1 {
		t.Fatalf("#%s: %d rows %s=%q, want 1", id, len(rows), key, val)
	}
	return find(rows[0], func(n *html.Node) bool { return n.Data == "td" })
}

func TestPageDOM(t *testing.T) {
	s := fakePageServer(t)
	page, doc := render(t, s)
	t.Logf("page with the fixture's panels: %d bytes (limit %d)", len(page), maxPage)
	if len(page) > maxPage {
		t.Errorf("page is %d bytes, more than %d", len(page), maxPage)
	}
	for _, g := range []string{"requests", "connections", "bytes", "kinds", "families"} {
		n := byID(doc, "graph-"+g)
		if n == nil || n.Data != "svg" {
			t.Errorf("no <svg id=graph-%s>", g)
			continue
		}
		if c, _ := attr(n, "class"); c != "graph" {
			t.Errorf("graph-%s: class %q", g, c)
		}
		for _, a := range []string{"data-last", "data-points"} {
			if _, ok := attr(n, a); !ok {
				t.Errorf("graph-%s: no %s", g, a)
			}
		}
	}
	for _, id := range []string{"top", "wan", "selftest"} {
		if n := byID(doc, id); n == nil || n.Data != "section" {
			t.Errorf("no <section id=%s>", id)
		}
	}
	body := find(doc, func(n *html.Node) bool { return n.Data == "body" })[0]
	if v, _ := attr(body, "data-updated"); v != "0" {
		t.Errorf("body data-updated=%q, want 0", v)
	}
	row(t, doc, "top-hosts", "data-name", "example.org")
	row(t, doc, "top-clients", "data-name", "192.168.7.23")
	if c := row(t, doc, "leases", "data-mac", "02:00:00:00:00:01"); len(c) != 4 || text(c[1]) != "192.168.7.23" || text(c[2]) != "laptop" {
		t.Errorf("lease row: %d cells", len(c))
	}
	if c := row(t, doc, "leases", "data-mac", "02:00:00:00:00:02"); text(c[2]) != hostileName {
		t.Errorf("hostile hostname reads %q, want %q as text", text(c[2]), hostileName)
	}
	row(t, doc, "interfaces", "data-name", "eth0")
	c := row(t, doc, "services", "data-service", "proxy")
	if cls, _ := attr(c[1], "class"); !strings.Contains(cls, "state") || text(c[1]) != "running" {
		t.Errorf("proxy's state cell: class %q text %q", cls, text(c[1]))
	}
	if text(c[2]) != "2h 3m" {
		t.Errorf("proxy's uptime %q, want 2h 3m", text(c[2]))
	}
	if pre := find(c[5], func(n *html.Node) bool { return n.Data == "pre" && n.Parent.Data == "details" }); len(pre) != 1 ||
		!strings.Contains(text(pre[0]), "proxy line 24 <b>not bold</b>") {
		t.Errorf("proxy's recent lines not in <details><pre>")
	}
	if c := row(t, doc, "config", "data-key", "tprouter.hostname"); len(c) != 3 || text(c[1]) != "gw-lab" || text(c[2]) != "cmdline.txt:1" {
		t.Errorf("config row: %d cells", len(c))
	}
	row(t, doc, "selftest-checks", "data-check", "roundtrip4")
	if byID(doc, "selftest").FirstChild == nil || byID(byID(doc, "selftest"), "selftest-checks") == nil {
		t.Errorf("the self-test table is not in <section id=selftest>")
	}
	if n := find(doc, func(n *html.Node) bool { return n.Data == "script" }); len(n) != 1 {
		t.Errorf("%d <script> elements, want the page's one (a value was not escaped)", len(n))
	}
	if strings.Contains(page, "<img src=x") || strings.Contains(page, "<b>not bold") {
		t.Errorf("a value went into the page unescaped")
	}
	checkLocal(t, doc)
}

// checkLocal fails on any reference to something not on the router.
func checkLocal(t *testing.T, doc *html.Node) {
	t.Helper()
	links := map[string]bool{}
	for _, n := range find(doc, func(*html.Node) bool { return true }) {
		for _, a := range n.Attr {
			switch a.Key {
			case "src", "href", "action", "formaction", "srcset", "poster", "data", "xlink:href":
				local := strings.HasPrefix(a.Val, "/") && !strings.HasPrefix(a.Val, "//") || a.Val == "data:,"
				if !local {
					t.Errorf("<%s %s=%q>: not one of the router's own paths", n.Data, a.Key, a.Val)
				}
				links[a.Val] = true
			}
		}
	}
	for _, p := range []string{"/metrics", "/access.log", "/logs", "/services", "/selftest", "/version"} {
		if !links[p] {
			t.Errorf("the page does not link %s", p)
		}
	}
	// The page's own text: nothing from elsewhere, no imports, no URLs
	// but the SVG namespace.
	all := strings.ReplaceAll(pageHTML+pageCSS+pageJS, "http://www.w3.org/2000/svg", "")
	if strings.Contains(pageCSS, "url(") {
		t.Errorf("page.css has url(")
	}
	for _, bad := range []string{"http://", "https://", "@import", "//cdn", "<link rel=\"stylesheet\""} {
		if strings.Contains(all, bad) {
			t.Errorf("page.html, page.css or page.js has %q", bad)
		}
	}
}

// TestPageEmpty renders the page with no sources and no proxy.
func TestPageEmpty(t *testing.T) {
	s := &Server{ProxyStatus: "127.0.0.1:1"}
	page, doc := render(t, s)
	t.Logf("empty page: %d bytes (page.html %d, page.css %d, page.js %d)", len(page), len(pageHTML), len(pageCSS), len(pageJS))
	for _, id := range []string{"leases", "services", "config", "top-hosts", "interfaces", "selftest-checks"} {
		tab := byID(doc, id)
		if tab == nil || !strings.Contains(text(tab), "none") {
			t.Errorf("#%s: not \"none\"", id)
		}
	}
	if e := byID(doc, "top-err"); e == nil || !strings.Contains(text(e), "proxy status unavailable") {
		t.Errorf("the top panel does not say the proxy is unavailable")
	}
	if !strings.Contains(text(byID(doc, "selftest")), "not run yet") {
		t.Errorf("the self-test panel does not say it has not run")
	}
}

func TestHumanUnits(t *testing.T) {
	for _, c := range []struct{ got, want string }{
		{humanBytes(512), "512 B"}, {humanBytes(1234), "1.23 kB"}, {humanBytes(98_700_000), "98.7 MB"},
		{humanBytes(8_123_456_789), "8.12 GB"}, {humanCount(950), "950"}, {humanCount(12_300), "12.3k"},
		{humanDuration(45 * time.Second), "45s"}, {humanDuration(200 * time.Second), "3m 20s"},
		{humanDuration(5 * time.Minute), "5m"}, {humanDuration(2*time.Hour + 3*time.Minute + 9*time.Second), "2h 3m"},
		{humanDuration(26*time.Hour + 7*time.Minute), "1d 2h"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
	now := time.Now()
	for _, c := range []struct{ got, want string }{
		{ago(now, now.Add(-3*time.Minute-5*time.Second)), "3 min ago"}, {ago(now, now.Add(-12*time.Second)), "12 s ago"},
		{ago(now, time.Time{}), "never"}, {until(now, now.Add(2*time.Hour+3*time.Minute+30*time.Second)), "in 2h 3m"},
		{until(now, now.Add(-time.Second)), "expired"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
}
