// Package cmdline turns the kernel command line, and cmdline.txt on the
// boot partition, into the router's configuration. It is the one place
// that parses strings: Parse checks every tprouter.* key and hands on
// typed values (config.Network and the settings init itself uses), with
// where each key was given (config.Config.Sources).
//
// A value that does not parse never stops the boot. It is reported as a
// Problem naming the key, the value and the expected form, and the key
// falls back to whichever is safe: its default, or the feature it controls
// off. The choice for each key is in the table below and in README.md.
// Unknown tprouter.* keys are reported too; everything else on the line
// (console=, root=, quiet, module parameters) belongs to the kernel and is
// ignored.
//
// Parse does not use u-root's pkg/cmdline: that package treats single
// quotes and Unicode quotation marks as quotes, which the kernel does not,
// and its dequote panics on a value that is a lone quote (`x="`), which
// PID 1 cannot afford. Fields implements the kernel's own splitting.
package cmdline

import (
	"fmt"
	"maps"
	"strings"

	"tprouter/init/config"
)

// Prefix starts every key that Parse reads.
const Prefix = "tprouter."

// Parse parses a kernel command line (the contents of /proc/cmdline)
// alone. It returns a usable configuration whatever the input and lists
// what it did not take as given. It never panics.
func Parse(line string) (config.Config, []config.Problem) { return ParseWithFile(line, "") }

// ParseWithFile parses a kernel command line and the text of cmdline.txt
// (FileFormat), whose keys override the line's. Bad values and unknown
// keys in the file are reported as on the line, with the file and line
// (Problem.Source); so is anything in it that is not a tprouter.* key,
// which only the boot loader can give the kernel. It never panics.
func ParseWithFile(line, file string) (config.Config, []config.Problem) {
	given, probs := collect(kernelParams(line))
	fromFile, fileProbs := fileParams(file)
	overrides, more := collect(fromFile)
	maps.Copy(given, overrides)
	probs = append(append(probs, fileProbs...), more...)

	c := config.Default()
	for i := range keys {
		k := &keys[i]
		p, ok := given[k.name]
		if !ok {
			continue
		}
		if c.Sources == nil {
			c.Sources = map[string]config.Source{}
		}
		c.Sources[k.name] = p.Source
		v := p.Value
		if !p.HasValue {
			v = bare
		}
		if err := k.set(&c, v); err != nil {
			probs = append(probs, config.Problem{Source: p.Source, Key: k.name, Value: p.Value,
				Why: err.Error(), Want: k.want, Using: k.fallback(&c)})
		}
	}
	return c, append(probs, c.Check()...)
}

// setting is a tprouter.* parameter and where it was given.
type setting struct {
	Param
	config.Source
}

// kernelParams returns the tprouter.* parameters of a kernel command
// line; everything else on it belongs to the kernel.
func kernelParams(line string) []setting {
	var ss []setting
	for _, p := range Fields(line) {
		if isOurs(p.Key) {
			ss = append(ss, setting{Param: p})
		}
	}
	return ss
}

// isOurs reports whether key is meant as a tprouter.* key, in any case,
// so that Tprouter.x is reported rather than left to the kernel.
func isOurs(key string) bool {
	return len(key) >= len(Prefix) && strings.EqualFold(key[:len(Prefix)], Prefix)
}

// collect returns the settings of known keys by name, reporting unknown
// ones and repeated ones. Of a repeated key the last one wins, as the
// kernel lets the last of repeated parameters win; Parse says so.
func collect(ss []setting) (map[string]setting, []config.Problem) {
	var probs []config.Problem
	given := map[string]setting{}
	count := map[string]int{}
	for _, s := range ss {
		if findKey(s.Key) == nil {
			probs = append(probs, config.Problem{Source: s.Source, Key: s.Key, Value: s.Value,
				Why: "unknown key" + suggest(s.Key), Using: "ignored"})
			continue
		}
		given[s.Key] = s
		count[s.Key]++
	}
	for _, k := range keys {
		if n := count[k.name]; n > 1 {
			s := given[k.name]
			probs = append(probs, config.Problem{Source: s.Source, Key: k.name, Value: s.Value,
				Why: fmt.Sprintf("given %d times", n), Using: "using the last one"})
		}
	}
	return given, probs
}

// bare is the value a key given without '=' gets: it turns on a boolean
// (`tprouter.shell`) and is invalid for the others.
const bare = "\x00bare"
