package forward

import (
	"container/list"
	"encoding/binary"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// The answer cache (Config.CacheSize). Repeated questions from the LAN are
// answered from memory for as long as the answer's records live:
//
//   - an answer lives for the smallest TTL of its records (OPT aside),
//     at most maxTTL; the TTLs it leaves with are decremented by the time
//     it spent in the cache, so no client learns a record for longer than
//     the upstream said;
//   - a negative answer (NXDOMAIN, or NOERROR without answer records) lives
//     for the SOA record's TTL or MINIMUM, whichever is smaller (RFC 2308
//     section 5), at most maxNegTTL; one without a SOA is not cached;
//   - SERVFAIL and every other error, truncated answers, answers with TTL 0
//     and answers to queries with more than one question are never cached;
//   - questions are keyed by name (ASCII case folded, RFC 4343), type,
//     class, and the RD, CD and DO bits, which change what an upstream
//     answers;
//   - answers are cached as they leave, after ECH stripping, so a cached
//     answer is stripped as a forwarded one is; an answer whose stripping
//     failed is not cached;
//   - the cache holds at most CacheSize bytes of answers; the least
//     recently used go first.
const (
	DefaultCacheSize = 4 << 20
	maxTTL           = time.Hour
	maxNegTTL        = 5 * time.Minute
	// entryOverhead is what an entry costs beyond its answer's bytes,
	// roughly, so that many tiny answers are bounded too.
	entryOverhead = 128
)

// cache is an LRU of answers. Its methods are safe for concurrent use.
type cache struct {
	max int // bytes
	now func() time.Time

	mu    sync.Mutex
	used  int
	lru   *list.List // of *entry, most recently used first
	byKey map[string]*list.Element

	hits, misses atomic.Uint64
}

type entry struct {
	key     string
	msg     []byte   // the answer, ID 0
	ttls    []uint16 // offsets of the TTL fields to decrement
	orig    []uint32 // their values when stored
	stored  time.Time
	expires time.Time
}

func newCache(size int) *cache {
	return &cache{max: size, now: time.Now, lru: list.New(), byKey: map[string]*list.Element{}}
}

func (e *entry) size() int { return len(e.msg) + len(e.key) + 6*len(e.ttls) + entryOverhead }

// get returns the cached answer to key with the given ID, its TTLs
// decremented, or nil.
func (c *cache) get(key string, id uint16) []byte {
	now := c.now()
	c.mu.Lock()
	el := c.byKey[key]
	if el == nil {
		c.mu.Unlock()
		c.misses.Add(1)
		return nil
	}
	e := el.Value.(*entry)
	if !now.Before(e.expires) {
		c.removeLocked(el)
		c.mu.Unlock()
		c.misses.Add(1)
		return nil
	}
	c.lru.MoveToFront(el)
	c.mu.Unlock()
	c.hits.Add(1)

	out := slices.Clone(e.msg) // e is immutable once stored
	binary.BigEndian.PutUint16(out, id)
	age := uint32(now.Sub(e.stored) / time.Second)
	for i, off := range e.ttls {
		binary.BigEndian.PutUint32(out[off:], e.orig[i]-min(age, e.orig[i]))
	}
	return out
}

// put stores ans, the answer to key, if it is cacheable.
func (c *cache) put(key string, ans []byte) {
	ttl, offs, origs, ok := cacheable(ans)
	if !ok {
		return
	}
	now := c.now()
	e := &entry{key: key, msg: slices.Clone(ans), ttls: offs, orig: origs, stored: now, expires: now.Add(ttl)}
	binary.BigEndian.PutUint16(e.msg, 0)
	if e.size() > c.max/8 {
		return // one answer may not take over the cache
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if old := c.byKey[key]; old != nil {
		c.removeLocked(old)
	}
	c.byKey[key] = c.lru.PushFront(e)
	c.used += e.size()
	for c.used > c.max {
		c.removeLocked(c.lru.Back())
	}
}

func (c *cache) removeLocked(el *list.Element) {
	e := c.lru.Remove(el).(*entry)
	delete(c.byKey, e.key)
	c.used -= e.size()
}

// len returns the number of entries, expired ones included.
func (c *cache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Len()
}
