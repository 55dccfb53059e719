package stages

import (
	"fmt"
	"strings"
	"testing"

	"github.com/winnow-data/winnow/pipeline"
)

func TestMeasureRepetition(t *testing.T) {
	tests := []struct {
		name string
		text string
		want RepetitionSignals
	}{
		{"empty", "", RepetitionSignals{}},
		{"blank lines only", "\n \n\t\r\n", RepetitionSignals{}},
		{
			// 2-grams "a b" and "b c" occur twice: 2 * 2 characters; "a b c" twice: 2 * 3.
			"repeated line", "a b c\na b c\nd e f",
			RepetitionSignals{
				Lines: 3, DupLines: 1, LineChars: 15, DupLineChars: 5, Paragraphs: 1,
				Words: 9, WordChars: 9, TopNGramChars: [3]int{4, 6, 0},
			},
		},
		{
			"repeated paragraph", "x y\nz\n\n\nx y\nz\n\nw",
			RepetitionSignals{
				Lines: 5, DupLines: 2, LineChars: 9, DupLineChars: 4,
				Paragraphs: 3, DupParagraphs: 1, DupParagraphChars: 4,
				Words: 7, WordChars: 7, TopNGramChars: [3]int{4, 6, 0},
			},
		},
		{
			// Same words, different lines: neither lines nor paragraphs repeat.
			"paragraphs compared line by line", "a b\n\na\nb",
			RepetitionSignals{Lines: 3, LineChars: 5, Paragraphs: 2, Words: 4, WordChars: 4, TopNGramChars: [3]int{4, 0, 0}},
		},
		{
			// "a a" occurs 3 times, overlapping: 3 * 2 characters of 4.
			"overlapping occurrences", "a a a a",
			RepetitionSignals{Lines: 1, LineChars: 7, Paragraphs: 1, Words: 4, WordChars: 4, TopNGramChars: [3]int{6, 6, 0}},
		},
		{
			// The 5-gram "a b c d e" occurs twice and covers 10 words; no 6-gram repeats.
			"duplicated 5-gram only", "a b c d e x a b c d e y",
			RepetitionSignals{
				Lines: 1, LineChars: 23, Paragraphs: 1, Words: 12, WordChars: 12,
				TopNGramChars: [3]int{4, 6, 8}, DupNGramChars: [6]int{10},
			},
		},
		{
			// Three copies of a 5-word cycle: every n-gram up to 10 words has a
			// twin, and each word is counted once though many n-grams cover it.
			"overlapping duplicated n-grams", "p q r s t p q r s t p q r s t",
			RepetitionSignals{
				Lines: 1, LineChars: 29, Paragraphs: 1, Words: 15, WordChars: 15,
				TopNGramChars: [3]int{6, 9, 12}, DupNGramChars: [6]int{15, 15, 15, 15, 15, 15},
			},
		},
		{
			"word characters are code points", "héllo wörld\nhéllo wörld",
			RepetitionSignals{
				Lines: 2, DupLines: 1, LineChars: 22, DupLineChars: 11, Paragraphs: 1,
				Words: 4, WordChars: 20, TopNGramChars: [3]int{20, 0, 0},
			},
		},
		{
			// Words 日 本 語 の テキスト, 8 characters, per line, and "。" is not a word.
			// The 2-gram "のテキスト" occurs twice, 2 * 5 characters, the 3-gram
			// "語のテキスト" 2 * 6, the 4-gram "本語のテキスト" 2 * 7, and the
			// 5-gram of a whole line covers all 16 word characters.
			"cjk characters are words", "日本語のテキスト。\n日本語のテキスト。",
			RepetitionSignals{
				Lines: 2, DupLines: 1, LineChars: 18, DupLineChars: 9, Paragraphs: 1,
				Words: 10, WordChars: 16, TopNGramChars: [3]int{10, 12, 14}, DupNGramChars: [6]int{16},
			},
		},
		{
			"crlf and inner whitespace", "a\u00a0 b\r\na\u00a0 b\r\n",
			RepetitionSignals{
				Lines: 2, DupLines: 1, LineChars: 8, DupLineChars: 4, Paragraphs: 1,
				Words: 4, WordChars: 4, TopNGramChars: [3]int{4, 0, 0},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := MeasureRepetition(tt.text); got != tt.want {
				t.Errorf("MeasureRepetition(%q) =\n%+v, want\n%+v", tt.text, got, tt.want)
			}
		})
	}
}

