package boot

import (
	"encoding/binary"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"
)

// Input event constants (linux/input-event-codes.h).
const (
	evKey    = 0x01
	keyPower = 116
)

// eventSize is the size of struct input_event: a struct timeval (two
// longs) and type, code and value.
var eventSize = 2*strconv.IntSize/8 + 8

// PowerButton watches input devices for a press of the power key: the
// ACPI power button, which QEMU's system_powerdown presses, or a
// keyboard's power key. The kernel only reports the press (through the
// button and evdev modules, which the board must list); acting on it is
// init's job.
type PowerButton struct {
	// Glob matches the devices to watch, normally /dev/input/event*.
	Glob string
	// Rescan is how often to look for devices that appeared later
	// (modules load and devices probe asynchronously).
	Rescan time.Duration
	// Press is called with the device's path on each press.
	Press func(dev string)
	// Log reports devices that cannot be opened or read.
	Log func(format string, args ...any)

	mu      sync.Mutex
	watched map[string]bool
}

// Watch starts watching and returns at once.
func (b *PowerButton) Watch() {
	b.watched = map[string]bool{}
	go func() {
		defer func() { recover() }()
		for {
			b.scan()
			time.Sleep(b.Rescan)
		}
	}()
}

func (b *PowerButton) scan() {
	devs, _ := filepath.Glob(b.Glob)
	for _, dev := range devs {
		b.mu.Lock()
		seen := b.watched[dev]
		b.watched[dev] = true
		b.mu.Unlock()
		if seen {
			continue
		}
		f, err := os.Open(dev)
		if err != nil {
			b.Log("power button: %v", err)
			continue // not forgotten: it would fail again
		}
		go b.read(dev, f)
	}
}

// read reads input events from one device until it goes away.
func (b *PowerButton) read(dev string, f *os.File) {
	defer func() {
		recover()
		f.Close()
		b.mu.Lock()
		delete(b.watched, dev) // look again should it come back
		b.mu.Unlock()
	}()
	buf := make([]byte, eventSize)
	for {
		if _, err := io.ReadFull(f, buf); err != nil {
			if err != io.EOF {
				b.Log("power button: reading %s: %v", dev, err)
			}
			return
		}
		ev := buf[eventSize-8:]
		typ := binary.NativeEndian.Uint16(ev[0:])
		code := binary.NativeEndian.Uint16(ev[2:])
		value := int32(binary.NativeEndian.Uint32(ev[4:]))
		if typ == evKey && code == keyPower && value == 1 {
			b.Press(dev)
		}
	}
}
