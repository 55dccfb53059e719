package stages

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/winnow-data/winnow/pipeline"
)

// Drop reasons of gopher_quality, in the order its rules are checked. The
// first failing rule names the drop.
const (
	gopherShortDoc           = "gopher_short_doc"
	gopherLongDoc            = "gopher_long_doc"
	gopherMeanWordLengthLow  = "gopher_mean_word_length_low"
	gopherMeanWordLengthHigh = "gopher_mean_word_length_high"
	gopherHashRatio          = "gopher_hash_ratio"
	gopherEllipsisRatio      = "gopher_ellipsis_ratio"
	gopherBulletLines        = "gopher_bullet_lines"
	gopherEllipsisLines      = "gopher_ellipsis_lines"
	gopherAlphaWords         = "gopher_alpha_words"
	gopherStopWords          = "gopher_stop_words"
)

const gopherDoc = "Drops documents that fail the Gopher quality rules: word count, " +
	"mean word length, '#' and ellipsis ratios, bullet and ellipsis lines, words with letters and stop words. " +
	"The reason code names the first rule that fails."

// gopherMaxStopWordBytes bounds the stop words so that matching can lowercase
// a word into a fixed buffer on the stack.
const gopherMaxStopWordBytes = 64

func init() {
	pipeline.Register("gopher_quality", gopherDoc, true, DefaultGopherOptions(), newGopherFilter)
}

// GopherOptions configures gopher_quality. The defaults are the Gopher
// quality thresholds that datatrove, NeMo Curator, Dolma v1.6 and DCLM use.
//
// NOTE: the thresholds and stop words are English. The stage applies them
// to the documents whose lang is in Languages, and to documents with no
// lang (no langid stage ran) or und (too short or unclear, often junk);
// others pass unchecked until per-language thresholds exist.
type GopherOptions struct {
	Languages               []string `yaml:"languages" doc:"lang labels the rules apply to; documents with another label pass unchecked, documents with an empty lang or und are checked; [] checks every document; default [eng_Latn]"`
	MinWords                int      `yaml:"min_words" doc:"minimum words per document; a document with no words is dropped whatever this is; default 50"`
	MaxWords                int      `yaml:"max_words" doc:"maximum words per document; default 100000"`
	MinMeanWordLength       float64  `yaml:"min_mean_word_length" doc:"minimum mean word length, in code points; default 3"`
	MaxMeanWordLength       float64  `yaml:"max_mean_word_length" doc:"maximum mean word length, in code points; default 10"`
	MaxHashRatio            float64  `yaml:"max_hash_ratio" doc:"maximum '#' characters per word; default 0.1"`
	MaxEllipsisRatio        float64  `yaml:"max_ellipsis_ratio" doc:"maximum ellipses per word, counting each \"...\" and each \"…\"; default 0.1"`
	MaxBulletLineFraction   float64  `yaml:"max_bullet_line_fraction" doc:"maximum fraction of non-blank lines that start with a bullet (• ‣ ⁃ ◦ ● ▪ ■ - *); 0 to 1, default 0.9"`
	MaxEllipsisLineFraction float64  `yaml:"max_ellipsis_line_fraction" doc:"maximum fraction of non-blank lines that end with \"...\" or \"…\"; 0 to 1, default 0.3"`
	MinAlphaWordFraction    float64  `yaml:"min_alpha_word_fraction" doc:"minimum fraction of words that contain a letter; 0 to 1, default 0.8"`
	MinStopWords            int      `yaml:"min_stop_words" doc:"minimum number of words that are stop words, counting repeats; default 2"`
	StopWords               []string `yaml:"stop_words" doc:"stop words, matched case-insensitively against whole words; default [the, be, to, of, and, that, have, with]"`
}

// DefaultGopherOptions returns the options a config that names none gets.
func DefaultGopherOptions() GopherOptions {
	return GopherOptions{
		Languages:               []string{"eng_Latn"},
		MinWords:                50,
		MaxWords:                100_000,
		MinMeanWordLength:       3,
		MaxMeanWordLength:       10,
		MaxHashRatio:            0.1,
		MaxEllipsisRatio:        0.1,
		MaxBulletLineFraction:   0.9,
		MaxEllipsisLineFraction: 0.3,
		MinAlphaWordFraction:    0.8,
		MinStopWords:            2,
		StopWords:               []string{"the", "be", "to", "of", "and", "that", "have", "with"},
	}
}

