package qemu

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"
)

// console collects QEMU's output, in a file and in memory, and wakes those
// waiting for text.
type console struct {
	name  string    // Options.Console
	file  *os.File  // name, open
	out   io.Writer // file and Options.Output
	start time.Time

	mu      sync.Mutex
	buf     []byte
	chunks  []chunk       // when which part of buf arrived
	cursor  int           // where the next wait starts looking
	changed chan struct{} // closed on every write, then replaced
	end     error         // set when QEMU has exited
}

type chunk struct {
	end int           // offset in buf after the chunk
	at  time.Duration // since start
}

func newConsole(name string, out io.Writer) (*console, error) {
	c := &console{name: name, out: io.Discard, changed: make(chan struct{})}
	var ws []io.Writer
	if name != "" {
		f, err := os.Create(name)
		if err != nil {
			return nil, err
		}
		c.file = f
		ws = append(ws, f)
	}
	if out != nil {
		ws = append(ws, out)
	}
	if len(ws) > 0 {
		c.out = io.MultiWriter(ws...)
	}
	return c, nil
}

func (c *console) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.buf = append(c.buf, p...)
	c.chunks = append(c.chunks, chunk{len(c.buf), time.Since(c.start)})
	close(c.changed)
	c.changed = make(chan struct{})
	c.out.Write(p) // a full disk must not stop the VM
	return len(p), nil
}

func (c *console) closeWith(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err == nil {
		err = errors.New("QEMU exited")
	}
	c.end = err
	close(c.changed)
	c.changed = make(chan struct{})
	if c.file != nil {
		c.file.Close()
	}
}

func (c *console) wait(ctx context.Context, s string) (time.Duration, error) {
	for {
		c.mu.Lock()
		if i := bytes.Index(c.buf[c.cursor:], []byte(s)); i >= 0 {
			end := c.cursor + i + len(s)
			c.cursor = end
			var at time.Duration
			for _, ch := range c.chunks {
				if ch.end >= end {
					at = ch.at
					break
				}
			}
			c.mu.Unlock()
			return at, nil
		}
		end, changed := c.end, c.changed
		c.mu.Unlock()
		if end != nil {
			return 0, fmt.Errorf("console: %q not seen before QEMU ended: %v", s, end)
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return 0, fmt.Errorf("console: %q not seen: %w", s, ctx.Err())
		}
	}
}
