package dedup

import (
	"slices"
	"sync"
	"unicode"
	"unicode/utf8"
	"unsafe"

	"golang.org/x/text/unicode/norm"
)

// AppendNormalized appends the form of text that near-duplicate hashing
// compares, and returns the extended buffer. The steps, in order:
//
//   - NFKC normalisation, so NFC and NFD spellings, full-width letters and
//     ligatures compare equal.
//   - Case folding: each rune becomes the lowercase of its uppercase. This
//     merges the case variants that simple Unicode case folding merges, and
//     ß and ẞ become "ss" as in full case folding.
//   - Format characters (Unicode category Cf: zero-width spaces and joiners,
//     U+2060, U+FEFF, the soft hyphen, bidi marks) are removed without a
//     trace.
//   - Every other rune that is not a letter, mark or number (punctuation,
//     symbols, controls, whitespace, private-use and unassigned code points,
//     invalid UTF-8) becomes a word break, so "| 2019 | 4.1 |" keeps its
//     digits as the words "2019 4 1".
//   - Word breaks collapse to one ASCII space, with none at either end.
//
// The output is valid UTF-8. Empty output means the text has no letter,
// mark or number, and such a text has no shingles. AppendNormalized is safe
// for concurrent use.
func AppendNormalized(dst []byte, text string) []byte {
	n := normalizerPool.Get().(*normalizer)
	dst = n.appendNormalized(dst, text)
	normalizerPool.Put(n)
	return dst
}

var normalizerPool = sync.Pool{New: func() any { return new(normalizer) }}

// normalizer holds the NFKC iterator and its output buffer, so repeated
// calls do not allocate. (norm.Form.AppendString allocates on every call
// with golang.org/x/text v0.44; an Iter kept in a struct does not.)
type normalizer struct {
	iter    norm.Iter
	scratch []byte
}

// asciiFold maps each ASCII byte to the byte it becomes after
// normalisation: letters fold to lowercase, digits stay, and everything else
// maps to 0, a word break.
var asciiFold = func() (t [utf8.RuneSelf]byte) {
	for c := byte('0'); c <= '9'; c++ {
		t[c] = c
	}
	for c := byte('a'); c <= 'z'; c++ {
		t[c] = c
		t[c-'a'+'A'] = c
	}
	return t
}()

// normWriter appends normalised output and turns runs of word breaks into a
// single space placed only between two kept runes.
type normWriter struct {
	dst     []byte
	start   int  // len(dst) when the call began
	pending bool // a word break came after the last kept rune
}

func (w *normWriter) wordBreak() { w.pending = len(w.dst) > w.start }

func (w *normWriter) ascii(s string) {
	// The output is at most one byte longer than s, so reserve that and
	// write by index.
	d := slices.Grow(w.dst, len(s)+1)
	n := len(d)
	d = d[:cap(d)]
	pending := w.pending
	for i := 0; i < len(s); i++ {
		c := asciiFold[s[i]]
		if c == 0 {
			pending = n > w.start
			continue
		}
		if pending {
			d[n] = ' '
			n++
			pending = false
		}
		d[n] = c
		n++
	}
	w.dst, w.pending = d[:n], pending
}

func (w *normWriter) rune(r rune) {
	if w.pending {
		w.dst = append(w.dst, ' ')
		w.pending = false
	}
	w.dst = utf8.AppendRune(w.dst, r)
}

func (n *normalizer) appendNormalized(dst []byte, text string) []byte {
	// Normalised ASCII is never longer than its input, so one growth covers
	// the common case.
	w := normWriter{dst: slices.Grow(dst, len(text)), start: len(dst)}
	for i := 0; i < len(text); {
		j := i
		for j < len(text) && text[j] < utf8.RuneSelf {
			j++
		}
		if j == len(text) {
			w.ascii(text[i:])
			break
		}

		// The ASCII character just before a non-ASCII run may compose with a
		// combining mark at the start of the run, so NFKC must see it. ASCII
		// never composes with what precedes it, so the run can end at the
		// next ASCII byte.
		k := j
		if k > i {
			k--
		}
		w.ascii(text[i:k])
		m := j
		for m < len(text) && text[m] >= utf8.RuneSelf {
			m++
		}
		n.unicode(&w, text[k:m])
		i = m
	}
	return w.dst
}

