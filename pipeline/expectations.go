package pipeline

import (
	"fmt"
	"math"
	"strings"
)

// ExpectationsConfig is the `expectations:` section of a config: data
// tests evaluated when a run commits, with results stored in the
// manifest. Every check is off unless set. Shares and rates are fractions
// from 0 to 1.
type ExpectationsConfig struct {
	// MinDocs and MinTokens are the least kept documents and tokens.
	MinDocs   int64 `yaml:"min_docs"`
	MinTokens int64 `yaml:"min_tokens"`
	// Languages bounds the share of kept documents of each named lang
	// label. A label the version lacks has share 0.
	Languages map[string]ShareBounds `yaml:"languages"`
	// MaxDropRate caps, per reason code, the documents a stage dropped
	// for that reason as a fraction of the documents that reached it.
	MaxDropRate map[string]float64 `yaml:"max_drop_rate"`
	// MaxDuplicateRate caps the exact and near duplicates dropped, as a
	// fraction of the documents that reached the first dedup stage.
	MaxDuplicateRate *float64 `yaml:"max_duplicate_rate"`
	// MaxPIIPerDoc caps the PII matches the pii stage counted per
	// document it saw: a mean over the run, not a per-document maximum.
	MaxPIIPerDoc *float64 `yaml:"max_pii_per_doc"`
	// Drift bounds the change of the mix since the parent version.
	Drift DriftExpectations `yaml:"drift"`
	// Signals bounds the change of a signal's distribution since the
	// parent version.
	Signals []SignalExpectation `yaml:"signals"`
}

// ShareBounds are the least and most share of one group. Either may be
// unset.
type ShareBounds struct {
	Min *float64 `yaml:"min"`
	Max *float64 `yaml:"max"`
}

// DriftExpectations bound how far a version's mix may move from its
// parent's. They are skipped for a version without a parent.
type DriftExpectations struct {
	// MaxLanguageJS caps the Jensen-Shannon divergence, in bits, of the
	// language mix of kept documents.
	MaxLanguageJS *float64 `yaml:"max_language_js"`
	// MaxSourceJS caps the same divergence of the source mix.
	MaxSourceJS *float64 `yaml:"max_source_js"`
	// MaxShareDelta caps the change of any one language's share of kept
	// documents.
	MaxShareDelta *float64 `yaml:"max_share_delta"`
}

// Signals of kept documents, read from the shards. Any other signal is
// STAGE.SIGNAL, a value the stage recorded for the documents it dropped,
// read from the rejects output.
const (
	SignalTokenCount = "token_count"
	SignalLangScore  = "lang_score"
)

// SignalExpectation bounds the drift of one signal's distribution from the
// parent version, by population stability index, two-sample
// Kolmogorov-Smirnov statistic, or both.
type SignalExpectation struct {
	Signal string   `yaml:"signal"` // token_count, lang_score or STAGE.SIGNAL
	MaxPSI *float64 `yaml:"max_psi"`
	MaxKS  *float64 `yaml:"max_ks"`
}

// Validate checks every expectation and returns an error naming the first
// bad field and its value.
func (e *ExpectationsConfig) Validate() error {
	if e == nil {
		return nil
	}
	if e.MinDocs < 0 {
		return fmt.Errorf("config: expectations.min_docs: invalid value %d: must be 0 or more", e.MinDocs)
	}
	if e.MinTokens < 0 {
		return fmt.Errorf("config: expectations.min_tokens: invalid value %d: must be 0 or more", e.MinTokens)
	}
	for _, label := range SortedKeys(e.Languages) {
		if err := e.Languages[label].validate("expectations.languages." + label); err != nil {
			return err
		}
	}
	for _, reason := range SortedKeys(e.MaxDropRate) {
		field := "expectations.max_drop_rate." + reason
		if _, ok := ReasonOwner(reason); !ok {
			return fmt.Errorf("config: %s: unknown reason code %q; `winnow stages` lists every stage's reasons", field, reason)
		}
		if err := checkFraction(field, e.MaxDropRate[reason]); err != nil {
			return err
		}
	}
	if err := checkOptionalFraction("expectations.max_duplicate_rate", e.MaxDuplicateRate); err != nil {
		return err
	}
	if v := e.MaxPIIPerDoc; v != nil && (*v < 0 || math.IsNaN(*v) || math.IsInf(*v, 0)) {
		return fmt.Errorf("config: expectations.max_pii_per_doc: invalid value %v: must be 0 or more", *v)
	}
	for _, c := range []struct {
		field string
		value *float64
	}{
		{"expectations.drift.max_language_js", e.Drift.MaxLanguageJS},
		{"expectations.drift.max_source_js", e.Drift.MaxSourceJS},
		{"expectations.drift.max_share_delta", e.Drift.MaxShareDelta},
	} {
		if err := checkOptionalFraction(c.field, c.value); err != nil {
			return err
		}
	}
	for i, s := range e.Signals {
		if err := s.validate(fmt.Sprintf("expectations.signals[%d]", i)); err != nil {
			return err
		}
	}
	return nil
}

