package dedup

import (
	"unicode"
	"unicode/utf8"

	"github.com/cespare/xxhash/v2"
	"golang.org/x/text/unicode/norm"
)

// datatroveShingler reproduces the shingles of datatrove's MinHash
// signature step for its English word tokenizer, NLTK's word_tokenize, as
// read in datatrove's src/datatrove/utils/text.py and
// pipeline/dedup/minhash.py (commit 3647626) and NLTK's
// nltk/tokenize/destructive.py:
//
//  1. simplify_text: Python str.lower(); each number (\p{Nd}+, optionally
//     followed by one of . , ، ٫ ⎖ ⎗ ⎘ and more digits) becomes "0"; each
//     rune of datatrove's punctuation set becomes a space; whitespace
//     collapses; NFD, then nonspacing marks (Mn) are dropped.
//  2. word_tokenize on text that holds no punctuation reduces to a split on
//     whitespace, plus the NLTK rules that can still fire: the runes ‘
//     (U+2018), U+2012, U+2015 and ";" (which NFD makes from the Greek
//     question mark U+037E) stand alone, a run of backticks (from U+1FEF)
//     splits into pairs of backticks, and the words cannot, gimme, gonna,
//     gotta, lemme and (before a space) wanna split in two.
//  3. Every window of wordN tokens, joined by single spaces, is hashed with
//     XXH64, seed 0.
//
// Deliberate difference: datatrove writes no signature for a document of
// fewer than wordN tokens. Here such a document, like every short document
// in winnow, is one shingle of all its tokens, so it can match an equal
// short document.
//
// NOTE: checked against datatrove's published parameters and XXH64 only.
// No datatrove signature of a real document was available to compare with,
// and Python's Unicode tables (str.lower, unicodedata) may differ from Go's
// Unicode 15.0 tables for recently added characters.
type datatroveShingler struct {
	wordN int

	lower, simple, nfd []byte
	token              []byte     // current whitespace token, marks dropped
	out                []byte     // tokens joined by single spaces
	spans              [][2]int32 // token spans in out
}

func (d *datatroveShingler) appendShingles(dst []uint64, text string) []uint64 {
	d.lower = appendPythonLower(d.lower[:0], text)
	d.simple = appendTroveSimplified(d.simple[:0], d.lower)
	d.nfd = norm.NFD.Append(d.nfd[:0], d.simple...)
	d.tokenize()

	n := min(d.wordN, len(d.spans))
	if n == 0 {
		return dst
	}
	for i := 0; i+n <= len(d.spans); i++ {
		dst = append(dst, xxhash.Sum64(d.out[d.spans[i][0]:d.spans[i+n-1][1]]))
	}
	return dst
}

// tokenize splits d.nfd at Python whitespace, drops Mn runes, and passes
// each token to the NLTK rules.
func (d *datatroveShingler) tokenize() {
	d.out, d.spans, d.token = d.out[:0], d.spans[:0], d.token[:0]
	for i := 0; i < len(d.nfd); {
		r, size := utf8.DecodeRune(d.nfd[i:])
		i += size
		switch {
		case isPythonSpace(r):
			d.nltkToken()
		case unicode.Is(unicode.Mn, r):
		default:
			d.token = append(d.token, d.nfd[i-size:i]...)
		}
	}
	d.nltkToken()
}

// nltkToken splits d.token by the NLTK rules that survive simplification
// and emits the pieces.
func (d *datatroveShingler) nltkToken() {
	tok := d.token
	d.token = d.token[:0]
	start := 0
	for i := 0; i < len(tok); {
		r, size := utf8.DecodeRune(tok[i:])
		switch r {
		case '\u2018', '\u2012', '\u2015', ';':
			d.contractions(tok[start:i])
			d.emit(tok[i : i+size])
			i += size
		case '`':
			d.contractions(tok[start:i])
			j := i
			for j < len(tok) && tok[j] == '`' {
				j++
			}
			// NLTK pads the whole run, then splits it into "``" pairs.
			for ; i+2 <= j; i += 2 {
				d.emit(tok[i : i+2])
			}
			if i < j {
				d.emit(tok[i:j])
			}
			i = j
		default:
			i += size
			continue
		}
		start = i
	}
	d.contractions(tok[start:])
}

