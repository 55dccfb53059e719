package stages

import (
	"fmt"
	"hash/maphash"
	"math"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"

	"github.com/winnow-data/winnow/pipeline"
)

// Drop reasons of fineweb_quality, in the order its rules are checked. The
// first failing rule names the drop.
const (
	finewebLinePunct = "fineweb_line_punct_ratio"
	finewebShortLine = "fineweb_short_line_ratio"
	finewebCharDup   = "fineweb_char_dup_ratio"
	finewebList      = "fineweb_list_ratio"
)

const finewebDoc = "Drops documents that fail the FineWeb quality rules: too few lines ending in punctuation, " +
	"too many short lines, characters in duplicated lines, and line breaks per word (lists). " +
	"A document whose lang label has a FineWeb-2 entry is judged with that language's limits, as FineWeb-2 judged it (per_language). " +
	"The reason code names the first rule that fails."

func init() {
	pipeline.Register("fineweb_quality", finewebDoc, true, DefaultFineWebOptions(), newFineWebFilter)
}

// FineWebOptions configures fineweb_quality. The defaults are the
// thresholds of datatrove's FineWeb quality filter, which FineWeb used.
// With PerLanguage, a document whose lang label has a FineWeb-2 entry is
// judged as FineWeb-2 judged its language (see forLanguage).
type FineWebOptions struct {
	Languages            []string             `yaml:"languages" doc:"lang labels to check; documents with another label pass unchecked, documents with an empty lang or und are always checked; default [] checks every document"`
	PerLanguage          bool                 `yaml:"per_language" doc:"judge a document whose lang label has a FineWeb-2 entry (every langid label but eng_Latn has one) as FineWeb-2 did: that entry's line punctuation and line-break limits, the short-line rule off and max_char_dup_ratio 0.1; default true"`
	Overrides            map[string]yaml.Node `yaml:"overrides" doc:"options for the documents of one lang label, keyed by label, such as {fra_Latn: {min_line_punct_ratio: 0.2}}; each replaces the label's value of the options it names (any option but languages, per_language and overrides); default {}"`
	MinLinePunctRatio    float64              `yaml:"min_line_punct_ratio" doc:"minimum fraction of non-blank lines that end in terminal punctuation (. ! ? \" ' … ” ’ 。 ！ ？); 0 to 1; a FineWeb-2 entry replaces it (see per_language); default 0.12"`
	MaxShortLineRatio    float64              `yaml:"max_short_line_ratio" doc:"maximum fraction of non-blank lines of at most short_line_max_chars characters; 0 to 1; a FineWeb-2 entry turns it off (see per_language); default 0.67"`
	ShortLineMaxChars    int                  `yaml:"short_line_max_chars" doc:"length, in code points after trimming whitespace, up to which a line is short; default 30"`
	MaxCharDupRatio      float64              `yaml:"max_char_dup_ratio" doc:"maximum fraction of line characters in lines that repeat an earlier line; 0 to 1; a FineWeb-2 entry sets it to 0.1 (see per_language); default 0.01"`
	MaxLineBreaksPerWord float64              `yaml:"max_line_breaks_per_word" doc:"maximum line breaks between non-blank lines per word; a FineWeb-2 entry replaces it (see per_language); default 0.3"`
}

// DefaultFineWebOptions returns the options a config that names none gets.
// Overrides is nil: yaml.v3 adds a mapping's keys to an existing map, and
// the registry decodes every config onto a copy of these defaults, so a
// map here would be shared by every stage built.
func DefaultFineWebOptions() FineWebOptions {
	return FineWebOptions{
		Languages:            []string{},
		PerLanguage:          true,
		MinLinePunctRatio:    0.12,
		MaxShortLineRatio:    0.67,
		ShortLineMaxChars:    30,
		MaxCharDupRatio:      0.01,
		MaxLineBreaksPerWord: 0.3,
	}
}

// Validate checks every threshold and language label. The error names the
// first bad field and its value.
func (o *FineWebOptions) Validate() error {
	err := validateFractions([]struct {
		key   string
		value float64
	}{
		{"min_line_punct_ratio", o.MinLinePunctRatio},
		{"max_short_line_ratio", o.MaxShortLineRatio},
		{"max_char_dup_ratio", o.MaxCharDupRatio},
	})
	switch {
	case err != nil:
		return err
	case o.ShortLineMaxChars < 0:
		return fmt.Errorf("invalid short_line_max_chars %d: must be 0 or more", o.ShortLineMaxChars)
	case !(o.MaxLineBreaksPerWord >= 0):
		return fmt.Errorf("invalid max_line_breaks_per_word %v: must be 0 or more", o.MaxLineBreaksPerWord)
	}
	if err := validateLanguages(o.Languages); err != nil {
		return err
	}
	_, err = resolveOverrides(o)
	return err
}

