package disk

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"strings"
	"unicode/utf16"
)

// The GUID Partition Table as UEFI 2.10 §5 defines it, for 512-byte
// sectors: a protective MBR in sector 0, the primary header in sector 1
// and its 128 entries of 128 bytes in sectors 2-33; the backup entries in
// the 33 sectors before the last, and the backup header in the last.
const (
	SectorSize = 512

	entries     = 128
	entrySize   = 128
	entrySecs   = entries * entrySize / SectorSize // 32
	headerSize  = 92
	gptRevision = 0x00010000
)

// GUID is a GUID as a table stores it: the first three fields little
// endian, the last two as bytes (UEFI appendix A).
type GUID [16]byte

// ParseGUID reads the usual form, C12A7328-F81F-11D2-BA4B-00A0C93EC93B.
func ParseGUID(s string) (GUID, error) {
	var g GUID
	parts := strings.Split(s, "-")
	if len(parts) != 5 || len(s) != 36 {
		return g, fmt.Errorf("GUID %q: want the form 01234567-89AB-CDEF-0123-456789ABCDEF", s)
	}
	b, err := hex.DecodeString(strings.Join(parts, ""))
	if err != nil {
		return g, fmt.Errorf("GUID %q: %w", s, err)
	}
	copy(g[:], b)
	g.swap()
	return g, nil
}

func mustGUID(s string) GUID {
	g, err := ParseGUID(s)
	if err != nil {
		panic(err)
	}
	return g
}

// swap converts between the stored and the written byte order: it
// reverses the first three fields.
func (g *GUID) swap() {
	for _, f := range [][]byte{g[0:4], g[4:6], g[6:8]} {
		for i, j := 0, len(f)-1; i < j; i, j = i+1, j-1 {
			f[i], f[j] = f[j], f[i]
		}
	}
}

