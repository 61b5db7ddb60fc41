package builder

import (
	"compress/gzip"
	"io"
	"os"
)

// compress writes src gzip-compressed to dst and returns dst's size.
//
// gzip rather than xz: both Debian kernels unpack either, but under QEMU's
// CPU emulation, which the tests and make demo use, unpacking the xz image
// took 4.8 s against gzip's 0.6 s, for an image 30% smaller. zstd
// unpacks as fast and is 10% smaller; gzip needs nothing beyond Go's
// standard library and every tool that looks into initramfs files reads it.
func compress(src, dst string) (int64, error) {
	in, err := os.Open(src)
	if err != nil {
		return 0, err
	}
	defer in.Close()
	tmp := dst + ".tmp"
	out, err := os.Create(tmp)
	if err != nil {
		return 0, err
	}
	defer os.Remove(tmp)
	zw, err := gzip.NewWriterLevel(out, gzip.BestCompression)
	if err != nil {
		return 0, err
	}
	if _, err := io.Copy(zw, in); err != nil {
		out.Close()
		return 0, err
	}
	if err := zw.Close(); err != nil {
		out.Close()
		return 0, err
	}
	fi, err := out.Stat()
	if err != nil {
		return 0, err
	}
	if err := out.Close(); err != nil {
		return 0, err
	}
	return fi.Size(), os.Rename(tmp, dst)
}