// nltkContractions are NLTK's CONTRACTIONS2 that need no apostrophe, as
// whole words and the length of their first part. "wanna" splits only
// before whitespace.
var nltkContractions = []struct {
	word  string
	split int
}{{"cannot", 3}, {"gimme", 3}, {"gonna", 3}, {"gotta", 3}, {"lemme", 3}, {"wanna", 3}}

// contractions emits piece, splitting every contraction that is a
// whole run of word characters, as NLTK's \b(can)(not)\b does.
func (d *datatroveShingler) contractions(piece []byte) {
	cut := 0
	for i := 0; i < len(piece); {
		r, size := utf8.DecodeRune(piece[i:])
		if !isPythonWordRune(r) {
			i += size
			continue
		}
		j := i
		for j < len(piece) {
			r, size := utf8.DecodeRune(piece[j:])
			if !isPythonWordRune(r) {
				break
			}
			j += size
		}
		if split, ok := matchContraction(piece[i:j], j == len(piece)); ok {
			d.emit(piece[cut:i])
			d.emit(piece[i : i+split])
			d.emit(piece[i+split : j])
			cut = j
		}
		i = j
	}
	d.emit(piece[cut:])
}

// matchContraction reports whether word is one of nltkContractions and the
// byte length of its first part. Python's case-insensitive matching lets
// the dotless ı stand for i.
func matchContraction(word []byte, atEnd bool) (split int, ok bool) {
	for _, c := range nltkContractions {
		if c.word == "wanna" && !atEnd {
			continue
		}
		j, n := 0, 0
		for n < len(c.word) && j < len(word) {
			r, size := utf8.DecodeRune(word[j:])
			if r != rune(c.word[n]) && (c.word[n] != 'i' || r != 'ı') {
				break
			}
			j += size
			n++
			if n == c.split {
				split = j
			}
		}
		if n == len(c.word) && j == len(word) {
			return split, true
		}
	}
	return 0, false
}

func (d *datatroveShingler) emit(tok []byte) {
	if len(tok) == 0 {
		return
	}
	if len(d.out) > 0 {
		d.out = append(d.out, ' ')
	}
	start := len(d.out)
	d.out = append(d.out, tok...)
	d.spans = append(d.spans, [2]int32{int32(start), int32(len(d.out))})
}

// appendPythonLower appends Python's str.lower() of s: the full lowercase
// mapping, which differs from the simple one only for U+0130, plus the
// final-sigma rule.
func appendPythonLower(dst []byte, s string) []byte {
	for i, r := range s {
		switch r {
		case 'İ':
			dst = append(dst, "i\u0307"...)
		case 'Σ':
			if isFinalSigma(s, i, i+len("Σ")) {
				dst = utf8.AppendRune(dst, 'ς')
			} else {
				dst = utf8.AppendRune(dst, 'σ')
			}
		default:
			dst = utf8.AppendRune(dst, unicode.ToLower(r))
		}
	}
	return dst
}

// isFinalSigma applies Unicode's Final_Sigma condition to the capital sigma
// at s[start:end]: a cased letter before it and none after it, skipping
// case-ignorable runes on both sides.
func isFinalSigma(s string, start, end int) bool {
	before := false
	for i := start; i > 0; {
		r, size := utf8.DecodeLastRuneInString(s[:i])
		i -= size
		if !isCaseIgnorable(r) {
			before = isCased(r)
			break
		}
	}
	if !before {
		return false
	}
	for _, r := range s[end:] {
		if !isCaseIgnorable(r) {
			return !isCased(r)
		}
	}
	return true
}

func isCased(r rune) bool {
	return unicode.In(r, unicode.Lu, unicode.Ll, unicode.Lt, unicode.Other_Lowercase, unicode.Other_Uppercase)
}

