// Package linkwatch tells a service when one network link changes: an
// address added or removed, the link going up or down. Services that
// derive their configuration from a link (dhcp4d's pool, radvd's
// prefixes) re-read the link on each signal instead of once at start, so
// that they follow a changed LAN address or a link flap without a restart.
//
// The signal carries no data: the receiver re-reads the link, which is
// always right, where replaying netlink events is not (events can be lost
// when the socket's buffer overflows). For the same reason a signal also
// comes every Resync, and after the subscription broke and was renewed.
package linkwatch

import (
	"context"
	"time"

	"github.com/vishvananda/netlink"
)

// Resync is how often a signal comes without any event, to repair what a
// lost event would have missed.
const Resync = 30 * time.Second

// retry is the wait before a broken subscription is renewed.
const retry = time.Second

// Watch signals on the returned channel whenever the link named name (or
// any link, when name is empty) changes, until ctx is done. Signals are
// coalesced: one pending signal stands for any number of changes. logf
// reports subscription errors.
func Watch(ctx context.Context, name string, logf func(format string, v ...any)) <-chan struct{} {
	out := make(chan struct{}, 1)
	go func() {
		for ctx.Err() == nil {
			if err := watchOnce(ctx, name, out); err != nil && ctx.Err() == nil {
				logf("watching %s: %v; again in %v", name, err, retry)
			}
			signal(out) // something may have changed unseen
			select {
			case <-ctx.Done():
			case <-time.After(retry):
			}
		}
	}()
	return out
}

// watchOnce subscribes and forwards events until the subscription breaks
// or ctx is done.
func watchOnce(ctx context.Context, name string, out chan struct{}) error {
	done := make(chan struct{})
	defer close(done)
	errc := make(chan error, 2)
	onErr := func(err error) {
		select {
		case errc <- err:
		default:
		}
	}
	addrs := make(chan netlink.AddrUpdate, 64)
	if err := netlink.AddrSubscribeWithOptions(addrs, done, netlink.AddrSubscribeOptions{ErrorCallback: onErr}); err != nil {
		return err
	}
	links := make(chan netlink.LinkUpdate, 64)
	if err := netlink.LinkSubscribeWithOptions(links, done, netlink.LinkSubscribeOptions{ErrorCallback: onErr}); err != nil {
		return err
	}
	tick := time.NewTicker(Resync)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-errc:
			return err
		case u, ok := <-addrs:
			if !ok {
				return errClosed
			}
			if name == "" || linkName(u.LinkIndex) == name {
				signal(out)
			}
		case u, ok := <-links:
			if !ok {
				return errClosed
			}
			if name == "" || (u.Attrs() != nil && u.Attrs().Name == name) {
				signal(out)
			}
		case <-tick.C:
			signal(out)
		}
	}
}

type closedError struct{}

func (closedError) Error() string { return "netlink subscription closed" }

var errClosed error = closedError{}

// linkName is the name of the link with the given index, or "" when it
// is gone (then it is not the watched link any more either).
func linkName(index int) string {
	l, err := netlink.LinkByIndex(index)
	if err != nil {
		return ""
	}
	return l.Attrs().Name
}

func signal(out chan struct{}) {
	select {
	case out <- struct{}{}:
	default:
	}
}
