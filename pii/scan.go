package pii

import "strconv"

// Type is a kind of personal data. Types are bit flags, so a set of types
// is their bitwise OR, as in Scanner.Types.
type Type uint8

// The types the scanner finds. Their String values are the tags of the
// Dolma convention, without the bars.
const (
	EmailAddress Type = 1 << iota // an email address such as jane@example.com
	IPAddress                     // an IPv4 address such as 8.8.8.8
)

// AllTypes is the set of every type the scanner finds.
const AllTypes = EmailAddress | IPAddress

// String returns the type's upper-case name, EMAIL_ADDRESS or IP_ADDRESS.
func (t Type) String() string {
	switch t {
	case EmailAddress:
		return "EMAIL_ADDRESS"
	case IPAddress:
		return "IP_ADDRESS"
	}
	return "Type(" + strconv.Itoa(int(t)) + ")"
}

// Tag returns the replacement text of the Dolma convention for the type,
// such as |||EMAIL_ADDRESS|||.
func (t Type) Tag() string {
	switch t {
	case EmailAddress:
		return "|||EMAIL_ADDRESS|||"
	case IPAddress:
		return "|||IP_ADDRESS|||"
	}
	return "|||" + t.String() + "|||"
}

// Match is one piece of personal data found in a text: the bytes
// text[Start:End].
type Match struct {
	Type  Type
	Start int // byte offset of the first byte
	End   int // byte offset one past the last byte
}

// Scanner finds personal data of the selected types. The zero Scanner finds
// every type and reports public IPv4 addresses only.
type Scanner struct {
	// Types is the set of types to find; zero means AllTypes.
	Types Type
	// IncludePrivate also reports IPv4 addresses outside the public unicast
	// space: private, loopback, link-local, CGNAT, multicast, documentation
	// and reserved ranges.
	IncludePrivate bool
}

// Scan appends the matches of every type in text to dst, reporting public
// IPv4 addresses only, and returns the extended slice. It is
// Scanner{}.Scan.
func Scan(text string, dst []Match) []Match {
	return Scanner{}.Scan(text, dst)
}

// Scan appends the matches in text to dst and returns the extended slice.
// The appended matches are sorted by Start and do not overlap. Passing
// dst[:0] reuses its storage across calls.
func (s Scanner) Scan(text string, dst []Match) []Match {
	types := s.Types
	if types == 0 {
		types = AllTypes
	}
	base := len(dst)

	// One pass over the bytes: '@' starts an email candidate and a digit
	// starts an IPv4 candidate. A candidate looks back at most maxLocalLen
	// bytes and ahead at most maxDomainLen bytes, so the pass stays linear.
	for i := 0; i < len(text); i++ {
		c := text[i]
		switch {
		case c == '@' && types&EmailAddress != 0:
			start, end, ok := matchEmail(text, i)
			if !ok {
				continue
			}
			// The local part may hold a dotted number already taken for an
			// IPv4 address ("1.2.3.4@example.com"), or the domain of an
			// earlier address ("a@b.cd.ef@g.hi"): the email absorbs them.
			dst, start = absorbOverlapping(dst, base, start)
			dst = append(dst, Match{Type: EmailAddress, Start: start, End: end})
			i = end - 1
		case isDigit(c) && types&IPAddress != 0:
			end, ok := matchIPv4(text, i, s.IncludePrivate)
			if !ok {
				continue
			}
			dst = append(dst, Match{Type: IPAddress, Start: i, End: end})
			i = end - 1
		}
	}
	return dst
}

// absorbOverlapping removes the matches of this scan, dst[base:], that end
// after start. It returns the earliest start of start and the removed
// matches, so the new match covers them.
func absorbOverlapping(dst []Match, base, start int) ([]Match, int) {
	for len(dst) > base && dst[len(dst)-1].End > start {
		start = min(start, dst[len(dst)-1].Start)
		dst = dst[:len(dst)-1]
	}
	return dst, start
}

// Byte classes of the ASCII characters that the matchers look at.
const (
	classDigit = 1 << iota
	classAlpha
	classAtext // RFC 5322 atext: letters, digits and !#$%&'*+-/=?^_`{|}~
)

var byteClass = func() (t [256]uint8) {
	for c := '0'; c <= '9'; c++ {
		t[c] |= classDigit | classAtext
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c] |= classAlpha | classAtext
		t[c-'a'+'A'] |= classAlpha | classAtext
	}
	for _, c := range "!#$%&'*+-/=?^_`{|}~" {
		t[c] |= classAtext
	}
	return t
}()

func isDigit(c byte) bool { return byteClass[c]&classDigit != 0 }
func isAlpha(c byte) bool { return byteClass[c]&classAlpha != 0 }
func isAlnum(c byte) bool { return byteClass[c]&(classAlpha|classDigit) != 0 }
func isAtext(c byte) bool { return byteClass[c]&classAtext != 0 }

// isWordByte reports whether c is an ASCII letter, digit or underscore, the
// bytes that glue a number to a neighbouring token.
func isWordByte(c byte) bool { return isAlnum(c) || c == '_' }
