package cmdline

import "strings"

// Param is one parameter of the kernel command line.
type Param struct {
	Key   string
	Value string
	// HasValue is false for a bare key (`quiet`), true for `key=` and
	// `key=value`.
	HasValue bool
}

// Fields splits a kernel command line into parameters the way the kernel
// does (next_arg in lib/cmdline.c and kernel/params.c): parameters are
// separated by white space outside double quotes; a double quote toggles
// quoting and there is no escape character; quotes around the value
// (`key="a b"`) or around the whole parameter (`"key=a b"`) are removed.
// Other quotes stay in the value, as they do for the kernel. `--` only
// separates the kernel's parameters from init's; both are returned.
func Fields(line string) []Param {
	var ps []Param
	for {
		line = strings.TrimLeft(line, " \t\n\v\f\r")
		if line == "" {
			return ps
		}
		var p Param
		p, line = next(line)
		if p.Key == "--" && !p.HasValue {
			continue
		}
		ps = append(ps, p)
	}
}

// next returns the first parameter of line, which starts with no white
// space, and the rest of the line.
func next(line string) (Param, string) {
	quoted := false
	if line[0] == '"' {
		line = line[1:]
		quoted = true
	}
	inQuote := quoted
	equals := -1
	i := 0
	for ; i < len(line); i++ {
		c := line[i]
		if isSpace(c) && !inQuote {
			break
		}
		if equals < 0 && c == '=' && i > 0 { // as the kernel: a leading '=' is part of the key
			equals = i
		}
		if c == '"' {
			inQuote = !inQuote
		}
	}
	arg, rest := line[:i], line[i:]

	var p Param
	if equals < 0 {
		p.Key = arg
	} else {
		p.Key, p.Value, p.HasValue = arg[:equals], arg[equals+1:], true
		if strings.HasPrefix(p.Value, `"`) {
			p.Value = strings.TrimSuffix(p.Value[1:], `"`)
			quoted = false // that closing quote is gone already
		}
	}
	if quoted {
		// `"key=a b"`: the kernel drops the parameter's closing quote.
		if p.HasValue {
			p.Value = strings.TrimSuffix(p.Value, `"`)
		} else {
			p.Key = strings.TrimSuffix(p.Key, `"`)
		}
	}
	return p, rest
}

// isSpace is the kernel's isspace for the bytes a command line has.
func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}
