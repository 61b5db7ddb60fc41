// Package ascii holds the byte-level helpers that protocol code needs in
// several places: RFC 9110 token characters and ASCII case folding. They
// never allocate and treat bytes above 0x7f as themselves, as HTTP and DNS
// do (neither folds non-ASCII case).
package ascii

// Str is a string or a byte slice: the helpers take either without a
// conversion that would allocate.
type Str interface{ ~string | ~[]byte }

// tchar marks the token characters of RFC 9110 §5.6.2:
// "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" / "_" /
// "`" / "|" / "~" / DIGIT / ALPHA.
var tchar = func() (t [256]bool) {
	for _, c := range []byte("!#$%&'*+-.^_`|~") {
		t[c] = true
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c], t[c-'a'+'A'] = true, true
	}
	return t
}()

// IsTchar reports whether c may appear in an RFC 9110 token.
func IsTchar(c byte) bool { return tchar[c] }

// IsToken reports whether s is a non-empty RFC 9110 token (a method, a
// field name, a Via pseudonym).
func IsToken[S Str](s S) bool {
	for i := 0; i < len(s); i++ {
		if !tchar[s[i]] {
			return false
		}
	}
	return len(s) > 0
}

// lower maps ASCII upper case to lower case and every other byte to
// itself: a table, so that folding costs no branch in the parsers' loops.
var lower = func() (t [256]byte) {
	for c := range t {
		t[c] = byte(c)
		if 'A' <= c && c <= 'Z' {
			t[c] += 'a' - 'A'
		}
	}
	return t
}()

// Lower maps an ASCII upper-case letter to lower case and every other
// byte to itself.
func Lower(c byte) byte { return lower[c] }

// EqualFold reports whether a and b are equal ignoring ASCII case.
func EqualFold[A, B Str](a A, b B) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		if Lower(a[i]) != Lower(b[i]) {
			return false
		}
	}
	return true
}
