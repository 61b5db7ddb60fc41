package qemu

import (
	"fmt"
	"slices"
	"strings"

	"tprouter/init/cmdline"
)

// mergeCmdline returns base with extra appended, without the parameters
// of base whose keys extra has, so that init sees every key once. Both are
// split as the kernel splits them (cmdline.Fields, which also drops a bare
// "--") and written back one way: key, key=value, or key="value" when the
// value has white space. A parameter that cannot be written so that the
// kernel reads it back the same (a double quote inside a value with white
// space: the kernel has no escape character) is an error.
func mergeCmdline(base, extra string) (string, error) {
	add := cmdline.Fields(extra)
	override := map[string]bool{}
	for _, p := range add {
		override[p.Key] = true
	}
	var ps []cmdline.Param
	for _, p := range cmdline.Fields(base) {
		if !override[p.Key] {
			ps = append(ps, p)
		}
	}
	ps = append(ps, add...)
	words := make([]string, len(ps))
	for i, p := range ps {
		words[i] = format(p)
	}
	line := strings.Join(words, " ")
	if got := cmdline.Fields(line); !slices.Equal(got, ps) {
		for i, p := range ps {
			if i >= len(got) || got[i] != p {
				return "", fmt.Errorf("kernel command line: parameter %s=%q cannot be written so that the kernel reads it back (it would read %s)", p.Key, p.Value, words[i])
			}
		}
	}
	return line, nil
}

// format writes p as a kernel command-line parameter, quoted only where
// white space needs it.
func format(p cmdline.Param) string {
	const space = " \t\n\v\f\r"
	switch {
	case !p.HasValue && strings.ContainsAny(p.Key, space):
		return `"` + p.Key + `"`
	case !p.HasValue:
		return p.Key
	case strings.ContainsAny(p.Key, space):
		return `"` + p.Key + "=" + p.Value + `"`
	case strings.ContainsAny(p.Value, space):
		return p.Key + `="` + p.Value + `"`
	}
	return p.Key + "=" + p.Value
}
