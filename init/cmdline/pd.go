package cmdline

import (
	"errors"
	"strconv"
	"strings"
)

// pdLen parses tprouter.wan.pd: off (or 0), or a prefix length 1-64 with
// or without its slash.
func pdLen(dst *int, v string) error {
	if v == "off" || v == "0" {
		*dst = 0
		return nil
	}
	n, err := strconv.Atoi(strings.TrimPrefix(v, "/"))
	if err != nil || n < 1 || n > 64 {
		return errors.New("not off or a prefix length 1-64")
	}
	*dst = n
	return nil
}

func pdLenValue(n int) string {
	if n == 0 {
		return "off"
	}
	return strconv.Itoa(n)
}

// subnetID parses tprouter.lan.pd: a /64's number in the delegated
// prefix, decimal or 0x hexadecimal (Check keeps it inside the prefix).
func subnetID(dst *uint64, v string) error {
	n, err := strconv.ParseUint(v, 0, 64)
	if err != nil {
		return errors.New("not a number of a /64 (0, 1, ... or 0x1f)")
	}
	*dst = n
	return nil
}
