package stages

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/pemistahl/lingua-go"

	"github.com/winnow-data/winnow/pipeline"
)

// Drop reasons of lang_filter.
const (
	langFilterNotKept  = "lang_not_kept"  // labelled with a language outside keep
	langFilterUnd      = "lang_und"       // labelled und, or with no label
	langFilterLowScore = "lang_low_score" // lang_score below min_score
)

const langFilterDoc = "Keeps the documents whose lang label is in keep (every label when keep is empty), " +
	"dropping und and unlabelled documents unless keep_und is set, and those whose lang_score is below min_score. " +
	"Needs langid before it; a label langid cannot write is a startup error."

func init() {
	pipeline.Register("lang_filter", langFilterDoc, true, LangFilterOptions{}, newLangFilter)
	pipeline.DeclareReasons("lang_filter", langFilterNotKept, langFilterUnd, langFilterLowScore)
}

// LangFilterOptions configures lang_filter.
type LangFilterOptions struct {
	Keep     []string `yaml:"keep" doc:"labels to keep, as langid writes them (fra_Latn, cmn_Hani); default [] keeps every language"`
	KeepUnd  bool     `yaml:"keep_und" doc:"keep documents labelled und or not labelled at all; default false"`
	MinScore float64  `yaml:"min_score" doc:"lowest lang_score kept, 0 to 1, for labelled documents; default 0"`
}

// Validate checks the labels and the score.
func (o *LangFilterOptions) Validate() error {
	for i, l := range o.Keep {
		if l == LangUndetermined {
			return fmt.Errorf("invalid keep entry %q: set keep_und: true to keep undetermined documents", l)
		}
		if !IsLangLabel(l) {
			return fmt.Errorf("invalid keep entry %q: %s", l, langLabelHint(l))
		}
		if slices.Contains(o.Keep[:i], l) {
			return fmt.Errorf("invalid keep entry %q: listed twice", l)
		}
	}
	if !(o.MinScore >= 0 && o.MinScore <= 1) {
		return fmt.Errorf("invalid min_score %v: must be between 0 and 1", o.MinScore)
	}
	return nil
}

type langFilter struct {
	opts LangFilterOptions
	keep map[string]bool // nil keeps every label
}

func newLangFilter(opts LangFilterOptions, _ pipeline.Env) (pipeline.Stage, error) {
	f := &langFilter{opts: opts}
	if len(opts.Keep) > 0 {
		f.keep = map[string]bool{}
		for _, l := range opts.Keep {
			f.keep[l] = true
		}
	}
	return f, nil
}

// LangLabelsRead names the kept labels for pipeline.CheckLangChain.
func (f *langFilter) LangLabelsRead() (string, []string, bool) { return "keep", f.opts.Keep, true }

// Process drops the alive rows outside the kept languages.
func (f *langFilter) Process(_ context.Context, b *pipeline.Batch) error {
	langs := b.Strings(pipeline.ColLang)
	scores := b.Column(pipeline.ColLangScore).(interface{ Value(int) float32 })
	for i := range b.Len() {
		if !b.Alive(i) {
			continue
		}
		switch lang := langs.Value(i); {
		case lang == "" || lang == LangUndetermined:
			if !f.opts.KeepUnd {
				b.Drop(i, langFilterUnd)
			}
		case f.keep != nil && !f.keep[lang]:
			b.Drop(i, langFilterNotKept)
		case float64(scores.Value(i)) < f.opts.MinScore:
			b.DropSignal(i, langFilterLowScore, "lang_score", float64(scores.Value(i)), f.opts.MinScore)
		}
	}
	return nil
}

// langLabelHint explains why label is not a langid label, suggesting the
// label of the same language when the user gave an ISO 639-1 code or a
// language name.
func langLabelHint(label string) string {
	if s := suggestLangLabel(label); s != "" {
		return fmt.Sprintf("not a langid label; did you mean %s?", s)
	}
	return "not a langid label; labels are ISO 639-3 plus script, one of " + strings.Join(LangLabels(), ", ")
}

// suggestLangLabel returns the langid label of the language that label
// names by ISO 639-1 code ("fr"), ISO 639-3 code ("fra"), English name
// ("French") or label with another script, or "" when none fits.
func suggestLangLabel(label string) string {
	key := strings.ToLower(strings.TrimSpace(label))
	code, _, _ := strings.Cut(key, "_")
	for lang, l := range langidLabels {
		language := lingua.Language(lang)
		switch code {
		case strings.ToLower(language.IsoCode639_1().String()),
			strings.ToLower(language.IsoCode639_3().String()),
			strings.ToLower(language.String()),
			l[:strings.IndexByte(l, '_')]:
			return l
		}
	}
	return ""
}

// didYouMean returns " (did you mean fra_Latn?)" for a label that names a
// langid language another way, else "".
func didYouMean(label string) string {
	if s := suggestLangLabel(label); s != "" {
		return " (did you mean " + s + "?)"
	}
	return ""
}

// CheckLangLabel returns an error naming field and label when label is not
// one langid writes, with the label the user probably meant.
func CheckLangLabel(field, label string) error {
	if IsLangLabel(label) {
		return nil
	}
	return fmt.Errorf("%s: invalid label %q: %s", field, label, langLabelHint(label))
}