func (g GUID) String() string {
	g.swap()
	h := strings.ToUpper(hex.EncodeToString(g[:]))
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// Partition is one entry of a table.
type Partition struct {
	Type        GUID
	GUID        GUID   // the partition's own: PARTUUID
	First, Last uint64 // sectors, both inclusive
	Name        string // PARTLABEL, at most 36 UTF-16 code units
}

// Offset and Size are the partition's place in bytes.
func (p Partition) Offset() int64 { return int64(p.First) * SectorSize }
func (p Partition) Size() int64   { return int64(p.Last-p.First+1) * SectorSize }

// Table is a disk's partition table.
type Table struct {
	Disk       GUID
	Sectors    uint64 // the disk's size
	Partitions []Partition
}

// firstUsable and lastUsable bound the partitions: after the primary
// entries, before the backup entries.
func (t *Table) firstUsable() uint64 { return 2 + entrySecs }
func (t *Table) lastUsable() uint64  { return t.Sectors - 2 - entrySecs }

// check reports a table that cannot be written.
func (t *Table) check() error {
	if len(t.Partitions) > entries {
		return fmt.Errorf("GPT: %d partitions, at most %d", len(t.Partitions), entries)
	}
	if t.Sectors < 2*(2+entrySecs) {
		return fmt.Errorf("GPT: a disk of %d sectors is too small", t.Sectors)
	}
	for i, p := range t.Partitions {
		if p.First < t.firstUsable() || p.Last > t.lastUsable() || p.First > p.Last {
			return fmt.Errorf("GPT: partition %d (sectors %d-%d) is not within the usable sectors %d-%d", i+1, p.First, p.Last, t.firstUsable(), t.lastUsable())
		}
		if len(utf16.Encode([]rune(p.Name))) > 36 {
			return fmt.Errorf("GPT: partition %d: name %q is longer than 36 UTF-16 code units", i+1, p.Name)
		}
		for j, q := range t.Partitions[:i] {
			if p.First <= q.Last && q.First <= p.Last {
				return fmt.Errorf("GPT: partitions %d and %d overlap", j+1, i+1)
			}
		}
	}
	return nil
}

// Write writes the protective MBR, the primary table and the backup
// table to a disk of t.Sectors sectors.
func (t *Table) Write(w io.WriterAt) error {
	if err := t.check(); err != nil {
		return err
	}
	array := t.entryArray()
	last := t.Sectors - 1
	primary := t.header(1, last, 2, array)
	backup := t.header(last, 1, last-entrySecs, array)
	for _, s := range []struct {
		lba  uint64
		data []byte
	}{
		{0, t.protectiveMBR()},
		{1, primary},
		{2, array},
		{last - entrySecs, array},
		{last, backup},
	} {
		if _, err := w.WriteAt(s.data, int64(s.lba)*SectorSize); err != nil {
			return fmt.Errorf("GPT: %w", err)
		}
	}
	return nil
}

// protectiveMBR is sector 0: one partition of type 0xEE over the whole
// disk (or as much as 32 bits count), so that MBR tools leave it alone.
func (t *Table) protectiveMBR() []byte {
	b := make([]byte, SectorSize)
	e := b[446:462]
	copy(e[1:4], []byte{0x00, 0x02, 0x00}) // CHS of sector 1
	e[4] = 0xEE
	copy(e[5:8], []byte{0xFF, 0xFF, 0xFF}) // CHS beyond what CHS counts
	binary.LittleEndian.PutUint32(e[8:12], 1)
	binary.LittleEndian.PutUint32(e[12:16], uint32(min(t.Sectors-1, 0xFFFFFFFF)))
	b[510], b[511] = 0x55, 0xAA
	return b
}

// entryArray is the 128 entries, unused ones zero.
func (t *Table) entryArray() []byte {
	b := make([]byte, entries*entrySize)
	for i, p := range t.Partitions {
		e := b[i*entrySize : (i+1)*entrySize]
		copy(e[0:16], p.Type[:])
		copy(e[16:32], p.GUID[:])
		binary.LittleEndian.PutUint64(e[32:40], p.First)
		binary.LittleEndian.PutUint64(e[40:48], p.Last)
		for j, u := range utf16.Encode([]rune(p.Name)) {
			binary.LittleEndian.PutUint16(e[56+2*j:], u)
		}
	}
	return b
}

// header is the sector of a table header at lba whose twin is at alt and
// whose entries are at entriesLBA.
func (t *Table) header(lba, alt, entriesLBA uint64, array []byte) []byte {
	b := make([]byte, SectorSize)
	copy(b[0:8], "EFI PART")
	le := binary.LittleEndian
	le.PutUint32(b[8:], gptRevision)
	le.PutUint32(b[12:], headerSize)
	le.PutUint64(b[24:], lba)
	le.PutUint64(b[32:], alt)
	le.PutUint64(b[40:], t.firstUsable())
	le.PutUint64(b[48:], t.lastUsable())
	copy(b[56:72], t.Disk[:])
	le.PutUint64(b[72:], entriesLBA)
	le.PutUint32(b[80:], entries)
	le.PutUint32(b[84:], entrySize)
	le.PutUint32(b[88:], crc32.ChecksumIEEE(array))
	le.PutUint32(b[16:], crc32.ChecksumIEEE(b[:headerSize]))
	return b
}

// ReadTable reads the primary table of a disk of size bytes, checking its
// signature and both checksums. The backup table is not read.
func ReadTable(r io.ReaderAt, size int64) (*Table, error) {
	h := make([]byte, SectorSize)
	if _, err := r.ReadAt(h, SectorSize); err != nil {
		return nil, fmt.Errorf("GPT header: %w", err)
	}
	le := binary.LittleEndian
	if string(h[0:8]) != "EFI PART" {
		return nil, errors.New("GPT: no header in sector 1 (not a GPT disk)")
	}
	hsize := le.Uint32(h[12:])
	if hsize < headerSize || hsize > SectorSize {
		return nil, fmt.Errorf("GPT: header size %d", hsize)
	}
	sum := le.Uint32(h[16:])
	le.PutUint32(h[16:], 0)
	if crc32.ChecksumIEEE(h[:hsize]) != sum {
		return nil, errors.New("GPT: the header's checksum does not match")
	}
	n, esize := le.Uint32(h[80:]), le.Uint32(h[84:])
	if esize < entrySize || n > 1024 {
		return nil, fmt.Errorf("GPT: %d entries of %d bytes", n, esize)
	}
	array := make([]byte, n*esize)
	if _, err := r.ReadAt(array, int64(le.Uint64(h[72:]))*SectorSize); err != nil {
		return nil, fmt.Errorf("GPT entries: %w", err)
	}
	if crc32.ChecksumIEEE(array) != le.Uint32(h[88:]) {
		return nil, errors.New("GPT: the entries' checksum does not match")
	}
	t := &Table{Sectors: uint64(size / SectorSize)}
	copy(t.Disk[:], h[56:72])
	for i := range n {
		e := array[i*esize : (i+1)*esize]
		var p Partition
		if copy(p.Type[:], e[0:16]); p.Type == (GUID{}) {
			continue
		}
		copy(p.GUID[:], e[16:32])
		p.First, p.Last = le.Uint64(e[32:]), le.Uint64(e[40:])
		var name []uint16
		for j := 56; j < 128; j += 2 {
			if u := le.Uint16(e[j:]); u != 0 {
				name = append(name, u)
			} else {
				break
			}
		}
		p.Name = string(utf16.Decode(name))
		t.Partitions = append(t.Partitions, p)
	}
	return t, nil
}

// Find returns the partition called name.
func (t *Table) Find(name string) (Partition, error) {
	for _, p := range t.Partitions {
		if p.Name == name {
			return p, nil
		}
	}
	var names strings.Builder
	for _, p := range t.Partitions {
		fmt.Fprintf(&names, " %q", p.Name)
	}
	return Partition{}, fmt.Errorf("GPT: no partition named %q (the table has%s)", name, names.String())
}
