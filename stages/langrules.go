package stages

import (
	"context"
	_ "embed"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"go.yaml.in/yaml/v3"

	"github.com/winnow-data/winnow/pipeline"
)

// Per-language thresholds and stop words of gopher_quality,
// gopher_repetition and fineweb_quality.
//
// The table comes from FineWeb-2's per-language filter configs
// (huggingface/fineweb-2, folder configs/, Apache-2.0; see
// lists/fineweb2/ATTRIBUTION), converted by tools/fw2rules. A stage with
// per_language on judges a document whose lang label has an entry with
// that entry's values and with the settings FineWeb-2 changed for every
// language (its fineweb-2-pipeline.py and README): the paragraph rules and
// the duplicated-line character rule of gopher_repetition off, the
// short-line rule of fineweb_quality off, and its duplicated-character
// limit at 0.1 instead of 0.01. Each stage's forLanguage method lists what
// it takes. Every other option keeps the stage's value. eng_Latn has no
// entry, so English, und and unlabelled documents get the stage's options,
// the reference defaults unless the config changes them.

//go:embed lists/fineweb2/rules.tsv
var fineweb2Table string

// fineweb2Columns are the columns of the table, in order.
var fineweb2Columns = []string{
	"label", "language_score", "min_avg_word_length", "max_avg_word_length", "min_alpha_words_ratio",
	"dup_line_frac", "top_2_gram", "top_3_gram", "top_4_gram",
	"dup_5_gram", "dup_6_gram", "dup_7_gram", "dup_8_gram", "dup_9_gram", "dup_10_gram",
	"line_punct_thr", "new_line_ratio", "stopwords",
}

// fineweb2Rules is the FineWeb-2 entry of one language, as FineWeb-2 wrote
// it. The comments name FineWeb-2's fields and what datatrove, which ran
// FineWeb-2's filters, does with them. forLanguage of each stage turns
// them into that stage's options.
type fineweb2Rules struct {
	LanguageScore        float64    // language_score: minimum langid confidence; no stage uses it yet
	MinMeanWordLength    float64    // min_avg_word_length; 0 turns the rule off
	MaxMeanWordLength    float64    // max_avg_word_length
	MinAlphaWordFraction float64    // max_non_alpha_words_ratio, a minimum fraction of words with a letter despite its name
	MaxDupLineFraction   float64    // dup_line_frac; 0 turns the rule off, and some are above 1
	MaxTopNGramFractions [3]float64 // top_n_grams for n = 2, 3, 4
	MaxDupNGramFractions [6]float64 // dup_n_grams for n = 5 to 10; a few are above 1
	MinLinePunctRatio    float64    // line_punct_thr; a document needs a ratio above it, and a negative value turns the rule off
	MaxLineBreaksPerWord float64    // new_line_ratio
	StopWords            []string   // stopwords, cleaned by tools/fw2rules to match winnow's words
}

// fineweb2Entries returns the table by label, parsed on first use.
var fineweb2Entries = sync.OnceValues(func() (map[string]*fineweb2Rules, error) {
	return parseFineWeb2Table(fineweb2Table)
})

// lookupFineWeb2 returns the FineWeb-2 entry of label, such as fra_Latn.
func lookupFineWeb2(label string) (*fineweb2Rules, bool) {
	entries, err := fineweb2Entries()
	if err != nil {
		return nil, false
	}
	r, ok := entries[label]
	return r, ok
}

// isKnownLabel reports whether label is one langid writes or one FineWeb-2
// has an entry for, which inputs that carry their own labels may use.
func isKnownLabel(label string) bool {
	if IsLangLabel(label) {
		return true
	}
	_, ok := lookupFineWeb2(label)
	return ok
}

