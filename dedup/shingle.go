package dedup

import (
	"fmt"
	"unicode"
	"unicode/utf8"

	"github.com/zeebo/xxh3"
)

// Default shingle sizes.
//
// Five words is datatrove's and FineWeb's choice. For scripts written
// without spaces a shingle is DefaultCharN characters, chosen on HPLT v2 web
// samples (hplt-project/release2_inspection, 200 documents per language,
// measured here with exact Jaccard similarity of shingle sets):
//
//   - n = 5 keeps distinct documents apart: their mean similarity is 0.001
//     in Chinese and Japanese and 0.010 to 0.022 in Thai, Khmer, Lao and
//     Myanmar, and 99% of pairs stay below 0.07. At n = 3 the abugidas
//     share common syllables (means 0.07 to 0.11, 99th percentiles up to
//     0.18); at n = 2 their means reach 0.27 to 0.34.
//   - Smaller n tolerates edits better: with one character in 40 replaced,
//     a copy keeps similarity 0.75 to 0.77 at n = 5 but only 0.51 to 0.54
//     at n = 12, in every one of the six scripts.
//
// One character carries less than a word, so a 5-character shingle spans
// less text than a 5-word one. Near duplicates in these scripts therefore
// stay above the LSH threshold after somewhat more editing than English
// ones.
const (
	DefaultWordN = 5
	DefaultCharN = 5
)

// ShingleConfig sets the shingle sizes. A zero field takes its default.
type ShingleConfig struct {
	// WordN is the number of words in a shingle of space-separated text.
	// Default DefaultWordN.
	WordN int
	// CharN is the number of characters in a shingle of Han, Hiragana,
	// Katakana, Thai, Lao, Khmer or Myanmar text. Default DefaultCharN.
	CharN int
}

// maxShingleN bounds WordN and CharN. Longer shingles would let a single
// edit hide most of a document from the near-duplicate check.
const maxShingleN = 64

func (c ShingleConfig) withDefaults() ShingleConfig {
	if c.WordN == 0 {
		c.WordN = DefaultWordN
	}
	if c.CharN == 0 {
		c.CharN = DefaultCharN
	}
	return c
}

func (c ShingleConfig) validate() error {
	if c.WordN < 1 || c.WordN > maxShingleN {
		return fmt.Errorf("dedup: invalid WordN %d: must be 1 to %d", c.WordN, maxShingleN)
	}
	if c.CharN < 1 || c.CharN > maxShingleN {
		return fmt.Errorf("dedup: invalid CharN %d: must be 1 to %d", c.CharN, maxShingleN)
	}
	return nil
}

// Shingler cuts normalised text into shingles and hashes each to 64 bits
// with XXH3. A Shingler reuses its buffers between calls, so it is not safe
// for concurrent use; give each goroutine its own.
//
// The rules:
//   - Text is normalised by AppendNormalized first.
//   - Runes of Han, Hiragana, Katakana, Thai, Lao, Khmer and Myanmar are
//     "spaceless": each is one character unit, and spaces between them are
//     ignored. Other runes form words, delimited by spaces. Digits, marks
//     and other runes of the Common and Inherited scripts (such as the
//     Katakana prolonged sound mark ー) join the script next to them in the
//     same space-delimited token, so "2019年" is five character units.
//   - Maximal runs of words and runs of characters are shingled separately:
//     every window of WordN consecutive words, and every window of CharN
//     consecutive characters.
//   - A run shorter than its window is one shingle of the whole run. So a
//     document shorter than the shingle size is one shingle of its whole
//     normalised text, and two different short documents share nothing.
//   - A document whose normalised form is empty (empty, blank, or only
//     punctuation and symbols) has no shingles.
//
// Word shingles are hashed with XXH3-64, seed 0, over the words joined by
// single spaces. Character shingles are hashed over the characters' UTF-8
// bytes without spaces, with seed charShingleSeed, so a word shingle and a
// character shingle of the same bytes get different hashes.
type Shingler struct {
	cfg   ShingleConfig
	norm  normalizer
	text  []byte // normalised text of the current document
	units []textUnit
	chars []byte // bytes of one character shingle
}

// charShingleSeed separates character shingles from word shingles.
const charShingleSeed = 0x6368617273 // "chars"

// textUnit is one word or one spaceless character of the normalised text.
type textUnit struct {
	start, end int32
	char       bool
}

// NewShingler returns a Shingler for cfg after filling in defaults.
func NewShingler(cfg ShingleConfig) (*Shingler, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return &Shingler{cfg: cfg}, nil
}

