package stages

import (
	"fmt"
	"hash/maphash"
	"math/bits"
	"strings"
	"sync"

	"go.yaml.in/yaml/v3"

	"github.com/winnow-data/winnow/pipeline"
)

// Drop reasons of gopher_repetition, in the order its rules are checked.
// The first failing rule names the drop.
const (
	repDupLineFrac     = "gopher_dup_line_frac"
	repDupParaFrac     = "gopher_dup_para_frac"
	repDupLineCharFrac = "gopher_dup_line_char_frac"
	repDupParaCharFrac = "gopher_dup_para_char_frac"
)

// repTopReasons and repDupReasons name the n-gram rules: index n-2 for the
// most frequent 2- to 4-gram, index n-5 for duplicated 5- to 10-grams.
var (
	repTopReasons = [3]string{"gopher_top_2gram", "gopher_top_3gram", "gopher_top_4gram"}
	repDupReasons = [6]string{
		"gopher_dup_5gram", "gopher_dup_6gram", "gopher_dup_7gram",
		"gopher_dup_8gram", "gopher_dup_9gram", "gopher_dup_10gram",
	}
)

const repetitionDoc = "Drops documents that fail the Gopher repetition rules: duplicated lines and paragraphs, " +
	"characters in them, characters covered by the most frequent 2- to 4-gram and by duplicated 5- to 10-grams. " +
	"A document whose lang label has a FineWeb-2 entry is judged with that language's limits, as FineWeb-2 judged it (per_language). " +
	"The reason code names the first rule that fails."

func init() {
	pipeline.Register("gopher_repetition", repetitionDoc, true, DefaultRepetitionOptions(), newRepetitionFilter)
}

// RepetitionOptions configures gopher_repetition. The defaults are the
// Gopher repetition thresholds that datatrove, NeMo Curator and Dolma use.
// Every maximum is inclusive. With PerLanguage, a document whose lang label
// has a FineWeb-2 entry is judged as FineWeb-2 judged its language (see
// forLanguage).
type RepetitionOptions struct {
	Languages                   []string             `yaml:"languages" doc:"lang labels to check; documents with another label pass unchecked, documents with an empty lang or und are always checked; default [] checks every document"`
	PerLanguage                 bool                 `yaml:"per_language" doc:"judge a document whose lang label has a FineWeb-2 entry (every langid label but eng_Latn has one) as FineWeb-2 did: that entry's duplicated-line fraction and n-gram limits, and the paragraph and character-fraction rules off; default true"`
	Overrides                   map[string]yaml.Node `yaml:"overrides" doc:"options for the documents of one lang label, keyed by label, such as {fra_Latn: {max_dup_line_fraction: 0.3}}; each replaces the label's value of the options it names (any option but languages, per_language and overrides); default {}"`
	MaxDupLineFraction          float64              `yaml:"max_dup_line_fraction" doc:"maximum fraction of non-blank lines that repeat an earlier line; 0 to 1; a FineWeb-2 entry replaces it (see per_language); default 0.3"`
	MaxDupParagraphFraction     float64              `yaml:"max_dup_paragraph_fraction" doc:"maximum fraction of paragraphs that repeat an earlier paragraph; 0 to 1; a FineWeb-2 entry turns it off (see per_language); default 0.3"`
	MaxDupLineCharFraction      float64              `yaml:"max_dup_line_char_fraction" doc:"maximum fraction of line characters in lines that repeat an earlier line; 0 to 1; a FineWeb-2 entry turns it off (see per_language); default 0.2"`
	MaxDupParagraphCharFraction float64              `yaml:"max_dup_paragraph_char_fraction" doc:"maximum fraction of line characters in paragraphs that repeat an earlier paragraph; 0 to 1; a FineWeb-2 entry turns it off (see per_language); default 0.2"`
	MaxTopNGramFractions        [3]float64           `yaml:"max_top_ngram_fractions" doc:"maximum characters covered by the most frequent 2-, 3- and 4-gram, per word character; can exceed 1 when occurrences overlap; a FineWeb-2 entry replaces them (see per_language); default [0.2, 0.18, 0.16]"`
	MaxDupNGramFractions        [6]float64           `yaml:"max_dup_ngram_fractions" doc:"maximum fraction of word characters covered by duplicated 5- to 10-grams; 0 to 1; a FineWeb-2 entry replaces them (see per_language); default [0.15, 0.14, 0.13, 0.12, 0.11, 0.1]"`
}

