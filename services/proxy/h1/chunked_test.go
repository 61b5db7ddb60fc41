package h1

import (
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
)

type scanResult struct {
	n    int // bytes that belong to the body (up to done or the bad byte)
	done bool
	err  error
}

// scanSplit feeds body to a fresh scanner in pieces chosen by next (called
// with the bytes left, returning a piece size >= 1). When skip is set, chunk
// data is passed over with DataLeft/Skip instead of Scan, as a splicing
// proxy would, and the skipped bytes are appended to *data.
func scanSplit(body []byte, next func(left int) int, skip bool, data *[]byte) scanResult {
	var c Chunked
	off := 0
	for off < len(body) {
		if k := c.DataLeft(); skip && k > 0 {
			k = min(k, int64(len(body)-off), int64(next(len(body)-off)))
			if data != nil {
				*data = append(*data, body[off:off+int(k)]...)
			}
			c.Skip(k)
			off += int(k)
			continue
		}
		p := body[off : off+next(len(body)-off)]
		n, done, err := c.Scan(p)
		if err == nil && !done && n != len(p) {
			return scanResult{-1, false, errors.New("short scan without error")}
		}
		off += n
		if err != nil || done {
			return scanResult{off, done, err}
		}
	}
	return scanResult{off, false, nil}
}

func scanOnce(body []byte) scanResult {
	var c Chunked
	n, done, err := c.Scan(body)
	return scanResult{n, done, err}
}

var goodChunked = []struct {
	name string
	body string
	tail string
}{
	{"empty", "0\r\n\r\n", ""},
	{"one chunk", "5\r\nhello\r\n0\r\n\r\n", ""},
	{"two chunks", "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", ""},
	{"hex and leading zeros", "A\r\n0123456789\r\n00a\r\nabcdefghij\r\n000\r\n\r\n", ""},
	{"extensions", "5;a=b;c;d=\"x\\\"y;z\"\r\nhello\r\n0;last=\"\"\r\n\r\n", ""},
	{"trailers", "1\r\nx\r\n0\r\nX-Sum: abc\r\nEmpty:\r\nX-Obs: \xe9\t\r\n\r\n", ""},
	{"framing bytes in data", "8\r\n\r\n0\r\n\r\nX\r\n0\r\n\r\n", ""},
	{"pipelined", "3\r\nabc\r\n0\r\n\r\n", "GET / HTTP/1.1\r\nHost: a\r\n\r\n"},
	{"max size", "7fffffffffffffff\r\n", ""}, // valid head of a huge chunk: not done
}

var badChunked = []struct {
	name string
	body string
	want error
}{
	{"size trailing space", "5 \r\nhello\r\n0\r\n\r\n", errChunkSize},
	{"size leading space", " 5\r\nhello\r\n0\r\n\r\n", errChunkSize},
	{"size plus", "+5\r\nhello\r\n0\r\n\r\n", errChunkSize},
	{"size minus", "-1\r\n", errChunkSize},
	{"size 0x", "0x5\r\nhello\r\n0\r\n\r\n", errChunkSize},
	{"size empty", "\r\nhello\r\n0\r\n\r\n", errChunkSize},
	{"size tab", "5\t\r\nhello\r\n0\r\n\r\n", errChunkSize},
	{"size bare LF", "5\nhello\r\n0\r\n\r\n", errChunkBareLF},
	{"size bare CR", "5\rhello\r\n0\r\n\r\n", errChunkBareCR},
	{"size CR CR LF", "5\r\r\nhello\r\n0\r\n\r\n", errChunkBareCR},
	{"size non-hex", "5g\r\nhello\r\n0\r\n\r\n", errChunkSize},
	{"size NUL", "5\x00\r\nhello\r\n0\r\n\r\n", errChunkSize},
	{"size 17 digits", "00000000000000005\r\nhello\r\n0\r\n\r\n", errChunkOverflow},
	{"size over int64", "8000000000000000\r\n", errChunkOverflow},
	{"size over uint64", "1ffffffffffffffff\r\n", errChunkOverflow},
	{"BWS before ext", "5 ;a=b\r\nhello\r\n0\r\n\r\n", errChunkSize},
	{"space after semicolon", "5; a=b\r\nhello\r\n0\r\n\r\n", errChunkExt},
	{"space before equals", "5;a =b\r\nhello\r\n0\r\n\r\n", errChunkExt},
	{"space after equals", "5;a= b\r\nhello\r\n0\r\n\r\n", errChunkExt},
	{"space before CRLF", "5;a=b \r\nhello\r\n0\r\n\r\n", errChunkExt},
	{"empty ext", "5;\r\nhello\r\n0\r\n\r\n", errChunkExt},
	{"empty ext value", "5;a=\r\nhello\r\n0\r\n\r\n", errChunkExt},
	{"ext bare LF", "5;a=b\nhello\r\n0\r\n\r\n", errChunkBareLF},
	{"ext NUL", "5;a=b\x00\r\nhello\r\n0\r\n\r\n", errChunkExt},
	{"ext unterminated quote", "5;a=\"x\r\nhello\r\n0\r\n\r\n", errChunkExt},
	{"ext junk after quote", "5;a=\"x\"y\r\nhello\r\n0\r\n\r\n", errChunkExt},
	{"ext bare LF in quote", "5;a=\"x\ny\"\r\nhello\r\n0\r\n\r\n", errChunkBareLF},
	{"ext too long", "5;a=" + strings.Repeat("b", MaxChunkLine) + "\r\nhello\r\n0\r\n\r\n", errChunkLine},
	{"data too long", "5\r\nhelloX\r\n0\r\n\r\n", errChunkCRLF},
	{"data too short", "5\r\nhell\r\n0\r\n\r\n", errChunkCRLF},
	{"data bare LF", "5\r\nhello\n0\r\n\r\n", errChunkCRLF},
	{"data bare CR", "5\r\nhello\r0\r\n\r\n", errChunkCRLF},
	{"last chunk no CRLF", "0\r\nX\r\n", errNoColon},
	{"last chunk bare LF", "0\r\n\n", errChunkBareLF},
	{"last chunk bare CR", "0\r\n\rX", errChunkBareCR},
	{"last chunk LF only", "0\n\n", errChunkBareLF},
	{"trailer obs-fold", "0\r\nX: a\r\n b\r\n\r\n", errObsFold},
	{"trailer leading space", "0\r\n X: a\r\n\r\n", errObsFold},
	{"trailer bare LF", "0\r\nX: a\n\r\n", errChunkBareLF},
	{"trailer bare CR", "0\r\nX: a\rb\r\n\r\n", errChunkBareCR},
	{"trailer NUL", "0\r\nX: a\x00\r\n\r\n", errFieldValue},
	{"trailer DEL", "0\r\nX: \x7f\r\n\r\n", errFieldValue},
	{"trailer space before colon", "0\r\nX : a\r\n\r\n", errNameSpace},
	{"trailer no colon", "0\r\nX\r\n\r\n", errNoColon},
	{"trailer empty name", "0\r\n: a\r\n\r\n", errFieldName},
	{"trailer content-length", "0\r\nContent-Length: 5\r\n\r\n", errTrailerField},
	{"trailer transfer-encoding", "0\r\ntransfer-encoding: chunked\r\n\r\n", errTrailerField},
	{"trailer host", "0\r\nHOST: evil\r\n\r\n", errTrailerField},
	{"trailer too large", "0\r\nX: " + strings.Repeat("a", MaxTrailer) + "\r\n\r\n", errTrailerSize},
}