func (o *FineWebOptions) langSettings() (bool, map[string]yaml.Node) {
	return o.PerLanguage, o.Overrides
}

// finewebAnyLine is the min_line_punct_ratio that requires at least one
// line ending in punctuation: any ratio above 0 meets it.
const finewebAnyLine = math.SmallestNonzeroFloat64

// forLanguage implements langOptions. FineWeb-2 ran the FineWeb quality
// rules with the entry's line_punct_thr and new_line_ratio, with the
// short-line rule off and with 0.1 as the duplicated-character limit.
//
// datatrove drops a document whose punctuation ratio is at or below
// line_punct_thr, where winnow's minimum keeps a ratio equal to it. The
// two differ only at equality, except at 0: there FineWeb-2 requires at
// least one line ending in punctuation, so 0 becomes finewebAnyLine. A
// negative line_punct_thr turns the rule off.
func (o *FineWebOptions) forLanguage(entry *fineweb2Rules) {
	o.Languages, o.Overrides = nil, nil
	if entry == nil {
		return
	}
	switch thr := entry.MinLinePunctRatio; {
	case thr < 0:
		o.MinLinePunctRatio = 0
	case thr == 0:
		o.MinLinePunctRatio = finewebAnyLine
	default:
		o.MinLinePunctRatio = min(thr, 1)
	}
	o.MaxLineBreaksPerWord = entry.MaxLineBreaksPerWord
	o.MaxShortLineRatio = 1
	o.MaxCharDupRatio = 0.1
}

// newFineWebFilter builds the fineweb_quality stage. It only reads its
// rules, and the line table comes from finewebTablePool, so concurrent
// Process calls share nothing they write.
func newFineWebFilter(opts FineWebOptions, _ pipeline.Env) (pipeline.Stage, error) {
	measure := func(o *FineWebOptions, text string) FineWebSignals { return MeasureFineWeb(text, o.ShortLineMaxChars) }
	return newRuleFilter(&opts, opts.Languages, measure)
}

// failedRule returns the reason code of the first rule s fails, or "".
// Limits are inclusive. A document without non-blank lines fails the
// punctuation rule, because its ratio is 0.
func (o *FineWebOptions) failedRule(s FineWebSignals) string {
	switch {
	case s.LinePunctRatio() < o.MinLinePunctRatio:
		return finewebLinePunct
	case s.ShortLineRatio() > o.MaxShortLineRatio:
		return finewebShortLine
	case s.CharDupRatio() > o.MaxCharDupRatio:
		return finewebCharDup
	case s.LineBreaksPerWord() > o.MaxLineBreaksPerWord:
		return finewebList
	}
	return ""
}

// signal returns the measurement the rule named by reason tested in s, and
// its threshold, for the rejects output.
func (o *FineWebOptions) signal(reason string, s FineWebSignals) (string, float64, float64) {
	switch reason {
	case finewebLinePunct:
		return "line_punct_ratio", s.LinePunctRatio(), o.MinLinePunctRatio
	case finewebShortLine:
		return "short_line_ratio", s.ShortLineRatio(), o.MaxShortLineRatio
	case finewebCharDup:
		return "char_dup_ratio", s.CharDupRatio(), o.MaxCharDupRatio
	}
	return "line_breaks_per_word", s.LineBreaksPerWord(), o.MaxLineBreaksPerWord
}

// FineWebSignals are the measurements the FineWeb quality rules test, taken
// by MeasureFineWeb. Characters are Unicode code points.
//
// Lines are as in RepetitionSignals: trimmed, and blank lines are not
// lines. A duplicated line is identical to an earlier line, so its first
// occurrence is not counted. LineBreaks counts the breaks between
// consecutive non-blank lines, Lines-1, so a trailing newline or the blank
// lines between paragraphs do not make a document look like a list. Words
// are runs of non-whitespace, split as forEachWord describes when they
// have code points of scripts written without spaces.
type FineWebSignals struct {
	Lines        int // non-blank lines
	PunctLines   int // lines ending in . ! ? " ' … ” ’ 。 ！ or ？
	ShortLines   int // lines of at most the short-line length
	LineChars    int // characters of the lines
	DupLineChars int // characters of the duplicated lines
	LineBreaks   int // breaks between non-blank lines
	Words        int // words
}

// LinePunctRatio returns the fraction of lines ending in terminal punctuation.
func (s FineWebSignals) LinePunctRatio() float64 { return gopherRatio(s.PunctLines, s.Lines) }

