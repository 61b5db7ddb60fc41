package boot

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// lines collects a Watchdog's console lines.
type lines struct {
	mu sync.Mutex
	l  []string
}

func (l *lines) log(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.l = append(l.l, fmt.Sprintf(format, args...))
}

func (l *lines) get() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.l...)
}

func TestWatchdogNone(t *testing.T) {
	var l lines
	w := &Watchdog{Dev: filepath.Join(t.TempDir(), "watchdog"), Log: l.log}
	w.Start()
	w.Disarm() // nothing to disarm
	got := l.get()
	if len(got) != 1 || !strings.HasPrefix(got[0], "watchdog: none (no ") || !strings.HasSuffix(got[0], "): a hang that does not panic needs a power cycle") {
		t.Errorf("lines %q, want one saying there is no watchdog", got)
	}
}

// TestWatchdogPings starts the watchdog on a FIFO, which takes writes but
// no watchdog ioctls: the line names the failed ioctls, the pings arrive
// by write every quarter timeout, and Disarm ends them with the magic 'V'
// and a close.
func TestWatchdogPings(t *testing.T) {
	dev := filepath.Join(t.TempDir(), "watchdog")
	if err := syscall.Mkfifo(dev, 0o600); err != nil {
		t.Fatal(err)
	}
	// The reader first, without blocking, so that Start's open for
	// writing does not block either.
	r, err := os.OpenFile(dev, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var l lines
	w := &Watchdog{Dev: dev, Timeout: 200 * time.Millisecond, Log: l.log}
	w.Start()

	r.SetReadDeadline(time.Now().Add(5 * time.Second))
	got := make([]byte, 3)
	if _, err := io.ReadFull(r, got); err != nil {
		t.Fatalf("reading 3 pings: %v (lines %q)", err, l.get())
	}
	if string(got) != "..." {
		t.Errorf("pings %q, want %q", got, "...")
	}
	first := l.get()
	if len(first) != 1 || !strings.HasPrefix(first[0], "watchdog: "+dev+" (unknown), timeout unknown; ioctl WDIOC_SETTIMEOUT 1s: ") ||
		!strings.Contains(first[0], "ioctl WDIOC_GETSUPPORT: inappropriate ioctl for device") {
		t.Errorf("lines %q, want one naming the device and the failed ioctls", first)
	}

	w.Disarm()
	rest, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("reading to the close: %v", err)
	}
	if !bytes.HasSuffix(rest, []byte("V")) || bytes.Count(rest, []byte("V")) != 1 {
		t.Errorf("after the pings %q, want pings and then one 'V' (magic close)", rest)
	}
	time.Sleep(150 * time.Millisecond) // a ping's interval: none comes after Disarm
	if got := l.get(); len(got) != 1 {
		t.Errorf("lines after Disarm %q, want no more", got)
	}
}