func (b ShareBounds) validate(field string) error {
	if b.Min == nil && b.Max == nil {
		return fmt.Errorf("config: %s: set min, max or both", field)
	}
	if err := checkOptionalFraction(field+".min", b.Min); err != nil {
		return err
	}
	if err := checkOptionalFraction(field+".max", b.Max); err != nil {
		return err
	}
	if b.Min != nil && b.Max != nil && *b.Min > *b.Max {
		return fmt.Errorf("config: %s: invalid bounds: min %v is above max %v", field, *b.Min, *b.Max)
	}
	return nil
}

func (s SignalExpectation) validate(field string) error {
	switch {
	case s.Signal == "":
		return fmt.Errorf("config: %s.signal: missing: name token_count, lang_score or STAGE.SIGNAL", field)
	case s.Signal == SignalTokenCount || s.Signal == SignalLangScore:
	default:
		stage, signal, ok := strings.Cut(s.Signal, ".")
		if !ok || signal == "" {
			return fmt.Errorf("config: %s.signal: invalid value %q: name token_count, lang_score or STAGE.SIGNAL, such as c4.sentences", field, s.Signal)
		}
		if _, known := Lookup(stage); !known {
			return fmt.Errorf("config: %s.signal: invalid value %q: unknown stage %q", field, s.Signal, stage)
		}
	}
	if s.MaxPSI == nil && s.MaxKS == nil {
		return fmt.Errorf("config: %s: set max_psi, max_ks or both", field)
	}
	if v := s.MaxPSI; v != nil && (*v < 0 || math.IsNaN(*v) || math.IsInf(*v, 0)) {
		return fmt.Errorf("config: %s.max_psi: invalid value %v: must be 0 or more", field, *v)
	}
	return checkOptionalFraction(field+".max_ks", s.MaxKS)
}

func checkOptionalFraction(field string, v *float64) error {
	if v == nil {
		return nil
	}
	return checkFraction(field, *v)
}

func checkFraction(field string, v float64) error {
	if !(v >= 0 && v <= 1) {
		return fmt.Errorf("config: %s: invalid value %v: must be from 0 to 1", field, v)
	}
	return nil
}

// Expectation statuses.
const (
	ExpectPass    = "pass"
	ExpectFail    = "fail"
	ExpectSkipped = "skipped"
)

// ExpectationsRecord is the outcome of a version's data tests.
type ExpectationsRecord struct {
	Results []ExpectationResult `json:"results"`
	Failed  int                 `json:"failed"`
	// Held reports that `winnow run --fail-on-expectation` committed the
	// version without moving refs/latest to it, because a check failed.
	Held bool `json:"held,omitempty"`
}

// ExpectationResult is the outcome of one check.
type ExpectationResult struct {
	Check  string  `json:"check"`  // the check's config path, such as languages.eng_Latn.min
	Status string  `json:"status"` // pass, fail or skipped
	Bound  string  `json:"bound"`  // min or max: whether Limit is a floor or a ceiling
	Limit  float64 `json:"limit"`
	Value  float64 `json:"value"`          // the measured value, 0 when skipped
	Note   string  `json:"note,omitempty"` // the reason for a skip, or what was measured
}

// NewExpectationsRecord counts the failed results.
func NewExpectationsRecord(results []ExpectationResult) *ExpectationsRecord {
	r := &ExpectationsRecord{Results: results}
	for _, res := range results {
		if res.Status == ExpectFail {
			r.Failed++
		}
	}
	return r
}

// Margin returns by how much a failed check missed its limit, as a
// positive number. It is 0 for a check that passed or was skipped.
func (r ExpectationResult) Margin() float64 {
	if r.Status != ExpectFail {
		return 0
	}
	if r.Bound == "min" {
		return r.Limit - r.Value
	}
	return r.Value - r.Limit
}

// String describes the result in one line, with the margin of a failure:
// "FAIL min_docs: 394, expected at least 400 (short by 6)".
func (r ExpectationResult) String() string {
	var b strings.Builder
	switch r.Status {
	case ExpectSkipped:
		fmt.Fprintf(&b, "skip  %s", r.Check)
	case ExpectFail:
		fmt.Fprintf(&b, "FAIL  %s: %s", r.Check, formatMeasure(r.Value))
	default:
		fmt.Fprintf(&b, "pass  %s: %s", r.Check, formatMeasure(r.Value))
	}
	if r.Status != ExpectSkipped {
		word := "at most"
		if r.Bound == "min" {
			word = "at least"
		}
		fmt.Fprintf(&b, ", expected %s %s", word, formatMeasure(r.Limit))
	}
	if r.Status == ExpectFail {
		word := "over"
		if r.Bound == "min" {
			word = "short"
		}
		fmt.Fprintf(&b, " (%s by %s)", word, formatMeasure(r.Margin()))
	}
	if r.Note != "" {
		fmt.Fprintf(&b, "; %s", r.Note)
	}
	return b.String()
}

// formatMeasure prints whole numbers without a fraction and others with
// four significant digits.
func formatMeasure(v float64) string {
	if v == math.Trunc(v) && math.Abs(v) < 1e15 {
		return fmt.Sprintf("%d", int64(v))
	}
	return fmt.Sprintf("%.4g", v)
}