func TestRepetitionFailedRule(t *testing.T) {
	// base passes every default rule; each case changes one signal.
	base := RepetitionSignals{Lines: 10, LineChars: 100, Paragraphs: 10, Words: 50, WordChars: 100}
	with := func(change func(*RepetitionSignals)) RepetitionSignals {
		s := base
		change(&s)
		return s
	}
	tests := []struct {
		name    string
		signals RepetitionSignals
		want    string
	}{
		{"base passes", base, ""},
		{"no lines", RepetitionSignals{}, ""},
		{"3 of 10 lines repeat", with(func(s *RepetitionSignals) { s.DupLines = 3 }), ""},
		{"4 of 10 lines repeat", with(func(s *RepetitionSignals) { s.DupLines = 4 }), repDupLineFrac},
		{"3 of 10 paragraphs repeat", with(func(s *RepetitionSignals) { s.DupParagraphs = 3 }), ""},
		{"4 of 10 paragraphs repeat", with(func(s *RepetitionSignals) { s.DupParagraphs = 4 }), repDupParaFrac},
		{"20 of 100 characters in repeated lines", with(func(s *RepetitionSignals) { s.DupLineChars = 20 }), ""},
		{"21 of 100 characters in repeated lines", with(func(s *RepetitionSignals) { s.DupLineChars = 21 }), repDupLineCharFrac},
		{"20 of 100 characters in repeated paragraphs", with(func(s *RepetitionSignals) { s.DupParagraphChars = 20 }), ""},
		{"21 of 100 characters in repeated paragraphs", with(func(s *RepetitionSignals) { s.DupParagraphChars = 21 }), repDupParaCharFrac},
		{"first failing rule wins", with(func(s *RepetitionSignals) { s.DupLines, s.DupNGramChars[5] = 4, 50 }), repDupLineFrac},
	}
	topLimits, dupLimits := [3]int{20, 18, 16}, [6]int{15, 14, 13, 12, 11, 10}
	for k, limit := range topLimits {
		tests = append(tests,
			struct {
				name    string
				signals RepetitionSignals
				want    string
			}{fmt.Sprintf("top %d-gram at limit", k+2), with(func(s *RepetitionSignals) { s.TopNGramChars[k] = limit }), ""},
			struct {
				name    string
				signals RepetitionSignals
				want    string
			}{fmt.Sprintf("top %d-gram over limit", k+2), with(func(s *RepetitionSignals) { s.TopNGramChars[k] = limit + 1 }), repTopReasons[k]},
		)
	}
	for k, limit := range dupLimits {
		tests = append(tests,
			struct {
				name    string
				signals RepetitionSignals
				want    string
			}{fmt.Sprintf("duplicated %d-grams at limit", k+5), with(func(s *RepetitionSignals) { s.DupNGramChars[k] = limit }), ""},
			struct {
				name    string
				signals RepetitionSignals
				want    string
			}{fmt.Sprintf("duplicated %d-grams over limit", k+5), with(func(s *RepetitionSignals) { s.DupNGramChars[k] = limit + 1 }), repDupReasons[k]},
		)
	}
	opts := DefaultRepetitionOptions()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := opts.failedRule(tt.signals); got != tt.want {
				t.Errorf("failedRule(%+v) = %q, want %q", tt.signals, got, tt.want)
			}
		})
	}
}

// repetitionParagraphs are six distinct paragraphs with no repeated n-gram
// above the limits.
var repetitionParagraphs = []string{
	"Rivers carve valleys slowly over thousands of years.",
	"Bakers knead dough before dawn so bread is ready at seven.",
	"The committee postponed its vote until further notice.\nMembers asked for more time.",
	"Old maps show islands that sailors never actually found.",
	"Bright comets return on orbits measured in centuries.",
	"Children learn languages faster when they hear stories aloud.",
}

func TestRepetitionStage(t *testing.T) {
	distinct := strings.Join(repetitionParagraphs, "\n\n \n\n")
	// 1 of 8 lines but 1 of 3 paragraphs repeats.
	oneParagraph := strings.Join(repetitionParagraphs, "\n")
	tests := []struct {
		name    string
		options string
		text    string
		want    string
	}{
		{"six distinct paragraphs", "", distinct, ""},
		{"trailing blank lines", "", distinct + "\n\n\n", ""},
		{"one line twice in three", "", "a b c\na b c\nd e f", repDupLineFrac},
		{"one line twice with limit raised", "max_dup_line_fraction: 0.34\nmax_dup_line_char_fraction: 0.34\nmax_top_ngram_fractions: [0.45, 0.67, 0.16]", "a b c\na b c\nd e f", ""},
		{"short paragraph repeated", "", oneParagraph + "\n\nShort one.\n\nShort one.", repDupParaFrac},
		{"repeated word cycle", "", strings.Repeat("p q r s t ", 3), repTopReasons[0]},
		// No 2-gram of characters occurs twice.
		{"cjk lines distinct", "", "今天天气很好。\n我们去公园散步。\n晚上回家吃饭。", ""},
		// 这是 occurs 3 times, 3 * 2 of 18 word characters, over 0.2.
		{"cjk lines with a repeated 2-gram", "", "这是第一句话。\n这是第二句话。\n这是第三句话。", repTopReasons[0]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, _ := stageFromYAML(t, "gopher_repetition", tt.options)
			b := batchFromTexts(0, tt.text)
			defer b.Release()
			processOne(t, st, b)
			if got := b.Dropped[0]; got != tt.want {
				t.Errorf("dropped = %q, want %q (signals %+v)", got, tt.want, MeasureRepetition(tt.text))
			}
		})
	}
}

