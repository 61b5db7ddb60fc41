package boot

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// wdiocGetTimeout is WDIOC_GETTIMEOUT, _IOR('W', 7, int) in
// linux/watchdog.h, which golang.org/x/sys/unix does not define (it has
// WDIOC_SETTIMEOUT, and the keepalive and info ioctls as functions).
const wdiocGetTimeout = 0x80045707

// Watchdog arms the board's watchdog and pings it from init, so that a
// box whose PID 1 hangs or dies resets on its own: panic= covers a kernel
// panic, the watchdog covers a hang that never panics. It never closes
// the device with the magic 'V' while the system runs, so the timer keeps
// counting if init stops; only Disarm, on the way to a power off or halt,
// does.
type Watchdog struct {
	Dev     string        // the device, normally /dev/watchdog
	Timeout time.Duration // how long without a ping before the reset; 0 is 60 s
	Log     func(format string, args ...any)

	mu sync.Mutex
	f  *os.File // nil before Start, without a device, and after Disarm
}

// DefaultWatchdogTimeout is a Watchdog's Timeout when it has none: long
// enough for a slow shutdown's service deadline, short enough that a hung
// box is back within a couple of minutes.
const DefaultWatchdogTimeout = 60 * time.Second

// Start opens and arms the device, says on the console which watchdog it
// is and its timeout, and pings it every quarter timeout from a
// goroutine. Without the device it says once that a hang needs a power
// cycle. Opening the device is what starts the timer.
func (w *Watchdog) Start() {
	if w.Timeout <= 0 {
		w.Timeout = DefaultWatchdogTimeout
	}
	if _, err := os.Stat(w.Dev); errors.Is(err, fs.ErrNotExist) {
		w.Log("watchdog: none (no %s): a hang that does not panic needs a power cycle", w.Dev)
		return
	}
	f, err := os.OpenFile(w.Dev, os.O_WRONLY, 0)
	if err != nil {
		w.Log("watchdog: %v; a hang that does not panic needs a power cycle", err)
		return
	}
	w.mu.Lock()
	w.f = f
	w.mu.Unlock()
	w.Log("watchdog: %s", w.arm(int(f.Fd())))
	go w.pingForever()
}

// arm sets the timeout and returns what the console line says after
// "watchdog: ": the device, the driver's identity and the timeout the
// driver took (it may round). The ioctls fail on a device that is not a
// watchdog; the line names the failure and the pings go on by write.
func (w *Watchdog) arm(fd int) string {
	want := max(1, int(w.Timeout/time.Second)) // whole seconds, as the ioctl takes
	var problems []string
	if err := unix.IoctlSetPointerInt(fd, unix.WDIOC_SETTIMEOUT, want); err != nil {
		problems = append(problems, fmt.Sprintf("ioctl WDIOC_SETTIMEOUT %ds: %v", want, err))
	}
	timeout := "unknown"
	if got, err := unix.IoctlGetInt(fd, wdiocGetTimeout); err != nil {
		problems = append(problems, fmt.Sprintf("ioctl WDIOC_GETTIMEOUT: %v", err))
	} else {
		timeout = fmt.Sprintf("%ds", got)
	}
	identity := "unknown"
	if info, err := unix.IoctlGetWatchdogInfo(fd); err != nil {
		problems = append(problems, fmt.Sprintf("ioctl WDIOC_GETSUPPORT: %v", err))
	} else {
		identity = unix.ByteSliceToString(info.Identity[:])
	}
	line := fmt.Sprintf("%s (%s), timeout %s", w.Dev, identity, timeout)
	if len(problems) > 0 {
		line += "; " + strings.Join(problems, "; ") + " (not a watchdog device?)"
	}
	return line
}

// pingForever pings every quarter timeout until Disarm. A panic in a
// ping is reported and the pings go on: a bug in the pinger must not be
// what resets the box.
func (w *Watchdog) pingForever() {
	for w.pingLoop() {
	}
}

// pingLoop pings until Disarm (false) or a panic (true: start again).
func (w *Watchdog) pingLoop() (again bool) {
	defer func() {
		if r := recover(); r != nil {
			w.Log("watchdog: ping: panic: %v", r)
			again = true
		}
	}()
	for {
		time.Sleep(w.Timeout / 4)
		if !w.ping() {
			return false
		}
	}
}

// ping writes one byte to the device, which every watchdog driver takes
// as a keepalive (watchdog_dev.c), as does a FIFO in the tests. The byte
// is not 'V', so it also cancels a magic close. It returns false once
// Disarm closed the device. A failed write is reported, not retried
// sooner: the next ping comes a quarter timeout later.
func (w *Watchdog) ping() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		return false
	}
	if _, err := w.f.Write([]byte{'.'}); err != nil {
		w.Log("watchdog: ping: %v", err)
	}
	return true
}

// Disarm stops the timer with the magic close (a 'V', then close) and
// the pings with it, for a power off or halt, which the watchdog would
// otherwise undo by resetting the box a minute later. A reboot does not
// need it. Without a device, or twice, it does nothing.
func (w *Watchdog) Disarm() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		return
	}
	if _, err := w.f.Write([]byte{'V'}); err != nil {
		w.Log("watchdog: magic close: %v; it may reset the box", err)
	}
	if err := w.f.Close(); err != nil {
		w.Log("watchdog: close: %v; it may reset the box", err)
	}
	w.f = nil
}
