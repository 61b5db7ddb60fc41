package ascii

import (
	"strings"
	"testing"
)

// TestTchar checks all 256 bytes against RFC 9110's list.
func TestTchar(t *testing.T) {
	const rfc = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	for c := 0; c < 256; c++ {
		if got, want := IsTchar(byte(c)), strings.IndexByte(rfc, byte(c)) >= 0; got != want {
			t.Errorf("IsTchar(%#x) = %v, want %v", c, got, want)
		}
	}
}

func TestIsToken(t *testing.T) {
	for s, want := range map[string]bool{
		"GET": true, "x-forwarded-for": true, "a.b~c": true, "": false,
		"a b": false, "a,b": false, "é": false, "tprouter": true, "a\x00": false,
	} {
		if IsToken(s) != want || IsToken([]byte(s)) != want {
			t.Errorf("IsToken(%q) = %v, want %v", s, !want, want)
		}
	}
}

func TestEqualFold(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want bool
	}{
		{"Content-Length", "content-length", true},
		{"EXAMPLE.org", "example.ORG", true},
		{"a", "b", false},
		{"abc", "ab", false},
		{"\xc9", "\xe9", false}, // Latin-1 É and é: not ASCII, not folded
		{"[", "{", false},       // 0x5b and 0x7b differ by 0x20 but are not letters
		{"", "", true},
	} {
		if got := EqualFold(tc.a, tc.b); got != tc.want {
			t.Errorf("EqualFold(%q, %q) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
		if got := EqualFold([]byte(tc.a), tc.b); got != tc.want {
			t.Errorf("EqualFold([]byte(%q), %q) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
}

func TestNoAllocs(t *testing.T) {
	b := []byte("Transfer-Encoding")
	if n := testing.AllocsPerRun(100, func() {
		_ = EqualFold(b, "transfer-encoding") && IsToken(b)
	}); n != 0 {
		t.Errorf("%v allocations, want 0", n)
	}
}