// Validate checks every threshold and stop word. The error names the first
// bad field and its value.
func (o *GopherOptions) Validate() error {
	switch {
	case o.MinWords < 0:
		return fmt.Errorf("invalid min_words %d: must be 0 or more", o.MinWords)
	case o.MaxWords < o.MinWords:
		return fmt.Errorf("invalid max_words %d: must be at least min_words (%d)", o.MaxWords, o.MinWords)
	case !(o.MinMeanWordLength >= 0):
		return fmt.Errorf("invalid min_mean_word_length %v: must be 0 or more", o.MinMeanWordLength)
	case !(o.MaxMeanWordLength >= o.MinMeanWordLength):
		return fmt.Errorf("invalid max_mean_word_length %v: must be at least min_mean_word_length (%v)", o.MaxMeanWordLength, o.MinMeanWordLength)
	case !(o.MaxHashRatio >= 0):
		return fmt.Errorf("invalid max_hash_ratio %v: must be 0 or more", o.MaxHashRatio)
	case !(o.MaxEllipsisRatio >= 0):
		return fmt.Errorf("invalid max_ellipsis_ratio %v: must be 0 or more", o.MaxEllipsisRatio)
	case o.MinStopWords < 0:
		return fmt.Errorf("invalid min_stop_words %d: must be 0 or more", o.MinStopWords)
	case o.MinStopWords > 0 && len(o.StopWords) == 0:
		return fmt.Errorf("invalid stop_words: empty, but min_stop_words is %d", o.MinStopWords)
	}
	fractions := []struct {
		key   string
		value float64
	}{
		{"max_bullet_line_fraction", o.MaxBulletLineFraction},
		{"max_ellipsis_line_fraction", o.MaxEllipsisLineFraction},
		{"min_alpha_word_fraction", o.MinAlphaWordFraction},
	}
	for _, f := range fractions {
		if !(f.value >= 0 && f.value <= 1) {
			return fmt.Errorf("invalid %s %v: must be between 0 and 1", f.key, f.value)
		}
	}
	for _, l := range o.Languages {
		if !IsLangLabel(l) {
			return fmt.Errorf("invalid languages entry %q: not a label langid writes, such as eng_Latn", l)
		}
	}
	return validateStopWords(o.StopWords)
}

func validateStopWords(words []string) error {
	for _, w := range words {
		switch {
		case w == "":
			return fmt.Errorf("invalid stop_words entry %q: empty", w)
		case strings.ContainsFunc(w, unicode.IsSpace):
			return fmt.Errorf("invalid stop_words entry %q: contains whitespace, so it can never match one word", w)
		case len(stopWordKey(w)) > gopherMaxStopWordBytes:
			return fmt.Errorf("invalid stop_words entry %q: longer than %d bytes", w, gopherMaxStopWordBytes)
		}
	}
	return nil
}

// gopherFilter is the gopher_quality stage. It only reads its options and
// stop words, so concurrent Process calls share nothing they write.
type gopherFilter struct {
	opts  GopherOptions
	stop  *StopWords
	langs map[string]bool // nil: every document is checked
}

func newGopherFilter(opts GopherOptions, _ pipeline.Env) (pipeline.Stage, error) {
	f := &gopherFilter{opts: opts, stop: NewStopWords(opts.StopWords)}
	if len(opts.Languages) > 0 {
		f.langs = map[string]bool{}
		for _, l := range opts.Languages {
			f.langs[l] = true
		}
	}
	return f, nil
}

// Process drops the alive rows that fail a rule, with that rule's reason.
func (f *gopherFilter) Process(_ context.Context, b *pipeline.Batch) error {
	texts, langs := b.Strings(pipeline.ColText), b.Strings(pipeline.ColLang)
	for i := range b.Len() {
		if !b.Alive(i) {
			continue
		}
		if lang := langs.Value(i); f.langs != nil && lang != "" && lang != LangUndetermined && !f.langs[lang] {
			continue
		}
		if reason := f.opts.failedRule(MeasureGopher(texts.Value(i), f.stop)); reason != "" {
			b.Drop(i, reason)
		}
	}
	return nil
}

// failedRule returns the reason code of the first rule s fails, or "".
// Maximums are inclusive and minimums are too: a hash ratio of exactly 0.1
// passes max_hash_ratio 0.1. A document with no words fails the word count
// whatever min_words is, because no ratio is defined for it.
func (o *GopherOptions) failedRule(s GopherSignals) string {
	switch {
	case s.Words == 0 || s.Words < o.MinWords:
		return gopherShortDoc
	case s.Words > o.MaxWords:
		return gopherLongDoc
	case s.MeanWordLength() < o.MinMeanWordLength:
		return gopherMeanWordLengthLow
	case s.MeanWordLength() > o.MaxMeanWordLength:
		return gopherMeanWordLengthHigh
	case s.HashRatio() > o.MaxHashRatio:
		return gopherHashRatio
	case s.EllipsisRatio() > o.MaxEllipsisRatio:
		return gopherEllipsisRatio
	case s.BulletLineFraction() > o.MaxBulletLineFraction:
		return gopherBulletLines
	case s.EllipsisLineFraction() > o.MaxEllipsisLineFraction:
		return gopherEllipsisLines
	case s.AlphaWordFraction() < o.MinAlphaWordFraction:
		return gopherAlphaWords
	case s.StopWords < o.MinStopWords:
		return gopherStopWords
	}
	return ""
}

