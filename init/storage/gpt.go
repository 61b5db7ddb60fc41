package storage

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"strings"
	"unicode/utf16"
)

// entry is one used entry of a GUID partition table.
type entry struct {
	Number   int    // its index in the table, from 1: the kernel's partition number
	Type     string // partition type GUID, lower case
	UUID     string // unique partition GUID (PARTUUID), lower case
	FirstLBA uint64
	Name     string // partition name (PARTLABEL)
}

// Limits that keep a hostile table from making readGPT allocate much: the
// UEFI specification's minimum is 128 entries of 128 bytes.
const (
	maxEntries   = 1024
	maxEntrySize = 1024
)

// readGPT reads the GUID partition table of a disk of size bytes with
// sectors of sector bytes: the primary table at LBA 1 or, if that one is
// damaged, the backup at the disk's last LBA, as the kernel does. Both
// headers and their entry arrays must pass their CRC32 checks.
func readGPT(r io.ReaderAt, sector, size int64) ([]entry, error) {
	es, err := readTable(r, sector, 1)
	if err == nil {
		return es, nil
	}
	if errors.Is(err, errNoGPT) && !protectiveMBR(r) || size/sector < 3 {
		return nil, err
	}
	backup, berr := readTable(r, sector, size/sector-1)
	if berr != nil {
		return nil, fmt.Errorf("primary GPT: %w; backup GPT: %w", err, berr)
	}
	return backup, nil
}

// errNoGPT: the disk has no GUID partition table (an MBR disk, or a blank one).
var errNoGPT = errors.New("no GPT")

// readTable reads the GPT header at lba and its entries.
func readTable(r io.ReaderAt, sector int64, lba int64) ([]entry, error) {
	hdr := make([]byte, sector)
	if _, err := r.ReadAt(hdr, lba*sector); err != nil {
		return nil, fmt.Errorf("reading the GPT header at LBA %d: %w", lba, err)
	}
	if string(hdr[:8]) != "EFI PART" {
		return nil, errNoGPT
	}
	le := binary.LittleEndian
	hsize := le.Uint32(hdr[12:])
	if hsize < 92 || int64(hsize) > sector {
		return nil, fmt.Errorf("GPT header at LBA %d: header size %d", lba, hsize)
	}
	want := le.Uint32(hdr[16:])
	h := bytes.Clone(hdr[:hsize])
	clear(h[16:20])
	if crc32.ChecksumIEEE(h) != want {
		return nil, fmt.Errorf("GPT header at LBA %d: CRC mismatch", lba)
	}
	start, n, esize := le.Uint64(hdr[72:]), le.Uint32(hdr[80:]), le.Uint32(hdr[84:])
	if n > maxEntries || esize < 128 || esize > maxEntrySize || esize%8 != 0 {
		return nil, fmt.Errorf("GPT header at LBA %d: %d entries of %d bytes", lba, n, esize)
	}
	if start > 1<<40 {
		return nil, fmt.Errorf("GPT header at LBA %d: entries at LBA %d", lba, start)
	}
	array := make([]byte, int(n)*int(esize))
	if _, err := r.ReadAt(array, int64(start)*sector); err != nil {
		return nil, fmt.Errorf("reading the GPT entries at LBA %d: %w", start, err)
	}
	if crc32.ChecksumIEEE(array) != le.Uint32(hdr[88:]) {
		return nil, fmt.Errorf("GPT entries at LBA %d: CRC mismatch", start)
	}
	var es []entry
	for i := range int(n) {
		b := array[i*int(esize):]
		if allZero(b[:16]) {
			continue // unused
		}
		es = append(es, entry{Number: i + 1, Type: guid(b[:16]), UUID: guid(b[16:32]),
			FirstLBA: le.Uint64(b[32:]), Name: utf16String(b[56:128])})
	}
	return es, nil
}

// protectiveMBR reports whether sector 0 holds the MBR of a GPT disk: a
// partition of type 0xEE. Without one, a disk without a primary GPT
// header is no GPT disk, and its last sector is not looked at.
func protectiveMBR(r io.ReaderAt) bool {
	mbr := make([]byte, 512)
	if _, err := r.ReadAt(mbr, 0); err != nil || mbr[510] != 0x55 || mbr[511] != 0xaa {
		return false
	}
	for i := range 4 {
		if mbr[446+16*i+4] == 0xee {
			return true
		}
	}
	return false
}

// guid formats a GUID as it is stored on disk: the first three fields
// little-endian, the last two as bytes.
func guid(b []byte) string {
	le := binary.LittleEndian
	return fmt.Sprintf("%08x-%04x-%04x-%x-%x", le.Uint32(b), le.Uint16(b[4:]), le.Uint16(b[6:]), b[8:10], b[10:16])
}

// utf16String decodes UTF-16LE up to the first NUL: a partition name, an
// EFI variable's string.
func utf16String(b []byte) string {
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = binary.LittleEndian.Uint16(b[2*i:])
	}
	s := string(utf16.Decode(u))
	name, _, _ := strings.Cut(s, "\x00")
	return name
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}
