package forward

import (
	"encoding/binary"
	"errors"
	"time"

	"golang.org/x/net/dns/dnsmessage"

	"tprouter/internal/ascii"
)

// cacheKey returns the cache key of a query with header h and questions
// qs whose EDNS DO bit is do, or "" when its answer is not to be cached.
func cacheKey(h dnsmessage.Header, qs []dnsmessage.Question, do bool) string {
	if len(qs) != 1 || h.OpCode != 0 {
		return ""
	}
	q := qs[0]
	name := q.Name.Data[:q.Name.Length]
	b := make([]byte, 0, len(name)+5)
	for _, c := range name {
		b = append(b, ascii.Lower(c))
	}
	flags := byte(0)
	for i, set := range []bool{h.RecursionDesired, h.CheckingDisabled, do} {
		if set {
			flags |= 1 << i
		}
	}
	b = binary.BigEndian.AppendUint16(b, uint16(q.Type))
	b = binary.BigEndian.AppendUint16(b, uint16(q.Class))
	return string(append(b, flags))
}

// queryEDNS returns the DO bit and the UDP payload size the client takes
// (512 without EDNS, RFC 6891 section 6.2.5).
func queryEDNS(msg []byte) (do bool, udpSize int) {
	var p dnsmessage.Parser
	if _, err := p.Start(msg); err != nil {
		return false, 512
	}
	if p.SkipAllQuestions() != nil || p.SkipAllAnswers() != nil || p.SkipAllAuthorities() != nil {
		return false, 512
	}
	for {
		rh, err := p.AdditionalHeader()
		if err != nil {
			return false, 512
		}
		if rh.Type == dnsmessage.TypeOPT {
			return rh.TTL&0x8000 != 0, max(int(rh.Class), 512)
		}
		if p.SkipAdditional() != nil {
			return false, 512
		}
	}
}

// cacheable says how long ans may be cached, and where its TTL fields are
// with their values; ok is false when it may not be cached at all.
func cacheable(ans []byte) (ttl time.Duration, offs []uint16, origs []uint32, ok bool) {
	var p dnsmessage.Parser
	h, err := p.Start(ans)
	if err != nil || h.Truncated || !h.Response {
		return 0, nil, nil, false
	}
	if h.RCode != dnsmessage.RCodeSuccess && h.RCode != dnsmessage.RCodeNameError {
		return 0, nil, nil, false
	}
	answers, neg, err := negativeTTL(&p)
	if err != nil {
		return 0, nil, nil, false
	}
	offs, origs, minTTL, err := ttlFields(ans)
	if err != nil {
		return 0, nil, nil, false
	}
	switch {
	case h.RCode == dnsmessage.RCodeNameError || answers == 0:
		if neg < 0 {
			return 0, nil, nil, false // no SOA: no negative caching
		}
		ttl = min(time.Duration(neg)*time.Second, maxNegTTL)
	default:
		ttl = min(time.Duration(minTTL)*time.Second, maxTTL)
	}
	return ttl, offs, origs, ttl > 0
}

// negativeTTL counts the answer records of the message p has started and
// returns the negative caching TTL of its authority section's SOA, or -1.
func negativeTTL(p *dnsmessage.Parser) (answers int, neg int64, err error) {
	if err := p.SkipAllQuestions(); err != nil {
		return 0, 0, err
	}
	for {
		if _, err := p.AnswerHeader(); errors.Is(err, dnsmessage.ErrSectionDone) {
			break
		} else if err != nil {
			return 0, 0, err
		}
		answers++
		if err := p.SkipAnswer(); err != nil {
			return 0, 0, err
		}
	}
	neg = -1
	for {
		rh, err := p.AuthorityHeader()
		if errors.Is(err, dnsmessage.ErrSectionDone) {
			return answers, neg, nil
		} else if err != nil {
			return 0, 0, err
		}
		if rh.Type != dnsmessage.TypeSOA {
			if err := p.SkipAuthority(); err != nil {
				return 0, 0, err
			}
			continue
		}
		soa, err := p.SOAResource()
		if err != nil {
			return 0, 0, err
		}
		neg = int64(min(rh.TTL, soa.MinTTL))
	}
}

var errMalformed = errors.New("malformed message")

// ttlFields walks msg's records and returns the offsets and values of
// their TTL fields, OPT's aside (its "TTL" holds flags), with the smallest.
func ttlFields(msg []byte) (offs []uint16, vals []uint32, minTTL uint32, err error) {
	if len(msg) < 12 || len(msg) > maxMsg {
		return nil, nil, 0, errMalformed
	}
	count := func(i int) int { return int(binary.BigEndian.Uint16(msg[4+2*i:])) }
	off := 12
	for range count(0) {
		if off, err = skipName(msg, off); err != nil || off+4 > len(msg) {
			return nil, nil, 0, errMalformed
		}
		off += 4
	}
	minTTL = ^uint32(0)
	for range count(1) + count(2) + count(3) {
		if off, err = skipName(msg, off); err != nil || off+10 > len(msg) {
			return nil, nil, 0, errMalformed
		}
		typ := dnsmessage.Type(binary.BigEndian.Uint16(msg[off:]))
		if typ != dnsmessage.TypeOPT {
			v := binary.BigEndian.Uint32(msg[off+4:]) & 0x7fffffff // RFC 2181 8
			offs, vals, minTTL = append(offs, uint16(off+4)), append(vals, v), min(minTTL, v)
		}
		off += 10 + int(binary.BigEndian.Uint16(msg[off+8:]))
		if off > len(msg) {
			return nil, nil, 0, errMalformed
		}
	}
	if len(offs) == 0 {
		minTTL = 0
	}
	return offs, vals, minTTL, nil
}

// skipName returns the offset after the (possibly compressed) name at off.
func skipName(msg []byte, off int) (int, error) {
	for range 128 { // at most 127 labels in 255 bytes
		if off >= len(msg) {
			return 0, errMalformed
		}
		switch l := int(msg[off]); {
		case l == 0:
			return off + 1, nil
		case l&0xc0 == 0xc0:
			return off + 2, nil // a pointer ends the name
		case l&0xc0 != 0:
			return 0, errMalformed
		default:
			off += 1 + l
		}
	}
	return 0, errMalformed
}

// restoreQuestion writes the query's question name, as the client spelled
// it, over the cached answer's (the same name but for ASCII case).
func restoreQuestion(ans, query []byte) {
	qe, err := skipName(query, 12)
	if err != nil {
		return
	}
	ae, err := skipName(ans, 12)
	if err != nil || ae != qe || !ascii.EqualFold(ans[12:ae], query[12:qe]) {
		return
	}
	copy(ans[12:ae], query[12:qe])
}
