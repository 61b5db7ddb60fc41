package router

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"time"

	"tprouter/init/netconf"
	"tprouter/services/dhcp6c/client"
)

// pdPoll is how often delegate reads dhcp6c's state: a new prefix reaches
// the LAN within it, and a LAN link that went down and up gets its address
// back within it.
const pdPoll = 2 * time.Second

// delegate keeps the LAN's /64 of the prefix that dhcp6c holds on lan
// (netconf.PD), from dhcp6c's state file, until the process ends. A
// missing file is no prefix yet; a file that does not parse (dhcp6c
// writes it whole, by rename) is reported once and its last good content
// stays in force.
func (r *Router) delegate(lan string) {
	defer r.Log.Recover()
	path := r.stateFile("dhcp6c", leaseFile)
	pd := &netconf.PD{Link: lan, Net: r.Config.Network}
	var ds []netconf.Delegated
	lastErr := ""
	report := func(err error) {
		if e := ""; err != nil {
			if e = err.Error(); e != lastErr {
				r.Log.Printf("pd: %v", err)
			}
			lastErr = e
			return
		}
		lastErr = ""
	}
	for {
		got, err := readDelegated(path)
		if err == nil {
			ds = got
		}
		report(err)
		if err == nil {
			changed, err := pd.Update(ds, time.Now())
			if changed != "" {
				r.Log.Printf("%s", changed)
			}
			report(err)
		}
		time.Sleep(pdPoll)
	}
}

// readDelegated reads the delegated prefixes of dhcp6c's state file; none
// while it does not exist.
func readDelegated(path string) ([]netconf.Delegated, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var st client.State
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, &fs.PathError{Op: "parse", Path: path, Err: err}
	}
	var ds []netconf.Delegated
	for _, p := range st.Prefixes {
		ds = append(ds, netconf.Delegated{Prefix: p.Prefix, Preferred: p.Preferred, Valid: p.Valid})
	}
	return ds, nil
}
