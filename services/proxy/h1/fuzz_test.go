package h1

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httputil"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// fuzzMax is the head limit used by the fuzz targets; inputs longer than it
// exercise ErrHeadTooLarge.
const fuzzMax = 2048

func FuzzParseRequest(f *testing.F) {
	f.Fuzz(checkRequest)
}

func FuzzParseResponse(f *testing.F) {
	f.Fuzz(checkResponse)
}

func FuzzChunked(f *testing.F) {
	f.Fuzz(checkChunked)
}

// checkErr asserts the error contract: nil, ErrIncomplete or an *Error.
func checkErr(t *testing.T, err error) {
	t.Helper()
	var pe *Error
	if err != nil && err != ErrIncomplete && !errors.As(err, &pe) {
		t.Fatalf("error %v is neither ErrIncomplete nor *Error", err)
	}
}

// checkPrefixes asserts that parsing is monotonic: a prefix of buf is still
// incomplete or already fails the way buf does (or hits the limit).
func checkPrefixes(t *testing.T, buf []byte, err error, end int, parse func([]byte) error) {
	t.Helper()
	step := max(1, end/64)
	for k := 0; k < end; k += step {
		e := parse(buf[:k])
		if e == ErrIncomplete || e == err || e == ErrHeadTooLarge && k >= fuzzMax {
			continue
		}
		t.Fatalf("prefix %d of %q: %v; whole: %v", k, buf, e, err)
	}
}

func checkRequest(t *testing.T, buf []byte) {
	var r Request
	err := ParseRequest(buf, fuzzMax, &r)
	checkErr(t, err)
	if err != nil {
		checkPrefixes(t, buf, err, len(buf), func(p []byte) error { return ParseRequest(p, fuzzMax, new(Request)) })
		return
	}
	if r.HeadLen <= 0 || r.HeadLen > len(buf) || r.HeadLen > fuzzMax {
		t.Fatalf("HeadLen %d, len %d", r.HeadLen, len(buf))
	}
	checkPrefixes(t, buf, ErrIncomplete, r.HeadLen, func(p []byte) error { return ParseRequest(p, fuzzMax, new(Request)) })

	out := AppendRequest(nil, &r, nil, nil)
	var r2 Request
	if err := ParseRequest(out, len(out), &r2); err != nil {
		t.Fatalf("re-parse of %q: %v", out, err)
	}
	target := r.Target
	if r.Absolute {
		_, rest := splitAbsolute(r.Target)
		target = []byte(originForm(string(r.Method), string(rest)))
	}
	switch {
	case r2.HeadLen != len(out):
		t.Fatalf("re-parse HeadLen %d of %d", r2.HeadLen, len(out))
	case !bytes.Equal(r2.Method, r.Method) || !bytes.Equal(r2.Target, target) || r2.Minor != r.Minor:
		t.Fatalf("request line changed: %q", out)
	case !bytes.Equal(r2.Host, r.Host) && string(r.Method) != "CONNECT":
		t.Fatalf("Host %q became %q", r.Host, r2.Host)
	case r2.ContentLength != r.ContentLength || r2.Chunked != r.Chunked || r2.Body() != r.Body():
		t.Fatalf("framing changed: %q", out)
	case r2.Upgrade || r2.ExpectContinue != r.ExpectContinue:
		t.Fatalf("flags changed: %q", out)
	}
	if got, want := fieldStrings(r2.Fields), forwardedFields(r.Fields, r.Absolute, r.Host, r.ContentLength); !reflect.DeepEqual(got, want) {
		t.Fatalf("fields\n got %q\nwant %q", got, want)
	}
	if again := AppendRequest(nil, &r2, nil, nil); !bytes.Equal(again, out) {
		t.Fatalf("serialization not a fixed point:\n%q\n%q", out, again)
	}

	// Differential: when net/http also accepts the head, it must frame the
	// body the same way and route to the same authority.
	gr, gerr := http.ReadRequest(bufio.NewReader(bytes.NewReader(buf[:r.HeadLen])))
	if gerr != nil {
		return
	}
	gchunked := len(gr.TransferEncoding) > 0 && gr.TransferEncoding[0] == "chunked"
	want := BodyNone
	switch {
	case gchunked:
		want = BodyChunked
	case gr.ContentLength > 0:
		want = BodyLength
	}
	if want != r.Body() || want == BodyLength && gr.ContentLength != r.ContentLength {
		t.Fatalf("framing: ours %v/%d, net/http %v/%d", r.Body(), r.ContentLength, want, gr.ContentLength)
	}
	if gr.Host != string(r.Host) || gr.Method != string(r.Method) || gr.RequestURI != string(r.Target) {
		t.Fatalf("net/http sees %s %q host %q; ours %s %q host %q", gr.Method, gr.RequestURI, gr.Host, r.Method, r.Target, r.Host)
	}
}