// parseFineWeb2Table parses the tab-separated table: a header row of
// fineweb2Columns, then one row per language with stop words separated by
// spaces.
func parseFineWeb2Table(table string) (map[string]*fineweb2Rules, error) {
	header, rows, _ := strings.Cut(table, "\n")
	if header != strings.Join(fineweb2Columns, "\t") {
		return nil, fmt.Errorf("parsing the FineWeb-2 table: header %q, expected the columns %v", header, fineweb2Columns)
	}
	entries := map[string]*fineweb2Rules{}
	for line := range strings.Lines(rows) {
		fields := strings.Split(strings.TrimSuffix(line, "\n"), "\t")
		if len(fields) != len(fineweb2Columns) {
			return nil, fmt.Errorf("parsing the FineWeb-2 table: row %q has %d fields, expected %d", fields[0], len(fields), len(fineweb2Columns))
		}
		values := make([]float64, len(fineweb2Columns)-2)
		for i := range values {
			v, err := strconv.ParseFloat(fields[i+1], 64)
			if err != nil {
				return nil, fmt.Errorf("parsing the FineWeb-2 table: row %s, %s: %w", fields[0], fineweb2Columns[i+1], err)
			}
			values[i] = v
		}
		entries[fields[0]] = &fineweb2Rules{
			LanguageScore:        values[0],
			MinMeanWordLength:    values[1],
			MaxMeanWordLength:    values[2],
			MinAlphaWordFraction: values[3],
			MaxDupLineFraction:   values[4],
			MaxTopNGramFractions: [3]float64(values[5:8]),
			MaxDupNGramFractions: [6]float64(values[8:14]),
			MinLinePunctRatio:    values[14],
			MaxLineBreaksPerWord: values[15],
			StopWords:            strings.Fields(fields[len(fields)-1]),
		}
	}
	return entries, nil
}

// langOptions is implemented by the options of the stages that judge each
// document by its lang label.
type langOptions[O any] interface {
	*O
	Validate() error
	// langSettings returns the per_language and overrides options.
	langSettings() (perLanguage bool, overrides map[string]yaml.Node)
	// forLanguage turns the options into those for documents of one
	// language: it clears the options that choose languages, and applies
	// the language's FineWeb-2 entry unless entry is nil.
	forLanguage(entry *fineweb2Rules)
}

// optionsForLabel returns the options for documents labelled label, before
// any override: opts with the label's FineWeb-2 entry applied when
// per_language is on and there is one.
func optionsForLabel[O any, PO langOptions[O]](opts *O, label string) O {
	o := *opts
	var entry *fineweb2Rules
	if perLanguage, _ := PO(opts).langSettings(); perLanguage {
		entry, _ = lookupFineWeb2(label)
	}
	PO(&o).forLanguage(entry)
	return o
}

// resolveOverrides returns the options of each label under overrides: the
// label's options with the override's keys decoded onto them, validated.
// The error names the label and the bad field.
func resolveOverrides[O any, PO langOptions[O]](opts *O) (map[string]O, error) {
	_, overrides := PO(opts).langSettings()
	resolved := make(map[string]O, len(overrides))
	labels := make([]string, 0, len(overrides))
	for label := range overrides {
		labels = append(labels, label)
	}
	slices.Sort(labels)

	for _, label := range labels {
		if !isKnownLabel(label) {
			return nil, fmt.Errorf("invalid overrides key %q: not a known lang label%s; use one that langid writes, such as eng_Latn, or one of FineWeb-2's, such as fra_Latn", label, didYouMean(label))
		}
		o := optionsForLabel[O, PO](opts, label)
		node := overrides[label]
		if err := decodeOverride(&node, &o); err != nil {
			return nil, fmt.Errorf("invalid overrides.%s: %w", label, err)
		}
		if err := PO(&o).Validate(); err != nil {
			return nil, fmt.Errorf("invalid overrides.%s: %w", label, err)
		}
		resolved[label] = o
	}
	return resolved, nil
}

// overrideExcluded are the option keys an override may not set, because
// they choose languages rather than thresholds.
var overrideExcluded = []string{"languages", "per_language", "overrides"}

// decodeOverride decodes node, a YAML mapping of option keys, onto dst, a
// pointer to an options struct whose other fields keep their values. It
// rejects keys that name no option, the keys of overrideExcluded, and
// fractions given for whole numbers, which yaml.v3 would decode as 0.
func decodeOverride(node *yaml.Node, dst any) error {
	if node.Kind != yaml.MappingNode {
		return fmt.Errorf("must be a mapping of options, such as {min_words: 80}")
	}
	t := reflect.TypeOf(dst).Elem()
	fields := map[string]reflect.Type{}
	var names []string
	for i := range t.NumField() {
		key, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		if key != "" && key != "-" && !slices.Contains(overrideExcluded, key) {
			fields[key] = t.Field(i).Type
			names = append(names, key)
		}
	}

	for i := 0; i+1 < len(node.Content); i += 2 {
		key, value := node.Content[i], node.Content[i+1]
		ft, ok := fields[key.Value]
		if !ok {
			return fmt.Errorf("line %d: unknown field %q; valid fields: %s", key.Line, key.Value, strings.Join(names, ", "))
		}
		if ft.Kind() == reflect.Int && value.Kind == yaml.ScalarNode && value.ShortTag() == "!!float" {
			return fmt.Errorf("line %d: invalid %s %s: must be a whole number", value.Line, key.Value, value.Value)
		}
	}
	if err := node.Decode(dst); err != nil {
		return fmt.Errorf("line %d: %w", node.Line, err)
	}
	return nil
}

