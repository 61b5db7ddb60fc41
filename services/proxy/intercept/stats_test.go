package intercept

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

// sample returns the value of the sample called name (labels included) in
// st's /metrics text, and whether its TYPE line says typ.
func sample(t *testing.T, st *Stats, name, typ string) float64 {
	t.Helper()
	var b bytes.Buffer
	if err := st.WritePrometheus(&b); err != nil {
		t.Fatal(err)
	}
	text := b.String()
	if base, _, _ := strings.Cut(name, "{"); !strings.Contains(text, "# TYPE "+base+" "+typ+"\n") {
		t.Errorf("/metrics has no %s of type %s:\n%s", base, typ, text)
	}
	for _, l := range strings.Split(text, "\n") {
		if v, ok := strings.CutPrefix(l, name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("sample %q: %v", l, err)
			}
			return f
		}
	}
	t.Fatalf("/metrics has no sample %s:\n%s", name, text)
	return 0
}

// TestSplicedBytesMetric: a response body large enough to go socket to
// socket shows in tprouter_proxy_spliced_bytes_total, and a small one
// adds nothing.
func TestSplicedBytesMetric(t *testing.T) {
	t.Parallel()
	const size = 4 << 20
	o := httpOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		n := size
		if r.URL.Path == "/small" {
			n = 100
		}
		w.Header().Set("Content-Length", fmt.Sprint(n))
		io.Copy(w, io.LimitReader(newPattern(), int64(n)))
	})
	h := newProxy(t, o.addr)
	c := h.dial(t)
	br := bufio.NewReader(c)
	const name = "tprouter_proxy_spliced_bytes_total"

	io.WriteString(c, "GET /small HTTP/1.1\r\nHost: x\r\n\r\n")
	if _, body := get(t, br, "GET"); len(body) != 100 {
		t.Fatalf("small body: %d bytes", len(body))
	}
	h.waitLines(t, 1)
	if n := sample(t, h.s.Stats, name, "counter"); n != 0 {
		t.Errorf("%s = %v after a 100-byte body, want 0", name, n)
	}

	io.WriteString(c, "GET /large HTTP/1.1\r\nHost: x\r\n\r\n")
	if _, body := get(t, br, "GET"); len(body) != size {
		t.Fatalf("large body: %d bytes", len(body))
	}
	h.waitLines(t, 2)
	// All but what came in the reads with the head goes by splice.
	if n := sample(t, h.s.Stats, name, "counter"); n < size-64<<10 || n > size {
		t.Errorf("%s = %v after a %d-byte body, want nearly all of it", name, n, size)
	}
}