func originForm(method, rest string) string {
	switch {
	case rest == "" && method == "OPTIONS":
		return "*"
	case rest == "" || rest[0] == '?':
		return "/" + rest
	}
	return rest
}

// forwardedFields is an independent statement of what AppendRequest and
// AppendResponse keep: hop-by-hop fields go, Content-Length appears once
// as a decimal, Transfer-Encoding once with lower-case codings, and an
// absolute-form target's authority replaces Host.
func forwardedFields(fs []Field, abs bool, host []byte, cl int64) []string {
	hop := map[string]bool{"connection": true, "keep-alive": true, "proxy-connection": true, "te": true,
		"upgrade": true, "proxy-authenticate": true, "proxy-authorization": true}
	for _, f := range fs {
		if strings.EqualFold(string(f.Name), "connection") {
			for _, o := range strings.Split(string(f.Value), ",") {
				hop[strings.ToLower(strings.Trim(o, " \t"))] = true
			}
		}
	}
	for _, keep := range []string{"host", "content-length", "transfer-encoding"} {
		delete(hop, keep)
	}
	var out []string
	if abs {
		out = append(out, "Host: "+string(host))
	}
	seenCL, seenTE := false, false
	for _, f := range fs {
		name := strings.ToLower(string(f.Name))
		switch {
		case hop[name], abs && name == "host":
		case name == "content-length":
			if !seenCL {
				out = append(out, string(f.Name)+": "+strconv.FormatInt(cl, 10))
			}
			seenCL = true
		case name == "transfer-encoding":
			if !seenTE {
				var codings []string
				for _, g := range fs {
					if strings.EqualFold(string(g.Name), name) {
						for _, c := range strings.Split(string(g.Value), ",") {
							codings = append(codings, strings.ToLower(strings.Trim(c, " \t")))
						}
					}
				}
				out = append(out, string(f.Name)+": "+strings.Join(codings, ", "))
			}
			seenTE = true
		default:
			out = append(out, string(f.Name)+": "+string(f.Value))
		}
	}
	return out
}

func checkResponse(t *testing.T, buf []byte) {
	var r Response
	err := ParseResponse(buf, fuzzMax, &r)
	checkErr(t, err)
	if err != nil {
		checkPrefixes(t, buf, err, len(buf), func(p []byte) error { return ParseResponse(p, fuzzMax, new(Response)) })
		return
	}
	if r.HeadLen <= 0 || r.HeadLen > len(buf) || r.Status < 100 || r.Status > 999 {
		t.Fatalf("HeadLen %d, len %d, status %d", r.HeadLen, len(buf), r.Status)
	}
	checkPrefixes(t, buf, ErrIncomplete, r.HeadLen, func(p []byte) error { return ParseResponse(p, fuzzMax, new(Response)) })

	out := AppendResponse(nil, &r, nil, nil)
	var r2 Response
	if err := ParseResponse(out, len(out), &r2); err != nil {
		t.Fatalf("re-parse of %q: %v", out, err)
	}
	get := []byte("GET")
	switch {
	case r2.HeadLen != len(out):
		t.Fatalf("re-parse HeadLen %d of %d", r2.HeadLen, len(out))
	case r2.Minor != r.Minor || r2.Status != r.Status || !bytes.Equal(r2.Reason, r.Reason):
		t.Fatalf("status line changed: %q", out)
	case r2.ContentLength != r.ContentLength || r2.Chunked != r.Chunked || r2.Body(get) != r.Body(get):
		t.Fatalf("framing changed: %q", out)
	}
	if got, want := fieldStrings(r2.Fields), forwardedFields(r.Fields, false, nil, r.ContentLength); !reflect.DeepEqual(got, want) {
		t.Fatalf("fields\n got %q\nwant %q", got, want)
	}
	if again := AppendResponse(nil, &r2, nil, nil); !bytes.Equal(again, out) {
		t.Fatalf("serialization not a fixed point:\n%q\n%q", out, again)
	}

	// Differential framing check against net/http for a GET.
	if r.Status < 200 || r.Status == 204 || r.Status == 304 {
		return
	}
	gr, gerr := http.ReadResponse(bufio.NewReader(bytes.NewReader(buf[:r.HeadLen])), &http.Request{Method: "GET"})
	if gerr != nil {
		return
	}
	gchunked := len(gr.TransferEncoding) > 0 && gr.TransferEncoding[0] == "chunked"
	want := BodyUntilClose
	switch {
	case gchunked:
		want = BodyChunked
	case gr.ContentLength == 0:
		want = BodyNone
	case gr.ContentLength > 0:
		want = BodyLength
	}
	if want != r.Body(get) || want == BodyLength && gr.ContentLength != r.ContentLength {
		t.Fatalf("framing: ours %v/%d, net/http %v/%d", r.Body(get), r.ContentLength, want, gr.ContentLength)
	}
}