func TestRepetitionSixParagraphSignals(t *testing.T) {
	s := MeasureRepetition(strings.Join(repetitionParagraphs, "\n\n\n"))
	if s.Paragraphs != 6 || s.DupParagraphs != 0 {
		t.Errorf("paragraphs = %d, duplicated %d; want 6 and 0", s.Paragraphs, s.DupParagraphs)
	}
	if s.Lines != 7 || s.DupLines != 0 {
		t.Errorf("lines = %d, duplicated %d; want 7 and 0", s.Lines, s.DupLines)
	}
}

func TestRepetitionOptionsValidate(t *testing.T) {
	tests := []struct {
		name    string
		options string
		wantErr string
	}{
		{"defaults", "", ""},
		{"line fraction above one", "max_dup_line_fraction: 1.5", "invalid max_dup_line_fraction 1.5"},
		{"nan paragraph fraction", "max_dup_paragraph_fraction: .nan", "invalid max_dup_paragraph_fraction NaN"},
		{"negative top n-gram", "max_top_ngram_fractions: [0.2, -1, 0.16]", "invalid max_top_ngram_fractions[1] -1"},
		{"top n-gram above one allowed", "max_top_ngram_fractions: [2, 2, 2]", ""},
		{"dup n-gram above one", "max_dup_ngram_fractions: [0.15, 0.14, 0.13, 0.12, 0.11, 1.1]", "invalid max_dup_ngram_fractions[5] 1.1"},
		{"too few dup n-gram limits", "max_dup_ngram_fractions: [0.15]", "invalid options"},
		{"unknown language", "languages: [english]", `invalid languages entry "english"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { checkBuild(t, "gopher_repetition", tt.options, tt.wantErr) })
	}
}

func TestRepetitionSpec(t *testing.T) {
	spec, ok := pipeline.Lookup("gopher_repetition")
	if !ok {
		t.Fatal("gopher_repetition is not registered")
	}
	if !spec.Concurrent {
		t.Error("gopher_repetition is not marked concurrent")
	}
	for _, o := range spec.Options {
		if !strings.Contains(o.Doc, "default") {
			t.Errorf("option %s doc %q does not state its default", o.Name, o.Doc)
		}
	}
}

func TestRepetitionChecksOnlyListedLanguages(t *testing.T) {
	st, _ := stageFromYAML(t, "gopher_repetition", "languages: [eng_Latn]")
	bb := pipeline.NewBatchBuilder()
	for _, lang := range []string{"eng_Latn", "fra_Latn", "", "und"} {
		bb.Append(&pipeline.Doc{Text: "a b c\na b c", Lang: lang})
	}
	b := bb.Build(0)
	defer b.Release()
	processOne(t, st, b)
	for i, want := range []string{repDupLineFrac, "", repDupLineFrac, repDupLineFrac} {
		if b.Dropped[i] != want {
			t.Errorf("row %d: drop reason %q, want %q", i, b.Dropped[i], want)
		}
	}
}

func TestMeasureRepetitionAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items at random under the race detector")
	}
	text := strings.Join(benchEnglishDocs(t)[:1], "")
	MeasureRepetition(text) // fills the pool
	if allocs := testing.AllocsPerRun(20, func() { MeasureRepetition(text) }); allocs > 0 {
		t.Errorf("MeasureRepetition allocates %v times per call", allocs)
	}
}

// BenchmarkGopherRepetition measures the stage on a batch of about 3 KB
// English documents.
func BenchmarkGopherRepetition(b *testing.B) {
	benchStage(b, "gopher_repetition")
}

// benchStage measures the registered stage name with default options on
// the English benchmark documents.
func benchStage(b *testing.B, name string) {
	texts := benchEnglishDocs(b)
	batch := batchFromTexts(0, texts...)
	defer batch.Release()
	st, _ := stageFromYAML(b, name, "")

	b.SetBytes(int64(totalBytes(texts)))
	b.ReportAllocs()
	for b.Loop() {
		clear(batch.Dropped)
		processOne(b, st, batch)
	}
}
