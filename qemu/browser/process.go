package browser

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"tprouter/qemu/lab"
)

// process is chromium running in its own process group, with a profile
// directory of its own.
type process struct {
	cmd      *exec.Cmd
	dir      string   // --user-data-dir, HOME and the XDG directories
	devtools *url.URL // ws://127.0.0.1:PORT/devtools/browser/ID inside ns
	done     chan struct{}

	mu  sync.Mutex
	out bytes.Buffer // chromium's output, for error messages
}

// maxOutput bounds what process keeps of chromium's output.
const maxOutput = 1 << 20

// flags runs chromium headless as root, with nothing it would do on its own
// (first run, sync, updates, background requests) that would add traffic or
// time, and a DevTools endpoint on a port it chooses on loopback.
func flags(dir string) []string {
	return []string{
		"--headless=new", "--no-sandbox", "--disable-gpu",
		"--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0",
		"--user-data-dir=" + dir,
		"--no-first-run", "--no-default-browser-check",
		"--window-size=" + strconv.Itoa(Width) + "," + strconv.Itoa(Height),
		"--disable-background-networking", "--disable-component-update",
		"--disable-default-apps", "--disable-extensions", "--disable-sync",
		"--disable-domain-reliability", "--disable-breakpad", "--no-pings",
		"--disable-dev-shm-usage", "--mute-audio", "--password-store=basic",
		"about:blank",
	}
}

// startProcess starts chromium inside ns and waits until it says where
// DevTools listens, or ctx ends.
func startProcess(ctx context.Context, ns *lab.NS) (*process, error) {
	dir, err := os.MkdirTemp("", "tprouter-chromium-")
	if err != nil {
		return nil, fmt.Errorf("browser: profile directory: %w", err)
	}
	p := &process{dir: dir, done: make(chan struct{})}
	p.cmd = ns.Command(Chromium, flags(dir)...)
	p.cmd.Env = append(os.Environ(), "HOME="+dir,
		"XDG_CONFIG_HOME="+filepath.Join(dir, "config"), "XDG_CACHE_HOME="+filepath.Join(dir, "cache"))
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	r, w := io.Pipe()
	p.cmd.Stdout, p.cmd.Stderr = w, w
	if err := p.cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("browser: starting %s in %s: %w", Chromium, ns.Name, err)
	}
	go func() { p.cmd.Wait(); w.Close(); close(p.done) }()
	found := make(chan *url.URL, 1)
	go p.read(r, found)
	select {
	case p.devtools = <-found:
		if p.devtools != nil {
			return p, nil
		}
		err = errors.New("exited before DevTools listened")
	case <-ctx.Done():
		err = fmt.Errorf("DevTools not listening: %w", ctx.Err())
	}
	p.stop()
	return nil, fmt.Errorf("browser: %s in %s: %v (%s)\nchromium's output:\n%s",
		Chromium, ns.Name, err, p.cmd.ProcessState, p.output())
}

// read keeps chromium's output and sends the DevTools address on found
// once (nil if the output ends first).
func (p *process) read(r io.Reader, found chan<- *url.URL) {
	const marker = "DevTools listening on "
	sent := false
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		p.mu.Lock()
		if p.out.Len() < maxOutput {
			p.out.WriteString(line + "\n")
		}
		p.mu.Unlock()
		if _, ws, ok := strings.Cut(line, marker); ok && !sent {
			if u, err := url.Parse(strings.TrimSpace(ws)); err == nil {
				found <- u
				sent = true
			}
		}
	}
	io.Copy(io.Discard, r)
	if !sent {
		found <- nil
	}
}

func (p *process) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

// stop ends chromium's process group (TERM, then KILL after 5 s), waits
// for chromium and removes the profile directory.
func (p *process) stop() error {
	pgid := p.cmd.Process.Pid
	syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		syscall.Kill(-pgid, syscall.SIGKILL)
		<-p.done
	}
	// Children that outlived the leader (renderers, the zygote, crashpad)
	// go too; they are gone once only zombies are left.
	for range 50 {
		if len(alive(pgid)) == 0 {
			break
		}
		syscall.Kill(-pgid, syscall.SIGKILL)
		time.Sleep(100 * time.Millisecond)
	}
	var err error
	for range 10 { // a child still exiting may write into the profile
		if err = os.RemoveAll(p.dir); err == nil {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("browser: removing chromium's profile: %w", err)
}

// alive returns the processes of group pgid that are not zombies (a
// zombie holds nothing but its entry, and its parent, init, reaps it).
func alive(pgid int) []int {
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	var pids []int
	for _, f := range stats {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		// pid (comm) state ppid pgrp ...; comm may hold spaces and parentheses.
		i := bytes.LastIndexByte(b, ')')
		fields := strings.Fields(string(b[i+1:]))
		if i < 0 || len(fields) < 3 || fields[0] == "Z" || fields[2] != strconv.Itoa(pgid) {
			continue
		}
		pid, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(f, "/proc/"), "/stat"))
		pids = append(pids, pid)
	}
	return pids
}
