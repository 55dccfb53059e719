package tokens

import (
	"sync"
	"unicode"
	"unicode/utf8"
)

// runeClass is a set of flags naming the character classes of the split
// patterns that a code point belongs to. The classes come from Go's unicode
// package, as in tiktoken-go, whose pattern matcher uses the same tables.
type runeClass uint8

const (
	classLetter  runeClass = 1 << iota // \p{L}
	classNumber                        // \p{N}
	classSpace                         // \s, which is unicode.IsSpace
	classNewline                       // \r or \n
	// classUpper is o200k_base's [\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]: letters
	// that may start a word, and combining marks.
	classUpper
	// classLower is o200k_base's [\p{Ll}\p{Lm}\p{Lo}\p{M}]: letters that
	// may continue a word, and combining marks. Lm, Lo and marks are in
	// both classes.
	classLower
	// classUnmatched marks U+007F DELETE, which tiktoken-go v0.10.0 leaves
	// out of the negated sets [^\s\p{L}\p{N}] and [^\r\n\p{L}\p{N}]: the
	// ASCII bitmaps its generated matcher uses for them lack bit 127. So no
	// alternative matches at a DELETE, which counts as no token and
	// separates the pieces on either side. Counting it as a token would be
	// right for tiktoken itself, but the counts must equal the library's.
	classUnmatched
)

// other is true for the code points of [^\s\p{L}\p{N}], the punctuation,
// symbols, marks and controls that both patterns group into runs.
func (c runeClass) other() bool {
	return c&(classSpace|classLetter|classNumber|classUnmatched) == 0
}

// prefix is true for the code points of [^\r\n\p{L}\p{N}], which both
// patterns allow before a word.
func (c runeClass) prefix() bool {
	return c&(classNewline|classLetter|classNumber|classUnmatched) == 0
}

// bmpClasses holds the class of every code point below U+10000, so that
// splitting takes one table load per character instead of a search of the
// unicode range tables. It is built on first use, in a few milliseconds.
var bmpClasses = sync.OnceValue(func() *[1 << 16]runeClass {
	var t [1 << 16]runeClass
	for r := range rune(len(t)) {
		t[r] = classOf(r)
	}
	return &t
})

// classOf computes the class of r from the unicode tables.
func classOf(r rune) runeClass {
	var c runeClass
	if unicode.IsLetter(r) {
		c |= classLetter
	}
	if unicode.IsNumber(r) {
		c |= classNumber
	}
	if unicode.IsSpace(r) {
		c |= classSpace
	}
	if r == '\r' || r == '\n' {
		c |= classNewline
	}
	if r == '\x7f' {
		c |= classUnmatched
	}
	if unicode.In(r, unicode.Lu, unicode.Lt, unicode.Lm, unicode.Lo, unicode.M) {
		c |= classUpper
	}
	if unicode.In(r, unicode.Ll, unicode.Lm, unicode.Lo, unicode.M) {
		c |= classLower
	}
	return c
}

// classifier returns the class and the byte length of the code point at
// the start of a valid UTF-8 string.
type classifier struct {
	bmp *[1 << 16]runeClass
}

func newClassifier() classifier { return classifier{bmp: bmpClasses()} }

func (cl classifier) at(s string, i int) (runeClass, int) {
	if c := s[i]; c < utf8.RuneSelf {
		return cl.bmp[c], 1
	}
	r, n := utf8.DecodeRuneInString(s[i:])
	if r < 1<<16 {
		return cl.bmp[r], n
	}
	return classOf(r), n
}

// skip returns the end of the run of code points in class want that starts
// at byte offset i: the first offset at or after i whose code point has
// none of want's flags.
func (cl classifier) skip(s string, i int, want runeClass) int {
	for i < len(s) {
		c, n := cl.at(s, i)
		if c&want == 0 {
			break
		}
		i += n
	}
	return i
}

// skipOther returns the end of the run of [^\s\p{L}\p{N}] code points that
// starts at byte offset i.
func (cl classifier) skipOther(s string, i int) int {
	for i < len(s) {
		c, n := cl.at(s, i)
		if !c.other() {
			break
		}
		i += n
	}
	return i
}

// skipNumbers returns the end of the run of at most three \p{N} code points
// that starts at byte offset i, which both patterns take as one piece.
func (cl classifier) skipNumbers(s string, i int) int {
	for range 3 {
		if i == len(s) {
			break
		}
		c, n := cl.at(s, i)
		if c&classNumber == 0 {
			break
		}
		i += n
	}
	return i
}
