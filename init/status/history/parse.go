package history

import (
	"bytes"
	"fmt"
	"strconv"
)

// sample is one line of the Prometheus text format: a metric name, its
// labels and its value.
type sample struct {
	name   string
	labels map[string]string
	value  float64
}

// parse reads the Prometheus text exposition format (version 0.0.4)
// as far as the sampler needs: comments and blank lines are skipped,
// every other line is name, optional {labels}, value and an optional
// timestamp. A malformed line fails the whole text, naming its number.
func parse(text []byte) ([]sample, error) {
	var out []sample
	for n := 1; len(text) > 0; n++ {
		line := text
		if i := bytes.IndexByte(text, '\n'); i >= 0 {
			line, text = text[:i], text[i+1:]
		} else {
			text = nil
		}
		line = bytes.TrimSpace(line)
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		s, err := parseLine(line)
		if err != nil {
			return nil, fmt.Errorf("metrics line %d %q: %w", n, line, err)
		}
		out = append(out, s)
	}
	return out, nil
}

// parseLine parses one sample line.
func parseLine(line []byte) (sample, error) {
	i := 0
	for i < len(line) && isNameChar(line[i], i == 0) {
		i++
	}
	if i == 0 {
		return sample{}, fmt.Errorf("no metric name")
	}
	s := sample{name: string(line[:i])}
	rest := line[i:]
	if len(rest) > 0 && rest[0] == '{' {
		var err error
		if s.labels, rest, err = parseLabels(rest[1:]); err != nil {
			return sample{}, err
		}
	}
	f := bytes.Fields(rest)
	if len(f) < 1 || len(f) > 2 {
		return sample{}, fmt.Errorf("want a value and at most a timestamp after the name")
	}
	v, err := strconv.ParseFloat(string(f[0]), 64)
	if err != nil {
		return sample{}, fmt.Errorf("value: %w", err)
	}
	s.value = v
	return s, nil
}

// parseLabels parses `key="value",...}` (the opening brace consumed) and
// returns the labels and what follows the closing brace.
func parseLabels(b []byte) (map[string]string, []byte, error) {
	m := map[string]string{}
	for {
		b = bytes.TrimLeft(b, " ")
		if len(b) > 0 && b[0] == '}' {
			return m, b[1:], nil
		}
		i := 0
		for i < len(b) && isNameChar(b[i], i == 0) && b[i] != ':' {
			i++
		}
		if i == 0 || i+1 >= len(b) || b[i] != '=' || b[i+1] != '"' {
			return nil, nil, fmt.Errorf("label: want name=\"value\"")
		}
		key := string(b[:i])
		v, rest, err := unquote(b[i+2:])
		if err != nil {
			return nil, nil, err
		}
		m[key] = v
		b = bytes.TrimLeft(rest, " ")
		if len(b) > 0 && b[0] == ',' {
			b = b[1:]
		} else if len(b) == 0 || b[0] != '}' {
			return nil, nil, fmt.Errorf("label: want , or } after %s", key)
		}
	}
}

// unquote reads a label value up to its closing quote, undoing the
// format's three escapes (\\, \" and \n).
func unquote(b []byte) (string, []byte, error) {
	var v []byte
	for i := 0; i < len(b); i++ {
		switch c := b[i]; c {
		case '"':
			return string(v), b[i+1:], nil
		case '\\':
			if i+1 == len(b) {
				return "", nil, fmt.Errorf("label value: trailing backslash")
			}
			i++
			switch b[i] {
			case 'n':
				v = append(v, '\n')
			case '\\', '"':
				v = append(v, b[i])
			default:
				return "", nil, fmt.Errorf("label value: unknown escape \\%c", b[i])
			}
		default:
			v = append(v, c)
		}
	}
	return "", nil, fmt.Errorf("label value: no closing quote")
}

// isNameChar reports whether c may be in a metric name ([a-zA-Z_:]
// first, then digits too).
func isNameChar(c byte, first bool) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', c == '_', c == ':':
		return true
	}
	return !first && '0' <= c && c <= '9'
}
