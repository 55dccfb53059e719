package tokens

import (
	"strings"
	"unicode/utf8"
)

// The pre-tokenizers below cut text into the same pieces as the split
// patterns of tiktoken-go v0.10.0 (codec/cl100k_base.go and
// codec/o200k_base.go), which are OpenAI's tiktoken patterns. Each piece
// function takes the offset of the next piece in a valid UTF-8 string and
// returns the offset of its end. It tries the pattern's alternatives in
// order, with the backtracking a regular expression engine would do, except
// in two places where the library's generated matcher does otherwise (see
// classUnmatched and whitespacePiece). The patterns match at least one
// character at every offset except at a U+007F DELETE, which Counter.Count
// skips, so every call makes progress. FuzzTokenCount checks the pieces'
// counts against the library.

// cl100kPiece returns the end of the piece at offset i under the split
// pattern of cl100k_base:
//
//	(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|
//	 ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
func (cl classifier) cl100kPiece(s string, i int) int {
	if s[i] == '\'' {
		if n := contractionLen(s[i:]); n > 0 {
			return i + n
		}
	}

	c, n := cl.at(s, i)
	switch {
	case c&classLetter != 0:
		return cl.skip(s, i+n, classLetter)
	case c&classNumber != 0:
		return cl.skipNumbers(s, i)
	}

	// [^\r\n\p{L}\p{N}]?\p{L}+ with the optional character present: a
	// space or punctuation glued to the word after it.
	if c.prefix() && i+n < len(s) {
		if next, m := cl.at(s, i+n); next&classLetter != 0 {
			return cl.skip(s, i+n+m, classLetter)
		}
	}

	if end := cl.punctuationPiece(s, i, c, false); end > 0 {
		return end
	}
	return cl.whitespacePiece(s, i)
}

// o200kPiece returns the end of the piece at offset i under the split
// pattern of o200k_base, where U is
// [\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}], W is [\p{Ll}\p{Lm}\p{Lo}\p{M}] and C is
// (?i:'s|'t|'re|'ve|'m|'ll|'d):
//
//	[^\r\n\p{L}\p{N}]?U*W+C?|[^\r\n\p{L}\p{N}]?U+W*C?|\p{N}{1,3}|
//	 ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+
func (cl classifier) o200kPiece(s string, i int) int {
	c, n := cl.at(s, i)
	if end := cl.o200kWord(s, i, c, n); end > 0 {
		return withContraction(s, end)
	}
	if c&classNumber != 0 {
		return cl.skipNumbers(s, i)
	}
	if end := cl.punctuationPiece(s, i, c, true); end > 0 {
		return end
	}
	return cl.whitespacePiece(s, i)
}

// o200kWord returns the end of the word at offset i before its optional
// contraction, or 0 when neither word alternative of o200k_base matches
// there. c and n are the class and length of the code point at i.
func (cl classifier) o200kWord(s string, i int, c runeClass, n int) int {
	// The optional [^\r\n\p{L}\p{N}] is tried present first, then absent.
	// It can be absent only where the word itself starts at i, which is the
	// case for a combining mark: marks are neither \p{L} nor \p{N}.
	prefixed := c.prefix() && i+n < len(s)
	if prefixed {
		if end := cl.casedWordEnd(s, i+n); end > 0 {
			return end
		}
	}
	if end := cl.casedWordEnd(s, i); end > 0 {
		return end
	}
	if prefixed {
		if end := cl.upperWordEnd(s, i+n); end > 0 {
			return end
		}
	}
	return cl.upperWordEnd(s, i)
}

// casedWordEnd matches U*W+ at offset q and returns its end, or 0.
//
// U* first takes the whole run of U. When a W follows the run, W+ takes the
// run of W from there. Otherwise U* gives code points back one at a time
// until W+ can start, which happens at the last code point of the run that
// is also in W (Lm, Lo or a mark). W+ then ends right after it, because the
// code points after it in the run are Lu or Lt.
func (cl classifier) casedWordEnd(s string, q int) int {
	j, lastLower := q, 0
	for j < len(s) {
		c, n := cl.at(s, j)
		if c&classUpper == 0 {
			break
		}
		j += n
		if c&classLower != 0 {
			lastLower = j
		}
	}
	if j < len(s) {
		if c, _ := cl.at(s, j); c&classLower != 0 {
			return cl.skip(s, j, classLower)
		}
	}
	return lastLower
}

