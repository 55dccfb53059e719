package stages

import (
	"sync"
	"unicode"
	"unicode/utf8"
)

// Word segmentation shared by gopher_quality, gopher_repetition and
// fineweb_quality.
//
// Words are separated by whitespace, except in scripts written without
// spaces. There winnow follows Unicode word segmentation (UAX #29, Unicode
// Text Segmentation) where it needs no dictionary:
//
//   - each Han ideograph and each Hiragana letter is a word, because
//     UAX #29 breaks on both sides of them;
//   - a run of Katakana, with the prolonged sound mark ー, is one word
//     (rule WB13);
//   - a combining mark belongs to the word before it (rule WB4);
//   - the Tibetan tsheg (U+0F0B, U+0F0C) and the Ethiopic wordspace
//     (U+1361) separate words as a space does.
//
// Hangul is written with spaces, so Korean needs nothing more.
//
// UAX #29 leaves Thai, Lao, Khmer and Myanmar to dictionary-based
// segmentation, which winnow does not ship. A run of letters and marks of
// those scripts counts as ceil(n/complexWordRunes) words of its n code
// points, and stop words are counted by longest match inside the run (see
// StopWords.countInRun).
//
// Every other script is split at whitespace only.

// complexWordRunes is the mean word length, in code points, assumed for
// Thai, Lao, Khmer and Myanmar text. It is an estimate: the common words of
// these languages are 2 to 6 code points long (Thai ที่ is 3, และ 3, ประเทศ
// 6, Khmer និង 3). Mean word length is then about 4 for such text, inside
// the range FineWeb-2 allows for every one of these languages (at least 2,
// at most 9 to 21).
const complexWordRunes = 4

// complexWords returns how many words a run of runes code points of Thai,
// Lao, Khmer or Myanmar counts as.
func complexWords(runes int) int {
	return (runes + complexWordRunes - 1) / complexWordRunes
}

// Character classes of word segmentation. The first five are the classes
// of MeasureGopher's ASCII table; the others occur only outside ASCII.
const (
	gopherOther     uint8 = iota // part of a word, not a letter: digits, format characters
	gopherLetter                 // part of a word, a letter
	gopherStrip                  // punctuation or symbol, stripped from word ends
	gopherSpace                  // separates tokens
	gopherMultiByte              // first byte of a multi-byte UTF-8 sequence, or an invalid byte
	gopherMark                   // combining mark (Unicode M): joins the word before it
	gopherIdeo                   // Han or Hiragana letter: a word by itself
	gopherKana                   // Katakana: a run is one word
	gopherComplex                // Thai, Lao, Khmer or Myanmar letter or mark: a run is ceil(n/4) words
	gopherBreak                  // punctuation that separates words: tsheg, Ethiopic wordspace
)

// gopherByteClass is the class of each ASCII byte; every other byte is
// gopherMultiByte, so one lookup sorts a byte.
var gopherByteClass = func() (t [256]uint8) {
	for c := range t {
		t[c] = gopherMultiByte
		if c < utf8.RuneSelf {
			t[c] = gopherRuneClass(rune(c))
		}
	}
	return t
}()

// gopherBMPClasses returns the class of every code point below U+10000,
// 64 KiB built on first use, because the unicode package's range tables
// cost a binary search per lookup.
var gopherBMPClasses = sync.OnceValue(func() *[1 << 16]uint8 {
	t := new([1 << 16]uint8)
	for r := range t {
		t[r] = gopherRuneClass(rune(r))
	}
	return t
})

// runeClass returns the class of r, from the table below U+10000.
func runeClass(bmp *[1 << 16]uint8, r rune) uint8 {
	if r < 1<<16 {
		return bmp[r]
	}
	return gopherRuneClass(r)
}

func gopherRuneClass(r rune) uint8 {
	switch {
	case unicode.IsSpace(r):
		return gopherSpace
	case r == '\u0F0B' || r == '\u0F0C' || r == '\u1361':
		return gopherBreak
	case isKana(r):
		return gopherKana
	case unicode.In(r, unicode.Thai, unicode.Lao, unicode.Khmer, unicode.Myanmar) && (unicode.IsLetter(r) || unicode.IsMark(r)):
		return gopherComplex
	case unicode.IsLetter(r) && unicode.In(r, unicode.Han, unicode.Hiragana):
		return gopherIdeo
	case unicode.IsLetter(r):
		return gopherLetter
	case unicode.IsMark(r):
		return gopherMark
	case unicode.IsPunct(r) || unicode.IsSymbol(r):
		return gopherStrip
	}
	return gopherOther
}

