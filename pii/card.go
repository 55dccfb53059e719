package pii

// Card number lengths in digits. ISO/IEC 7812 allows 8 to 19; no issuer
// in cardRanges uses fewer than 12.
const (
	minCardDigits = 12
	maxCardDigits = 19
)

// cardRange is a range of issuer identification numbers: card numbers
// whose first len(lo) digits lie in [lo, hi], with the lengths the issuer
// uses as a bit set (bit n for n digits).
type cardRange struct {
	lo, hi  string
	lengths uint32
}

func lengths(ns ...int) uint32 {
	var set uint32
	for _, n := range ns {
		set |= 1 << n
	}
	return set
}

var sixteenTo19 = lengths(16, 17, 18, 19)

// cardRanges lists the issuer ranges of the major networks, from the IIN
// table of the Wikipedia article "Payment card number". UATP (prefix 1) is left out on purpose:
// its 15-digit numbers are rare in text, while 13-digit millisecond Unix
// timestamps, which start with 1 until 2033, pass the Luhn check one time
// in ten. Broad Maestro ranges (50, 56 to 69) are reduced to the prefixes
// in use, since twelve-digit numbers are common in text.
var cardRanges = []cardRange{
	{"4", "4", lengths(13, 16, 19)},                           // Visa
	{"51", "55", lengths(16)},                                 // Mastercard
	{"2221", "2720", lengths(16)},                             // Mastercard 2-series
	{"34", "34", lengths(15)},                                 // American Express
	{"37", "37", lengths(15)},                                 // American Express
	{"6011", "6011", sixteenTo19},                             // Discover
	{"644", "649", sixteenTo19},                               // Discover
	{"65", "65", sixteenTo19},                                 // Discover, RuPay
	{"622126", "622925", sixteenTo19},                         // Discover co-branded with UnionPay
	{"62", "62", sixteenTo19},                                 // UnionPay
	{"300", "305", lengths(14, 16, 17, 18, 19)},               // Diners Club International
	{"3095", "3095", sixteenTo19},                             // Diners Club International
	{"36", "36", lengths(14, 15, 16, 17, 18, 19)},             // Diners Club International
	{"38", "39", sixteenTo19},                                 // Diners Club International
	{"3528", "3589", sixteenTo19},                             // JCB
	{"2200", "2204", sixteenTo19},                             // Mir
	{"5018", "5018", lengths(12, 13, 14, 15, 16, 17, 18, 19)}, // Maestro
	{"5020", "5020", lengths(12, 13, 14, 15, 16, 17, 18, 19)}, // Maestro
	{"5038", "5038", lengths(12, 13, 14, 15, 16, 17, 18, 19)}, // Maestro
	{"5893", "5893", lengths(12, 13, 14, 15, 16, 17, 18, 19)}, // Maestro
	{"6304", "6304", lengths(12, 13, 14, 15, 16, 17, 18, 19)}, // Maestro
	{"6759", "6759", lengths(12, 13, 14, 15, 16, 17, 18, 19)}, // Maestro UK
	{"6761", "6763", lengths(12, 13, 14, 15, 16, 17, 18, 19)}, // Maestro
	{"60", "60", lengths(16)},                                 // RuPay
	{"81", "82", lengths(16)},                                 // RuPay
	{"508", "508", lengths(16)},                               // RuPay
	{"9792", "9792", lengths(16)},                             // Troy
}

// issuerKnown reports whether a card number of these digits and length
// falls in an issuer range that uses that length.
func issuerKnown(digits []byte) bool {
	n := len(digits)
	for _, r := range cardRanges {
		if r.lengths&(1<<n) == 0 || len(r.lo) > n {
			continue
		}
		prefix := string(digits[:len(r.lo)])
		if prefix >= r.lo && prefix <= r.hi {
			return true
		}
	}
	return false
}

// luhnValid reports whether digits, ASCII, pass the Luhn check.
func luhnValid(digits []byte) bool {
	sum := 0
	double := false
	for i := len(digits) - 1; i >= 0; i-- {
		d := int(digits[i] - '0')
		if double {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return sum%10 == 0
}

// matchCard returns the end of the payment card number that starts at
// text[i]. The digits are written without separators or in groups split by
// single spaces or hyphens, one kind per number. Every group but the last
// has four digits, or the groups are 4-6-4 or 4-6-5 (Diners Club and
// American Express). The number must pass the Luhn check and fall in an
// issuer range with a length that issuer uses.
func matchCard(text string, i int) (int, bool) {
	if !numberStartOK(text, i) {
		return 0, false
	}
	var buf [maxCardDigits]byte
	var groups [maxCardDigits]uint8
	n, ngroups := 0, 0
	var sep byte
	j := i
	for {
		k := j
		for k < len(text) && isDigit(text[k]) {
			if n == maxCardDigits {
				return 0, false
			}
			buf[n] = text[k]
			n++
			k++
		}
		groups[ngroups] = uint8(k - j)
		ngroups++
		j = k
		// Another group follows a separator of the number's kind.
		if j+1 < len(text) && (text[j] == ' ' || text[j] == '-') && isDigit(text[j+1]) &&
			(sep == 0 || sep == text[j]) && ngroups < maxCardDigits {
			sep = text[j]
			j++
			continue
		}
		break
	}
	if n < minCardDigits || !numberEndOK(text, j) || !cardGroupsOK(groups[:ngroups]) {
		return 0, false
	}
	digits := buf[:n]
	if !luhnValid(digits) || !issuerKnown(digits) {
		return 0, false
	}
	return j, true
}

// cardGroupsOK reports whether the digit groups of a number have a layout
// that cards are printed in.
func cardGroupsOK(g []uint8) bool {
	if len(g) == 1 {
		return true
	}
	if len(g) == 3 && g[0] == 4 && g[1] == 6 && (g[2] == 4 || g[2] == 5) {
		return true
	}
	for _, n := range g[:len(g)-1] {
		if n != 4 {
			return false
		}
	}
	last := g[len(g)-1]
	return last >= 1 && last <= 4
}
