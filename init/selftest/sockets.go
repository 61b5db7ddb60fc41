package selftest

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// listener is a listening TCP socket of a process, as its fd table and
// /proc/<pid>/net/tcp{,6} show it, with the options read on a duplicate.
type listener struct {
	family      int // 4 or 6
	fd          int // in the process
	transparent bool
	v6only      bool
}

func (l listener) String() string {
	s := fmt.Sprintf("IPv%d fd %d", l.family, l.fd)
	if l.family == 6 && !l.v6only {
		s += " (dual-stack)"
	}
	if l.transparent {
		return s + " transparent"
	}
	return s + " NOT transparent"
}

// listeners returns the sockets of pid that listen on TCP port, in the
// process's own network namespace.
func listeners(proc string, pid int, port uint16) ([]listener, error) {
	inodes := map[string]int{} // socket inode → family
	for fam, table := range map[int]string{4: "tcp", 6: "tcp6"} {
		if err := listeningInodes(filepath.Join(proc, strconv.Itoa(pid), "net", table), port, fam, inodes); err != nil {
			return nil, err
		}
	}
	if len(inodes) == 0 {
		return nil, nil
	}
	fdDir := filepath.Join(proc, strconv.Itoa(pid), "fd")
	ents, err := os.ReadDir(fdDir)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", fdDir, err)
	}
	var ls []listener
	for _, e := range ents {
		link, _ := os.Readlink(filepath.Join(fdDir, e.Name()))
		inode, found := strings.CutPrefix(link, "socket:[")
		fam, mine := inodes[strings.TrimSuffix(inode, "]")]
		fd, err := strconv.Atoi(e.Name())
		if !found || !mine || err != nil {
			continue
		}
		l, err := sockOpts(pid, fd, fam)
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
	}
	return ls, nil
}

// listeningInodes adds the inodes of the sockets in table (a
// /proc/net/tcp file) that listen on port.
func listeningInodes(table string, port uint16, family int, inodes map[string]int) error {
	f, err := os.Open(table)
	if err != nil {
		return fmt.Errorf("reading the proxy's sockets: %w", err)
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	s.Scan() // header
	for s.Scan() {
		// sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
		f := strings.Fields(s.Text())
		if len(f) < 10 || f[3] != "0A" { // TCP_LISTEN
			continue
		}
		_, hex, _ := strings.Cut(f[1], ":")
		if p, err := strconv.ParseUint(hex, 16, 16); err == nil && uint16(p) == port {
			inodes[f[9]] = family
		}
	}
	return s.Err()
}

// sockOpts duplicates fd of pid (pidfd_getfd: init has CAP_SYS_PTRACE)
// and reads IP_TRANSPARENT or IPV6_TRANSPARENT and IPV6_V6ONLY on it.
func sockOpts(pid, fd, family int) (listener, error) {
	l := listener{family: family, fd: fd}
	pidfd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return l, fmt.Errorf("pidfd_open(%d): %w", pid, err)
	}
	defer unix.Close(pidfd)
	dup, err := unix.PidfdGetfd(pidfd, fd, 0)
	if err != nil {
		return l, fmt.Errorf("pidfd_getfd(pid %d, fd %d): %w (init needs CAP_SYS_PTRACE)", pid, fd, err)
	}
	defer unix.Close(dup)
	var v int
	if family == 4 {
		v, err = unix.GetsockoptInt(dup, unix.SOL_IP, unix.IP_TRANSPARENT)
	} else {
		v, err = unix.GetsockoptInt(dup, unix.SOL_IPV6, unix.IPV6_TRANSPARENT)
		if err == nil {
			var only int
			only, err = unix.GetsockoptInt(dup, unix.SOL_IPV6, unix.IPV6_V6ONLY)
			l.v6only = only != 0
		}
	}
	if err != nil {
		return l, fmt.Errorf("getsockopt on pid %d's fd %d: %w", pid, fd, err)
	}
	l.transparent = v != 0
	return l, nil
}

// capEff reads the effective capability set of pid.
func capEff(proc string, pid int) (uint64, error) {
	status := filepath.Join(proc, strconv.Itoa(pid), "status")
	b, err := os.ReadFile(status)
	if err != nil {
		return 0, err
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "CapEff:"); ok {
			return strconv.ParseUint(strings.TrimSpace(v), 16, 64)
		}
	}
	return 0, fmt.Errorf("%s has no CapEff line", status)
}
