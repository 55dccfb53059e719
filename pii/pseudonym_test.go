package pii

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
)

func testPseudonymizer(t *testing.T, key string) *Pseudonymizer {
	t.Helper()
	p, err := NewPseudonymizer([]byte(key))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// sameShape reports whether a and b have the same length and the same
// kind of character (lower, upper, digit, or the same other byte) at
// every position.
func sameShape(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	kind := func(c byte) byte {
		switch {
		case c >= 'a' && c <= 'z':
			return 'a'
		case c >= 'A' && c <= 'Z':
			return 'A'
		case isDigit(c):
			return '0'
		}
		return c
	}
	for i := 0; i < len(a); i++ {
		if kind(a[i]) != kind(b[i]) {
			return false
		}
	}
	return true
}

func TestPseudonymizeShapes(t *testing.T) {
	p := testPseudonymizer(t, "a key of at least sixteen bytes")
	cases := []struct {
		typ   Type
		value string
		keep  string // a part the fake keeps
	}{
		{EmailAddress, "Jane.Doe+news@mail.example.co.uk", ".uk"},
		{PhoneNumber, "+44 20 7946 0958", "+44 "},
		{PhoneNumber, "(845) 450-5693", "(8"},
		{CreditCard, "4111 1111 1111 1111", "4"},
		{IBAN, "DE89 3704 0044 0532 0130 00", "DE"},
		{USSSN, "514-14-8905", ""},
		{Secret, "ghp_aB3dE5fG7hI9jK1lM3nO5pQ7rS9tU1vW3xY5", "ghp_"},
		{Secret, "admin:s3cr3tP4ss", ":"},
		{IPAddress, "2001:db8::8a2e:370:7334", "::"},
	}
	for _, c := range cases {
		fake := p.Fake(Match{Type: c.typ}, c.value)
		if fake == c.value {
			t.Errorf("%s %q: the fake equals the value", c.typ, c.value)
		}
		if c.typ == IPAddress {
			// Hex digits may become letters and letters digits.
			if _, err := netip.ParseAddr(fake); err != nil || len(fake) != len(c.value) {
				t.Errorf("%s %q: fake %q is no address of the same length", c.typ, c.value, fake)
			}
		} else if !sameShape(fake, c.value) {
			t.Errorf("%s %q: fake %q has another shape", c.typ, c.value, fake)
		}
		if !strings.Contains(fake, c.keep) {
			t.Errorf("%s %q: fake %q lost %q", c.typ, c.value, fake, c.keep)
		}
		if again := p.Fake(Match{Type: c.typ}, c.value); again != fake {
			t.Errorf("%s %q: fakes %q and %q differ for one value", c.typ, c.value, fake, again)
		}
	}
}

func TestPseudonymizeIsNotReversible(t *testing.T) {
	p := testPseudonymizer(t, "a key of at least sixteen bytes")
	q := testPseudonymizer(t, "another key, at least sixteen bytes")
	m := Match{Type: EmailAddress}
	if p.Fake(m, "jane@example.com") == q.Fake(m, "jane@example.com") {
		t.Error("two keys gave one fake")
	}
	if p.Fake(m, "jane@example.com") == p.Fake(m, "jane@example.org") {
		t.Error("two addresses gave one fake")
	}
	// One address in two cases gets one fake, each in its own case.
	if strings.ToLower(p.Fake(m, "Jane@Example.com")) != p.Fake(m, "jane@example.com") {
		t.Error("an address in another case gave another fake")
	}
}

func TestPseudonymizeFakesFailChecks(t *testing.T) {
	p := testPseudonymizer(t, "a key of at least sixteen bytes")
	for _, card := range []string{"4111 1111 1111 1111", "378282246310005", "5555-5555-5555-4444"} {
		fake := p.Fake(Match{Type: CreditCard}, card)
		if luhnValid([]byte(digitsOf(fake))) {
			t.Errorf("fake card %q of %q passes the Luhn check", fake, card)
		}
	}
	for _, iban := range []string{"DE89 3704 0044 0532 0130 00", "GB29NWBK60161331926819"} {
		fake := p.Fake(Match{Type: IBAN}, iban)
		if ibanChecksumValid([]byte(strings.ReplaceAll(fake, " ", ""))) {
			t.Errorf("fake IBAN %q of %q passes MOD 97-10", fake, iban)
		}
	}
	fake := p.Fake(Match{Type: USSSN}, "514-14-8905")
	if _, ok := matchSSN(fake, 0); ok || fake[0] != '9' {
		t.Errorf("fake SSN %q is an issuable number", fake)
	}
	ip := p.Fake(Match{Type: IPAddress}, "93.184.216.34")
	if addr, err := netip.ParseAddr(ip); err != nil || !addr.Is4() {
		t.Errorf("fake IPv4 %q does not parse: %v", ip, err)
	}
}

func TestPseudonymizePhoneLayouts(t *testing.T) {
	p := testPseudonymizer(t, "a key of at least sixteen bytes")
	international := p.Fake(Match{Type: PhoneNumber}, "+1 212-456-7890")
	national := p.Fake(Match{Type: PhoneNumber}, "(212) 456-7890")
	if digitsOf(international)[2:] != digitsOf(national)[1:] {
		t.Errorf("fakes %q and %q of one number differ in their last nine digits", international, national)
	}
}

func TestPseudonymizeShortKey(t *testing.T) {
	if _, err := NewPseudonymizer([]byte("short")); !errors.Is(err, ErrShortKey) {
		t.Errorf("NewPseudonymizer(short key) = %v, want ErrShortKey", err)
	}
}
