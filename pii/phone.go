package pii

import (
	"fmt"
	"strings"

	"github.com/nyaruka/phonenumbers"
)

// DefaultPhoneRegions lists the regions whose national formats a Scanner
// reads when Options.PhoneRegions is nil: the United States (and with it
// every country of the North American Numbering Plan), the United Kingdom,
// Germany, France, India, Japan and Australia.
var DefaultPhoneRegions = []string{"US", "GB", "DE", "FR", "IN", "JP", "AU"}

// Digit counts of a phone number candidate. E.164 allows 15 digits with
// the country code; a national number may carry a trunk prefix or an
// international call prefix (00) on top.
const (
	minPhoneDigits = 7
	maxPhoneDigits = 17
	maxPhoneGroups = 8
)

// phoneRegion is a region of Options.PhoneRegions with the facts the
// candidate checks need.
type phoneRegion struct {
	code  string // ISO 3166-1 alpha-2, upper case
	nanp  bool   // a member of the North American Numbering Plan
	trunk string // national (trunk) prefix, such as 0; "" when there is none
}

func resolvePhoneRegion(code string) (phoneRegion, error) {
	up := strings.ToUpper(code)
	if !phonenumbers.GetSupportedRegions()[up] {
		return phoneRegion{}, fmt.Errorf("pii: unknown phone region %q: want an ISO 3166-1 alpha-2 code such as US or DE", code)
	}
	return phoneRegion{
		code:  up,
		nanp:  phonenumbers.IsNANPACountry(up),
		trunk: phonenumbers.GetNddPrefixForRegion(up, true),
	}, nil
}

// ValidPhoneRegion reports whether code names a region whose national
// phone formats a Scanner can read.
func ValidPhoneRegion(code string) bool {
	_, err := resolvePhoneRegion(code)
	return err == nil
}

// phoneCandidate is a run of digit groups that may be a phone number.
type phoneCandidate struct {
	start, end int
	intl       bool // written with a leading '+'
	digits     [maxPhoneDigits]byte
	ndigits    int
	groups     [maxPhoneGroups]uint8 // digits per group
	ngroups    int
	seps       [maxPhoneGroups]byte // the separator byte before each group after the first
	parens     int                  // '(' minus ')' seen
}

// matchPhone finds a phone number whose first digit is text[i], with a
// leading '+' or '(' before it. It finds the candidate cheaply by its
// shape, then validates the number with libphonenumber: as an
// international number when it starts with '+', else in the national
// format of each region of the Scanner. floor is the leftmost byte the
// number may take.
func (s *Scanner) matchPhone(text string, i, floor int) (int, int, bool) {
	c, ok := readPhoneCandidate(text, i, floor)
	if !ok || !c.shapeOK(text) {
		return 0, 0, false
	}
	digits := string(c.digits[:c.ndigits])
	if c.intl {
		if !validInternational(digits) {
			return 0, 0, false
		}
		return c.start, c.end, true
	}
	for _, r := range s.regions {
		if r.nanp && !c.nanpLayoutOK() {
			continue
		}
		if validNational(digits, r) {
			return c.start, c.end, true
		}
	}
	return 0, 0, false
}

// readPhoneCandidate reads the digit groups that start at text[i]. Groups
// are split by one space, '-', '.' or '/', by " - ", or by parentheses
// around an area code: "(845) 450 5693", "030/1234567", "+1-212-456-7890".
func readPhoneCandidate(text string, i, floor int) (phoneCandidate, bool) {
	var c phoneCandidate
	c.start = i
	if c.start > floor && text[c.start-1] == '(' {
		c.start--
		c.parens++
	}
	if c.start > floor && text[c.start-1] == '+' {
		c.start--
		c.intl = true
		if c.parens == 0 && c.start > floor && text[c.start-1] == '(' { // "(+44) 20 ..."
			c.start--
			c.parens++
		}
	}
	if !phoneStartOK(text, c.start) {
		return c, false
	}

	j := i
	for {
		k := j
		for k < len(text) && isDigit(text[k]) {
			if c.ndigits == maxPhoneDigits {
				return c, false
			}
			c.digits[c.ndigits] = text[k]
			c.ndigits++
			k++
		}
		c.groups[c.ngroups] = uint8(k - j)
		c.ngroups++
		j = k
		if c.ngroups == maxPhoneGroups {
			break
		}
		sepEnd, sep, parens := phoneSeparator(text, j)
		if sepEnd == j || sepEnd >= len(text) || !isDigit(text[sepEnd]) || c.parens+parens < 0 || c.parens+parens > 1 {
			break
		}
		c.seps[c.ngroups] = sep
		c.parens += parens
		j = sepEnd
	}
	c.end = j
	// A closing parenthesis right after the last digit belongs to the text
	// around the number; an opening one without its partner does too.
	if c.parens > 0 && text[c.start] == '(' {
		c.start++
		c.parens--
		if c.intl && text[c.start] != '+' {
			c.intl = false
		}
	}
	return c, c.parens == 0
}

