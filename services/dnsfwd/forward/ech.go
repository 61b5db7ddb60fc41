package forward

import (
	"errors"
	"fmt"
	"slices"

	"golang.org/x/net/dns/dnsmessage"
)

// Removing ECH (StripECH). A browser offers Encrypted Client Hello only
// when DNS gives it an ECH configuration, in the ech SvcParam (key 5) of
// an HTTPS (type 65) or SVCB (type 64) record. Without one it sends the
// real server name in the clear, which is what the proxy's domain lists
// are applied to. So answers that hold such a parameter, in any section,
// are unpacked, the parameter removed and the message packed again: names
// keep their case, records their TTLs and order, the other parameters
// their values (only name compression may be laid out differently). A
// record whose mandatory parameter lists ech says it must not be used
// without it, so that record is dropped and the client falls back to its
// A and AAAA records. The AD (authentic data) bit is cleared: what the
// upstream validated is not what leaves. Answers without ech are not repacked: the check
// only walks the record headers. A DNSSEC-validating client sees the
// changed HTTPS records as bogus, as it would any change.

// errECHRepack marks an answer that held ech but could not be packed
// again; it is relayed as it came.
var errECHRepack = errors.New("cannot repack the answer without ech")

// stripECH returns msg without ech SvcParams, and whether it had any.
// On an error msg is returned unchanged.
func stripECH(msg []byte) ([]byte, bool, error) {
	if !hasECH(msg) {
		return msg, false, nil
	}
	var m dnsmessage.Message
	if err := m.Unpack(msg); err != nil {
		return msg, false, errors.Join(errECHRepack, err)
	}
	if err := rawNames(&m); err != nil {
		return msg, false, errors.Join(errECHRepack, err)
	}
	m.Header.AuthenticData = false // the records are not the validated ones
	m.Answers = withoutECH(m.Answers)
	m.Authorities = withoutECH(m.Authorities)
	m.Additionals = withoutECH(m.Additionals)
	out, err := m.Pack()
	if err != nil {
		return msg, false, errors.Join(errECHRepack, err)
	}
	return out, true, nil
}

// namedTypes are record types whose data may hold compressed names
// (RFC 1035 section 3.3, RFC 3597 section 4) that dnsmessage keeps as raw
// bytes: packed at another offset, their pointers would point elsewhere.
var namedTypes = []dnsmessage.Type{3, 4, 7, 8, 9, 14, 17, 18, 21, 24, 26, 30, 35, 39}

// rawNames says which record of m cannot be moved within the message.
func rawNames(m *dnsmessage.Message) error {
	for _, r := range slices.Concat(m.Answers, m.Authorities, m.Additionals) {
		if _, ok := r.Body.(*dnsmessage.UnknownResource); ok && slices.Contains(namedTypes, r.Header.Type) {
			return fmt.Errorf("a record of type %d may hold compressed names", r.Header.Type)
		}
	}
	return nil
}

// hasECH reports whether some record of msg is an HTTPS or SVCB record
// with an ech parameter. It parses only those records' data.
func hasECH(msg []byte) bool {
	var p dnsmessage.Parser
	if _, err := p.Start(msg); err != nil || p.SkipAllQuestions() != nil {
		return false
	}
	sections := []struct {
		header func() (dnsmessage.ResourceHeader, error)
		skip   func() error
	}{
		{p.AnswerHeader, p.SkipAnswer},
		{p.AuthorityHeader, p.SkipAuthority},
		{p.AdditionalHeader, p.SkipAdditional},
	}
	for _, s := range sections {
		for {
			h, err := s.header()
			if err != nil {
				break // dnsmessage.ErrSectionDone, or a bad message: relayed as it is
			}
			var r dnsmessage.SVCBResource
			switch h.Type {
			case dnsmessage.TypeHTTPS:
				var hr dnsmessage.HTTPSResource
				hr, err = p.HTTPSResource()
				r = hr.SVCBResource
			case dnsmessage.TypeSVCB:
				r, err = p.SVCBResource()
			default:
				err = s.skip()
			}
			if err != nil {
				return false
			}
			if _, ok := r.GetParam(dnsmessage.SVCParamECH); ok {
				return true
			}
		}
	}
	return false
}

// withoutECH returns rs with the ech parameters removed, and without the
// records that list ech as mandatory.
func withoutECH(rs []dnsmessage.Resource) []dnsmessage.Resource {
	return slices.DeleteFunc(rs, func(r dnsmessage.Resource) bool {
		var s *dnsmessage.SVCBResource
		switch b := r.Body.(type) {
		case *dnsmessage.HTTPSResource:
			s = &b.SVCBResource
		case *dnsmessage.SVCBResource:
			s = b
		default:
			return false
		}
		if mandatory(s, dnsmessage.SVCParamECH) {
			return true
		}
		s.DeleteParam(dnsmessage.SVCParamECH)
		return false
	})
}

// mandatory reports whether s's mandatory parameter lists key.
func mandatory(s *dnsmessage.SVCBResource, key dnsmessage.SVCParamKey) bool {
	v, _ := s.GetParam(dnsmessage.SVCParamMandatory)
	for i := 0; i+1 < len(v); i += 2 {
		if dnsmessage.SVCParamKey(v[i])<<8|dnsmessage.SVCParamKey(v[i+1]) == key {
			return true
		}
	}
	return false
}
