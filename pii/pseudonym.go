package pii

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"hash"
	"net/netip"
	"strconv"
	"strings"
	"sync"
)

// MinPseudonymKeyLen is the shortest key NewPseudonymizer accepts, in
// bytes: 128 bits, so the fakes cannot be reversed by trying keys.
const MinPseudonymKeyLen = 16

// ErrShortKey is returned by NewPseudonymizer for a key shorter than
// MinPseudonymKeyLen.
var ErrShortKey = errors.New("pii: pseudonymization key shorter than 16 bytes")

// Pseudonymizer replaces matched values with fakes of the same shape. The
// fake is drawn from HMAC-SHA256 of the value under a secret key. So the
// same value gets the same fake in every document and every run with the
// key, and another key gives other fakes. Nobody without the key can tell
// which value a fake stands for. It is safe for concurrent use.
//
// What each type keeps:
//   - email: the top-level domain, the case and the punctuation; every
//     letter and digit of the local part and of the other labels is drawn;
//   - phone: the leading '+', the layout and the digits before the last
//     nine (country code, trunk prefix), so national and international
//     writings of one number get the same last nine fake digits;
//   - IP: the version and, for IPv6, the layout; an IPv4 fake is any
//     address;
//   - card: the layout and the first digit (the network); the check digit
//     is made wrong, so a fake is never a valid card number;
//   - IBAN: the country and the layout; the check digits are made wrong;
//   - SSN: the layout; the area is drawn from 900-999, which the Social
//     Security Administration never issues;
//   - secret: the known prefix (ghp_, AKIA, eyJ, the BEGIN and END lines of
//     a PEM block) and the punctuation.
type Pseudonymizer struct {
	key   []byte
	hmacs sync.Pool
}

// NewPseudonymizer returns a Pseudonymizer keyed by key, which must hold
// at least MinPseudonymKeyLen bytes. It keeps a copy of the key.
func NewPseudonymizer(key []byte) (*Pseudonymizer, error) {
	if len(key) < MinPseudonymKeyLen {
		return nil, ErrShortKey
	}
	p := &Pseudonymizer{key: append([]byte(nil), key...)}
	p.hmacs.New = func() any { return hmac.New(sha256.New, p.key) }
	return p, nil
}

// Fake returns the fake of value, the text of m. Its signature fits
// Replace.
func (p *Pseudonymizer) Fake(m Match, value string) string {
	switch m.Type {
	case EmailAddress:
		return p.fakeEmail(value)
	case PhoneNumber:
		return p.fakePhone(value)
	case IPAddress:
		return p.fakeIP(value)
	case CreditCard:
		return p.fakeCard(value)
	case IBAN:
		return p.fakeIBAN(value)
	case USSSN:
		return p.fakeSSN(value)
	}
	return p.fakeSecret(value)
}

// stream is a deterministic byte stream drawn from HMAC-SHA256(key,
// counter || domain || value), 32 bytes per counter value.
type stream struct {
	p      *Pseudonymizer
	domain byte
	value  string
	block  [sha256.Size]byte
	used   int
	ctr    uint32
}

func (p *Pseudonymizer) stream(t Type, value string) *stream {
	return &stream{p: p, domain: byte(t), value: value, used: sha256.Size}
}

func (s *stream) next() byte {
	if s.used == len(s.block) {
		h := s.p.hmacs.Get().(hash.Hash)
		h.Reset()
		var prefix [5]byte
		binary.BigEndian.PutUint32(prefix[:4], s.ctr)
		prefix[4] = s.domain
		h.Write(prefix[:])
		h.Write([]byte(s.value))
		h.Sum(s.block[:0])
		s.p.hmacs.Put(h)
		s.ctr++
		s.used = 0
	}
	b := s.block[s.used]
	s.used++
	return b
}

// below returns a number in [0, n), n at most 256, without modulo bias.
func (s *stream) below(n int) int {
	limit := 256 - 256%n
	for {
		if b := int(s.next()); b < limit {
			return b % n
		}
	}
}

// substitute replaces every ASCII letter and digit of b, from index from
// on, with one of its own kind, keeping the case; other bytes stay.
func (s *stream) substitute(b []byte, from int) {
	for i := from; i < len(b); i++ {
		switch c := b[i]; {
		case c >= 'a' && c <= 'z':
			b[i] = 'a' + byte(s.below(26))
		case c >= 'A' && c <= 'Z':
			b[i] = 'A' + byte(s.below(26))
		case isDigit(c):
			b[i] = '0' + byte(s.below(10))
		}
	}
}

func (p *Pseudonymizer) fakeEmail(value string) string {
	s := p.stream(EmailAddress, strings.ToLower(value))
	b := []byte(value)
	tld := strings.LastIndexByte(value, '.')
	if tld < 0 {
		tld = len(b)
	}
	s.substitute(b[:tld], 0)
	return string(b)
}