// phoneSeparator reads the separator between two digit groups at text[j]
// and returns its end, its main byte and the change in open parentheses.
func phoneSeparator(text string, j int) (int, byte, int) {
	if j >= len(text) {
		return j, 0, 0
	}
	switch text[j] {
	case '-', '.', '/':
		return j + 1, text[j], 0
	case ' ':
		if strings.HasPrefix(text[j:], " - ") {
			return j + 3, '-', 0
		}
		if j+1 < len(text) && text[j+1] == '(' {
			return j + 2, '(', 1
		}
		return j + 1, ' ', 0
	case '(':
		return j + 1, '(', 1
	case ')':
		if j+1 < len(text) && (text[j+1] == ' ' || text[j+1] == '-') {
			return j + 2, ')', -1
		}
		return j + 1, ')', -1
	}
	return j, 0, 0
}

// phoneStartOK reports whether a phone number may start at text[start].
// Unlike other numbers, a phone number may be glued to letters
// ("Tel:+49...", "call0301234567"). It may not be glued to a digit, to the
// end of a longer number ("1.", "1-") or to a token that mixes letters and
// digits, such as a hash or a UUID.
func phoneStartOK(text string, start int) bool {
	if start == 0 {
		return true
	}
	p := text[start-1]
	if isDigit(p) || p == '_' {
		return false
	}
	if isAlpha(p) {
		// The letters must be a word of their own, such as "Tel" or
		// "call". After a digit, '-', '_' or '.' they belong to a hash, a
		// UUID or an identifier. One letter is an id's prefix, as in
		// E2016505031.
		k := start - 1
		for k > 0 && start-k < 32 && isAlpha(text[k-1]) {
			k--
		}
		if start-k < 2 {
			return false
		}
		if k == 0 {
			return true
		}
		q := text[k-1]
		return !isDigit(q) && q != '-' && q != '_' && q != '.'
	}
	if start >= 2 && (p == '.' || p == '-' || p == '/' || p == ',') && isAlnum(text[start-2]) {
		return false
	}
	// After a digit and a space, the candidate is the tail of a longer run
	// of groups, such as an IBAN in print form, which was not a number.
	if start >= 2 && p == ' ' && isDigit(text[start-2]) {
		return false
	}
	return true
}

// phoneEndOK is the mirror of phoneStartOK for the byte after the number.
func phoneEndOK(text string, end int) bool {
	if end == len(text) {
		return true
	}
	c := text[end]
	if isDigit(c) || c == '_' || c == '@' {
		return false
	}
	if isAlpha(c) {
		k := end
		for k < len(text) && k-end < 32 && isAlpha(text[k]) {
			k++
		}
		return k == len(text) || !isDigit(text[k])
	}
	if end+1 < len(text) && (c == '.' || c == '-' || c == '/' || c == ',') && isAlnum(text[end+1]) {
		return false
	}
	return true
}