// isCaseIgnorable follows the Unicode Case_Ignorable property: categories
// Mn, Me, Cf, Lm and Sk, and the Word_Break classes MidLetter, MidNumLet
// and Single_Quote, listed here because Go has no Word_Break tables.
func isCaseIgnorable(r rune) bool {
	switch r {
	case '\'', '.', ':', '\u00b7', '\u0387', '\u055f', '\u05f4', '\u2018', '\u2019',
		'\u2024', '\u2027', '\ufe13', '\ufe52', '\ufe55', '\uff07', '\uff0e', '\uff1a':
		return true
	}
	return unicode.In(r, unicode.Mn, unicode.Me, unicode.Cf, unicode.Lm, unicode.Sk)
}

// troveNumberSeparators may join two digit runs into one number.
const troveNumberSeparators = ".,\u060c\u066b\u2396\u2397\u2398"

// appendTroveSimplified appends s with numbers replaced by "0" and
// datatrove's punctuation replaced by spaces.
func appendTroveSimplified(dst, s []byte) []byte {
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRune(s[i:])
		switch {
		case unicode.IsDigit(r):
			i = skipTroveNumber(s, i)
			dst = append(dst, '0')
			continue
		case isTrovePunctuation(r):
			dst = append(dst, ' ')
		default:
			dst = append(dst, s[i:i+size]...)
		}
		i += size
	}
	return dst
}

// skipTroveNumber returns the end of the number that starts at s[i].
func skipTroveNumber(s []byte, i int) int {
	i = skipDigits(s, i)
	r, size := utf8.DecodeRune(s[i:])
	if i < len(s) && containsRune(troveNumberSeparators, r) {
		if d, _ := utf8.DecodeRune(s[i+size:]); unicode.IsDigit(d) {
			i = skipDigits(s, i+size)
		}
	}
	return i
}

func skipDigits(s []byte, i int) int {
	for i < len(s) {
		r, size := utf8.DecodeRune(s[i:])
		if !unicode.IsDigit(r) {
			break
		}
		i += size
	}
	return i
}

func containsRune(set string, r rune) bool {
	for _, c := range set {
		if c == r {
			return true
		}
	}
	return false
}

// isTrovePunctuation reports membership in datatrove's PUNCTUATION set: the
// 32 ASCII punctuation characters, the C0 controls except tab and line feed,
// DEL and the C1 controls, and the 36 non-ASCII runes listed below.
func isTrovePunctuation(r rune) bool {
	switch {
	case r < 0x20:
		return r != '\t' && r != '\n'
	case r < 0x7f:
		return (r >= '!' && r <= '/') || (r >= ':' && r <= '@') || (r >= '[' && r <= '`') || (r >= '{' && r <= '~')
	case r < 0xa0:
		return true
	}
	switch r {
	case '\u00ab', '\u00b4', '\u00bb', // « ´ »
		'\u2013', '\u2014', '\u2019', '\u201c', '\u201d', '\u201e', '\u2026', // – — ’ “ ” „ …
		'\u2236', '\u2501', '\u25ba', // ∶ ━ ►
		'\u3001', '\u3002', '\u3008', '\u3009', '\u300a', '\u300b', // 、 。 〈 〉 《 》
		'\u300c', '\u300d', '\u3010', '\u3011', // 「 」 【 】
		'\uff01', '\uff05', '\uff08', '\uff09', '\uff0c', '\uff0e', // ！ ％ （ ） ， ．
		'\uff11', '\uff1a', '\uff1b', '\uff1f', '\uff5e': // １ ： ； ？ ～
		return true
	}
	return false
}

// isPythonSpace reports whether Python's str.isspace() is true for r:
// Unicode White_Space plus the separators U+001C to U+001F.
func isPythonSpace(r rune) bool {
	return unicode.IsSpace(r) || (r >= 0x1c && r <= 0x1f)
}

// isPythonWordRune reports whether r matches \w in a Python str pattern.
func isPythonWordRune(r rune) bool {
	return r == '_' || unicode.IsLetter(r) || unicode.IsNumber(r)
}