// DefaultRepetitionOptions returns the options a config that names none gets.
// Overrides is nil: yaml.v3 adds a mapping's keys to an existing map, and
// the registry decodes every config onto a copy of these defaults, so a
// map here would be shared by every stage built.
func DefaultRepetitionOptions() RepetitionOptions {
	return RepetitionOptions{
		Languages:                   []string{},
		PerLanguage:                 true,
		MaxDupLineFraction:          0.30,
		MaxDupParagraphFraction:     0.30,
		MaxDupLineCharFraction:      0.20,
		MaxDupParagraphCharFraction: 0.20,
		MaxTopNGramFractions:        [3]float64{0.20, 0.18, 0.16},
		MaxDupNGramFractions:        [6]float64{0.15, 0.14, 0.13, 0.12, 0.11, 0.10},
	}
}

// Validate checks every threshold and language label. The error names the
// first bad field and its value.
func (o *RepetitionOptions) Validate() error {
	fractions := []struct {
		key   string
		value float64
	}{
		{"max_dup_line_fraction", o.MaxDupLineFraction},
		{"max_dup_paragraph_fraction", o.MaxDupParagraphFraction},
		{"max_dup_line_char_fraction", o.MaxDupLineCharFraction},
		{"max_dup_paragraph_char_fraction", o.MaxDupParagraphCharFraction},
	}
	for i, v := range o.MaxDupNGramFractions {
		fractions = append(fractions, struct {
			key   string
			value float64
		}{fmt.Sprintf("max_dup_ngram_fractions[%d]", i), v})
	}
	if err := validateFractions(fractions); err != nil {
		return err
	}
	for i, v := range o.MaxTopNGramFractions {
		if !(v >= 0) {
			return fmt.Errorf("invalid max_top_ngram_fractions[%d] %v: must be 0 or more", i, v)
		}
	}
	if err := validateLanguages(o.Languages); err != nil {
		return err
	}
	_, err := resolveOverrides(o)
	return err
}

func (o *RepetitionOptions) langSettings() (bool, map[string]yaml.Node) {
	return o.PerLanguage, o.Overrides
}

// forLanguage implements langOptions. FineWeb-2 ran the Gopher repetition
// rules with the entry's dup_line_frac, top_n_grams and dup_n_grams. It
// turned the paragraph rules off, because its text extractor keeps few
// paragraph breaks, and the duplicated-line character rule too, leaving
// that to the FineWeb rule on duplicated characters. A repeated paragraph
// repeats its lines, so the line rule still applies to it. FineWeb-2 reads
// a dup_line_frac of 0 as "rule off". Limits above 1 are the same as 1,
// because fractions never exceed 1.
//
// NOTE: FineWeb-2 counted n-grams of the words its tokenizers gave, while a
// Chinese or Japanese word here is one character, so an n-gram covers less
// text and the same limits are likely stricter for those languages. An
// override per label can raise them.
func (o *RepetitionOptions) forLanguage(entry *fineweb2Rules) {
	o.Languages, o.Overrides = nil, nil
	if entry == nil {
		return
	}
	o.MaxDupLineFraction = min(entry.MaxDupLineFraction, 1)
	if entry.MaxDupLineFraction == 0 {
		o.MaxDupLineFraction = 1
	}
	o.MaxDupParagraphFraction = 1
	o.MaxDupLineCharFraction = 1
	o.MaxDupParagraphCharFraction = 1
	o.MaxTopNGramFractions = entry.MaxTopNGramFractions
	for i, v := range entry.MaxDupNGramFractions {
		o.MaxDupNGramFractions[i] = min(v, 1)
	}
}

