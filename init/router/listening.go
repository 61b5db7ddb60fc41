package router

import (
	"bufio"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Listening reports whether a TCP socket listens on port, on any address
// of either family, according to the tcp and tcp6 tables in dir
// (/proc/net). Unlike connecting to the port, looking does not make the
// proxy accept, and then refuse, a connection to its own address.
func Listening(dir string, port uint16) bool {
	for _, name := range []string{"tcp", "tcp6"} {
		if listening(filepath.Join(dir, name), port) {
			return true
		}
	}
	return false
}

func listening(table string, port uint16) bool {
	f, err := os.Open(table)
	if err != nil {
		return false
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	s.Scan() // header
	for s.Scan() {
		// sl local_address rem_address st ...
		//  0: 00000000:0C39 00000000:0000 0A ...
		f := strings.Fields(s.Text())
		if len(f) < 4 || f[3] != "0A" { // TCP_LISTEN
			continue
		}
		_, hex, ok := strings.Cut(f[1], ":")
		if p, err := strconv.ParseUint(hex, 16, 16); ok && err == nil && uint16(p) == port {
			return true
		}
	}
	return false
}