func TestChunkedGood(t *testing.T) {
	for _, tc := range goodChunked {
		t.Run(tc.name, func(t *testing.T) {
			body := []byte(tc.body + tc.tail)
			got := scanOnce(body)
			done := !strings.HasSuffix(tc.name, "size")
			want := scanResult{len(tc.body), done, nil}
			if got != want {
				t.Fatalf("Scan = %+v, want %+v", got, want)
			}
		})
	}
}

func TestChunkedBad(t *testing.T) {
	for _, tc := range badChunked {
		t.Run(tc.name, func(t *testing.T) {
			got := scanOnce([]byte(tc.body))
			var pe *Error
			if !errors.As(got.err, &pe) || got.err != tc.want || got.done {
				t.Fatalf("Scan = %+v, want err %v", got, tc.want)
			}
		})
	}
}

// TestChunkedSplits checks that the result does not depend on how the body
// arrives: one piece, byte by byte, random pieces, or with data skipped.
func TestChunkedSplits(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var bodies []string
	for _, tc := range goodChunked {
		bodies = append(bodies, tc.body+tc.tail)
	}
	for _, tc := range badChunked {
		bodies = append(bodies, tc.body)
	}
	one := func(int) int { return 1 }
	random := func(left int) int { return 1 + rng.IntN(min(left, 7)) }
	for _, s := range bodies {
		body := []byte(s)
		want := scanOnce(body)
		for _, mode := range []struct {
			name string
			next func(int) int
			skip bool
		}{{"bytes", one, false}, {"random", random, false}, {"skip bytes", one, true}, {"skip random", random, true}} {
			for range 5 {
				if got := scanSplit(body, mode.next, mode.skip, nil); got != want {
					t.Fatalf("%s %q: %+v, one piece %+v", mode.name, truncate(s), got, want)
				}
			}
		}
	}
}

func truncate(s string) string {
	if len(s) > 60 {
		return s[:60] + "..."
	}
	return s
}

func TestChunkedAfterEnd(t *testing.T) {
	var c Chunked
	if n, done, err := c.Scan([]byte("0\r\n\r\nGET")); n != 5 || !done || err != nil {
		t.Fatalf("Scan = %d %v %v", n, done, err)
	}
	if n, done, err := c.Scan([]byte("GET")); n != 0 || !done || err != nil {
		t.Fatalf("Scan after done = %d %v %v", n, done, err)
	}
	c.Reset()
	if _, _, err := c.Scan([]byte("x")); err != errChunkSize {
		t.Fatalf("err = %v", err)
	}
	if n, _, err := c.Scan([]byte("0\r\n\r\n")); n != 0 || err != errChunkSize {
		t.Fatalf("error not sticky: %d %v", n, err)
	}
}

func TestChunkedDataLeft(t *testing.T) {
	var c Chunked
	if n, _, _ := c.Scan([]byte("10;x=y\r\nabc")); n != 11 {
		t.Fatalf("n = %d", n)
	}
	if k := c.DataLeft(); k != 13 {
		t.Fatalf("DataLeft = %d, want 13", k)
	}
	c.Skip(13)
	if k := c.DataLeft(); k != 0 {
		t.Fatalf("DataLeft after Skip = %d", k)
	}
	if _, done, err := c.Scan([]byte("\r\n0\r\n\r\n")); !done || err != nil {
		t.Fatalf("done = %v, err = %v", done, err)
	}
	defer func() {
		if recover() == nil {
			t.Error("Skip beyond DataLeft did not panic")
		}
	}()
	c.Skip(1)
}