// isKana reports whether r has the Katakana word-break property of
// UAX #29: the Katakana script, plus the marks shared with Hiragana that
// lengthen or voice a Katakana syllable.
func isKana(r rune) bool {
	switch {
	case r == '\u30A0', r == '\u30FC', r == '\uFF70', r == '\uFF9E', r == '\uFF9F':
		return true
	case r >= '\u3031' && r <= '\u3035', r == '\u309B', r == '\u309C':
		return true
	}
	return unicode.Is(unicode.Katakana, r)
}

// Kinds of a run of code points within a whitespace-separated token.
// runPlain is the zero value, the kind of gopherScan's tokens unless set.
const (
	runPlain   uint8 = iota // any code points of spaced scripts, punctuation included
	runIdeo                 // one Han or Hiragana letter, with the marks after it
	runKana                 // Katakana
	runComplex              // Thai, Lao, Khmer or Myanmar letters and marks
	runNone                 // no run: a mark, or before the first code point
)

// runKind returns the kind of run a code point of class starts or
// continues. Marks return runNone: they continue whatever run is open.
func runKind(class uint8) uint8 {
	switch class {
	case gopherIdeo:
		return runIdeo
	case gopherKana:
		return runKana
	case gopherComplex:
		return runComplex
	case gopherMark:
		return runNone
	}
	return runPlain
}

// splitsToken reports whether a token with a code point of class is split
// into several words.
func splitsToken(class uint8) bool {
	return class >= gopherIdeo
}

// forEachWord calls emit with each word of token, a run of non-whitespace
// that contains a code point of a script written without spaces, and the
// word's length in code points. It splits token as the file comment
// describes. A stretch of other code points between the pieces is a word
// when it has a code point that is not punctuation or a symbol, so "(中文)"
// gives 中 and 文, and "iPhone手机" gives iPhone, 手 and 机. A run of n
// Thai, Lao, Khmer or Myanmar code points gives words of complexWordRunes
// code points and a last, shorter one.
func forEachWord(token string, emit func(word string, chars int)) {
	bmp := gopherBMPClasses()
	kind, start, chars, wordLike := runNone, 0, 0, false
	flush := func(end int) {
		switch {
		case kind == runComplex:
			emitComplexRun(token[start:end], chars, emit)
		case kind == runPlain && !wordLike:
		case kind != runNone:
			emit(token[start:end], chars)
		}
		kind, chars, wordLike = runNone, 0, false
	}

	for i, r := range token {
		class := runeClass(bmp, r)
		next := runKind(class)
		switch {
		case class == gopherBreak:
			flush(i)
			continue
		case next == runNone:
			// A mark joins the open run, or starts a plain one.
			if kind == runNone {
				kind, start = runPlain, i
			}
		case next == runIdeo || next != kind:
			flush(i)
			kind, start = next, i
		}
		chars++
		wordLike = wordLike || class != gopherStrip
	}
	flush(len(token))
}

// emitComplexRun emits a run of Thai, Lao, Khmer or Myanmar code points as
// words of complexWordRunes code points, the last one shorter.
func emitComplexRun(run string, chars int, emit func(word string, chars int)) {
	for chars > complexWordRunes {
		end := 0
		for range complexWordRunes {
			_, size := utf8.DecodeRuneInString(run[end:])
			end += size
		}
		emit(run[:end], complexWordRunes)
		run, chars = run[end:], chars-complexWordRunes
	}
	emit(run, chars)
}

// hasSplitScript reports whether token, a whitespace-separated token that
// is not all ASCII, has a code point of a script written without spaces or
// a character that separates words as a space does, so that forEachWord
// must split it.
func hasSplitScript(token string) bool {
	bmp := gopherBMPClasses()
	for _, r := range token {
		if splitsToken(runeClass(bmp, r)) {
			return true
		}
	}
	return false
}

// countSplitWords returns the number of words forEachWord finds in token.
func countSplitWords(token string) int {
	n := 0
	forEachWord(token, func(string, int) { n++ })
	return n
}