// langRules resolves the lang label of a document to the rules, of type R,
// that a stage applies to it. Rules are prepared once per label and then
// read by concurrent Process calls without a lock or an allocation.
type langRules[R any] struct {
	base      *R            // documents without an entry or override: eng_Latn, und, unlabelled, unknown labels
	overrides map[string]*R // labels under overrides
	entries   map[string]*fineweb2Rules
	build     func(label string) *R // nil when per_language is off

	// cache holds the rules prepared for labels with an entry. It is
	// replaced, never changed, so readers need no lock. mu serializes the
	// writers.
	cache atomic.Pointer[map[string]*R]
	mu    sync.Mutex
}

// newLangRules prepares the rules of a stage with options opts. prepare
// turns the options for one language into rules. The error reports a bad
// override.
func newLangRules[O any, PO langOptions[O], R any](opts *O, prepare func(*O) *R) (*langRules[R], error) {
	overrides, err := resolveOverrides[O, PO](opts)
	if err != nil {
		return nil, err
	}
	base := optionsForLabel[O, PO](opts, "")
	l := &langRules[R]{base: prepare(&base), overrides: map[string]*R{}}
	for label, o := range overrides {
		l.overrides[label] = prepare(&o)
	}

	if perLanguage, _ := PO(opts).langSettings(); perLanguage {
		if l.entries, err = fineweb2Entries(); err != nil {
			return nil, err
		}
		l.build = func(label string) *R {
			o := optionsForLabel[O, PO](opts, label)
			return prepare(&o)
		}
	}
	return l, nil
}

// forLabel returns the rules for documents labelled label.
func (l *langRules[R]) forLabel(label string) *R {
	if label == "" {
		return l.base
	}
	if len(l.overrides) > 0 {
		if r, ok := l.overrides[label]; ok {
			return r
		}
	}
	if l.build == nil {
		return l.base
	}
	if m := l.cache.Load(); m != nil {
		if r, ok := (*m)[label]; ok {
			return r
		}
	}
	if _, ok := l.entries[label]; !ok {
		return l.base
	}
	return l.add(label)
}

// add prepares the rules of label, a label with an entry, and stores them
// in a copy of the cache.
func (l *langRules[R]) add(label string) *R {
	l.mu.Lock()
	defer l.mu.Unlock()
	old := l.cache.Load()
	if old != nil {
		if r, ok := (*old)[label]; ok {
			return r
		}
	}
	m := map[string]*R{}
	if old != nil {
		m = make(map[string]*R, len(*old)+1)
		for k, v := range *old {
			m[k] = v
		}
	}
	r := l.build(label)
	m[label] = r
	l.cache.Store(&m)
	return r
}

// ruleOptions is the pointer to a stage's options O that judges the
// signals S it measures.
type ruleOptions[O, S any] interface {
	langOptions[O]
	failedRule(s S) string
	signal(reason string, s S) (name string, value, threshold float64)
}

// ruleFilter is a stage that measures each checked document, judges it by
// the options of its language and drops it with the first failing rule's
// reason and signal.
type ruleFilter[O, S any, P ruleOptions[O, S]] struct {
	rules   *langRules[O]
	langs   langGate
	measure func(opts *O, text string) S
}

func newRuleFilter[O, S any, P ruleOptions[O, S]](opts P, languages []string, measure func(*O, string) S) (pipeline.Stage, error) {
	rules, err := newLangRules[O, P, O]((*O)(opts), func(o *O) *O { return o })
	if err != nil {
		return nil, err
	}
	return &ruleFilter[O, S, P]{rules: rules, langs: newLangGate(languages), measure: measure}, nil
}

// Process drops the alive rows that fail a rule, with that rule's reason.
func (f *ruleFilter[O, S, P]) Process(_ context.Context, b *pipeline.Batch) error {
	texts, langs := b.Strings(pipeline.ColText), b.Strings(pipeline.ColLang)
	for i := range b.Len() {
		lang := langs.Value(i)
		if !b.Alive(i) || !f.langs.checks(lang) {
			continue
		}
		opts := f.rules.forLabel(lang)
		s := f.measure(opts, texts.Value(i))
		if reason := P(opts).failedRule(s); reason != "" {
			name, value, threshold := P(opts).signal(reason, s)
			b.DropSignal(i, reason, name, value, threshold)
		}
	}
	return nil
}
