package pii

import (
	"fmt"
	"strconv"
	"strings"
)

// Type is a kind of personal data. Types are bit flags, so a set of types
// is their bitwise OR, as in Options.Types.
type Type uint8

// The types the scanner finds. Their String values follow the entity names
// of Presidio and the tags of the Dolma convention, without the bars.
const (
	EmailAddress Type = 1 << iota // an email address such as jane@example.com
	PhoneNumber                   // a phone number such as +44 20 7946 0958
	IPAddress                     // an IPv4 or IPv6 address such as 8.8.8.8
	CreditCard                    // a payment card number such as 4111 1111 1111 1111
	IBAN                          // an international bank account number
	USSSN                         // a US social security number such as 514-14-8905
	Secret                        // an access key, token, private key or password
)

// AllTypes is the set of every type the scanner finds.
const AllTypes = EmailAddress | PhoneNumber | IPAddress | CreditCard | IBAN | USSSN | Secret

// Types lists every type in the order of their bits.
var Types = []Type{EmailAddress, PhoneNumber, IPAddress, CreditCard, IBAN, USSSN, Secret}

var typeNames = map[Type]string{
	EmailAddress: "EMAIL_ADDRESS",
	PhoneNumber:  "PHONE_NUMBER",
	IPAddress:    "IP_ADDRESS",
	CreditCard:   "CREDIT_CARD",
	IBAN:         "IBAN_CODE",
	USSSN:        "US_SSN",
	Secret:       "SECRET",
}

// String returns the type's upper-case name, such as EMAIL_ADDRESS.
func (t Type) String() string {
	if name, ok := typeNames[t]; ok {
		return name
	}
	return "Type(" + strconv.Itoa(int(t)) + ")"
}

// Tag returns the replacement text of the Dolma convention for the type,
// such as |||EMAIL_ADDRESS|||.
func (t Type) Tag() string { return "|||" + t.String() + "|||" }

// Match is one piece of personal data found in a text: the bytes
// text[Start:End].
type Match struct {
	Type  Type
	Start int // byte offset of the first byte
	End   int // byte offset one past the last byte
}

// Options selects what a Scanner finds. The zero Options finds every type,
// reports public IP addresses only and reads national phone formats of
// DefaultPhoneRegions.
type Options struct {
	// Types is the set of types to find; zero means AllTypes.
	Types Type
	// IncludePrivate also reports IP addresses outside the public unicast
	// space: private, loopback, link-local, CGNAT, multicast, benchmarking
	// and reserved ranges. Documentation ranges are always reported.
	IncludePrivate bool
	// PhoneRegions lists the ISO 3166-1 regions, such as US or DE, whose
	// national formats (numbers without a +country prefix) are recognised;
	// nil means DefaultPhoneRegions. International numbers are found for
	// every region.
	PhoneRegions []string
}

// Scanner finds personal data in text. It is read-only after NewScanner,
// so one Scanner may serve any number of goroutines.
type Scanner struct {
	types          Type
	includePrivate bool
	regions        []phoneRegion
}

// NewScanner returns a Scanner for o. It fails on an unknown phone region.
func NewScanner(o Options) (*Scanner, error) {
	s := &Scanner{types: o.Types, includePrivate: o.IncludePrivate}
	if s.types == 0 {
		s.types = AllTypes
	}
	if s.types&^AllTypes != 0 {
		return nil, fmt.Errorf("pii: unknown types %#x", uint8(s.types&^AllTypes))
	}
	codes := o.PhoneRegions
	if codes == nil {
		codes = DefaultPhoneRegions
	}
	for _, code := range codes {
		r, err := resolvePhoneRegion(code)
		if err != nil {
			return nil, err
		}
		s.regions = append(s.regions, r)
	}
	return s, nil
}

var defaultScanner = func() *Scanner {
	s, err := NewScanner(Options{})
	if err != nil {
		panic(err) // DefaultPhoneRegions holds only supported regions
	}
	return s
}()

