package pii

// labelBefore reports whether the word of ASCII letters that ends before
// text[i], with at most three spaces, line breaks, ':', '#' or '.' between,
// is one of
// labels, in any case. It lets a matcher read a label such as "version
// 1.2.3.4" or "Order #0374-277913".
func labelBefore(text string, i int, labels map[string]bool) bool {
	k := i
	for n := 0; n < 3 && k > 0; n++ {
		c := text[k-1]
		if c != ' ' && c != '\n' && c != ':' && c != '#' && c != '.' {
			break
		}
		k--
	}
	end := k
	for k > 0 && end-k < 13 && isAlpha(text[k-1]) {
		k--
	}
	if k == end || end-k > 12 || (k > 0 && isWordByte(text[k-1])) {
		return false
	}
	var buf [12]byte
	for j := k; j < end; j++ {
		buf[j-k] = text[j] | 0x20
	}
	return labels[string(buf[:end-k])] // the conversion does not allocate
}

// versionLabels are words after which a dotted number is a version, not an
// address or a phone number: "version 2.0.0.1", "build 10.0.19045.3803".
var versionLabels = map[string]bool{
	"version": true, "ver": true, "v": true, "build": true, "release": true, "firmware": true,
	"kernel": true, "driver": true, "rev": true, "revision": true, "patch": true,
}

// idLabels are words after which a number is an identifier, not a phone
// number: "invoice 0374-277913", "Order #123456789".
var idLabels = map[string]bool{
	"invoice": true, "order": true, "serial": true, "ticket": true, "id": true, "ref": true,
	"sku": true, "part": true, "case": true, "account": true, "acct": true, "isbn": true,
	"issn": true, "tracking": true, "batch": true, "lot": true, "lccn": true, "oclc": true,
	"pmid": true, "doi": true, "vat": true, "iva": true, "ust": true, "tax": true,
}