// ShortLineRatio returns the fraction of short lines.
func (s FineWebSignals) ShortLineRatio() float64 { return gopherRatio(s.ShortLines, s.Lines) }

// CharDupRatio returns the fraction of line characters in duplicated lines.
func (s FineWebSignals) CharDupRatio() float64 { return gopherRatio(s.DupLineChars, s.LineChars) }

// LineBreaksPerWord returns line breaks per word, 0 without words.
func (s FineWebSignals) LineBreaksPerWord() float64 { return gopherRatio(s.LineBreaks, s.Words) }

var finewebTablePool = sync.Pool{New: func() any { return new(hashCounts) }}

// MeasureFineWeb measures text for the FineWeb rules in one pass. A line
// of at most shortLineChars code points is short.
func MeasureFineWeb(text string, shortLineChars int) FineWebSignals {
	seen := finewebTablePool.Get().(*hashCounts)
	defer finewebTablePool.Put(seen)
	seen.reset(64)

	var s FineWebSignals
	for line := range strings.SplitSeq(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		chars := 0
		for i := 0; ; {
			start, end, tokenChars, spaces := nextWord(line, i)
			chars += spaces + tokenChars
			if start == end {
				break
			}
			if tokenChars != end-start && hasSplitScript(line[start:end]) {
				s.Words += countSplitWords(line[start:end])
			} else {
				s.Words++
			}
			i = end
		}

		s.Lines++
		s.LineChars += chars
		if chars <= shortLineChars {
			s.ShortLines++
		}
		if endsInFineWebPunct(line) {
			s.PunctLines++
		}
		if seen.add(maphash.String(textHashSeed, line)) > 1 {
			s.DupLineChars += chars
		}
	}
	s.LineBreaks = max(s.Lines-1, 0)
	return s
}

// endsInFineWebPunct reports whether line ends in terminal punctuation.
// Unlike C4's rule, an ellipsis counts, as do curly closing quotes and the
// full-width marks of Chinese and Japanese, because this is a ratio over
// lines in any language rather than a rule that removes a line.
func endsInFineWebPunct(line string) bool {
	r, _ := utf8.DecodeLastRuneInString(line)
	switch r {
	case '.', '!', '?', '"', '\'', '…', '”', '’', '。', '！', '？':
		return true
	}
	return false
}

// Helpers shared by gopher_repetition, c4 and fineweb_quality.

// validateFractions checks that each value lies in [0, 1]; NaN fails.
func validateFractions(fractions []struct {
	key   string
	value float64
}) error {
	for _, f := range fractions {
		if !(f.value >= 0 && f.value <= 1) {
			return fmt.Errorf("invalid %s %v: must be between 0 and 1", f.key, f.value)
		}
	}
	return nil
}

func validateLanguages(langs []string) error {
	for _, l := range langs {
		if !isKnownLabel(l) {
			return fmt.Errorf("invalid languages entry %q: not a known lang label%s; use one that langid writes, such as eng_Latn, or one of FineWeb-2's, such as fra_Latn", l, didYouMean(l))
		}
	}
	return nil
}

// langGate selects the documents a language-specific filter checks: those
// whose lang is listed, empty (no langid stage ran) or und (too short or
// unclear, often junk). A nil gate checks every document.
type langGate map[string]bool

func newLangGate(langs []string) langGate {
	if len(langs) == 0 {
		return nil
	}
	g := langGate{}
	for _, l := range langs {
		g[l] = true
	}
	return g
}

func (g langGate) checks(lang string) bool {
	return g == nil || lang == "" || lang == LangUndetermined || g[lang]
}

// asciiSpace marks the ASCII bytes unicode.IsSpace accepts.
var asciiSpace = [256]bool{'\t': true, '\n': true, '\v': true, '\f': true, '\r': true, ' ': true}

// nextWord finds the first word of s at or after byte offset i: a run of
// code points that are not whitespace (unicode.IsSpace). It returns the
// word's byte span, its code points and the whitespace code points skipped
// before it. start == end means there is no word left.
func nextWord(s string, i int) (start, end, chars, spaces int) {
	for i < len(s) {
		c := s[i]
		if c < utf8.RuneSelf {
			if !asciiSpace[c] {
				break
			}
			i++
		} else {
			r, size := utf8.DecodeRuneInString(s[i:])
			if !unicode.IsSpace(r) {
				break
			}
			i += size
		}
		spaces++
	}
	start = i
	for i < len(s) {
		c := s[i]
		if c < utf8.RuneSelf {
			if asciiSpace[c] {
				break
			}
			i++
		} else {
			r, size := utf8.DecodeRuneInString(s[i:])
			if unicode.IsSpace(r) {
				break
			}
			i += size
		}
		chars++
	}
	return start, i, chars, spaces
}
