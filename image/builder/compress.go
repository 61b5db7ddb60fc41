package builder

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"

	"tprouter/board"
	"tprouter/image/debian"
)

// kernelConfig is the option a kernel needs to unpack each format.
var kernelConfig = map[board.Compression]string{board.LZ4: "CONFIG_RD_LZ4", board.Zstd: "CONFIG_RD_ZSTD"}

// unpacks checks that kernel k can unpack an initramfs in format f.
func unpacks(k *debian.Kernel, f board.Compression) error {
	opt := kernelConfig[orLZ4(f)]
	config := filepath.Join(k.Dir, "boot", "config-"+k.Release)
	b, err := os.ReadFile(config)
	if err != nil {
		return fmt.Errorf("kernel %s: %w (to unpack the %s initramfs, its configuration must say %s=y)", k.Package, err, orLZ4(f), opt)
	}
	if !bytes.Contains(b, []byte("\n"+opt+"=y\n")) {
		return fmt.Errorf("kernel %s cannot unpack the %s initramfs: %s lacks %s=y (choose the board's Initramfs compression from those it has)", k.Package, orLZ4(f), config, opt)
	}
	return nil
}

// orLZ4 is f with the default filled in.
func orLZ4(f board.Compression) board.Compression {
	if f == "" {
		return board.LZ4
	}
	return f
}

// compress writes src to dst in format f and returns dst's size.
func compress(src, dst string, f board.Compression) (int64, error) {
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
	zw, err := compressor(out, orLZ4(f))
	if err != nil {
		out.Close()
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

// compressor returns a writer that compresses to w as the kernel reads
// it: LZ4 in its legacy frame format (the kernel does not read the newer
// one), zstd at its best level, in one goroutine so that the output only
// depends on the input.
func compressor(w io.Writer, f board.Compression) (io.WriteCloser, error) {
	switch f {
	case board.LZ4:
		zw := lz4.NewWriter(w)
		return zw, zw.Apply(lz4.LegacyOption(true), lz4.CompressionLevelOption(lz4.Level9))
	case board.Zstd:
		return zstd.NewWriter(w, zstd.WithEncoderLevel(zstd.SpeedBestCompression), zstd.WithEncoderConcurrency(1))
	}
	return nil, fmt.Errorf("initramfs compression %q: want %q or %q", f, board.LZ4, board.Zstd)
}
