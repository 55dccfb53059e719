package pii

// ibanLengths holds the IBAN length of every country in the IBAN registry
// that SWIFT keeps for ISO 13616, checked against the register published
// at iban.com/structure (data of 8 May 2026). Countries with national
// formats the registry does not list ("partial" IBANs) are left out.
var ibanLengths = map[string]uint8{
	"AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22,
	"BH": 22, "BI": 27, "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24,
	"DE": 22, "DJ": 27, "DK": 18, "DO": 28, "EE": 20, "EG": 29, "ES": 24, "FI": 18,
	"FK": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27,
	"GT": 28, "HN": 28, "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26,
	"IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32, "LI": 21, "LT": 20,
	"LU": 20, "LV": 21, "LY": 25, "MC": 27, "MD": 24, "ME": 22, "MK": 19, "MN": 20,
	"MR": 27, "MT": 31, "MU": 30, "NI": 28, "NL": 18, "NO": 15, "OM": 23, "PK": 24,
	"PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "RU": 33, "SA": 24,
	"SC": 31, "SD": 18, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "SO": 23, "ST": 25,
	"SV": 28, "TL": 23, "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20,
	"YE": 30,
}

// maxIBANLen is the longest length in ibanLengths (Russia).
const maxIBANLen = 33

// matchIBAN returns the end of the IBAN that starts at text[i], the first
// of two upper-case letters. The IBAN is written in its electronic form
// (DE89370400440532013000) or in its print form, groups of four split by
// single spaces (DE89 3704 0044 0532 0130 00). Its length must be the
// country's and its check digits must pass ISO 7064 MOD 97-10. Lower-case
// letters are not accepted, since the standard writes IBANs in upper case
// and lower-case text gives more chance matches.
func matchIBAN(text string, i int) (int, bool) {
	if i > 0 && isWordByte(text[i-1]) {
		return 0, false
	}
	want, ok := ibanLengths[text[i:i+2]]
	if !ok {
		return 0, false
	}

	var buf [maxIBANLen]byte
	n, j := 0, i
	grouped := false
	for n < int(want) && j < len(text) {
		c := text[j]
		switch {
		case isDigit(c) || isUpper(c):
			buf[n] = c
			n++
			j++
		case c == ' ' && n%4 == 0 && (n == 4 || grouped) && j+1 < len(text) && isAlnum(text[j+1]):
			// A space may split the groups of four of the print form; the
			// first one decides that the IBAN is grouped.
			grouped = true
			j++
		default:
			return 0, false
		}
		if n > 4 && n%4 == 1 && grouped && text[j-2] != ' ' {
			return 0, false // a group of the print form is longer than four
		}
	}
	if n != int(want) || !isDigit(buf[2]) || !isDigit(buf[3]) || (j < len(text) && isWordByte(text[j])) {
		return 0, false
	}
	if !ibanChecksumValid(buf[:n]) {
		return 0, false
	}
	return j, true
}

// ibanChecksumValid reports whether iban, upper case without spaces, passes
// MOD 97-10: moved so its first four characters come last and with each
// letter read as two digits (A = 10 ... Z = 35), it leaves 1 when divided
// by 97.
func ibanChecksumValid(iban []byte) bool {
	rem := 0
	add := func(c byte) {
		if isDigit(c) {
			rem = (rem*10 + int(c-'0')) % 97
		} else {
			rem = (rem*100 + int(c-'A') + 10) % 97
		}
	}
	for _, c := range iban[4:] {
		add(c)
	}
	for _, c := range iban[:4] {
		add(c)
	}
	return rem == 1
}
