package stages

import (
	"context"
	"fmt"
	"strings"
	"unicode"

	"go.yaml.in/yaml/v3"

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
	"A document whose lang label has a FineWeb-2 entry gets that language's word lengths, alpha word fraction and stop words (per_language). " +
	"In Chinese and Japanese each Han or Hiragana character is a word and a Katakana run one word; Thai, Lao, Khmer and Burmese count one word per 4 characters. " +
	"The reason code names the first rule that fails."

// gopherMaxStopWordBytes bounds the stop words so that matching can lowercase
// a word into a fixed buffer on the stack.
const gopherMaxStopWordBytes = 64

func init() {
	pipeline.Register("gopher_quality", gopherDoc, true, DefaultGopherOptions(), newGopherFilter)
}

// GopherOptions configures gopher_quality. The defaults are the Gopher
// quality thresholds that datatrove, NeMo Curator, Dolma v1.6 and DCLM use,
// with English stop words. With PerLanguage, a document whose lang label
// has a FineWeb-2 entry gets that entry's mean word lengths, alpha word
// fraction and stop words instead (see forLanguage). The other options
// apply to every document.
type GopherOptions struct {
	Languages               []string             `yaml:"languages" doc:"lang labels to check; documents with another label pass unchecked, documents with an empty lang or und are always checked; default [] checks every document"`
	PerLanguage             bool                 `yaml:"per_language" doc:"judge a document whose lang label has a FineWeb-2 entry (every langid label but eng_Latn has one) with that entry's min and max mean word length, min alpha word fraction and stop words, in place of this stage's; default true"`
	Overrides               map[string]yaml.Node `yaml:"overrides" doc:"options for the documents of one lang label, keyed by label, such as {fra_Latn: {min_words: 80}}; each replaces the label's value of the options it names (any option but languages, per_language and overrides); default {}"`
	MinWords                int                  `yaml:"min_words" doc:"minimum words per document; a document with no words is dropped whatever this is; default 50"`
	MaxWords                int                  `yaml:"max_words" doc:"maximum words per document; default 100000"`
	MinMeanWordLength       float64              `yaml:"min_mean_word_length" doc:"minimum mean word length, in code points; a FineWeb-2 entry replaces it (see per_language); default 3"`
	MaxMeanWordLength       float64              `yaml:"max_mean_word_length" doc:"maximum mean word length, in code points; a FineWeb-2 entry replaces it (see per_language); default 10"`
	MaxHashRatio            float64              `yaml:"max_hash_ratio" doc:"maximum '#' characters per word; default 0.1"`
	MaxEllipsisRatio        float64              `yaml:"max_ellipsis_ratio" doc:"maximum ellipses per word, counting each \"...\" and each \"…\"; default 0.1"`
	MaxBulletLineFraction   float64              `yaml:"max_bullet_line_fraction" doc:"maximum fraction of non-blank lines that start with a bullet (• ‣ ⁃ ◦ ● ▪ ■ - *); 0 to 1, default 0.9"`
	MaxEllipsisLineFraction float64              `yaml:"max_ellipsis_line_fraction" doc:"maximum fraction of non-blank lines that end with \"...\" or \"…\"; 0 to 1, default 0.3"`
	MinAlphaWordFraction    float64              `yaml:"min_alpha_word_fraction" doc:"minimum fraction of words that contain a letter; 0 to 1; a FineWeb-2 entry replaces it (see per_language); default 0.8"`
	MinStopWords            int                  `yaml:"min_stop_words" doc:"minimum number of stop-word matches, counting repeats; default 2"`
	StopWords               []string             `yaml:"stop_words" doc:"stop words, matched case-insensitively against whole words; one that is a single punctuation mark or symbol matches each occurrence of it; a FineWeb-2 entry replaces them (see per_language); default [the, be, to, of, and, that, have, with]"`
}

// DefaultGopherOptions returns the options a config that names none gets.
// Overrides is nil: yaml.v3 adds a mapping's keys to an existing map, and
// the registry decodes every config onto a copy of these defaults, so a
// map here would be shared by every stage built.
func DefaultGopherOptions() GopherOptions {
	return GopherOptions{
		Languages:               []string{},
		PerLanguage:             true,
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

// Validate checks every threshold, stop word, language label and override.
// The error names the first bad field and its value.
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
	if err := validateFractions(fractions); err != nil {
		return err
	}
	if err := validateLanguages(o.Languages); err != nil {
		return err
	}
	if err := validateStopWords(o.StopWords); err != nil {
		return err
	}
	_, err := resolveOverrides(o)
	return err
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

func (o *GopherOptions) langSettings() (bool, map[string]yaml.Node) {
	return o.PerLanguage, o.Overrides
}

// forLanguage implements langOptions. A FineWeb-2 entry sets the mean word
// lengths, the alpha word fraction and the stop words. A minimum of 0 turns
// a rule off in FineWeb-2 and here alike.
func (o *GopherOptions) forLanguage(entry *fineweb2Rules) {
	o.Languages, o.Overrides = nil, nil
	if entry == nil {
		return
	}
	o.MinMeanWordLength = entry.MinMeanWordLength
	o.MaxMeanWordLength = entry.MaxMeanWordLength
	o.MinAlphaWordFraction = entry.MinAlphaWordFraction
	o.StopWords = entry.StopWords
}

// gopherFilter is the gopher_quality stage. It only reads its rules, so
// concurrent Process calls share nothing they write.
type gopherFilter struct {
	rules *langRules[gopherRules]
	langs langGate
}

// gopherRules are the options and stop words for documents of one language.
type gopherRules struct {
	opts GopherOptions
	stop *StopWords
}

func newGopherFilter(opts GopherOptions, _ pipeline.Env) (pipeline.Stage, error) {
	rules, err := newLangRules(&opts, func(o *GopherOptions) *gopherRules {
		return &gopherRules{opts: *o, stop: NewStopWords(o.StopWords)}
	})
	if err != nil {
		return nil, err
	}
	return &gopherFilter{rules: rules, langs: newLangGate(opts.Languages)}, nil
}

// Process drops the alive rows that fail a rule, with that rule's reason.
func (f *gopherFilter) Process(_ context.Context, b *pipeline.Batch) error {
	texts, langs := b.Strings(pipeline.ColText), b.Strings(pipeline.ColLang)
	for i := range b.Len() {
		if !b.Alive(i) {
			continue
		}
		lang := langs.Value(i)
		if !f.langs.checks(lang) {
			continue
		}
		r := f.rules.forLabel(lang)
		s := MeasureGopher(texts.Value(i), r.stop)
		if reason := r.opts.failedRule(s); reason != "" {
			name, value, threshold := r.opts.signal(reason, s)
			b.DropSignal(i, reason, name, value, threshold)
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

// signal returns the measurement the rule named by reason tested in s, and
// the threshold it failed, for the rejects output.
func (o *GopherOptions) signal(reason string, s GopherSignals) (string, float64, float64) {
	switch reason {
	case gopherShortDoc:
		return "words", float64(s.Words), float64(o.MinWords)
	case gopherLongDoc:
		return "words", float64(s.Words), float64(o.MaxWords)
	case gopherMeanWordLengthLow:
		return "mean_word_length", s.MeanWordLength(), o.MinMeanWordLength
	case gopherMeanWordLengthHigh:
		return "mean_word_length", s.MeanWordLength(), o.MaxMeanWordLength
	case gopherHashRatio:
		return "hash_ratio", s.HashRatio(), o.MaxHashRatio
	case gopherEllipsisRatio:
		return "ellipsis_ratio", s.EllipsisRatio(), o.MaxEllipsisRatio
	case gopherBulletLines:
		return "bullet_line_fraction", s.BulletLineFraction(), o.MaxBulletLineFraction
	case gopherEllipsisLines:
		return "ellipsis_line_fraction", s.EllipsisLineFraction(), o.MaxEllipsisLineFraction
	case gopherAlphaWords:
		return "alpha_word_fraction", s.AlphaWordFraction(), o.MinAlphaWordFraction
	}
	return "stop_words", float64(s.StopWords), float64(o.MinStopWords)
}

// GopherSignals are the measurements the Gopher quality rules test, taken
// by MeasureGopher.
//
// A word is a whitespace-separated token with the punctuation and symbols
// (Unicode categories P and S) at either end stripped. A token that has
// nothing else is not a word. So "(hello)," is the 5-character word
// "hello", "don't" keeps its apostrophe, and "|", "—" or an emoji alone are
// not words. Scripts written without spaces split further, as words.go
// describes: each Han or Hiragana letter is a word, a run of Katakana is
// one word, and a run of n Thai, Lao, Khmer or Myanmar code points counts
// as ceil(n/4) words. A line is the text between two LFs. A line that
// contains only whitespace is blank and is not counted, so blank lines
// between paragraphs do not dilute the line fractions.
type GopherSignals struct {
	Words         int // words, as defined above
	WordChars     int // code points in the words, after stripping
	AlphaWords    int // words that contain a letter (Unicode category L)
	StopWords     int // stop-word matches, each repeat counted; see StopWords
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
