package status

import (
	"slices"

	"tprouter/init/supervise"
)

// serviceLogLines is how many of a service's recent lines its row has.
const serviceLogLines = 20

// ServiceStates returns the services panel: each service of the table,
// in its order, with the supervisor's state and its recent lines; then
// any service the supervisor runs that the table lacks.
func (s *Server) ServiceStates() []ServiceState {
	var st []supervise.Status
	if s.Services != nil {
		st = s.Services()
	}
	rows := []ServiceState{}
	for _, t := range s.Table {
		row := ServiceState{Name: t.Name, RunsAs: t.RunsAs, When: t.When}
		i := slices.IndexFunc(st, func(v supervise.Status) bool { return v.Name == t.Name })
		switch {
		case i >= 0:
			row.fill(st[i])
		case t.Enabled:
			row.State, row.Detail = "waiting", "not started: waiting for its link"
		default:
			row.State, row.Detail = "off", "off: runs when "+t.When
		}
		rows = append(rows, row)
	}
	for _, v := range st {
		if !slices.ContainsFunc(s.Table, func(t Service) bool { return t.Name == v.Name }) {
			row := ServiceState{Name: v.Name}
			row.fill(v)
			rows = append(rows, row)
		}
	}
	s.addLogs(rows)
	return rows
}

// fill sets the row's state from the supervisor's.
func (row *ServiceState) fill(v supervise.Status) {
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

// addLogs gives each row the last lines of its service's log.
func (s *Server) addLogs(rows []ServiceState) {
	var logs = map[string][]LogLine{}
	if s.Logs != nil {
		for _, l := range s.Logs() {
			lines := l.Lines()
			lines = lines[max(0, len(lines)-serviceLogLines):]
			out := make([]LogLine, len(lines))
			for i, line := range lines {
				out[i] = LogLine{Time: line.Time, Text: line.Text}
			}
			logs[l.Name()] = out
		}
	}
	for i := range rows {
		rows[i].Log = nonNil(logs[rows[i].Name])
	}
}