// newRepetitionFilter builds the gopher_repetition stage. It only reads its
// rules, and per-document scratch space comes from repScratchPool, so
// concurrent Process calls share nothing they write.
func newRepetitionFilter(opts RepetitionOptions, _ pipeline.Env) (pipeline.Stage, error) {
	measure := func(_ *RepetitionOptions, text string) RepetitionSignals { return MeasureRepetition(text) }
	return newRuleFilter(&opts, opts.Languages, measure)
}

// failedRule returns the reason code of the first rule s fails, or "".
func (o *RepetitionOptions) failedRule(s RepetitionSignals) string {
	switch {
	case s.DupLineFraction() > o.MaxDupLineFraction:
		return repDupLineFrac
	case s.DupParagraphFraction() > o.MaxDupParagraphFraction:
		return repDupParaFrac
	case s.DupLineCharFraction() > o.MaxDupLineCharFraction:
		return repDupLineCharFrac
	case s.DupParagraphCharFraction() > o.MaxDupParagraphCharFraction:
		return repDupParaCharFrac
	}
	for n := 2; n <= 4; n++ {
		if s.TopNGramFraction(n) > o.MaxTopNGramFractions[n-2] {
			return repTopReasons[n-2]
		}
	}
	for n := 5; n <= 10; n++ {
		if s.DupNGramFraction(n) > o.MaxDupNGramFractions[n-5] {
			return repDupReasons[n-5]
		}
	}
	return ""
}

// signal returns the measurement the rule named by reason tested in s, and
// its threshold, for the rejects output. The signal is named after the
// reason code without its "gopher_" prefix.
func (o *RepetitionOptions) signal(reason string, s RepetitionSignals) (string, float64, float64) {
	name := strings.TrimPrefix(reason, "gopher_")
	switch reason {
	case repDupLineFrac:
		return name, s.DupLineFraction(), o.MaxDupLineFraction
	case repDupParaFrac:
		return name, s.DupParagraphFraction(), o.MaxDupParagraphFraction
	case repDupLineCharFrac:
		return name, s.DupLineCharFraction(), o.MaxDupLineCharFraction
	case repDupParaCharFrac:
		return name, s.DupParagraphCharFraction(), o.MaxDupParagraphCharFraction
	}
	for n := 2; n <= 4; n++ {
		if reason == repTopReasons[n-2] {
			return name, s.TopNGramFraction(n), o.MaxTopNGramFractions[n-2]
		}
	}
	for n := 5; n <= 10; n++ {
		if reason == repDupReasons[n-5] {
			return name, s.DupNGramFraction(n), o.MaxDupNGramFractions[n-5]
		}
	}
	return name, 0, 0
}

