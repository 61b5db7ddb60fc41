"use strict";
// tprouter's status page: polls /api/ every 2 s, redraws each table's
// tbody and the graphs (SVG) from /api/history. Never throws: a failed
// fetch marks the page stale (the banner), a panel's error shows in it.
(function () {
  var POLL = 2000, HOUR = 3600e3, W = 400, MAXPOINTS = 1800, RERENDER = 10e3;
  var body = document.body, polls = 0, skew = 0, staleSince = null;
  var hist = [], names = [], last = 0, step = POLL;
  var prevIf = {}, seen = {};
  var start = body.dataset.start ? Date.parse(body.dataset.start) : 0;

  function $(id) { return document.getElementById(id); }
  function now() { return Date.now() + skew; }

  // Human units, as page_funcs.go writes them.
  function si(v, unit) {
    var p = ["", "k", "M", "G", "T", "P"], i = 0;
    if (!isFinite(v) || v < 0) v = 0;
    while (v >= 999.5 && i < p.length - 1) { v /= 1000; i++; }
    var s = i === 0 && v >= 10 ? v.toFixed(0) : v < 9.995 ? (i === 0 && v === Math.round(v) ? v.toFixed(0) : v.toFixed(2)) : v < 99.95 ? v.toFixed(1) : v.toFixed(0);
    return s + " " + p[i] + unit;
  }
  function fmtBytes(n) { return si(n, "B"); }
  function fmtCount(n) { return si(n, "").replace(" ", ""); }
  function fmtRate(v, unit) { return unit === "bit/s" ? si(v * 8, "b/s") : fmtCount(v) + "/s"; }
  function two(a, ua, b, ub) { return b ? a + ua + " " + b + ub : a + ua; }
  function dur(ms) {
    var s = Math.max(0, Math.round(ms / 1000));
    if (s < 60) return s + "s";
    if (s < 3600) return two(Math.floor(s / 60), "m", s % 60, "s");
    if (s < 86400) return two(Math.floor(s / 3600), "h", Math.floor(s % 3600 / 60), "m");
    return two(Math.floor(s / 86400), "d", Math.floor(s % 86400 / 3600), "h");
  }
  function zero(t) { return !t || t.indexOf("0001-01-01") === 0; }
  function ago(t) {
    if (zero(t)) return "never";
    var s = Math.floor((now() - Date.parse(t)) / 1000);
    if (s < 0) return "just now";
    if (s < 60) return s + " s ago";
    if (s < 3600) return Math.floor(s / 60) + " min ago";
    if (s < 86400) return Math.floor(s / 3600) + " h ago";
    return Math.floor(s / 86400) + " d ago";
  }
  function until(t) {
    if (zero(t)) return "–";
    var ms = Date.parse(t) - now();
    return ms <= 0 ? "expired" : "in " + dur(ms);
  }
  function hms(d) { return d.toISOString().slice(11, 19) + " UTC"; }
  function dash(s) { return s === undefined || s === null || s === "" ? "–" : String(s); }
  function list(a) { return a && a.length ? a.join(" ") : "–"; }
  function ip(a) { return dash(a); }

  // DOM builders: text only ever goes in as textContent.
  function td(v, cls, title) {
    var c = document.createElement("td");
    if (v instanceof Node) c.appendChild(v); else c.textContent = dash(v);
    if (cls) c.className = cls;
    if (title) c.title = title;
    return c;
  }
  function tr(attr, val, cells) {
    var r = document.createElement("tr");
    if (attr) r.setAttribute(attr, val);
    cells.forEach(function (c) { r.appendChild(c); });
    return r;
  }
  function fill(id, items, cols, row) {
    var tb = $(id).tBodies[0], f = document.createDocumentFragment();
    if (!items || !items.length) {
      var c = td("none"); c.colSpan = cols;
      var r = tr("", "", [c]); r.className = "none";
      f.appendChild(r);
    } else items.forEach(function (it) { f.appendChild(row(it)); });
    tb.replaceChildren(f);
  }
  function showErr(id, msg) {
    var e = $(id);
    if (!e) return;
    e.textContent = msg || "";
    e.hidden = !msg;
  }

  // Graphs.
  function nice(v) {
    if (!(v > 0)) return 1;
    var e = Math.pow(10, Math.floor(Math.log10(v))), m = v / e;
    return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * e;
  }
  function svgEl(tag, attrs, text) {
    var e = document.createElementNS("http://www.w3.org/2000/svg", tag);
    for (var k in attrs) e.setAttribute(k, attrs[k]);
    if (text) e.textContent = text;
    return e;
  }
  function draw(svg) {
    var keys = svg.dataset.series.split(","), unit = svg.dataset.unit;
    var idx = keys.map(function (k) { return names.indexOf(k); });
    var T = 14, B = 134, end = hist.length ? hist[hist.length - 1].t : now();
    var top = 0;
    hist.forEach(function (p) { idx.forEach(function (i) { if (i >= 0) top = Math.max(top, p.v[i] || 0); }); });
    top = nice(top);
    var kids = [];
    [0, 0.5, 1].forEach(function (f) {
      var y = B - f * (B - T);
      kids.push(svgEl("line", { "class": "grid", x1: 0, x2: W, y1: y, y2: y }));
      if (f) kids.push(svgEl("text", { x: 2, y: y - 3 }, fmtRate(top * f, unit)));
    });
    [["−60 min", 0, "start"], ["−30 min", W / 2, "middle"], ["now", W, "end"]].forEach(function (l) {
      kids.push(svgEl("text", { x: l[1], y: 148, "text-anchor": l[2] }, l[0]));
    });
    idx.forEach(function (i, n) {
      if (i < 0) return;
      var d = "", prev = null;
      hist.forEach(function (p) {
        var x = W - (end - p.t) / HOUR * W, y = B - (p.v[i] || 0) / top * (B - T);
        d += (prev === null || p.t - prev > 3 * step ? "M" : "L") + x.toFixed(1) + " " + y.toFixed(1);
        prev = p.t;
      });
      if (d) kids.push(svgEl("path", { "class": "s s" + n, d: d }));
    });
    var hp = svg.hoverP;
    if (hp && hist.length && hp.seq >= hist[0].seq) {
      var hx = W - (end - hp.t) / HOUR * W;
      kids.push(svgEl("line", { "class": "cur", x1: hx, x2: hx, y1: T, y2: B }));
    } else hp = svg.hoverP = null;
    svg.replaceChildren.apply(svg, kids);
    svg.setAttribute("data-last", hist.length ? hist[hist.length - 1].seq : 0);
    svg.setAttribute("data-points", hist.length);
    legend(svg, keys, idx, unit, hp || hist[hist.length - 1], !!hp);
  }
  // legend writes the values of point p by each series' key and their
  // sum in the panel's heading ("at 12:03:04" when hovering).
  function legend(svg, keys, idx, unit, p, at) {
    var sum = 0, panel = svg.parentNode;
    idx.forEach(function (i, n) {
      var v = p && i >= 0 ? p.v[i] || 0 : 0;
      sum += v;
      var b = panel.querySelector('[data-key="' + keys[n] + '"] b');
      if (b) b.textContent = p ? fmtRate(v, unit) : "";
    });
    var h = $("now-" + svg.id.slice(6));
    if (h) h.textContent = p ? (at ? hms(new Date(p.t)).slice(0, 8) + "  " : "") + fmtRate(sum, unit) : "";
  }
  // hover shows the values under the pointer.
  function hover(svg) {
    svg.addEventListener("mousemove", function (e) {
      if (!hist.length) return;
      var r = svg.getBoundingClientRect(), end = hist[hist.length - 1].t;
      var t = end - (1 - (e.clientX - r.left) / r.width) * HOUR, lo = 0, hi = hist.length - 1;
      while (lo < hi) { var m = (lo + hi) >> 1; if (hist[m].t < t) lo = m + 1; else hi = m; }
      svg.hoverP = hist[lo];
      draw(svg);
    });
    svg.addEventListener("mouseleave", function () { svg.hoverP = null; draw(svg); });
  }
  function history(h) {
    if (!h || !h.points) return;
    if (h.last < last) { hist = []; last = 0; return; } // the sampler restarted: all again
    names = h.names || names;
    step = h.step_ms || step;
    h.points.forEach(function (p) {
      if (p.seq > last) hist.push({ seq: p.seq, t: Date.parse(p.time), v: p.values });
    });
    last = Math.max(last, h.last || 0);
    if (hist.length) {
      var end = hist[hist.length - 1].t;
      while (hist.length > MAXPOINTS || (hist.length && end - hist[0].t > HOUR)) hist.shift();
    }
    document.querySelectorAll("svg.graph").forEach(draw);
  }

  // Tables.
  function topRows(id, rows) {
    var most = 0;
    (rows || []).forEach(function (r) { most = Math.max(most, r.count); });
    fill(id, rows, 3, function (r) {
      var name = document.createElement("span"), bar = document.createElement("span");
      bar.className = "bar"; bar.style.width = (most ? Math.floor(r.count * 100 / most) : 0) + "%";
      name.className = "t"; name.textContent = r.name;
      var c = td(bar, "mono"); c.appendChild(name);
      return tr("data-name", r.name, [c, td(fmtCount(r.count), "n"), td(fmtBytes(r.bytes), "n")]);
    });
  }
  function top(t, err) {
    showErr("top-err", err);
    if (!t) return;
    $("top-window").textContent = dur((t.window_seconds || 300) * 1000);
    topRows("top-hosts", t.hosts);
    topRows("top-clients", t.clients);
  }
  function leases(l, err) {
    showErr("leases-err", err);
    if (!l) return;
    $("leases-count").textContent = l.length;
    fill("leases", l, 4, function (x) {
      return tr("data-mac", x.mac, [td(x.mac, "mono nw"), td(ip(x.addr), "mono nw"), td(x.hostname), td(until(x.expiry), "", x.expiry)]);
    });
  }
  function wan(w, err) {
    showErr("wan-err", err);
    if (!w) return;
    var rows = [["link", "link", dash(w.link)], ["addrs", "addresses", list(w.addrs)]], d = w.dhcp;
    if (d) rows.push(["dhcp", "DHCP lease", ip(d.address) + " from " + ip(d.server)], ["router", "router", ip(d.router)],
      ["dns", "DNS", list(d.dns)], ["expiry", "expires", until(d.expiry)]);
    else rows.push(["dhcp", "DHCP lease", "none"]);
    fill("wan-table", rows, 2, function (r) {
      var th = document.createElement("th"); th.textContent = r[1];
      return tr("data-key", r[0], [th, td(r[2], "", r[0] === "expiry" ? d.expiry : "")]);
    });
  }
  function interfaces(l, err) {
    showErr("interfaces-err", err);
    if (!l) return;
    var t = now(), next = {};
    fill("interfaces", l, 11, function (x) {
      var p = prevIf[x.name], rx = "–", tx = "–";
      next[x.name] = { t: t, rx: x.rx_bytes, tx: x.tx_bytes };
      if (p && t > p.t && x.rx_bytes >= p.rx && x.tx_bytes >= p.tx) {
        rx = si((x.rx_bytes - p.rx) * 8000 / (t - p.t), "b/s");
        tx = si((x.tx_bytes - p.tx) * 8000 / (t - p.t), "b/s");
      }
      return tr("data-name", x.name, [td(x.name), td(x.role), td(x.up ? "up" : "down", x.up ? "ok" : "bad"), td(x.mac, "mono"),
        td(x.mtu, "n"), td(list(x.addrs), "mono"), td(fmtBytes(x.rx_bytes), "n"), td(fmtBytes(x.tx_bytes), "n"), td(rx, "n"), td(tx, "n"),
        td(x.rx_errors + "/" + x.tx_errors + " · " + x.rx_dropped + "/" + x.tx_dropped, "n")]);
    });
    prevIf = next;
  }
  function services(l) {
    if (!l) return;
    var open = {};
    document.querySelectorAll("#services tr[data-service] details[open]").forEach(function (d) {
      open[d.closest("tr").dataset.service] = true;
    });
    fill("services", l, 6, function (x) {
      var logs = "–";
      if (x.log && x.log.length) {
        logs = document.createElement("details");
        var s = document.createElement("summary"), pre = document.createElement("pre");
        s.textContent = x.log.length + " lines";
        pre.textContent = x.log.map(function (ln) { return ln.time.slice(11, 19) + " " + ln.text; }).join("\n") + "\n";
        logs.append(s, pre);
        logs.open = !!open[x.name];
      }
      return tr("data-service", x.name, [td(x.name), td(x.state, "state " + x.state, x.detail),
        td(x.state === "running" && !zero(x.since) ? dur(now() - Date.parse(x.since)) : "–", "n"), td(x.restarts, "n"), td(x.runs_as, "sub"), td(logs)]);
    });
  }
  function config(l) {
    if (!l) return;
    fill("config", l, 3, function (x) {
      var r = tr("data-key", x.key, [td(x.key, "mono"), td(x.value, "mono"), td(x.source, "sub")]);
      if (x.source !== "default") r.className = "set";
      return r;
    });
  }
  function selftest(st, err, code) {
    var sum = $("selftest-summary");
    if (!st) { if (err) sum.textContent = err; return; }
    if (!st.ran) sum.textContent = "not run yet";
    else {
      var b = document.createElement("b"), when = document.createElement("span");
      b.className = st.ok ? "ok" : "bad"; b.textContent = st.ok ? "all passed" : "failed";
      when.textContent = ago(st.time); when.title = st.time;
      sum.replaceChildren(b, " ", when);
    }
    fill("selftest-checks", st.results, 3, function (x) {
      var d = td(x.detail);
      if (x.fix) { var f = document.createElement("div"); f.className = "fix"; f.textContent = "fix: " + x.fix; d.appendChild(f); }
      return tr("data-check", x.check, [td(x.check), td(x.ok ? "✓" : "✗", x.ok ? "ok" : "bad"), d]);
    });
  }

  var panels = [
    { url: function () { return last ? "/api/history?after=" + last : "/api/history"; }, apply: history, always: true },
    { url: "/api/top", apply: top }, { url: "/api/leases", apply: leases },
    { url: "/api/wan", apply: wan }, { url: "/api/interfaces", apply: interfaces, always: true },
    { url: "/api/services", apply: services }, { url: "/api/config", apply: config },
    { url: "/api/selftest", apply: selftest }
  ];

  // load fetches one panel and applies it; false when the router did not
  // answer at all.
  async function load(p) {
    var ctl = new AbortController(), timer = setTimeout(function () { ctl.abort(); }, 5000);
    try {
      var r = await fetch(typeof p.url === "function" ? p.url() : p.url, { cache: "no-store", signal: ctl.signal });
      var text = await r.text(), data = null, date = r.headers.get("Date");
      if (date) skew = Date.parse(date) + 500 - Date.now();
      try { data = JSON.parse(text); } catch (e) { data = null; }
      var err = r.ok ? "" : (data && data.error) || (r.status + " " + r.statusText);
      if (r.ok && !p.always && p.text === text && Date.now() - p.at < RERENDER) return true;
      p.text = text; p.at = Date.now();
      try { p.apply(r.ok ? data : null, err, r.status); } catch (e) { /* a bad answer leaves the panel as it was */ }
      return true;
    } catch (e) {
      return false;
    } finally {
      clearTimeout(timer);
    }
  }
  function stale(on) {
    var b = $("stale");
    if (on && !staleSince) { staleSince = new Date(); $("stale-since").textContent = hms(staleSince); }
    if (!on) staleSince = null;
    b.hidden = !on;
    body.classList.toggle("stale", on);
  }
  async function poll() {
    try {
      var ok = await Promise.all(panels.map(load));
      var answered = ok.every(Boolean);
      stale(!answered);
      if (answered) {
        polls++;
        body.setAttribute("data-updated", polls);
        var u = $("updated"); u.textContent = hms(new Date(now())); u.title = new Date(now()).toISOString();
        var up = $("uptime"); if (up && start) up.textContent = dur(now() - start);
      }
    } catch (e) {
      stale(true);
    }
    setTimeout(poll, POLL);
  }
  document.querySelectorAll("svg.graph").forEach(hover);
  poll();
})();
