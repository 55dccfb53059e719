package pii

import (
	"net/netip"
	"strings"
	"testing"
)

func FuzzScan(f *testing.F) {
	seeds := []string{
		"", "@", "a@b.cd", "jane@example.com.", "<jane@example.com>", "1.2.3.4@example.com",
		"a@b.cd.ef@g.hi", "8.8.8.8", "1.2.3.4.5", "v1.2.3.4", "999.1.1.1", "lodash@4.17.21",
		"Class@7f3a9c21", "..@..", "8.8.8.8-8.8.8.9", "联系jane@example.cn。", "\xff@\xfe.com",
	}
	for _, s := range seeds {
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, text string, includePrivate bool) {
		s := Scanner{IncludePrivate: includePrivate}
		ms := s.Scan(text, nil)
		prevEnd := 0
		for i, m := range ms {
			if m.Start < 0 || m.End > len(text) || m.Start >= m.End {
				t.Fatalf("match %d %+v out of bounds of %d bytes", i, m, len(text))
			}
			if m.Start < prevEnd {
				t.Fatalf("match %d %+v overlaps or precedes the previous, which ends at %d", i, m, prevEnd)
			}
			prevEnd = m.End
			checkMatch(t, text[m.Start:m.End], m.Type, includePrivate)
		}

		out := Replace(text, ms, Tag)
		if len(ms) == 0 && out != text {
			t.Fatalf("Replace changed a text without matches")
		}
		masked := Replace(text, ms, Mask('*'))
		if len(masked) != len(text) {
			t.Fatalf("Mask changed the length from %d to %d", len(text), len(masked))
		}
	})
}

// checkMatch checks the value of a match against independent parsers.
func checkMatch(t *testing.T, value string, typ Type, includePrivate bool) {
	switch typ {
	case IPAddress:
		ip, err := netip.ParseAddr(value)
		if err != nil || !ip.Is4() {
			t.Fatalf("IP match %q does not parse as IPv4: %v", value, err)
		}
		if !includePrivate && (ip.IsPrivate() || ip.IsLoopback() || !ip.IsGlobalUnicast()) {
			t.Fatalf("IP match %q is not public", value)
		}
	case EmailAddress:
		local, domain, ok := strings.Cut(value, "@")
		if !ok || local == "" || !strings.Contains(domain, ".") {
			t.Fatalf("email match %q lacks a local part or a dotted domain", value)
		}
	default:
		t.Fatalf("match of unknown type %v", typ)
	}
}