// AppendShingles appends the 64-bit hashes of text's shingles to dst in
// document order, one per window, so a shingle that occurs twice is
// appended twice. It appends nothing when text has no shingles.
func (s *Shingler) AppendShingles(dst []uint64, text string) []uint64 {
	s.text = s.norm.appendNormalized(s.text[:0], text)
	if len(s.text) == 0 {
		return dst
	}
	s.splitUnits()
	for a := 0; a < len(s.units); {
		b := a + 1
		for b < len(s.units) && s.units[b].char == s.units[a].char {
			b++
		}
		if s.units[a].char {
			dst = s.appendCharShingles(dst, s.units[a:b])
		} else {
			dst = s.appendWordShingles(dst, s.units[a:b])
		}
		a = b
	}
	return dst
}

func (s *Shingler) appendWordShingles(dst []uint64, run []textUnit) []uint64 {
	n := min(s.cfg.WordN, len(run))
	// Words of one run are separated by exactly one space in s.text, so a
	// window is one contiguous span.
	for i := 0; i+n <= len(run); i++ {
		dst = append(dst, xxh3.Hash(s.text[run[i].start:run[i+n-1].end]))
	}
	return dst
}

func (s *Shingler) appendCharShingles(dst []uint64, run []textUnit) []uint64 {
	n := min(s.cfg.CharN, len(run))
	for i := 0; i+n <= len(run); i++ {
		s.chars = s.chars[:0]
		for _, u := range run[i : i+n] {
			s.chars = append(s.chars, s.text[u.start:u.end]...)
		}
		dst = append(dst, xxh3.HashSeed(s.chars, charShingleSeed))
	}
	return dst
}

// splitUnits fills s.units from s.text.
func (s *Shingler) splitUnits() {
	s.units = s.units[:0]
	if isASCII(s.text) {
		s.splitASCIIWords()
		return
	}
	start := 0
	for i := 0; i <= len(s.text); i++ {
		if i == len(s.text) || s.text[i] == ' ' {
			s.splitToken(start, i)
			start = i + 1
		}
	}
}

func (s *Shingler) splitASCIIWords() {
	start := 0
	for i, c := range s.text {
		if c == ' ' {
			s.units = append(s.units, textUnit{start: int32(start), end: int32(i)})
			start = i + 1
		}
	}
	s.units = append(s.units, textUnit{start: int32(start), end: int32(len(s.text))})
}

// Script classes of a rune for splitUnits.
const (
	classWord   = iota // part of a space-delimited word
	classChar          // a spaceless-script character
	classAttach        // Common or Inherited: takes the class of its neighbours
)

// splitToken appends the units of one space-delimited token s.text[ts:te]:
// each maximal piece of word runes is a word unit, and each rune of a
// spaceless piece is a character unit.
func (s *Shingler) splitToken(ts, te int) {
	tok := s.text[ts:te]
	class := classAttach // no class decided yet
	wordStart := 0
	for i := 0; i < len(tok); {
		r, size := utf8.DecodeRune(tok[i:])
		c := runeClass(r)
		switch {
		case c == classAttach && class == classAttach:
			// Leading attach runes wait for the first decided rune.
			i += size
			continue
		case c == classAttach:
			c = class
		case class == classAttach:
			if c == classChar {
				s.addChars(ts, ts+i) // the leading attach runes
			}
		case c != class && class == classWord:
			s.addUnit(ts+wordStart, ts+i, false)
		case c != class:
			wordStart = i
		}
		class = c
		if c == classChar {
			s.addUnit(ts+i, ts+i+size, true)
		}
		i += size
	}
	if class != classChar {
		s.addUnit(ts+wordStart, te, false)
	}
}

func (s *Shingler) addUnit(start, end int, char bool) {
	s.units = append(s.units, textUnit{start: int32(start), end: int32(end), char: char})
}

// addChars appends each rune of s.text[start:end] as a character unit.
func (s *Shingler) addChars(start, end int) {
	for i := start; i < end; {
		_, size := utf8.DecodeRune(s.text[i:end])
		s.addUnit(i, i+size, true)
		i += size
	}
}

func runeClass(r rune) int {
	if r < utf8.RuneSelf {
		if r >= '0' && r <= '9' {
			return classAttach
		}
		return classWord
	}
	if isSpaceless(r) {
		return classChar
	}
	if unicode.In(r, unicode.Common, unicode.Inherited) {
		return classAttach
	}
	return classWord
}

// spacelessScripts are the scripts written without spaces between words.
var spacelessScripts = []*unicode.RangeTable{
	unicode.Han, unicode.Hiragana, unicode.Katakana,
	unicode.Thai, unicode.Lao, unicode.Khmer, unicode.Myanmar,
}

func isSpaceless(r rune) bool {
	if isCaselessSpaceless(r) {
		return true
	}
	// None of the spaceless scripts has code points below Thai (U+0E00),
	// in Hangul Jamo to Tagbanwa (U+1100-U+177F), or in Mongolian to
	// Tai Tham (U+1800-U+19DF, except the Khmer symbols at U+19E0).
	if r < 0x0E00 || (r >= 0x1100 && r < 0x1780) || (r >= 0x1800 && r < 0x19E0) {
		return false
	}
	return unicode.In(r, spacelessScripts...)
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}
