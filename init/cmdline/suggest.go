package cmdline

import "strings"

// suggest names the known key closest to an unknown one, if any is close.
func suggest(key string) string {
	best, dist := "", 4
	for _, k := range keys {
		if d := distance(strings.ToLower(key), k.name); d < dist {
			best, dist = k.name, d
		}
	}
	if best == "" {
		return " (see README.md for the keys)"
	}
	return " (did you mean " + best + "?)"
}

// distance is the Levenshtein distance of a and b, bounded so that an
// absurdly long key costs little.
func distance(a, b string) int {
	if len(a) > 64 {
		return len(a)
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
