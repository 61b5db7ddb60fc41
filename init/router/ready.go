package router

import (
	"fmt"
	"strings"
	"time"
)

// waitReady prints `tprouter: ready` once the network is configured
// (applied is closed) and the proxy listens, and says what it still waits
// for when that takes long.
func (r *Router) waitReady(applied chan struct{}) {
	port := r.Config.Network.ProxyPort
	start := time.Now()
	warned := false
	for {
		net := false
		select {
		case <-applied:
			net = true
		default:
		}
		proxy := r.listening(port)
		if net && proxy {
			r.Log.Printf("tprouter: ready")
			if r.Ready != nil {
				r.Ready()
			}
			return
		}
		if !warned && time.Since(start) >= r.readyWarn {
			warned = true
			var waiting []string
			if !net {
				waiting = append(waiting, "the network configuration and firewall rules")
			}
			if !proxy {
				waiting = append(waiting, fmt.Sprintf("the proxy to listen on port %d", port))
			}
			r.Log.Printf("not ready after %v: waiting for %s", r.readyWarn, strings.Join(waiting, " and "))
		}
		time.Sleep(50 * time.Millisecond)
	}
}