// StopWords is a set of stop words, matched case-insensitively. It is safe
// for concurrent use because it is never changed after NewStopWords.
type StopWords struct {
	short    []uint64            // packed keys of 1 to 7 ASCII bytes, sorted; see packLowerASCII
	long     map[string]struct{} // every other key
	maxBytes int                 // maximum key length, in bytes
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
	}
	slices.Sort(sw.short)
	sw.short = slices.Compact(sw.short)
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

// GopherSignals are the measurements the Gopher quality rules test, taken
// by MeasureGopher.
//
// A word is a whitespace-separated token with the punctuation and symbols
// (Unicode categories P and S) at either end stripped. A token that has
// nothing else is not a word. So "(hello)," is the 5-character word
// "hello", "don't" keeps its apostrophe, and "|", "—" or an emoji alone are
// not words. A line is the text between two LFs. A line that contains only
// whitespace is blank and is not counted, so blank lines between paragraphs
// do not dilute the line fractions.
type GopherSignals struct {
	Words         int // words, as defined above
	WordChars     int // code points in the words, after stripping
	AlphaWords    int // words that contain a letter (Unicode category L)
	StopWords     int // words in the stop-word set, each repeat counted
	Hashes        int // '#' characters anywhere in the text
	Ellipses      int // "..." (a run of n dots counts n/3 times) plus "…", anywhere
	Lines         int // non-blank lines
	BulletLines   int // non-blank lines whose first non-space character is a bullet
	EllipsisLines int // non-blank lines that end, before trailing whitespace, with "..." or "…"
}

// MeanWordLength returns the mean word length in code points, 0 without words.
func (s GopherSignals) MeanWordLength() float64 { return gopherRatio(s.WordChars, s.Words) }

// HashRatio returns '#' characters per word, 0 without words.
func (s GopherSignals) HashRatio() float64 { return gopherRatio(s.Hashes, s.Words) }

// EllipsisRatio returns ellipses per word, 0 without words.
func (s GopherSignals) EllipsisRatio() float64 { return gopherRatio(s.Ellipses, s.Words) }

// BulletLineFraction returns the fraction of lines that start with a bullet.
func (s GopherSignals) BulletLineFraction() float64 { return gopherRatio(s.BulletLines, s.Lines) }

// EllipsisLineFraction returns the fraction of lines that end with an ellipsis.
func (s GopherSignals) EllipsisLineFraction() float64 { return gopherRatio(s.EllipsisLines, s.Lines) }

// AlphaWordFraction returns the fraction of words that contain a letter.
func (s GopherSignals) AlphaWordFraction() float64 { return gopherRatio(s.AlphaWords, s.Words) }

func gopherRatio(n, d int) float64 {
	if d == 0 {
		return 0
	}
	return float64(n) / float64(d)
}

// isGopherBullet reports whether a line that starts with r is a bullet line.
// En and em dashes are not bullets: in Spanish, French and Russian prose
// they open lines of dialogue.
func isGopherBullet(r rune) bool {
	switch r {
	case '•', '‣', '⁃', '◦', '●', '▪', '■', '-', '*':
		return true
	}
	return false
}