// upperWordEnd matches U+W* at offset q and returns its end, or 0.
func (cl classifier) upperWordEnd(s string, q int) int {
	j := cl.skip(s, q, classUpper)
	if j == q {
		return 0
	}
	return cl.skip(s, j, classLower)
}

// punctuationPiece matches " ?[^\s\p{L}\p{N}]+[\r\n]*" at offset i, where
// c is the class of the code point at i, and returns its end, or 0. With
// slash set the tail is o200k_base's [\r\n/]*.
func (cl classifier) punctuationPiece(s string, i int, c runeClass, slash bool) int {
	start := i
	if s[i] == ' ' && i+1 < len(s) {
		start = i + 1
		c, _ = cl.at(s, start)
	}
	if !c.other() {
		return 0
	}
	end := cl.skipOther(s, start)
	for end < len(s) && (s[end] == '\r' || s[end] == '\n' || (slash && s[end] == '/')) {
		end++
	}
	return end
}

// whitespacePiece matches the last three alternatives of both patterns,
// \s*[\r\n]+|\s+(?!\S)|\s+, at offset i, where a white space character
// starts. Given the run of white space from i:
//   - with a CR or LF in it, the piece ends after the first run of CR and
//     LF characters in it;
//   - at the end of the text, the piece is the whole run;
//   - otherwise the piece is the run less its last character, which the
//     word or punctuation after it takes, unless that leaves nothing.
//
// For the first case a regular expression engine would backtrack \s* to
// the last CR or LF of the run, not the first. tiktoken-go v0.10.0's
// generated matcher searches for the first one, so "\n \n" is two pieces
// there, and the counts follow the library.
func (cl classifier) whitespacePiece(s string, i int) int {
	end, last := i, i
	for end < len(s) {
		if s[end] == '\r' || s[end] == '\n' {
			for end < len(s) && (s[end] == '\r' || s[end] == '\n') {
				end++
			}
			return end
		}
		c, n := cl.at(s, end)
		if c&classSpace == 0 {
			break
		}
		last = end
		end += n
	}
	if end == len(s) || last == i {
		return end
	}
	return last
}

// contractionLen returns the length of the contraction that starts s,
// which starts with an apostrophe, or 0. The patterns match 's, 't, 're,
// 've, 'm, 'll and 'd ignoring case. Case folding also makes U+017F LATIN
// SMALL LETTER LONG S match s.
func contractionLen(s string) int {
	if len(s) < 2 {
		return 0
	}
	switch s[1] {
	case 's', 'S', 't', 'T', 'm', 'M', 'd', 'D':
		return 2
	case 'r', 'R', 'v', 'V':
		if len(s) > 2 && s[2]|0x20 == 'e' {
			return 3
		}
	case 'l', 'L':
		if len(s) > 2 && s[2]|0x20 == 'l' {
			return 3
		}
	case 0xC5: // first byte of U+017F
		if len(s) > 2 && s[2] == 0xBF {
			return 3
		}
	}
	return 0
}

// withContraction returns end moved past the contraction at end, if any.
func withContraction(s string, end int) int {
	if end < len(s) && s[end] == '\'' {
		end += contractionLen(s[end:])
	}
	return end
}

// replaceInvalidBytes returns s with each byte that is not part of a valid
// UTF-8 sequence replaced by U+FFFD. tiktoken-go matches its pattern over
// the code points of the text as Go decodes them, one U+FFFD per invalid
// byte, and then tokenizes the UTF-8 of those code points, so counting the
// repaired text gives its counts.
func replaceInvalidBytes(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + len(s)/2)
	for _, r := range s {
		b.WriteRune(r)
	}
	return b.String()
}