// Scan appends the matches in text to dst and returns the extended slice,
// with the default Options: every type, public IP addresses only.
func Scan(text string, dst []Match) []Match {
	return defaultScanner.Scan(text, dst)
}

// Scan appends the matches in text to dst and returns the extended slice.
// The appended matches are sorted by Start, do not overlap and start and
// end on UTF-8 character boundaries, since every matched value is ASCII.
// Passing dst[:0] reuses its storage across calls.
func (s *Scanner) Scan(text string, dst []Match) []Match {
	sc := scan{s: s, text: text, dst: dst, base: len(dst)}
	sc.run()
	return sc.dst
}

// scan is the state of one Scan call.
type scan struct {
	s    *Scanner
	text string
	dst  []Match
	base int // matches before dst[base] belong to the caller
}

// floor returns where the last match of this scan ends, the leftmost byte
// a matcher that looks back may take.
func (sc *scan) floor() int {
	if len(sc.dst) > sc.base {
		return sc.dst[len(sc.dst)-1].End
	}
	return 0
}

func (sc *scan) add(t Type, start, end int) {
	sc.dst = append(sc.dst, Match{Type: t, Start: start, End: end})
}

// Triggers: the bytes at which the single pass stops to look closer. Every
// other byte, most letters and spaces among them, is skipped by one table
// lookup.
const (
	trigDigit  = 1 + iota // IPv4, card, SSN, IBAN (looking back at its letters), phone
	trigAt                // email
	trigColon             // IPv6, credentials in a URL, key: value
	trigEquals            // key = value
	trigDash              // -----BEGIN ... PRIVATE KEY-----, prefixed tokens such as glpat-
	trigUnder             // prefixed tokens such as ghp_ and sk_live_
	trigUpperA            // AKIA..., ASIA..., AIza...
	trigUpperJ            // eyJ..., the start of a JWT
	trigDot               // SG. of SendGrid keys
)

var triggers = func() (t [256]uint8) {
	for c := '0'; c <= '9'; c++ {
		t[c] = trigDigit
	}
	t['@'] = trigAt
	t[':'] = trigColon
	t['='] = trigEquals
	t['-'] = trigDash
	t['_'] = trigUnder
	t['A'] = trigUpperA
	t['J'] = trigUpperJ
	t['.'] = trigDot
	return t
}()

// run is the single pass. Each matcher returns the index to resume from,
// past its match or past the bytes it has ruled out, so the scan moves
// forward on every step. A matcher looks back at most a few hundred bytes
// and ahead at most a bounded length (a PEM block: 64 KiB), so the pass is
// linear in practice.
func (sc *scan) run() {
	text, types := sc.text, sc.s.types
	for i := 0; i < len(text); {
		trig := triggers[text[i]]
		if trig == 0 {
			i++
			continue
		}
		next := i + 1
		switch trig {
		case trigDigit:
			next = sc.digits(i)
		case trigAt:
			if types&EmailAddress != 0 {
				next = sc.email(i)
			}
		case trigColon:
			next = sc.colon(i)
		case trigEquals:
			if types&Secret != 0 {
				next = sc.assignment(i)
			}
		case trigDash:
			if types&Secret != 0 {
				next = sc.dash(i)
			}
		case trigUnder, trigUpperA, trigUpperJ, trigDot:
			if types&Secret != 0 {
				next = sc.token(i)
			}
		}
		i = max(next, i+1)
	}
}

// email matches the address around the '@' at text[at].
func (sc *scan) email(at int) int {
	start, end, ok := matchEmail(sc.text, at)
	if !ok {
		return at + 1
	}
	// The local part may hold a dotted number already taken for an IPv4
	// address ("1.2.3.4@example.com"), a phone number, or the domain of an
	// earlier address ("a@b.cd.ef@g.hi"): the email absorbs them.
	for len(sc.dst) > sc.base && sc.dst[len(sc.dst)-1].End > start {
		start = min(start, sc.dst[len(sc.dst)-1].Start)
		sc.dst = sc.dst[:len(sc.dst)-1]
	}
	sc.add(EmailAddress, start, end)
	return end
}