// Character classes of MeasureGopher.
const (
	gopherOther     uint8 = iota // part of a word, not a letter: digits, marks
	gopherLetter                 // part of a word, a letter
	gopherStrip                  // punctuation or symbol, stripped from word ends
	gopherSpace                  // separates tokens
	gopherMultiByte              // first byte of a multi-byte UTF-8 sequence, or an invalid byte
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

func gopherRuneClass(r rune) uint8 {
	switch {
	case unicode.IsSpace(r):
		return gopherSpace
	case unicode.IsLetter(r):
		return gopherLetter
	case unicode.IsPunct(r) || unicode.IsSymbol(r):
		return gopherStrip
	}
	return gopherOther
}

// MeasureGopher measures text for the Gopher rules in one pass, without
// allocating. stop may be nil, which leaves GopherSignals.StopWords at 0.
func MeasureGopher(text string, stop *StopWords) GopherSignals {
	g := gopherScan{text: text, stop: stop}
	bmp := gopherBMPClasses()
	for i := 0; i < len(text); {
		c := text[i]
		class := gopherByteClass[c]
		if class <= gopherLetter {
			i = g.asciiWordRun(i)
			continue
		}
		r, size := rune(c), 1
		if class == gopherMultiByte {
			r, size = utf8.DecodeRuneInString(text[i:])
			if r < 1<<16 {
				class = bmp[r]
			} else {
				class = gopherRuneClass(r)
			}
		}

		if r != '.' && g.dots > 0 {
			g.flushDots()
		}
		switch {
		case r == '\n':
			g.endToken()
			g.endLine(i + 1)
		case class == gopherSpace:
			g.endToken()
		default:
			g.visible(i, size, r, class)
		}
		i += size
	}
	g.flushDots()
	g.endToken()
	g.endLine(len(text))
	return g.sig
}

// gopherScan is the state of MeasureGopher's pass. Byte offsets index text.
// The token fields describe the token being read, whose core is the span
// from its first to its last code point that is not stripped.
type gopherScan struct {
	text string
	stop *StopWords
	sig  GopherSignals

	inToken      bool
	tokenRunes   int // code points of the token so far
	coreStart    int // byte offset of the core, valid when hasCore
	coreEnd      int // byte offset past the core
	coreRuneFrom int // code-point index of the core's start within the token
	coreRuneTo   int // code-point index past the core's end
	hasCore      bool
	hasLetter    bool

	lineStart   int // byte offset of the line's first byte
	lineContent bool
	contentEnd  int // byte offset past the line's last non-space code point
	dots        int // length of the current run of '.'
}

// asciiWordRun consumes the ASCII letters and digits from byte offset i on
// and returns the offset after them. None of them is a bullet, a dot, a '#'
// or stripped, so the whole run is one step for the line and token state.
// Most bytes of Latin-script text take this path.
func (g *gopherScan) asciiWordRun(i int) int {
	text := g.text
	j, letters := i, uint8(0)
	for ; j < len(text); j++ {
		class := gopherByteClass[text[j]]
		if class > gopherLetter {
			break
		}
		letters |= class
	}

	if g.dots > 0 {
		g.flushDots()
	}
	g.lineContent = true
	g.extendToken(i, j, j-i, true, letters == gopherLetter)
	return j
}

// visible handles a code point that is not whitespace at byte offset i.
func (g *gopherScan) visible(i, size int, r rune, class uint8) {
	if !g.lineContent {
		g.lineContent = true
		if isGopherBullet(r) {
			g.sig.BulletLines++
		}
	}
	g.extendToken(i, i+size, 1, class != gopherStrip, class == gopherLetter)

	switch r {
	case '#':
		g.sig.Hashes++
	case '.':
		g.dots++
	case '…':
		g.sig.Ellipses++
	}
}

// extendToken adds text[i:j], which holds runes code points, to the token
// being read, starting one if there is none. core reports that none of the
// code points is stripped, and letter that one of them is a letter.
func (g *gopherScan) extendToken(i, j, runes int, core, letter bool) {
	g.contentEnd = j
	if !g.inToken {
		g.inToken, g.tokenRunes, g.hasCore, g.hasLetter = true, 0, false, false
	}
	if core {
		if !g.hasCore {
			g.hasCore, g.coreStart, g.coreRuneFrom = true, i, g.tokenRunes
		}
		g.coreEnd, g.coreRuneTo = j, g.tokenRunes+runes
		g.hasLetter = g.hasLetter || letter
	}
	g.tokenRunes += runes
}

func (g *gopherScan) flushDots() {
	g.sig.Ellipses += g.dots / 3
	g.dots = 0
}

func (g *gopherScan) endToken() {
	if !g.inToken {
		return
	}
	g.inToken = false
	if !g.hasCore {
		return
	}
	g.sig.Words++
	g.sig.WordChars += g.coreRuneTo - g.coreRuneFrom
	if g.hasLetter {
		g.sig.AlphaWords++
	}
	if g.stop != nil && g.stop.Contains(g.text[g.coreStart:g.coreEnd]) {
		g.sig.StopWords++
	}
}

// endLine closes the line that ends before byte offset next.
func (g *gopherScan) endLine(next int) {
	if g.lineContent {
		g.sig.Lines++
		content := g.text[g.lineStart:g.contentEnd]
		if strings.HasSuffix(content, "...") || strings.HasSuffix(content, "…") {
			g.sig.EllipsisLines++
		}
	}
	g.lineStart, g.lineContent = next, false
}
