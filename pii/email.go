package pii

import "strings"

// Length limits of an address, in bytes.
const (
	maxLocalLen  = 64  // local part, RFC 5321 section 4.5.3.1.1
	maxDomainLen = 253 // domain name in text form, without a trailing dot
	maxLabelLen  = 63  // one DNS label, RFC 1035
)

// matchEmail returns the span of the email address whose '@' is text[at].
func matchEmail(text string, at int) (start, end int, ok bool) {
	start, ok = localPartStart(text, at)
	if !ok {
		return 0, 0, false
	}
	end, ok = domainEnd(text, at+1)
	if !ok {
		return 0, 0, false
	}
	return start, end, true
}

// isLocalByte reports whether c may appear in a local part. The set is the
// RFC 5322 dot-atom (atext and '.') without '/', '=', '?', '&' and '#'.
// Real addresses almost never use those five, while web text puts '@' right
// after them in URLs such as medium.com/@jane.doe or ?ref=@jane.
func isLocalByte(c byte) bool {
	if c == '.' {
		return true
	}
	if !isAtext(c) {
		return false
	}
	switch c {
	case '/', '=', '?', '&', '#':
		return false
	}
	return true
}

// localPartStart returns where the local part that ends before text[at]
// begins. Only ASCII local parts are recognised.
//
// NOTE: a non-ASCII local part such as "andré.dupont" yields the ASCII tail
// after the last non-ASCII byte ("dupont"), so its head stays in the text.
func localPartStart(text string, at int) (int, bool) {
	// Walk left over local-part bytes. A run longer than maxLocalLen is not
	// a local part, for example a base64 blob that ends in '@'.
	lo := at
	for lo > 0 && isLocalByte(text[lo-1]) {
		if at-lo == maxLocalLen {
			return 0, false
		}
		lo--
	}

	// A dot-atom has no empty atoms, so the address begins after the last
	// "..", as in "see...jane@example.com".
	if k := strings.LastIndex(text[lo:at], ".."); k >= 0 {
		lo += k + 2
	}

	// Leading symbols are punctuation around the address ('jane@x.org',
	// +jane@x.org), so the local part starts at a letter, digit or '_'.
	for lo < at && !isWordByte(text[lo]) {
		lo++
	}
	if lo == at || text[at-1] == '.' {
		return 0, false
	}
	return lo, true
}

func isLabelByte(c byte) bool { return isAlnum(c) || c == '-' }

// domainEnd returns where the domain that starts at text[from] ends. The
// domain needs at least two labels and a last label that is a top-level
// domain of the DNS root zone, so `pkg@1.2.3`, `Object@7f3a9c21`,
// `logo@2x.png` and `user@localhost` are rejected.
func domainEnd(text string, from int) (int, bool) {
	end, lastLabel, labels := from, from, 0
	for {
		n := 0
		for end+n < len(text) && isLabelByte(text[end+n]) {
			n++
		}
		if n == 0 || n > maxLabelLen || text[end] == '-' {
			return 0, false
		}
		lastLabel, end, labels = end, end+n, labels+1
		if end-from > maxDomainLen {
			return 0, false
		}
		// A dot continues the domain only when a label follows it;
		// otherwise it ends the sentence ("Write to jane@example.com.").
		if end+1 < len(text) && text[end] == '.' && isLabelByte(text[end+1]) {
			if text[end-1] == '-' {
				return 0, false
			}
			end++
			continue
		}
		break
	}

	// Hyphens after the last label are punctuation ("jane@example.com--"),
	// because a label cannot end with one.
	for end > lastLabel && text[end-1] == '-' {
		end--
	}
	if labels < 2 || !isTopLevelLabel(text[lastLabel:end]) {
		return 0, false
	}
	return end, true
}

// isTopLevelLabel reports whether s is a top-level domain of the DNS root
// zone, in any case. Names that are not delegated, such as localhost,
// example or a file extension like png, are not.
func isTopLevelLabel(s string) bool {
	if len(s) < 2 || len(s) > maxTLDLen {
		return false
	}
	var buf [maxTLDLen]byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !isAlpha(c) {
			return false
		}
		buf[i] = c | 0x20
	}
	_, ok := topLevelDomains[string(buf[:len(s)])]
	return ok
}