// RepetitionSignals are the measurements the Gopher repetition rules test,
// taken by MeasureRepetition. Characters are Unicode code points.
//
// A line is the text between two LFs with surrounding whitespace trimmed.
// A line that is then empty is blank, and blank lines are neither lines nor
// repeats. A paragraph is a run of non-blank lines between runs of blank
// lines, compared line by line. A line or paragraph is duplicated when an
// identical one came earlier in the document: the first occurrence is not a
// duplicate, so "A\nA\nA" has 2 duplicated lines of 3. A paragraph's
// characters are those of its lines, without the LFs, so LineChars is the
// denominator of both character fractions.
//
// A word is a run of non-whitespace, compared exactly (case and
// punctuation kept). A run with code points of scripts written without
// spaces is split as forEachWord describes, so each Han character of a
// Chinese line is a word. An n-gram is n consecutive words, across line and
// paragraph ends, and occurrences may overlap. N-grams are compared by a
// 64-bit hash, so two different n-grams collide with probability about
// 2^-64 per pair, which is ignored.
type RepetitionSignals struct {
	Lines             int // non-blank lines
	DupLines          int // lines identical to an earlier line
	LineChars         int // characters of the lines
	DupLineChars      int // characters of the duplicated lines
	Paragraphs        int // paragraphs
	DupParagraphs     int // paragraphs identical to an earlier paragraph
	DupParagraphChars int // characters of the duplicated paragraphs
	Words             int // words
	WordChars         int // characters of the words

	// TopNGramChars[n-2], for n from 2 to 4, is count * chars for the most
	// frequent n-gram: its number of occurrences times the characters of
	// its n words. Among equally frequent n-grams the one with the most
	// characters counts. It is 0 when no n-gram occurs twice, because a
	// document without a repeated n-gram has no repetition to measure.
	TopNGramChars [3]int
	// DupNGramChars[n-5], for n from 5 to 10, is the characters of the
	// words that lie in at least one occurrence of an n-gram occurring
	// more than once, each word counted once however many such n-grams
	// cover it.
	DupNGramChars [6]int
}

// DupLineFraction returns duplicated lines per non-blank line.
func (s RepetitionSignals) DupLineFraction() float64 { return gopherRatio(s.DupLines, s.Lines) }

// DupParagraphFraction returns duplicated paragraphs per paragraph.
func (s RepetitionSignals) DupParagraphFraction() float64 {
	return gopherRatio(s.DupParagraphs, s.Paragraphs)
}

// DupLineCharFraction returns the fraction of line characters in duplicated lines.
func (s RepetitionSignals) DupLineCharFraction() float64 {
	return gopherRatio(s.DupLineChars, s.LineChars)
}

// DupParagraphCharFraction returns the fraction of line characters in
// duplicated paragraphs.
func (s RepetitionSignals) DupParagraphCharFraction() float64 {
	return gopherRatio(s.DupParagraphChars, s.LineChars)
}

// TopNGramFraction returns TopNGramChars for n, 2 to 4, per word character.
func (s RepetitionSignals) TopNGramFraction(n int) float64 {
	return gopherRatio(s.TopNGramChars[n-2], s.WordChars)
}

// DupNGramFraction returns DupNGramChars for n, 5 to 10, per word character.
func (s RepetitionSignals) DupNGramFraction(n int) float64 {
	return gopherRatio(s.DupNGramChars[n-5], s.WordChars)
}

// textHashSeed seeds the hashes of lines and words. Hashes are compared
// only within one document, so a per-process seed is enough.
var textHashSeed = maphash.MakeSeed()

// repScratch is the space MeasureRepetition reuses between documents.
type repScratch struct {
	lines, paras hashCounts
	grams        hashCounts
	wordHash     []uint64 // hash of each word, in order
	wordChars    []int32  // characters of each word
	gramHash     []uint64 // hash of the n-gram starting at each word, for the current n
	gramChars    []int32  // characters of the n-gram starting at each word
	candidates   []int32  // positions whose n-gram may occur more than once, increasing
}

var repScratchPool = sync.Pool{New: func() any { return new(repScratch) }}

// MeasureRepetition measures text for the Gopher repetition rules. It reads
// the text once for lines, paragraphs and words, then makes one pass per
// n-gram size over the positions where a repeat is still possible.
func MeasureRepetition(text string) RepetitionSignals {
	sc := repScratchPool.Get().(*repScratch)
	defer repScratchPool.Put(sc)

	var s RepetitionSignals
	sc.scanLines(text, &s)
	sc.measureNGrams(&s)
	return s
}