// shapeOK rules out candidates whose layout belongs to something else.
func (c *phoneCandidate) shapeOK(text string) bool {
	if c.ndigits < minPhoneDigits || !phoneEndOK(text, c.end) {
		return false
	}
	if c.intl && c.ndigits > 15 {
		return false
	}
	if c.ngroups == 1 && !c.intl && c.ndigits != 10 && c.ndigits != 11 {
		return false // bare digits: only the usual national lengths
	}

	// Layouts of other things.
	if c.ngroups > 1 && c.groups[c.ngroups-1] == 1 {
		return false // an ISBN or a part number ends in a one-digit group
	}
	if c.ngroups == 2 && c.seps[1] == '.' {
		return false // a decimal number
	}
	if (!c.intl && c.isDate()) || c.isSSNLayout() {
		return false
	}
	if c.ngroups > 6 || (!c.intl && c.ngroups > 5) {
		return false
	}

	for k := 1; k < c.ngroups; k++ {
		if c.groups[k-1] > 10 || (c.seps[k] == '.' && (c.groups[k-1] < 2 || c.groups[k] < 2)) {
			return false // a group of a UUID or a version such as 0.17.192.4895
		}
	}
	// "ISBN 0-306-40615-2" and "ISBN-10: 0306406152" are not phone numbers,
	// whatever their digits, and neither is "invoice 0374-277913".
	look := max(0, c.start-12)
	if strings.Contains(strings.ToUpper(text[look:c.start]), "ISBN") {
		return false
	}
	return !labelBefore(text, c.start, idLabels) && !labelBefore(text, c.start, versionLabels)
}

// isSSNLayout reports whether the candidate is laid out as a US social
// security number, AAA-GG-SSSS or AAA GG SSSS, which no national phone
// format uses.
func (c *phoneCandidate) isSSNLayout() bool {
	return c.ngroups == 3 && c.groups[0] == 3 && c.groups[1] == 2 && c.groups[2] == 4 &&
		c.seps[1] == c.seps[2] && (c.seps[1] == '-' || c.seps[1] == ' ')
}

// nanpLayoutOK reports whether a national candidate has a layout of the
// North American Numbering Plan: ten or eleven bare digits, 3-3-4 or
// 1-3-3-4, with any separators or parentheses.
func (c *phoneCandidate) nanpLayoutOK() bool {
	g := c.groups[:c.ngroups]
	switch len(g) {
	case 1:
		return true
	case 3:
		return g[0] == 3 && g[1] == 3 && g[2] == 4
	case 4:
		return g[0] == 1 && g[1] == 3 && g[2] == 3 && g[3] == 4
	}
	return false
}

// isDate reports whether the candidate starts with three groups joined by
// one '.', '/' or '-' in a date layout: D.M.YYYY, M/D/YY, YYYY-MM-DD and
// the like, alone or followed by a time ("08/10/2009 23:26").
func (c *phoneCandidate) isDate() bool {
	if c.ngroups < 3 || c.seps[1] != c.seps[2] {
		return false
	}
	switch c.seps[1] {
	case '.', '/', '-':
	default:
		return false
	}
	g0, g1, g2 := c.groups[0], c.groups[1], c.groups[2]
	return (g0 <= 2 && g1 <= 2 && (g2 == 2 || g2 == 4)) || (g0 == 4 && g1 <= 2 && g2 <= 2)
}

// validInternational reports whether digits, the number after a '+', is a
// valid number of any country.
func validInternational(digits string) bool {
	num, err := phonenumbers.Parse("+"+digits, "ZZ")
	return err == nil && phonenumbers.IsValidNumber(num)
}

// validNational reports whether digits is a valid number of region r in
// its national format. A region with a trunk prefix needs the prefix, as
// national numbers are written with it (030 1234567 in Germany), and
// numbers without it are more often something else. A number written with
// the international call prefix, such as 0049 30 1234567, is valid when
// the country it names has it.
func validNational(digits string, r phoneRegion) bool {
	switch {
	case r.nanp:
		ok10 := len(digits) == 10 && digits[0] >= '2'
		ok11 := len(digits) == 11 && digits[0] == '1' && digits[1] >= '2'
		if !ok10 && !ok11 {
			return false
		}
	case r.trunk != "":
		if !strings.HasPrefix(digits, r.trunk) {
			return false
		}
	}
	num, err := phonenumbers.Parse(digits, r.code)
	if err != nil {
		return false
	}
	if int(num.GetCountryCode()) != phonenumbers.GetCountryCodeForRegion(r.code) {
		return phonenumbers.IsValidNumber(num)
	}
	if r.nanp {
		return phonenumbers.IsValidNumber(num)
	}
	return phonenumbers.IsValidNumberForRegion(num, r.code)
}
