package status

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"tprouter/init/supervise"
)

// The page's sources until helper "panels" lands its builders on Server
// (panels.go, services_panel.go, top.go on branch panels): each of these
// is a stand-in with the same result, to be replaced by a call to the
// builder named in its TODO and then deleted.

// TODO(panels): replace with s.Top(ctx).
func (s *Server) pageTop(ctx context.Context) (Top, error) {
	b, err := s.fetch(ctx, "/top")
	if err != nil {
		return Top{}, fmt.Errorf("proxy status unavailable: %w", err)
	}
	var t Top
	if err := json.Unmarshal(b, &t); err != nil {
		return Top{}, fmt.Errorf("proxy's /top: %w (is the proxy older than init?)", err)
	}
	return t, nil
}

// TODO(panels): replace with s.Leases().
func (s *Server) pageLeases() ([]Lease, error) {
	if s.Panels.Leases == nil {
		return nil, nil
	}
	return s.Panels.Leases()
}

// TODO(panels): replace with s.WAN().
func (s *Server) pageWAN() (WAN, error) {
	if s.Panels.WAN == nil {
		return WAN{}, nil
	}
	return s.Panels.WAN()
}

// TODO(panels): replace with s.Interfaces().
func (s *Server) pageInterfaces() ([]Interface, error) {
	if s.Panels.Interfaces == nil {
		return nil, nil
	}
	return s.Panels.Interfaces()
}

// TODO(panels): replace with s.ServiceStates().
func (s *Server) pageServices() []ServiceState {
	var st []supervise.Status
	if s.Services != nil {
		st = s.Services()
	}
	logs := map[string][]LogLine{}
	if s.Logs != nil {
		for _, l := range s.Logs() {
			lines := l.Lines()
			for _, line := range lines[max(0, len(lines)-20):] {
				logs[l.Name()] = append(logs[l.Name()], LogLine{Time: line.Time, Text: line.Text})
			}
		}
	}
	var rows []ServiceState
	for _, t := range s.Table {
		row := ServiceState{Name: t.Name, RunsAs: t.RunsAs, When: t.When, Log: logs[t.Name]}
		i := slices.IndexFunc(st, func(v supervise.Status) bool { return v.Name == t.Name })
		switch {
		case i < 0 && t.Enabled:
			row.State, row.Detail = "waiting", "not started: waiting for its link"
		case i < 0:
			row.State, row.Detail = "off", "off: runs when "+t.When
		default:
			v := st[i]
			row.Detail, row.PID, row.Restarts = describe(v), v.PID, v.Restarts
			switch {
			case v.PID != 0:
				row.State, row.Since = "running", v.Since
			case v.Stopped:
				row.State = "stopped"
			default:
				row.State = "restarting"
			}
		}
		rows = append(rows, row)
	}
	return rows
}
