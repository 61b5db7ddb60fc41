// Package cmdline turns the kernel command line into the router's
// configuration. It is the one place that parses strings: Parse checks every
// tprouter.* key and hands on typed values (config.Network and the settings
// init itself uses).
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
	"strings"

	"tprouter/init/config"
)

// Prefix starts every key that Parse reads.
const Prefix = "tprouter."

// Parse parses a kernel command line (the contents of /proc/cmdline). It
// returns a usable configuration whatever the input and lists what it did
// not take as given. It never panics.
func Parse(line string) (config.Config, []config.Problem) {
	c := config.Default()
	var probs []config.Problem

	// The kernel lets the last of repeated parameters win; so does Parse,
	// but says so.
	values := map[string]Param{}
	count := map[string]int{}
	for _, p := range Fields(line) {
		if len(p.Key) < len(Prefix) || !strings.EqualFold(p.Key[:len(Prefix)], Prefix) {
			continue
		}
		if findKey(p.Key) == nil {
			probs = append(probs, config.Problem{Key: p.Key, Value: p.Value,
				Why: "unknown key" + suggest(p.Key), Using: "ignored"})
			continue
		}
		values[p.Key] = p
		count[p.Key]++
	}

	for i := range keys {
		k := &keys[i]
		p, ok := values[k.name]
		if !ok {
			continue
		}
		if n := count[k.name]; n > 1 {
			probs = append(probs, config.Problem{Key: k.name, Value: p.Value,
				Why: fmt.Sprintf("given %d times", n), Using: "using the last one"})
		}
		v := p.Value
		if !p.HasValue {
			v = bare
		}
		if err := k.set(&c, v); err != nil {
			probs = append(probs, config.Problem{Key: k.name, Value: p.Value,
				Why: err.Error(), Want: k.want, Using: k.fallback(&c)})
		}
	}
	return c, append(probs, c.Check()...)
}

// bare is the value a key given without '=' gets: it turns on a boolean
// (`tprouter.shell`) and is invalid for the others.
const bare = "\x00bare"
