package stages

import (
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// StopWords is a set of stop words, matched case-insensitively. It is safe
// for concurrent use because it is never changed after NewStopWords.
//
// A stop word matches a whole word (see GopherSignals), with three
// exceptions. A stop word that is one punctuation mark or symbol, such as
// the Arabic comma "،" or the Tibetan shad "།", matches each occurrence of
// that mark. FineWeb-2's word tokenizers split such marks off as words, so
// its stop-word lists count them. Stop words of Thai, Lao, Khmer and
// Myanmar match inside runs of those scripts (see countInRun), and Hangul
// stop words also match the end of a Hangul word (see hasHangulSuffix).
type StopWords struct {
	short       []uint64            // packed keys of 1 to 7 ASCII bytes, sorted; see packLowerASCII
	long        map[string]struct{} // every other key
	maxBytes    int                 // maximum key length, in bytes
	singles     []rune              // keys of one code point, sorted
	complexLens []int               // byte lengths of the keys that start with a Thai, Lao, Khmer or Myanmar code point, longest first
	hangulLens  []int               // byte lengths of the keys that end with a Hangul syllable, longest first
}

// NewStopWords returns the set of words, each lowercased and put in NFC as
// normalize leaves document text. Words longer than gopherMaxStopWordBytes
// are left out, which GopherOptions.Validate reports as an error.
func NewStopWords(words []string) *StopWords {
	sw := &StopWords{long: map[string]struct{}{}}
	for _, w := range words {
		key := stopWordKey(w)
		if key == "" || len(key) > gopherMaxStopWordBytes {
			continue
		}
		sw.maxBytes = max(sw.maxBytes, len(key))
		if packed, ok := packLowerASCII(key); ok {
			sw.short = append(sw.short, packed)
		} else {
			sw.long[key] = struct{}{}
		}
		first, size := utf8.DecodeRuneInString(key)
		if size == len(key) {
			sw.singles = append(sw.singles, first)
		}
		if gopherRuneClass(first) == gopherComplex && !slices.Contains(sw.complexLens, len(key)) {
			sw.complexLens = append(sw.complexLens, len(key))
		}
		if last, _ := utf8.DecodeLastRuneInString(key); isHangulSyllable(last) && !slices.Contains(sw.hangulLens, len(key)) {
			sw.hangulLens = append(sw.hangulLens, len(key))
		}
	}
	slices.Sort(sw.short)
	sw.short = slices.Compact(sw.short)
	slices.Sort(sw.singles)
	sw.singles = slices.Compact(sw.singles)
	slices.SortFunc(sw.complexLens, func(a, b int) int { return b - a })
	slices.SortFunc(sw.hangulLens, func(a, b int) int { return b - a })
	return sw
}

func stopWordKey(w string) string {
	return strings.Map(unicode.ToLower, norm.NFC.String(w))
}

// packLowerASCII packs a word of 1 to 7 ASCII bytes, lowercased, into one
// integer: the bytes in the low 7 bytes and the length in the top byte. It
// reports false for any other word. Most stop words and most words of
// Latin-script text fit, and comparing integers is much cheaper than a map
// lookup.
func packLowerASCII[T string | []byte](word T) (uint64, bool) {
	if len(word) == 0 || len(word) > 7 {
		return 0, false
	}
	key := uint64(len(word)) << 56
	for k := range len(word) {
		c := word[k]
		if c >= utf8.RuneSelf {
			return 0, false
		}
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		key |= uint64(c) << (8 * k)
	}
	return key, true
}

// Contains reports whether word, lowercased, is in the set. It does not
// allocate.
func (sw *StopWords) Contains(word string) bool {
	if key, ok := packLowerASCII(word); ok {
		return sw.containsShort(key)
	}
	if len(word) > 3*sw.maxBytes {
		return false // lowercasing shrinks a UTF-8 encoding at most 3 times (K, the Kelvin sign, to k)
	}

	var buf [gopherMaxStopWordBytes]byte
	lower := buf[:0]
	for _, r := range word {
		r = unicode.ToLower(r)
		if len(lower)+utf8.RuneLen(r) > sw.maxBytes {
			return false
		}
		lower = utf8.AppendRune(lower, r)
	}
	if key, ok := packLowerASCII(lower); ok {
		return sw.containsShort(key)
	}
	_, ok := sw.long[string(lower)]
	return ok
}

func (sw *StopWords) containsShort(key uint64) bool {
	if len(sw.short) <= 16 {
		return slices.Contains(sw.short, key)
	}
	_, found := slices.BinarySearch(sw.short, key)
	return found
}

// singleRunes returns the stop words of one code point, sorted; nil for a
// nil set.
func (sw *StopWords) singleRunes() []rune {
	if sw == nil {
		return nil
	}
	return sw.singles
}

// containsRune reports whether the one-code-point word r is in the set, or
// false for a nil set. r must be a code point without case, such as a Han
// ideograph or a punctuation mark.
func (sw *StopWords) containsRune(r rune) bool {
	if sw == nil {
		return false
	}
	if len(sw.singles) <= 16 {
		return slices.Contains(sw.singles, r)
	}
	_, found := slices.BinarySearch(sw.singles, r)
	return found
}

// countInRun counts the stop words in run, a run of Thai, Lao, Khmer or
// Myanmar letters and marks, by greedy longest match. From the start of the
// run, it takes the longest stop word that begins there, or else moves on
// one code point. Without a dictionary, a match can be part of a longer
// word (Thai มี "have" inside มีนาคม "March"), so the count is an upper
// bound, which errs towards keeping a document. These scripts have no case,
// so the run is matched as it is.
func (sw *StopWords) countInRun(run string) int {
	if len(sw.complexLens) == 0 {
		return 0
	}
	n := 0
	for p := 0; p < len(run); {
		matched := 0
		for _, l := range sw.complexLens {
			if p+l > len(run) {
				continue
			}
			if _, ok := sw.long[run[p:p+l]]; ok {
				matched = l
				break
			}
		}
		if matched > 0 {
			n++
			p += matched
			continue
		}
		_, size := utf8.DecodeRuneInString(run[p:])
		p += size
	}
	return n
}

// hasHangulSuffix reports whether word, a word that is not itself a stop
// word, ends with a Hangul stop word. Korean writes particles and verb
// endings (의, 에서, 다) attached to the word before them, and FineWeb-2's
// Korean stop words are mostly such endings, which its word tokenizer
// splits off. Suffix matching counts at most one per word. It also matches
// a word that merely ends with the same syllable (대한 ends with the stop
// word 한), which errs towards keeping a document.
func (sw *StopWords) hasHangulSuffix(word string) bool {
	if len(sw.hangulLens) == 0 {
		return false
	}
	if last, _ := utf8.DecodeLastRuneInString(word); !isHangulSyllable(last) {
		return false
	}
	for _, l := range sw.hangulLens {
		if l < len(word) {
			if _, ok := sw.long[word[len(word)-l:]]; ok {
				return true
			}
		}
	}
	return false
}

// isHangulSyllable reports whether r is a precomposed Hangul syllable, the
// form of Korean text in NFC.
func isHangulSyllable(r rune) bool {
	return r >= '\uAC00' && r <= '\uD7A3'
}
