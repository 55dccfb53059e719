package pii

import (
	"bufio"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// tagPattern matches the inline tags of the NeMo Curator PII samples, such
// as <email>jane@example.com</email>. The tests check that every tagged
// value of a type the scanner finds (email, ip_address, phone_number,
// credit_card_number, ssn) is found exactly. Names, birth dates and postal
// addresses are not types of the scanner.
var tagPattern = regexp.MustCompile(`<([a-z_]+)>(.*?)</([a-z_]+)>`)

// taggedLine is one sample line with its tags removed, and the values of
// the tags of one kind.
type taggedLine struct {
	text   string
	values []string
}

// readTagged reads a sample file and collects, per line, the values tagged
// with kind.
func readTagged(t *testing.T, name, kind string) []taggedLine {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "testdata", "pii", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []taggedLine
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		var values []string
		for _, m := range tagPattern.FindAllStringSubmatch(line, -1) {
			if m[1] == kind {
				values = append(values, m[2])
			}
		}
		out = append(out, taggedLine{text: tagPattern.ReplaceAllString(line, "$2"), values: values})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func values(t *testing.T, o Options, text string, want Type) []string {
	t.Helper()
	s, err := NewScanner(o)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range s.Scan(text, nil) {
		if m.Type&want != 0 {
			out = append(out, text[m.Start:m.End])
		}
	}
	return out
}

func TestNemoSamplesEmail(t *testing.T) {
	for _, name := range []string{"emails.txt", "multiple.txt"} {
		for _, l := range readTagged(t, name, "email") {
			if got := values(t, Options{}, l.text, EmailAddress); !slices.Equal(got, l.values) {
				t.Errorf("%s: Scan(%q) emails = %q, want %q", name, l.text, got, l.values)
			}
		}
	}
}

func TestNemoSamplesIP(t *testing.T) {
	for _, l := range readTagged(t, "ip_address.txt", "ip_address") {
		// Both sample addresses are private (10/8, 192.168/16), so the
		// default scanner reports nothing and IncludePrivate reports them.
		if got := values(t, Options{}, l.text, IPAddress); len(got) != 0 {
			t.Errorf("Scan(%q) = %q, want no public addresses", l.text, got)
		}
		if got := values(t, Options{IncludePrivate: true}, l.text, IPAddress); !slices.Equal(got, l.values) {
			t.Errorf("Scan(%q) with private = %q, want %q", l.text, got, l.values)
		}
	}
}

func TestNemoSamplesPhone(t *testing.T) {
	for _, name := range []string{"phone_numbers.txt", "multiple.txt"} {
		for _, l := range readTagged(t, name, "phone_number") {
			if got := values(t, Options{}, l.text, PhoneNumber); !slices.Equal(got, l.values) {
				t.Errorf("%s: Scan(%q) phones = %q, want %q", name, l.text, got, l.values)
			}
		}
	}
}

func TestNemoSamplesCard(t *testing.T) {
	for _, l := range readTagged(t, "card_no.txt", "credit_card_number") {
		if got := values(t, Options{}, l.text, CreditCard); !slices.Equal(got, l.values) {
			t.Errorf("Scan(%q) cards = %q, want %q", l.text, got, l.values)
		}
	}
}

func TestNemoSamplesSSN(t *testing.T) {
	for _, name := range []string{"ssn.txt", "multiple.txt"} {
		for _, l := range readTagged(t, name, "ssn") {
			if got := values(t, Options{}, l.text, USSSN); !slices.Equal(got, l.values) {
				t.Errorf("%s: Scan(%q) SSNs = %q, want %q", name, l.text, got, l.values)
			}
		}
	}
}

func TestNemoSamplesNegatives(t *testing.T) {
	// Names, birth dates and postal addresses are types the scanner does
	// not find, and their numbers (house numbers, ZIP codes written as
	// four digits, years) must not be taken for anything else.
	names := []string{"address.txt", "birthdates.txt", "names.txt"}
	for _, name := range names {
		for _, l := range readTagged(t, name, "") {
			if got := values(t, Options{IncludePrivate: true}, l.text, AllTypes); len(got) != 0 {
				t.Errorf("%s: Scan(%q) = %q, want none", name, l.text, got)
			}
		}
	}
}

func TestNemoSamplesReplace(t *testing.T) {
	lines := readTagged(t, "emails.txt", "email")
	text := lines[0].text
	got := Replace(text, Scan(text, nil), Tag)
	if strings.Contains(got, "@") || !strings.Contains(got, "|||EMAIL_ADDRESS|||") {
		t.Errorf("Replace(%q) = %q, want the address tagged", text, got)
	}
}
