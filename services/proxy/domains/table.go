package domains

import (
	"bytes"
	"errors"
	"hash/maphash"
	"net/netip"
	"strings"

	"tprouter/internal/ascii"

	"golang.org/x/net/idna"
)

// Entry flags: the name itself, the names under it.
const (
	flagExact  = 1
	flagDomain = 2
)

// A slot is 0 when empty, else: bits 0-31 the name's offset in the arena,
// 32-39 its length, 40-41 its flags (never 0), 42-63 the top bits of its
// hash, compared before the name's bytes.
const (
	lenShift  = 32
	flagShift = 40
	tagShift  = 42
)

// seed is the process's hash seed: a list's layout is not predictable
// from outside.
var seed = maphash.MakeSeed()

// table is the storage of a List: the names in one arena and an
// open-addressing (linear probing) index of them.
type table struct {
	arena  []byte
	slots  []uint64 // a power of two long, at most 3/4 full
	n      int      // names held
	labels int      // the most labels of an entry with flagDomain: Match probes no longer suffix
	shared bool     // slots belong to a List too: copy before writing
}

func hash(name []byte) uint64 { return maphash.Bytes(seed, name) }

// find returns the slot index of name (lower-case) and whether it is
// there; when it is not, the index is the empty slot where it would go.
func (t *table) find(name []byte, h uint64) (int, bool) {
	mask := uint64(len(t.slots) - 1)
	tag := h >> tagShift
	for i := h & mask; ; i = (i + 1) & mask {
		s := t.slots[i]
		if s == 0 {
			return int(i), false
		}
		if s>>tagShift != tag || int(s>>lenShift&0xff) != len(name) {
			continue
		}
		off := uint32(s)
		if bytes.Equal(t.arena[off:int(off)+len(name)], name) {
			return int(i), true
		}
	}
}

// flags returns the flags of name (lower-case), 0 when it is absent.
func (t *table) flags(name []byte) uint8 {
	i, ok := t.find(name, hash(name))
	if !ok {
		return 0
	}
	return uint8(t.slots[i] >> flagShift & 3)
}

// add adds name (canonical form) with flags, merging a duplicate.
func (t *table) add(name []byte, flags uint8) error {
	if t.shared {
		t.slots = append([]uint64(nil), t.slots...)
		t.shared = false
	}
	if (t.n+1)*4 > len(t.slots)*3 {
		t.grow()
	}
	if flags&flagDomain != 0 {
		t.labels = max(t.labels, bytes.Count(name, []byte("."))+1)
	}
	h := hash(name)
	i, ok := t.find(name, h)
	if ok {
		t.slots[i] |= uint64(flags) << flagShift
		return nil
	}
	off := len(t.arena)
	if off+len(name) > 1<<32 {
		return errors.New("the list holds 4 GiB of names already")
	}
	t.arena = append(t.arena, name...)
	t.slots[i] = uint64(off) | uint64(len(name))<<lenShift | uint64(flags)<<flagShift | h>>tagShift<<tagShift
	t.n++
	return nil
}

// grow doubles the index, hashing every name again.
func (t *table) grow() {
	old := t.slots
	t.slots = make([]uint64, max(1024, 2*len(old)))
	mask := uint64(len(t.slots) - 1)
	for _, s := range old {
		if s == 0 {
			continue
		}
		off := uint32(s)
		name := t.arena[off : int(off)+int(s>>lenShift&0xff)]
		i := hash(name) & mask
		for t.slots[i] != 0 {
			i = (i + 1) & mask
		}
		t.slots[i] = s
	}
}

// freeze returns a copy of t to hand to a List, trimming the arena; t
// writes to neither again (add copies the slots, and the arena has no
// room to append in place).
func (t *table) freeze() table {
	if cap(t.arena)-len(t.arena) > len(t.arena)/8 {
		t.arena = append([]byte(nil), t.arena...)
	}
	t.arena = t.arena[:len(t.arena):len(t.arena)]
	t.shared = true
	return table{arena: t.arena, slots: t.slots, n: t.n, labels: t.labels}
}

// match reports whether host is on t: the name itself, or a parent
// domain with flagDomain. ASCII hosts are lower-cased into a buffer on
// the stack.
func (t *table) match(host string) bool {
	if len(host) > 1 && host[0] == '[' && host[len(host)-1] == ']' {
		host = host[1 : len(host)-1]
	}
	host = strings.TrimSuffix(host, ".")
	if host == "" {
		return false
	}
	var buf [maxName + 3]byte
	b := buf[:0]
	if len(host) > len(buf) {
		b = make([]byte, 0, len(host))
	}
	for i := 0; i < len(host); i++ {
		c := host[i]
		if c >= 0x80 {
			return t.matchIDN(host)
		}
		b = append(b, ascii.Lower(c))
	}
	if looksLikeAddr(b) {
		if a, err := netip.ParseAddr(host); err == nil {
			return t.flags(a.Unmap().WithZone("").AppendTo(buf[:0])) != 0
		}
	}
	return t.matchName(b)
}

// matchName matches a lower-case ASCII name: the name, then its parent
// domains that have no more labels than the list's longest domain.
func (t *table) matchName(b []byte) bool {
	if t.flags(b) != 0 {
		return true
	}
	labels := bytes.Count(b, []byte(".")) // of the parent
	for i, c := range b {
		if c != '.' {
			continue
		}
		if labels <= t.labels && t.flags(b[i+1:])&flagDomain != 0 {
			return true
		}
		labels--
	}
	return false
}

// matchIDN matches a name with non-ASCII characters by its A-label
// form. A name the lookup profile refuses is converted without its
// checks, so that a deliberately odd name still meets its parent domain.
func (t *table) matchIDN(host string) bool {
	a, err := idna.Lookup.ToASCII(host)
	if err != nil {
		if a, err = idna.Punycode.ToASCII(strings.ToLower(host)); err != nil {
			return false
		}
	}
	return t.matchName(lower([]byte(a)))
}
