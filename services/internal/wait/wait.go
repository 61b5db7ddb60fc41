// Package wait is the address services' one way to sleep: until a time,
// or until their context ends, whichever comes first.
package wait

import (
	"context"
	"time"
)

// For waits d, or until ctx is done, and reports whether d passed first.
// A d of zero or less returns at once, true unless ctx is done.
func For(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-timer.C:
		return true
	}
}
