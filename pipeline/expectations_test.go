package pipeline

import (
	"strings"
	"testing"
)

func TestExpectationsConfigErrors(t *testing.T) {
	DeclareReasons("test_stage", "test_reason")
	for _, tc := range []struct {
		name, yaml, want string
	}{
		{"unknown field", "expectations:\n  min_doc: 3\n", `unknown field "expectations.min_doc"`},
		{"fractional count", "expectations:\n  min_docs: 2.5\n", "expectations.min_docs: invalid value 2.5"},
		{"negative count", "expectations:\n  min_tokens: -1\n", "expectations.min_tokens: invalid value -1"},
		{"share above one", "expectations:\n  languages:\n    eng_Latn: {min: 1.5}\n", "expectations.languages.eng_Latn.min: invalid value 1.5"},
		{"min above max", "expectations:\n  languages:\n    eng_Latn: {min: 0.6, max: 0.4}\n", "min 0.6 is above max 0.4"},
		{"empty bounds", "expectations:\n  languages:\n    eng_Latn: {}\n", "expectations.languages.eng_Latn: set min, max or both"},
		{"unknown bound", "expectations:\n  languages:\n    eng_Latn: {minimum: 0.2}\n", "minimum"},
		{"unknown reason", "expectations:\n  max_drop_rate:\n    short_doc: 0.1\n", `unknown reason code "short_doc"`},
		{"drop rate above one", "expectations:\n  max_drop_rate:\n    test_reason: 2\n", "expectations.max_drop_rate.test_reason: invalid value 2"},
		{"negative pii", "expectations:\n  max_pii_per_doc: -0.5\n", "expectations.max_pii_per_doc: invalid value -0.5"},
		{"drift above one", "expectations:\n  drift:\n    max_language_js: 3\n", "expectations.drift.max_language_js: invalid value 3"},
		{"signal without limit", "expectations:\n  signals:\n    - {signal: token_count}\n", "expectations.signals[0]: set max_psi, max_ks or both"},
		{"signal of unknown stage", "expectations:\n  signals:\n    - {signal: nostage.x, max_ks: 0.1}\n", `unknown stage "nostage"`},
		{"signal without stage", "expectations:\n  signals:\n    - {signal: words, max_ks: 0.1}\n", `expectations.signals[0].signal: invalid value "words"`},
		{"ks above one", "expectations:\n  signals:\n    - {signal: lang_score, max_ks: 1.5}\n", "expectations.signals[0].max_ks: invalid value 1.5"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := ParseConfig([]byte("stages: []\n" + tc.yaml))
			if err == nil {
				err = cfg.Validate()
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestExpectationsConfigValid(t *testing.T) {
	DeclareReasons("test_stage", "test_reason")
	cfg, err := ParseConfig([]byte(`stages: []
expectations:
  min_docs: 100
  languages:
    eng_Latn: {min: 0.5}
  max_drop_rate: {test_reason: 0}
  max_duplicate_rate: 0.2
  drift: {max_share_delta: 0.05}
  signals:
    - {signal: token_count, max_psi: 0.25, max_ks: 0.1}
`))
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	e := cfg.Expectations
	if e.MinDocs != 100 || *e.Languages["eng_Latn"].Min != 0.5 || e.MaxDropRate["test_reason"] != 0 || *e.Signals[0].MaxKS != 0.1 {
		t.Errorf("decoded expectations %+v", e)
	}
}

func TestExpectationResultString(t *testing.T) {
	for _, tc := range []struct {
		r    ExpectationResult
		want string
	}{
		{ExpectationResult{Check: "min_docs", Status: ExpectFail, Bound: "min", Limit: 400, Value: 394}, "FAIL  min_docs: 394, expected at least 400 (short by 6)"},
		{ExpectationResult{Check: "max_drop_rate.x", Status: ExpectFail, Bound: "max", Limit: 0.25, Value: 0.3}, "FAIL  max_drop_rate.x: 0.3, expected at most 0.25 (over by 0.05)"},
		{ExpectationResult{Check: "min_tokens", Status: ExpectPass, Bound: "min", Limit: 10, Value: 12}, "pass  min_tokens: 12, expected at least 10"},
		{ExpectationResult{Check: "drift.max_language_js", Status: ExpectSkipped, Bound: "max", Limit: 0.1, Note: "no parent"}, "skip  drift.max_language_js; no parent"},
	} {
		if got := tc.r.String(); got != tc.want {
			t.Errorf("String() = %q, want %q", got, tc.want)
		}
	}
}
