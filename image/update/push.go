package main

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"tprouter/internal/bundle"
)

// StatusPort is the router's status port, where PUT /update and GET
// /version are.
const StatusPort = "9090"

func pushCmd(args []string) error {
	fs := flag.NewFlagSet("push", flag.ExitOnError)
	router := fs.String("router", "", "the router's LAN address (host, or host:port; port "+StatusPort+" by default)")
	file := fs.String("bundle", "", "the bundle (make update-bundle: build/<board>/update.tar)")
	keys := fs.String("keys", defaultKeys(), "keys directory (make keys): the password, and the key that checks the bundle")
	force := fs.Bool("force", false, "install even a version that is not newer than the running one")
	wait := fs.Duration("wait", 5*time.Minute, "how long to wait for the router to come back")
	fs.Parse(args)
	if *router == "" || *file == "" {
		return errors.New("-router ADDR and -bundle FILE are needed (make update ROUTER=<address>)")
	}
	data, err := os.ReadFile(*file)
	if err != nil {
		return err
	}
	key, err := bundle.SigningKey(*keys)
	if err != nil {
		return err
	}
	b, err := bundle.Read(bytes.NewReader(data), int64(len(data)), key.Public().(ed25519.PublicKey))
	if err != nil {
		return fmt.Errorf("%s: %w", *file, err)
	}
	pw, err := os.ReadFile(filepath.Join(*keys, bundle.PasswordFile))
	if err != nil {
		return fmt.Errorf("%w (make keys)", err)
	}
	p := &pusher{base: baseURL(*router), password: strings.TrimSpace(string(pw)), out: os.Stdout,
		poll: 2 * time.Second, settle: time.Minute, wait: *wait}
	return p.push(data, b.Manifest.Version, *force)
}

// baseURL is the router's status URL, http://addr:9090.
func baseURL(addr string) string {
	if _, _, err := net.SplitHostPort(addr); err != nil {
		addr = net.JoinHostPort(strings.Trim(addr, "[]"), StatusPort)
	}
	return "http://" + addr
}

// pusher uploads a bundle and waits for the router to come back.
type pusher struct {
	base, password string
	out            io.Writer
	poll           time.Duration // between polls of /version
	// settle is how long the new version must keep answering to count
	// as updated when the router has no /selftest to say it passed.
	settle time.Duration
	wait   time.Duration // for the router to come back
}

// push uploads data, the bundle of version, and waits.
func (p *pusher) push(data []byte, version string, force bool) error {
	url := p.base + "/update"
	if force {
		url += "?force=1"
	}
	req, err := http.NewRequest(http.MethodPut, url, bytes.NewReader(data))
	if err != nil {
		return err
	}
	req.SetBasicAuth("tprouter", p.password)
	req.Header.Set("Content-Type", "application/x-tar")
	fmt.Fprintf(p.out, "upload   %s to %s (%.1f MiB)\n", version, url, float64(len(data))/(1<<20))
	resp, err := (&http.Client{Timeout: 5 * time.Minute}).Do(req)
	if err != nil {
		return fmt.Errorf("PUT %s: %w (is the router on this LAN? the update port is not reachable from the WAN)", url, err)
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	resp.Body.Close()
	line := firstLine(body)
	switch {
	case resp.StatusCode == http.StatusUnauthorized:
		return fmt.Errorf("the router refused the password (%s): its disk image was written with other keys; use those (-keys/KEYS) or reflash it", line)
	case resp.StatusCode != http.StatusOK:
		return fmt.Errorf("the router refused the bundle: %s: %s", resp.Status, line)
	}
	fmt.Fprintf(p.out, "router   %s\n", line)
	return p.waitBack(version)
}

// waitBack polls /version until the router runs version, or runs another
// one after it went down (a rollback), or p.wait has passed.
func (p *pusher) waitBack(version string) error {
	client := &http.Client{Timeout: 3 * time.Second}
	deadline := time.Now().Add(p.wait)
	var down bool
	var since time.Time // when version was first seen up
	last := "no answer"
	for ; time.Now().Before(deadline); time.Sleep(p.poll) {
		body, err := get(client, p.base+"/version")
		if err != nil {
			down, since, last = true, time.Time{}, err.Error()
			continue
		}
		running, rolled := parseVersion(body)
		last = "running version " + running
		switch {
		case running == version:
			if since.IsZero() {
				since = time.Now()
			}
			if p.passed(client) || time.Since(since) >= p.settle {
				fmt.Fprintf(p.out, "running version %s (updated)\n", version)
				return nil
			}
		case down:
			if rolled == "" {
				rolled = "no reason given (see the router's console)"
			}
			return fmt.Errorf("running version %s: the update to %s was rolled back: %s", running, version, rolled)
		}
	}
	return fmt.Errorf("the router did not come back with version %s within %s (last: %s): see its console", version, p.wait, last)
}

// passed says whether the router's last self-test passed.
func (p *pusher) passed(client *http.Client) bool {
	body, err := get(client, p.base+"/selftest?format=json")
	if err != nil {
		return false
	}
	var r struct {
		OK      bool              `json:"ok"`
		Results []json.RawMessage `json:"results"`
	}
	return json.Unmarshal(body, &r) == nil && r.OK && len(r.Results) > 0
}

// get returns the body of a 200 answer to GET url.
func get(client *http.Client, url string) ([]byte, error) {
	resp, err := client.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return body, err
}

// parseVersion reads the router's /version text: "version X", and after a
// rollback a line "rolled back: <why>".
func parseVersion(body []byte) (version, rolledBack string) {
	for line := range strings.Lines(string(body)) {
		line = strings.TrimSpace(line)
		if v, ok := strings.CutPrefix(line, "version "); ok && version == "" {
			version = strings.TrimSpace(v)
		}
		if why, ok := strings.CutPrefix(line, "rolled back:"); ok {
			rolledBack = strings.TrimSpace(why)
		}
	}
	return version, rolledBack
}

func firstLine(b []byte) string {
	line, _, _ := strings.Cut(strings.TrimSpace(string(b)), "\n")
	return line
}
