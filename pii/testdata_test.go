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
// as <email>jane@example.com</email>.
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

func values(s Scanner, text string, want Type) []string {
	var out []string
	for _, m := range s.Scan(text, nil) {
		if m.Type == want {
			out = append(out, text[m.Start:m.End])
		}
	}
	return out
}

func TestNemoSamplesEmail(t *testing.T) {
	for _, name := range []string{"emails.txt", "multiple.txt"} {
		for _, l := range readTagged(t, name, "email") {
			if got := values(Scanner{}, l.text, EmailAddress); !slices.Equal(got, l.values) {
				t.Errorf("%s: Scan(%q) emails = %q, want %q", name, l.text, got, l.values)
			}
		}
	}
}

func TestNemoSamplesIP(t *testing.T) {
	for _, l := range readTagged(t, "ip_address.txt", "ip_address") {
		// Both sample addresses are private (10/8, 192.168/16), so the
		// default scanner reports nothing and IncludePrivate reports them.
		if got := values(Scanner{}, l.text, IPAddress); len(got) != 0 {
			t.Errorf("Scan(%q) = %q, want no public addresses", l.text, got)
		}
		if got := values(Scanner{IncludePrivate: true}, l.text, IPAddress); !slices.Equal(got, l.values) {
			t.Errorf("Scan(%q) with private = %q, want %q", l.text, got, l.values)
		}
	}
}

func TestNemoSamplesNegatives(t *testing.T) {
	// Phone numbers, card numbers, SSNs, birth dates, names and postal
	// addresses hold no email or IPv4 address, even counting private ones.
	names := []string{"address.txt", "birthdates.txt", "card_no.txt", "names.txt", "phone_numbers.txt", "ssn.txt"}
	s := Scanner{IncludePrivate: true}
	for _, name := range names {
		for _, l := range readTagged(t, name, "") {
			if got := s.Scan(l.text, nil); len(got) != 0 {
				t.Errorf("%s: Scan(%q) = %+v, want none", name, l.text, got)
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
