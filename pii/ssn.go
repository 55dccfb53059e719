package pii

// matchSSN returns the end of the US social security number that starts at
// text[i], written AAA-GG-SSSS or AAA GG SSSS. Nine digits without
// separators are not matched: too many ids, amounts and phone fragments
// have that shape. The number must be one the Social Security
// Administration can issue: area 001 to 899 except 666, group 01 to 99,
// serial 0001 to 9999. The two numbers it voided after they were printed
// in advertisements, 078-05-1120 and 219-09-9999, are rejected too.
func matchSSN(text string, i int) (int, bool) {
	if !numberStartOK(text, i) || i+11 > len(text) {
		return 0, false
	}
	sep := text[i+3]
	if sep != '-' && sep != ' ' || text[i+6] != sep {
		return 0, false
	}
	area, ok1 := decimal(text[i : i+3])
	group, ok2 := decimal(text[i+4 : i+6])
	serial, ok3 := decimal(text[i+7 : i+11])
	if !ok1 || !ok2 || !ok3 || !numberEndOK(text, i+11) {
		return 0, false
	}
	if area == 0 || area == 666 || area >= 900 || group == 0 || serial == 0 {
		return 0, false
	}
	if (area == 78 && group == 5 && serial == 1120) || (area == 219 && group == 9 && serial == 9999) {
		return 0, false
	}
	return i + 11, true
}

// decimal parses s, which must be all ASCII digits.
func decimal(s string) (int, bool) {
	v := 0
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return 0, false
		}
		v = v*10 + int(s[i]-'0')
	}
	return v, len(s) > 0
}

// numberStartOK reports whether a number may start at text[i]: it is not
// glued to a letter, digit or '_', and it does not continue a longer
// number ("1.", "1-", "1/", "1,") or a hyphenated token such as a UUID.
func numberStartOK(text string, i int) bool {
	if i == 0 {
		return true
	}
	p := text[i-1]
	if isWordByte(p) || p == '+' {
		return false
	}
	if i >= 2 && isAlnum(text[i-2]) {
		switch p {
		case '.', '-', '/', ',':
			return false
		}
	}
	return true
}

// numberEndOK reports whether a number may end before text[j]: the mirror
// of numberStartOK, so "514-14-8905-2" and "514-14-8905x" are not numbers.
func numberEndOK(text string, j int) bool {
	if j == len(text) {
		return true
	}
	c := text[j]
	if isWordByte(c) {
		return false
	}
	if j+1 < len(text) && isAlnum(text[j+1]) {
		switch c {
		case '.', '-', '/', ',':
			return false
		}
	}
	return true
}
