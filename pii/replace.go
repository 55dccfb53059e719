package pii

import (
	"strings"
	"unicode/utf8"
)

// Replace returns text with each match replaced by repl(m, value), where
// value is text[m.Start:m.End]. Matches must be sorted by Start, as Scan
// returns them. A match that is out of bounds, inverted or overlaps the
// previous replaced match is skipped, so bad spans do not make it panic.
func Replace(text string, matches []Match, repl func(m Match, value string) string) string {
	if len(matches) == 0 {
		return text
	}
	var b strings.Builder
	b.Grow(len(text))
	last := 0
	for _, m := range matches {
		if m.Start < last || m.End < m.Start || m.End > len(text) {
			continue
		}
		b.WriteString(text[last:m.Start])
		b.WriteString(repl(m, text[m.Start:m.End]))
		last = m.End
	}
	b.WriteString(text[last:])
	return b.String()
}

// Tag is a replacement function for Replace that writes the type's tag of
// the Dolma convention, such as |||EMAIL_ADDRESS|||.
func Tag(m Match, _ string) string { return m.Type.Tag() }

// Mask returns a replacement function for Replace that writes the character
// c once per character of the value, so the text keeps its length in
// characters.
func Mask(c rune) func(m Match, value string) string {
	unit := string(c)
	return func(_ Match, value string) string {
		return strings.Repeat(unit, utf8.RuneCountInString(value))
	}
}