func (p *Pseudonymizer) fakePhone(value string) string {
	var digits []byte
	for i := 0; i < len(value); i++ {
		if isDigit(value[i]) {
			digits = append(digits, value[i])
		}
	}
	keep := max(0, len(digits)-9)
	s := p.stream(PhoneNumber, string(digits[keep:]))
	// Fake digits are assigned from the end, so the same last nine digits
	// get the same fakes in any layout.
	b := []byte(value)
	seen := 0
	for i := len(b) - 1; i >= 0 && seen < 9; i-- {
		if isDigit(b[i]) {
			b[i] = '0' + byte(s.below(10))
			seen++
		}
	}
	return string(b)
}

func (p *Pseudonymizer) fakeIP(value string) string {
	addr, err := netip.ParseAddr(value)
	if err != nil {
		return p.fakeSecret(value)
	}
	s := p.stream(IPAddress, addr.String())
	if addr.Is4() {
		var out []byte
		for k := range 4 {
			if k > 0 {
				out = append(out, '.')
			}
			out = strconv.AppendInt(out, int64(s.next()), 10)
		}
		return string(out)
	}
	b := []byte(value)
	for i, c := range b {
		switch {
		case isDigit(c) || (c >= 'a' && c <= 'f'):
			b[i] = "0123456789abcdef"[s.below(16)]
		case c >= 'A' && c <= 'F':
			b[i] = "0123456789ABCDEF"[s.below(16)]
		}
	}
	if strings.Contains(value, ".") {
		// An embedded IPv4 address: digits may not make a valid octet, so
		// the dotted part is drawn whole.
		dot := strings.LastIndexByte(value, ':') + 1
		v4 := p.fakeIP(value[dot:])
		return string(b[:dot]) + v4
	}
	return string(b)
}

func (p *Pseudonymizer) fakeCard(value string) string {
	digits := digitsOf(value)
	s := p.stream(CreditCard, digits)
	b := []byte(value)
	first := strings.IndexFunc(value, func(r rune) bool { return r >= '0' && r <= '9' })
	s.substitute(b, first+1)

	// Make the Luhn check fail: set the last digit one past the digit that
	// would pass.
	last := strings.LastIndexFunc(string(b), func(r rune) bool { return r >= '0' && r <= '9' })
	fake := []byte(digitsOf(string(b)))
	for d := byte('0'); d <= '9'; d++ {
		fake[len(fake)-1] = d
		if luhnValid(fake) {
			b[last] = '0' + (d-'0'+1)%10
			break
		}
	}
	return string(b)
}

func (p *Pseudonymizer) fakeIBAN(value string) string {
	compact := strings.ReplaceAll(value, " ", "")
	s := p.stream(IBAN, compact)
	b := []byte(value)
	s.substitute(b, 4) // country and check digits stay for now

	// Set check digits that fail MOD 97-10: the valid pair plus one.
	fake := []byte(strings.ReplaceAll(string(b), " ", ""))
	fake[2], fake[3] = '0', '0'
	rem := 0
	for _, c := range append(append([]byte(nil), fake[4:]...), fake[:4]...) {
		if isDigit(c) {
			rem = (rem*10 + int(c-'0')) % 97
		} else {
			rem = (rem*100 + int(c-'A') + 10) % 97
		}
	}
	valid := 98 - rem
	wrong := valid + 1
	if wrong > 98 {
		wrong = valid - 1
	}
	b[2], b[3] = '0'+byte(wrong/10), '0'+byte(wrong%10)
	return string(b)
}

func (p *Pseudonymizer) fakeSSN(value string) string {
	s := p.stream(USSSN, digitsOf(value))
	b := []byte(value)
	s.substitute(b, 0)
	b[0] = '9'
	// Group and serial of zeros would look like no number at all.
	if b[4] == '0' && b[5] == '0' {
		b[5] = '1'
	}
	if string(b[7:11]) == "0000" {
		b[10] = '1'
	}
	return string(b)
}

func (p *Pseudonymizer) fakeSecret(value string) string {
	s := p.stream(Secret, value)
	b := []byte(value)
	if strings.HasPrefix(value, "-----BEGIN ") {
		// Keep the BEGIN and END lines, draw the body.
		bodyStart := strings.Index(value[len("-----BEGIN "):], "-----") + len("-----BEGIN ") + len("-----")
		bodyEnd := strings.LastIndex(value, "-----END ")
		if bodyEnd < bodyStart {
			bodyEnd = len(value)
		}
		s.substitute(b[:bodyEnd], bodyStart)
		return string(b)
	}
	s.substitute(b, SecretPrefixLen(value))
	return string(b)
}

func digitsOf(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if isDigit(s[i]) {
			b.WriteByte(s[i])
		}
	}
	return b.String()
}
