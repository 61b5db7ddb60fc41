package cmdline

import "tprouter/init/config"

// Setting is one key in force: its value as the command line writes it
// and where it came from (config.Config.SourceOf: "default", "kernel
// command line", "cmdline.txt:7").
type Setting struct {
	Key, Value, Source string
}

// Settings lists every key of the reference, in its order, with its
// value in c and where that came from: the status page's configuration
// panel.
func Settings(c config.Config) []Setting {
	out := make([]Setting, len(keys))
	for i, k := range keys {
		out[i] = Setting{Key: k.name, Value: k.value(c), Source: c.SourceOf(k.name)}
	}
	return out
}
