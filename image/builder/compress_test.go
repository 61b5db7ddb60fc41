package builder

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pierrec/lz4/v4"

	"tprouter/image/debian"
)

// TestCompress writes more than one of the kernel's 8 MiB LZ4 chunks and
// reads it back.
func TestCompress(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "in")
	data := bytes.Repeat([]byte("070701 tprouter initramfs "), 400_000) // 10.4 MB
	if err := os.WriteFile(src, data, 0o644); err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(dir, "out.lz4")
	n, err := compress(src, dst)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(dst)
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(b)) != n || !bytes.HasPrefix(b, []byte{0x02, 0x21, 0x4c, 0x18}) {
		t.Fatalf("compress: %d bytes starting %x, reported %d; want LZ4's legacy magic 02214c18", len(b), b[:4], n)
	}
	got, err := io.ReadAll(lz4.NewReader(bytes.NewReader(b)))
	if err != nil || !bytes.Equal(got, data) {
		t.Errorf("decompressed %d bytes (%v), want the %d written", len(got), err, len(data))
	}
}

func TestUnpacks(t *testing.T) {
	dir := t.TempDir()
	k := &debian.Kernel{Package: "linux-image-x", Release: "x", Dir: dir}
	if err := unpacks(k); err == nil || !strings.Contains(err.Error(), "CONFIG_RD_LZ4") {
		t.Errorf("without a config: %v, want an error naming CONFIG_RD_LZ4", err)
	}
	os.MkdirAll(filepath.Join(dir, "boot"), 0o755)
	config := filepath.Join(dir, "boot", "config-x")
	os.WriteFile(config, []byte("CONFIG_RD_GZIP=y\n# CONFIG_RD_LZ4 is not set\n"), 0o644)
	if err := unpacks(k); err == nil || !strings.Contains(err.Error(), "lacks CONFIG_RD_LZ4=y") {
		t.Errorf("without LZ4: %v", err)
	}
	os.WriteFile(config, []byte("CONFIG_RD_GZIP=y\nCONFIG_RD_LZ4=y\n"), 0o644)
	if err := unpacks(k); err != nil {
		t.Errorf("with LZ4: %v", err)
	}
}
