// Package pipes keeps pipe(2) pairs for splice(2) between two sockets:
// a pipe is taken while bytes move and given back empty, so that a busy
// program opens a pipe now and then rather than for every transfer.
package pipes

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// A Pipe is a pipe's read and write descriptors, both non-blocking.
type Pipe struct{ R, W int }

// Size is what Get asks the kernel to make a new pipe hold: the default
// limit (fs.pipe-max-size) for a process without CAP_SYS_RESOURCE.
const Size = 1 << 20

// free keeps empty pipes; more than it holds are closed.
var free = make(chan Pipe, 64)

// Get returns an empty pipe.
func Get() (Pipe, error) {
	select {
	case p := <-free:
		return p, nil
	default:
	}
	var fds [2]int
	if err := unix.Pipe2(fds[:], unix.O_CLOEXEC|unix.O_NONBLOCK); err != nil {
		return Pipe{}, fmt.Errorf("pipe2: %w", err)
	}
	// Best effort: a smaller pipe only takes more calls.
	unix.FcntlInt(uintptr(fds[0]), unix.F_SETPIPE_SZ, Size)
	return Pipe{fds[0], fds[1]}, nil
}

// Put keeps p for the next Get when it is empty, else closes it: bytes
// left in a pipe must never reach another transfer.
func Put(p Pipe, empty bool) {
	if empty {
		select {
		case free <- p:
			return
		default:
		}
	}
	unix.Close(p.R)
	unix.Close(p.W)
}
