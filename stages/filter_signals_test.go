package stages

import "testing"

// TestQualityDropsRecordSignal checks that each quality filter records the
// measured value and the threshold of the rule a document failed, computed
// here by hand.
func TestQualityDropsRecordSignal(t *testing.T) {
	tests := []struct {
		stage, text, reason, detail string
	}{
		// 10 words against min_words 50.
		{"gopher_quality", "the cat and the dog ran to the big house", gopherShortDoc,
			`{"signal":"words","value":10,"threshold":50}`},
		// 2 of 4 lines repeat an earlier one: 0.5 against 0.3.
		{"gopher_repetition", "same line here\nsame line here\nsame line here\nother line", repDupLineFrac,
			`{"signal":"dup_line_frac","value":0.5,"threshold":0.3}`},
		// No line ends in punctuation: 0 against at least 0.12.
		{"fineweb_quality", "one two three\nfour five six", finewebLinePunct,
			`{"signal":"line_punct_ratio","value":0,"threshold":0.12}`},
		// One sentence end against min_sentences 5.
		{"c4", "This line has words.", c4TooFewSentences,
			`{"signal":"sentences","value":1,"threshold":5}`},
	}
	for _, tt := range tests {
		t.Run(tt.stage, func(t *testing.T) {
			st, _ := stageFromYAML(t, tt.stage, "")
			b := batchFromTexts(0, tt.text)
			defer b.Release()
			processOne(t, st, b)
			if b.Dropped[0] != tt.reason {
				t.Fatalf("dropped %q, want %q", b.Dropped[0], tt.reason)
			}
			if got := b.Detail(0); got != tt.detail {
				t.Errorf("detail %s, want %s", got, tt.detail)
			}
		})
	}
}