// colon dispatches a ':' to the matchers that start or continue there.
func (sc *scan) colon(i int) int {
	text, types := sc.text, sc.s.types
	if types&Secret != 0 && strings.HasPrefix(text[i:], "://") {
		if next, ok := sc.urlCredentials(i); ok {
			return next
		}
		return i + 3
	}
	if types&IPAddress != 0 {
		if next, ok := sc.ipv6(i); ok {
			return next
		}
	}
	if types&Secret != 0 {
		return sc.assignment(i)
	}
	return i + 1
}

// digits tries the matchers that start at the digit text[i], from the most
// to the least specific shape. When none matches, the scan resumes after
// the digit run, so a long number is examined once, not once per digit.
func (sc *scan) digits(i int) int {
	text, types := sc.text, sc.s.types
	runEnd := i + 1
	for runEnd < len(text) && isDigit(text[runEnd]) {
		runEnd++
	}
	if i > 0 && isDigit(text[i-1]) {
		return runEnd
	}
	if types&IBAN != 0 && i >= 2 && isUpper(text[i-2]) && isUpper(text[i-1]) {
		if end, ok := matchIBAN(text, i-2); ok && i-2 >= sc.floor() {
			sc.add(IBAN, i-2, end)
			return end
		}
	}
	if types&IPAddress != 0 {
		if end, ok := matchIPv4(text, i, sc.s.includePrivate); ok {
			sc.add(IPAddress, i, end)
			return end
		}
	}
	if types&USSSN != 0 {
		if end, ok := matchSSN(text, i); ok {
			sc.add(USSSN, i, end)
			return end
		}
	}
	if types&CreditCard != 0 {
		if end, ok := matchCard(text, i); ok {
			sc.add(CreditCard, i, end)
			return end
		}
	}
	if types&PhoneNumber != 0 {
		if start, end, ok := sc.s.matchPhone(text, i, sc.floor()); ok {
			sc.add(PhoneNumber, start, end)
			return end
		}
	}
	return runEnd
}

// Byte classes of the ASCII characters that the matchers look at.
const (
	classDigit = 1 << iota
	classAlpha
	classAtext // RFC 5322 atext: letters, digits and !#$%&'*+-/=?^_`{|}~
	classHex
	classUpper
	classBase64URL // letters, digits, '-' and '_'
)

var byteClass = func() (t [256]uint8) {
	for c := '0'; c <= '9'; c++ {
		t[c] |= classDigit | classAtext | classHex | classBase64URL
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c] |= classAlpha | classAtext | classBase64URL
		t[c-'a'+'A'] |= classAlpha | classAtext | classUpper | classBase64URL
	}
	for c := 'a'; c <= 'f'; c++ {
		t[c] |= classHex
		t[c-'a'+'A'] |= classHex
	}
	for _, c := range "!#$%&'*+-/=?^_`{|}~" {
		t[c] |= classAtext
	}
	t['-'] |= classBase64URL
	t['_'] |= classBase64URL
	return t
}()

func isDigit(c byte) bool     { return byteClass[c]&classDigit != 0 }
func isAlpha(c byte) bool     { return byteClass[c]&classAlpha != 0 }
func isUpper(c byte) bool     { return byteClass[c]&classUpper != 0 }
func isAlnum(c byte) bool     { return byteClass[c]&(classAlpha|classDigit) != 0 }
func isAtext(c byte) bool     { return byteClass[c]&classAtext != 0 }
func isHex(c byte) bool       { return byteClass[c]&classHex != 0 }
func isBase64URL(c byte) bool { return byteClass[c]&classBase64URL != 0 }

// isWordByte reports whether c is an ASCII letter, digit or underscore, the
// bytes that glue a number to a neighbouring token.
func isWordByte(c byte) bool { return isAlnum(c) || c == '_' }
