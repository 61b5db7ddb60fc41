package supervise

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Cap is a Linux capability (unix.CAP_NET_ADMIN, ...).
type Cap uintptr

var capNames = map[Cap]string{
	unix.CAP_CHOWN:            "CAP_CHOWN",
	unix.CAP_DAC_OVERRIDE:     "CAP_DAC_OVERRIDE",
	unix.CAP_KILL:             "CAP_KILL",
	unix.CAP_SETGID:           "CAP_SETGID",
	unix.CAP_SETUID:           "CAP_SETUID",
	unix.CAP_NET_BIND_SERVICE: "CAP_NET_BIND_SERVICE",
	unix.CAP_NET_BROADCAST:    "CAP_NET_BROADCAST",
	unix.CAP_NET_ADMIN:        "CAP_NET_ADMIN",
	unix.CAP_NET_RAW:          "CAP_NET_RAW",
	unix.CAP_SYS_ADMIN:        "CAP_SYS_ADMIN",
}

func (c Cap) String() string {
	if n, ok := capNames[c]; ok {
		return n
	}
	return "capability " + strconv.Itoa(int(c))
}

// secureNoCapAmbientRaise is the bit of SECBIT_NO_CAP_AMBIENT_RAISE
// (linux/securebits.h).
const secureNoCapAmbientRaise = 6

// checkCaps returns the capabilities that init can pass on as ambient
// capabilities and, for the others, why not. Go's fork/exec only reports a
// bare EPERM or EINVAL from capset or prctl in the child, which names
// neither the capability nor the reason; this names both. status is
// /proc/self/status, a test seam.
func checkCaps(status string, caps []Cap) (ok []Cap, why []string) {
	prm, bnd, err := capSets(status)
	if err != nil {
		for _, c := range caps {
			why = append(why, fmt.Sprintf("%v: cannot read init's capabilities: %v", c, err))
		}
		return nil, why
	}
	secure, secErr := unix.PrctlRetInt(unix.PR_GET_SECUREBITS, 0, 0, 0, 0)
	for _, c := range caps {
		_, ambErr := unix.PrctlRetInt(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_IS_SET, uintptr(c), 0, 0)
		switch {
		case errors.Is(ambErr, unix.EINVAL):
			why = append(why, fmt.Sprintf("%v: prctl(PR_CAP_AMBIENT_IS_SET, %d): %v: this kernel has no ambient capabilities (Linux 4.3 and later) or does not know %[1]v", c, c, ambErr))
		case secErr == nil && secure&(1<<secureNoCapAmbientRaise) != 0:
			why = append(why, fmt.Sprintf("%v: securebits %#x forbid raising ambient capabilities (SECBIT_NO_CAP_AMBIENT_RAISE)", c, secure))
		case bnd&(1<<c) == 0:
			why = append(why, fmt.Sprintf("%v: not in init's bounding set (CapBnd %016x): whatever started init dropped it, and no process can get it back", c, bnd))
		case prm&(1<<c) == 0:
			why = append(why, fmt.Sprintf("%v: init does not have it (CapPrm %016x)", c, prm))
		default:
			ok = append(ok, c)
		}
	}
	return ok, why
}

// capSets reads the permitted and bounding sets from a status file.
func capSets(status string) (prm, bnd uint64, err error) {
	f, err := os.Open(status)
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	found := 0
	s := bufio.NewScanner(f)
	for s.Scan() {
		k, v, _ := strings.Cut(s.Text(), ":")
		var dst *uint64
		switch k {
		case "CapPrm":
			dst = &prm
		case "CapBnd":
			dst = &bnd
		default:
			continue
		}
		if *dst, err = strconv.ParseUint(strings.TrimSpace(v), 16, 64); err != nil {
			return 0, 0, fmt.Errorf("%s: %s: %v", status, k, err)
		}
		found++
	}
	if found != 2 {
		return 0, 0, fmt.Errorf("%s: no CapPrm and CapBnd lines", status)
	}
	return prm, bnd, s.Err()
}