// unicode normalises one segment that starts on a normalisation boundary.
// Invalid UTF-8 bytes are word breaks. They are cut out before NFKC because
// golang.org/x/text v0.44 groups an invalid lead byte with the bytes after
// it, so "\xf3¹" would keep its ¹ unnormalised while "¹" becomes "1".
func (n *normalizer) unicode(w *normWriter, seg string) {
	if utf8.ValidString(seg) {
		n.validUnicode(w, seg)
		return
	}
	for len(seg) > 0 {
		valid := 0
		for valid < len(seg) {
			r, size := utf8.DecodeRuneInString(seg[valid:])
			if r == utf8.RuneError && size == 1 {
				break
			}
			valid += size
		}
		n.validUnicode(w, seg[:valid])
		if valid == len(seg) {
			return
		}
		w.wordBreak()
		seg = seg[valid+1:]
	}
}

// validUnicode normalises valid UTF-8 that starts on a normalisation
// boundary.
func (n *normalizer) validUnicode(w *normWriter, seg string) {
	s := seg
	if norm.NFKC.QuickSpanString(seg) < len(seg) {
		n.scratch = n.scratch[:0]
		n.iter.InitString(norm.NFKC, seg)
		for !n.iter.Done() {
			n.scratch = append(n.scratch, n.iter.Next()...)
		}
		n.iter.InitString(norm.NFKC, "") // let go of the caller's text
		// The string view is dropped before scratch is written again.
		s = unsafe.String(unsafe.SliceData(n.scratch), len(n.scratch))
	}
	for _, r := range s {
		switch {
		case r < utf8.RuneSelf:
			if c := asciiFold[r]; c != 0 {
				w.rune(rune(c))
			} else {
				w.wordBreak()
			}
		case isCaselessSpaceless(r):
			w.rune(r)
		case unicode.IsLetter(r) || unicode.IsMark(r) || unicode.IsNumber(r):
			foldRune(w, r)
		case unicode.Is(unicode.Cf, r):
			// Invisible format characters vanish: "co\u00adop" reads "coop".
		default:
			w.wordBreak()
		}
	}
}

// isCaselessSpaceless reports whether r lies in one of the ranges of Han,
// Hiragana, Katakana, Thai, Khmer and Myanmar that hold only letters, marks
// and digits without case. Text in these scripts then skips the Unicode
// table lookups in normalisation and shingling. TestCaselessSpacelessRanges
// checks the ranges against Go's tables.
func isCaselessSpaceless(r rune) bool {
	switch {
	case r < 0x0E01:
		return false
	case r < 0x1780:
		return r <= 0x0E3A || (r >= 0x0E40 && r <= 0x0E4E) || (r >= 0x0E50 && r <= 0x0E59) || // Thai
			(r >= 0x1000 && r <= 0x1049) || (r >= 0x1050 && r <= 0x109D) // Myanmar
	case r < 0x3041:
		return r <= 0x17D3 || (r >= 0x17E0 && r <= 0x17E9) // Khmer
	}
	return r <= 0x3096 || // Hiragana
		(r >= 0x30A1 && r <= 0x30FA) || // Katakana
		(r >= 0x3400 && r <= 0x4DBF) || (r >= 0x4E00 && r <= 0x9FFF) // Han
}

// foldRune writes the case-folded form of a letter, mark or number.
func foldRune(w *normWriter, r rune) {
	if r == 'ß' || r == 'ẞ' {
		w.rune('s')
		w.dst = append(w.dst, 's')
		return
	}
	w.rune(unicode.ToLower(unicode.ToUpper(r)))
}
