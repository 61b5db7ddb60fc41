package builder

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"

	"tprouter/board"
	"tprouter/image/debian"
)

// TestCompress writes more than one of the kernel's 8 MiB LZ4 chunks in
// each format and reads it back.
func TestCompress(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "in")
	data := bytes.Repeat([]byte("070701 tprouter initramfs "), 400_000) // 10.4 MB
	if err := os.WriteFile(src, data, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		f     board.Compression
		magic []byte
		read  func(io.Reader) (io.Reader, error)
	}{
		{"", []byte{0x02, 0x21, 0x4c, 0x18}, func(r io.Reader) (io.Reader, error) { return lz4.NewReader(r), nil }},
		{board.Zstd, []byte{0x28, 0xb5, 0x2f, 0xfd}, func(r io.Reader) (io.Reader, error) { return zstd.NewReader(r) }},
	} {
		dst := filepath.Join(dir, "out."+string(c.f))
		n, err := compress(src, dst, c.f)
		if err != nil {
			t.Fatalf("%q: %v", c.f, err)
		}
		b, err := os.ReadFile(dst)
		if err != nil {
			t.Fatal(err)
		}
		if int64(len(b)) != n || !bytes.HasPrefix(b, c.magic) {
			t.Fatalf("%q: %d bytes starting %x, reported %d; want the magic number %x", c.f, len(b), b[:4], n, c.magic)
		}
		r, err := c.read(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(r)
		if err != nil || !bytes.Equal(got, data) {
			t.Errorf("%q: decompressed %d bytes (%v), want the %d written", c.f, len(got), err, len(data))
		}
	}
}

func TestUnpacks(t *testing.T) {
	dir := t.TempDir()
	k := &debian.Kernel{Package: "linux-image-x", Release: "x", Dir: dir}
	if err := unpacks(k, ""); err == nil || !strings.Contains(err.Error(), "CONFIG_RD_LZ4") {
		t.Errorf("without a config: %v, want an error naming CONFIG_RD_LZ4", err)
	}
	os.MkdirAll(filepath.Join(dir, "boot"), 0o755)
	config := filepath.Join(dir, "boot", "config-x")
	os.WriteFile(config, []byte("CONFIG_RD_GZIP=y\n# CONFIG_RD_LZ4 is not set\nCONFIG_RD_ZSTD=y\n"), 0o644)
	if err := unpacks(k, board.LZ4); err == nil || !strings.Contains(err.Error(), "lacks CONFIG_RD_LZ4=y") {
		t.Errorf("without LZ4: %v", err)
	}
	if err := unpacks(k, board.Zstd); err != nil {
		t.Errorf("with zstd: %v", err)
	}
}