// decode runs the scanner the way a splicing proxy would: chunk data is
// skipped (and collected), framing is scanned one byte at a time.
func decode(body []byte) ([]byte, scanResult) {
	var (
		c    Chunked
		data []byte
		off  int
	)
	for off < len(body) {
		if k := min(c.DataLeft(), int64(len(body)-off)); k > 0 {
			data = append(data, body[off:off+int(k)]...)
			c.Skip(k)
			off += int(k)
			continue
		}
		n, done, err := c.Scan(body[off : off+1])
		off += n
		if err != nil || done {
			return data, scanResult{off, done, err}
		}
	}
	return data, scanResult{off, false, nil}
}

func checkChunked(t *testing.T, body []byte, seed uint64) {
	want := scanOnce(body)
	checkErr(t, want.err)
	switch {
	case want.n < 0 || want.n > len(body):
		t.Fatalf("n = %d of %d", want.n, len(body))
	case want.err == nil && !want.done && want.n != len(body):
		t.Fatalf("short scan: %+v", want)
	case want.err != nil && want.done:
		t.Fatalf("done with error: %+v", want)
	}
	rng := rand.New(rand.NewPCG(seed, seed>>32))
	random := func(left int) int { return 1 + rng.IntN(min(left, 1+int(seed%32))) }
	one := func(int) int { return 1 }
	for _, mode := range []struct {
		name string
		next func(int) int
		skip bool
	}{{"bytes", one, false}, {"random", random, false}, {"skip random", random, true}} {
		if got := scanSplit(body, mode.next, mode.skip, nil); got != want {
			t.Fatalf("%s: %+v, one piece %+v", mode.name, got, want)
		}
	}
	data, res := decode(body)
	if res != want {
		t.Fatalf("decode: %+v, one piece %+v", res, want)
	}
	if !want.done {
		return
	}
	// Differential: net/http's chunked reader must decode the same data.
	gdata, err := io.ReadAll(httputil.NewChunkedReader(bytes.NewReader(body[:want.n])))
	if err != nil || !bytes.Equal(gdata, data) {
		t.Fatalf("net/http decodes %q (%v), we skipped %q", gdata, err, data)
	}
}

var writeCorpus = flag.Bool("h1.writecorpus", false, "rewrite the testdata/fuzz seed files from the table tests")

// TestWriteCorpus regenerates the seed corpora from the tables:
//
//	go test -run TestWriteCorpus -h1.writecorpus ./services/proxy/h1
//
// Crashers found by fuzzing sit next to them under their hash names.
func TestWriteCorpus(t *testing.T) {
	if !*writeCorpus {
		t.Skip("use -h1.writecorpus to rewrite testdata/fuzz")
	}
	write := func(target, name string, vals ...any) {
		dir := filepath.Join("testdata", "fuzz", target)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		b.WriteString("go test fuzz v1\n")
		for _, v := range vals {
			switch v := v.(type) {
			case []byte:
				fmt.Fprintf(&b, "[]byte(%q)\n", v)
			case uint64:
				fmt.Fprintf(&b, "uint64(%d)\n", v)
			}
		}
		name = "seed-" + strings.Map(func(r rune) rune {
			if 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' {
				return r
			}
			return '-'
		}, name)
		if err := os.WriteFile(filepath.Join(dir, name), []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range goodRequests {
		write("FuzzParseRequest", "good-"+tc.name, []byte(tc.head+tc.tail))
	}
	for _, tc := range badRequests {
		write("FuzzParseRequest", "bad-"+tc.name, []byte(tc.in))
	}
	write("FuzzParseRequest", "typical", typicalRequest)
	for _, tc := range goodResponses {
		write("FuzzParseResponse", "good-"+tc.name, []byte(tc.head+tc.tail))
	}
	for _, tc := range badResponses {
		write("FuzzParseResponse", "bad-"+tc.name, []byte(tc.in))
	}
	write("FuzzParseResponse", "typical", typicalResponse)
	for i, tc := range goodChunked {
		write("FuzzChunked", "good-"+tc.name, []byte(tc.body+tc.tail), uint64(i))
	}
	for i, tc := range badChunked {
		write("FuzzChunked", "bad-"+tc.name, []byte(tc.body), uint64(i))
	}
}
