package pii

import (
	"net/netip"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzScan checks the scanner's contract on any input: no panic, matches
// sorted, inside the text and apart, each value valid for its type, and
// every replacement of a valid UTF-8 text valid UTF-8 too. The seeds in
// testdata/fuzz/FuzzScan hold one example and near misses of every type.
func FuzzScan(f *testing.F) {
	seeds := []string{
		"", "@", "a@b.cd", "jane@example.com.", "1.2.3.4@example.com", "8.8.8.8", "1.2.3.4.5",
		"lodash@4.17.21", "Class@7f3a9c21", "联系jane@example.cn。", "\xff@\xfe.com",
		"std::vector<int> v;", "2001:db8::1", "::", "+44 20 7946 0958", "(845) 450 5693",
		"4111 1111 1111 1111", "DE89 3704 0044 0532 0130 00", "514-14-8905", "ts=1718236800005",
		"AKIAZ3MPLEK3YID7Q2WX", "ghp_aB3dE5fG7hI9jK1lM3nO5pQ7rS9tU1vW3xY5", "-----BEGIN RSA PRIVATE KEY-----\nAAAA",
		"postgres://a:b9Xq2@h", "api_key=Zx8fK2pQ9rT4vW7yB1nM3sD6", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.",
	}
	for _, s := range seeds {
		f.Add(s, true)
	}
	pseudonymizer, err := NewPseudonymizer([]byte("fuzz key, sixteen bytes or more"))
	if err != nil {
		f.Fatal(err)
	}
	private, err := NewScanner(Options{IncludePrivate: true})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, text string, includePrivate bool) {
		s := defaultScanner
		if includePrivate {
			s = private
		}
		ms := s.Scan(text, nil)
		valid := utf8.ValidString(text)
		prevEnd := 0
		for i, m := range ms {
			if m.Start < 0 || m.End > len(text) || m.Start >= m.End {
				t.Fatalf("match %d %+v out of bounds of %d bytes", i, m, len(text))
			}
			if m.Start < prevEnd {
				t.Fatalf("match %d %+v overlaps or precedes the previous, which ends at %d", i, m, prevEnd)
			}
			if valid && (!utf8.RuneStart(text[m.Start]) || (m.End < len(text) && !utf8.RuneStart(text[m.End]))) {
				t.Fatalf("match %d %+v splits a character", i, m)
			}
			prevEnd = m.End
			value := text[m.Start:m.End]
			checkMatch(t, value, m.Type, includePrivate)

			fake := pseudonymizer.Fake(m, value)
			if !utf8.ValidString(fake) {
				t.Fatalf("fake %q of %q is not valid UTF-8", fake, value)
			}
			if m.Type != IPAddress && len(fake) != len(value) {
				t.Fatalf("fake %q of %q changed the length", fake, value)
			}
		}

		outputs := map[string]string{
			"tag":          Replace(text, ms, Tag),
			"mask":         Replace(text, ms, Mask('█')),
			"pseudonymize": Replace(text, ms, pseudonymizer.Fake),
		}
		for action, out := range outputs {
			if valid && !utf8.ValidString(out) {
				t.Fatalf("%s output %q of a valid text is not valid UTF-8", action, out)
			}
			if len(ms) == 0 && out != text {
				t.Fatalf("%s changed a text without matches", action)
			}
		}
		if utf8.RuneCountInString(outputs["mask"]) != utf8.RuneCountInString(text) {
			t.Fatalf("Mask changed the length in characters")
		}
	})
}

// checkMatch checks the value of a match against parsers that do not share
// the scanner's candidate code.
func checkMatch(t *testing.T, value string, typ Type, includePrivate bool) {
	t.Helper()
	for i := 0; i < len(value); i++ {
		if value[i] >= utf8.RuneSelf {
			t.Fatalf("%s match %q is not ASCII", typ, value)
		}
	}
	switch typ {
	case IPAddress:
		ip, err := netip.ParseAddr(value)
		if err != nil {
			t.Fatalf("IP match %q does not parse: %v", value, err)
		}
		if ip.Is4() && !includePrivate && (ip.IsPrivate() || ip.IsLoopback() || !ip.IsGlobalUnicast()) {
			t.Fatalf("IP match %q is not public", value)
		}
		if ip.Is6() && !includePrivate && (ip.IsPrivate() || ip.IsLoopback() || ip.IsLinkLocalUnicast() || ip.IsMulticast()) {
			t.Fatalf("IP match %q is not public", value)
		}
	case EmailAddress:
		local, domain, ok := strings.Cut(value, "@")
		dot := strings.LastIndexByte(domain, '.')
		if !ok || local == "" || dot < 0 || !isTopLevelLabel(domain[dot+1:]) {
			t.Fatalf("email match %q lacks a local part or a known top-level domain", value)
		}
	case CreditCard:
		digits := digitsOf(value)
		if len(digits) < minCardDigits || len(digits) > maxCardDigits || !luhnValid([]byte(digits)) {
			t.Fatalf("card match %q fails the length or Luhn check", value)
		}
	case IBAN:
		compact := strings.ReplaceAll(value, " ", "")
		if int(ibanLengths[compact[:2]]) != len(compact) {
			t.Fatalf("IBAN match %q has the wrong length", value)
		}
	case USSSN:
		if len(value) != 11 || len(digitsOf(value)) != 9 {
			t.Fatalf("SSN match %q is not AAA-GG-SSSS", value)
		}
	case PhoneNumber:
		if n := len(digitsOf(value)); n < minPhoneDigits || n > maxPhoneDigits {
			t.Fatalf("phone match %q has %d digits", value, n)
		}
	case Secret:
		if strings.TrimSpace(value) == "" {
			t.Fatalf("secret match %q is blank", value)
		}
	default:
		t.Fatalf("match of unknown type %v", typ)
	}
}