// scanLines fills the line, paragraph and word counts and the word hashes.
func (sc *repScratch) scanLines(text string, s *RepetitionSignals) {
	sc.wordHash, sc.wordChars = sc.wordHash[:0], sc.wordChars[:0]
	sc.lines.reset(64)
	sc.paras.reset(16)

	var paraHash uint64
	paraChars, paraLines := 0, 0
	endParagraph := func() {
		if paraLines == 0 {
			return
		}
		s.Paragraphs++
		if sc.paras.add(paraHash) > 1 {
			s.DupParagraphs++
			s.DupParagraphChars += paraChars
		}
		paraHash, paraChars, paraLines = 0, 0, 0
	}

	for line := range strings.SplitSeq(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			endParagraph()
			continue
		}
		h := maphash.String(textHashSeed, line)
		chars := sc.addWords(line)
		s.Lines++
		s.LineChars += chars
		if sc.lines.add(h) > 1 {
			s.DupLines++
			s.DupLineChars += chars
		}
		paraHash = combineHash(paraHash, h)
		paraChars += chars
		paraLines++
	}
	endParagraph()
}

// addWords appends the words of line to the scratch word lists and returns
// the characters of line: those of its tokens plus its inner whitespace.
func (sc *repScratch) addWords(line string) int {
	chars := 0
	for i := 0; ; {
		start, end, tokenChars, spaces := nextWord(line, i)
		chars += spaces
		if start == end {
			return chars
		}
		if tokenChars != end-start && hasSplitScript(line[start:end]) {
			forEachWord(line[start:end], sc.addWord)
		} else {
			sc.addWord(line[start:end], tokenChars)
		}
		chars += tokenChars
		i = end
	}
}

func (sc *repScratch) addWord(word string, chars int) {
	sc.wordHash = append(sc.wordHash, maphash.String(textHashSeed, word))
	sc.wordChars = append(sc.wordChars, int32(chars))
}

// combineHash extends the hash h of a sequence by the hash next. It is not
// commutative, so "a b" and "b a" hash differently.
func combineHash(h, next uint64) uint64 {
	return (bits.RotateLeft64(h, 23) ^ next) * 0x9e3779b97f4a7c15
}

// measureNGrams fills the n-gram signals from the word hashes, one pass per
// n-gram size over the candidate positions. An n-gram that occurs twice
// starts with an n-1-gram that occurs twice, so the candidates for n are
// the positions whose n-1-gram repeats: all positions for 2-grams, and
// usually far fewer after. The hash at a position extends the one for
// n-1 words by the next word's hash, so no n-gram is hashed from scratch.
func (sc *repScratch) measureNGrams(s *RepetitionSignals) {
	words := len(sc.wordHash)
	s.Words = words
	for _, c := range sc.wordChars {
		s.WordChars += int(c)
	}
	sc.gramHash = append(sc.gramHash[:0], sc.wordHash...)
	sc.gramChars = append(sc.gramChars[:0], sc.wordChars...)
	sc.candidates = sc.candidates[:0]
	for i := range max(words-1, 0) {
		sc.candidates = append(sc.candidates, int32(i))
	}

	for n := 2; n <= 10 && len(sc.candidates) > 0; n++ {
		top := sc.countNGrams(n)
		if n <= 4 {
			s.TopNGramChars[n-2] = top
		}
		sc.keepRepeated()
		if n >= 5 {
			s.DupNGramChars[n-5] = sc.coveredChars(n)
		}
	}
}

// countNGrams extends the hashes at the candidate positions to n words,
// counts them, and returns count * chars of the most frequent n-gram, or 0
// when none occurs twice. Candidates too close to the end are dropped.
func (sc *repScratch) countNGrams(n int) int {
	words := len(sc.wordHash)
	for len(sc.candidates) > 0 && int(sc.candidates[len(sc.candidates)-1])+n > words {
		sc.candidates = sc.candidates[:len(sc.candidates)-1]
	}
	sc.grams.reset(len(sc.candidates))
	var bestCount, bestChars int32
	for _, i := range sc.candidates {
		last := int(i) + n - 1
		sc.gramHash[i] = combineHash(sc.gramHash[i], sc.wordHash[last])
		sc.gramChars[i] += sc.wordChars[last]
		c, chars := sc.grams.add(sc.gramHash[i]), sc.gramChars[i]
		if c > bestCount || (c == bestCount && chars > bestChars) {
			bestCount, bestChars = c, chars
		}
	}
	if bestCount < 2 {
		return 0
	}
	return int(bestCount) * int(bestChars)
}

// keepRepeated keeps the candidates whose n-gram occurs more than once.
func (sc *repScratch) keepRepeated() {
	kept := sc.candidates[:0]
	for _, i := range sc.candidates {
		if sc.grams.get(sc.gramHash[i]) >= 2 {
			kept = append(kept, i)
		}
	}
	sc.candidates = kept
}

// coveredChars returns the characters of the words covered by the n-grams
// at the candidate positions, each word once. The candidates are in
// increasing order, and coveredTo, the word index up to which words are
// counted already, keeps the pass linear when occurrences overlap.
func (sc *repScratch) coveredChars(n int) int {
	total, coveredTo := 0, 0
	for _, i := range sc.candidates {
		for w := max(int(i), coveredTo); w < int(i)+n; w++ {
			total += int(sc.wordChars[w])
		}
		coveredTo = int(i) + n
	}
	return total
}

// hashCounts counts uint64 keys in an open-addressing table with linear
// probing. Keys are already well mixed hashes, so their low bits index the
// table directly. Key 0 marks an empty slot and is stored as 1. The table
// keeps the memory of earlier documents, so a warm table does not allocate.
type hashCounts struct {
	keys, spareKeys     []uint64
	counts, spareCounts []int32
	used                int
}

// reset empties the table and sizes it for about n keys.
func (t *hashCounts) reset(n int) {
	size := 16
	for size < 2*n {
		size *= 2
	}
	t.keys, t.counts = resize(t.keys, size), resize(t.counts, size)
	clear(t.keys)
	t.used = 0
}

// resize returns s with length size, reusing its memory when it is large enough.
func resize[T any](s []T, size int) []T {
	if cap(s) < size {
		return make([]T, size)
	}
	return s[:size]
}

// add counts one more occurrence of key and returns its count.
func (t *hashCounts) add(key uint64) int32 {
	if key == 0 {
		key = 1
	}
	if 2*(t.used+1) > len(t.keys) {
		t.grow()
	}
	mask := uint64(len(t.keys) - 1)
	for i := key & mask; ; i = (i + 1) & mask {
		switch t.keys[i] {
		case key:
			t.counts[i]++
			return t.counts[i]
		case 0:
			t.keys[i], t.counts[i] = key, 1
			t.used++
			return 1
		}
	}
}

// get returns the count of key, 0 when it was never added.
func (t *hashCounts) get(key uint64) int32 {
	if key == 0 {
		key = 1
	}
	mask := uint64(len(t.keys) - 1)
	for i := key & mask; ; i = (i + 1) & mask {
		switch t.keys[i] {
		case key:
			return t.counts[i]
		case 0:
			return 0
		}
	}
}

// grow doubles the table and reinserts its keys. The old arrays become the
// spare ones that the next grow reuses.
func (t *hashCounts) grow() {
	oldKeys, oldCounts := t.keys, t.counts
	size := 2 * len(oldKeys)
	t.keys, t.counts = resize(t.spareKeys, size), resize(t.spareCounts, size)
	clear(t.keys)
	mask := uint64(size - 1)
	for j, key := range oldKeys {
		if key == 0 {
			continue
		}
		i := key & mask
		for t.keys[i] != 0 {
			i = (i + 1) & mask
		}
		t.keys[i], t.counts[i] = key, oldCounts[j]
	}
	t.spareKeys, t.spareCounts = oldKeys, oldCounts
}
