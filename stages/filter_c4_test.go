package stages

import (
	"strings"
	"testing"

	"github.com/winnow-data/winnow/pipeline"
)

// c4Sentences are five kept lines of one sentence each.
const c4Sentences = "The first line is a sentence.\nThe second one asks why?\nThe third one shouts loudly!\n" +
	"The fourth one quotes \"this.\"\nThe fifth one ends in 'that.'"

func TestMeasureC4(t *testing.T) {
	opts := DefaultC4Options()
	tests := []struct {
		name      string
		text      string
		want      C4Signals
		wantClean string
	}{
		{"empty", "", C4Signals{}, ""},
		{
			"each line rule once",
			"Hello there world.\n\n  short.\nNo punctuation here\nWe use JavaScript here.\nRead our Privacy Policy now.\nWait for it...\n",
			C4Signals{Lines: 6, KeptLines: 1, RemovedLines: [5]int{2, 1, 0, 1, 1}, Sentences: 1},
			"Hello there world.",
		},
		{
			// Words keep their punctuation: 999 letters and a period.
			"word of 1000 code points kept", "a b " + strings.Repeat("é", 999) + ".",
			C4Signals{Lines: 1, KeptLines: 1, Sentences: 1},
			"a b " + strings.Repeat("é", 999) + ".",
		},
		{
			"word of 1001 code points removed", "a b " + strings.Repeat("x", 1000) + ".",
			C4Signals{Lines: 1, RemovedLines: [5]int{0, 0, 1, 0, 0}},
			"",
		},
		{
			"each policy phrase", "Terms of use apply here.\nThis site uses cookies today.\nWe USE COOKIES always.\nOur cookie policy is long.\nOn the use of cookies here.",
			C4Signals{Lines: 5, RemovedLines: [5]int{0, 0, 0, 0, 5}},
			"",
		},
		{
			"lorem ipsum and brace in removed lines", "Lorem Ipsum dolor\nvar x = {}",
			C4Signals{Lines: 2, RemovedLines: [5]int{2, 0, 0, 0, 0}, LoremIpsum: true, CurlyBracket: true},
			"",
		},
		{
			// "[11]" hides the period at the line's end and "[37]" the
			// sentence end after "stills.", until they are deleted.
			"citations deleted", "Portents are airfares is.[11]\nStills.[37] The end[edit] came.[]\nA [Citation Needed] claim [x] here.",
			C4Signals{Lines: 3, KeptLines: 3, Sentences: 4},
			"Portents are airfares is.\nStills. The end came.\nA  claim [x] here.",
		},
		{
			"lines trimmed and crlf", "  One two three.\r\n\tFour five six!  ",
			C4Signals{Lines: 2, KeptLines: 2, Sentences: 2},
			"One two three.\nFour five six!",
		},
		{
			"cjk line without ascii punctuation removed", "这是第一句话。\nThis has three words.",
			C4Signals{Lines: 2, KeptLines: 1, RemovedLines: [5]int{1, 0, 0, 0, 0}, Sentences: 1},
			"This has three words.",
		},
		{
			"cjk inside a kept line kept whole", "He wrote 日本語 twice.",
			C4Signals{Lines: 1, KeptLines: 1, Sentences: 1},
			"He wrote 日本語 twice.",
		},
	}
	match := newC4Matchers(&opts)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := MeasureC4(tt.text, &opts); got != tt.want {
				t.Errorf("MeasureC4(%q) =\n%+v, want\n%+v", tt.text, got, tt.want)
			}
			bufs := &c4Buffers{}
			cleanC4(tt.text, &opts, match, bufs)
			if got := string(bufs.out); got != tt.wantClean {
				t.Errorf("cleaned text = %q, want %q", got, tt.wantClean)
			}
		})
	}
}

func TestCountSentenceEnds(t *testing.T) {
	tests := []struct {
		line string
		want int
	}{
		{"", 0},
		{"No end", 0},
		{"One.", 1},
		{"One. Two? Three!", 3},
		{"Wait... what?!", 2},
		{"Pi is 3.14 and e is 2.71.", 1},
		{"See e.g. this.", 2},
		{`He said "yes." Then 'no.' (Fine.) [Ok.]`, 4},
		{"Curly “quote.” and «guillemet.» end", 2},
		{"Dot before nbsp.\u00a0Next", 1},
	}
	for _, tt := range tests {
		if got := countSentenceEnds(tt.line); got != tt.want {
			t.Errorf("countSentenceEnds(%q) = %d, want %d", tt.line, got, tt.want)
		}
	}
}

func TestC4Stage(t *testing.T) {
	four := c4Sentences[:strings.LastIndexByte(c4Sentences, '\n')]
	tests := []struct {
		name      string
		options   string
		text      string
		want      string
		wantClean string
	}{
		{"five sentences pass unchanged", "", c4Sentences, "", c4Sentences},
		{"four sentences", "", four, c4TooFewSentences, four},
		{"four sentences with min_sentences 4", "min_sentences: 4", four, "", four},
		{"five sentences after cleaning", "", "menu\n" + c4Sentences + "\nHome | About", "", c4Sentences},
		{"lorem ipsum", "", c4Sentences + "\nLOREM IPSUM dolor sit amet.", c4LoremIpsum, ""},
		{"lorem ipsum rule off", "drop_lorem_ipsum: false", c4Sentences + "\nLOREM IPSUM dolor sit amet.", "", c4Sentences + "\nLOREM IPSUM dolor sit amet."},
		{"curly bracket in removed line", "", c4Sentences + "\nfunction f() {", c4CurlyBracket, ""},
		{"curly bracket rule off", "drop_curly_bracket: false", c4Sentences + "\nfunction f() {", "", c4Sentences},
		{"punctuation rule off", "require_terminal_punctuation: false\nmin_sentences: 0", "One two three\nok", "", "One two three"},
		{"word count rule off", "min_words_per_line: 0\nmin_sentences: 0", "Yes.", "", "Yes."},
		{"javascript rule off", "drop_javascript_lines: false\nmin_sentences: 1", "Enable JavaScript to continue.", "", "Enable JavaScript to continue."},
		{"policy rule off", "policy_phrases: []\nmin_sentences: 1", "Read the privacy policy.", "", "Read the privacy policy."},
		{"custom policy phrase", "policy_phrases: [all rights reserved]\nmin_sentences: 1", "Read the privacy policy.\nAll Rights Reserved by us.", "", "Read the privacy policy."},
		{"citation keeps a line", "", four + "\nThe fifth line ends here.[2]", "", four + "\nThe fifth line ends here."},
		{"citations kept when the rule is off", "remove_citations: false", four + "\nThe fifth line ends here.[2]", c4TooFewSentences, ""},
		{"long word rule off", "max_word_length: 0\nmin_sentences: 1", "a b " + strings.Repeat("x", 2000) + ".", "", "a b " + strings.Repeat("x", 2000) + "."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, _ := stageFromYAML(t, "c4", tt.options)
			b := batchFromTexts(0, tt.text)
			defer b.Release()
			processOne(t, st, b)
			if got := b.Dropped[0]; got != tt.want {
				t.Errorf("dropped = %q, want %q (signals %+v)", got, tt.want, MeasureC4(tt.text, ptr(DefaultC4Options())))
			}
			if tt.want == c4TooFewSentences && !strings.HasPrefix(b.Detail(0), `{"signal":"sentences","value":`) {
				t.Errorf("detail = %q, want the sentence count as the signal", b.Detail(0))
			}
			if tt.want != "" {
				return
			}
			if got := textsOf(b)[0]; got != tt.wantClean {
				t.Errorf("text = %q, want %q", got, tt.wantClean)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

func TestC4CountsRemovedLines(t *testing.T) {
	st, env := stageFromYAML(t, "c4", "")
	removed := "no end\nTwo words.\nPlease enable javascript now.\nWe use cookies on this site.\nx y " + strings.Repeat("z", 1001) + "."
	b := batchFromTexts(0, c4Sentences+"\n"+removed, "tiny\n{}", c4Sentences)
	defer b.Release()
	processOne(t, st, b)

	want := map[string]int64{
		c4EventLinePunct: 3, c4EventLineWords: 1, c4EventLineJS: 1, c4EventLinePolicy: 1, c4EventLineLong: 1,
	}
	got := env.Events.Snapshot()
	for k, v := range want {
		if got[k] != v {
			t.Errorf("event %s = %d, want %d", k, got[k], v)
		}
	}
	if texts := textsOf(b); texts[0] != c4Sentences {
		t.Errorf("cleaned text = %q, want %q", texts[0], c4Sentences)
	}
	if b.Dropped[1] != c4CurlyBracket {
		t.Errorf("row 1 dropped = %q, want %q", b.Dropped[1], c4CurlyBracket)
	}
}

func TestC4ChecksOnlyListedLanguages(t *testing.T) {
	st, _ := stageFromYAML(t, "c4", "")
	bb := pipeline.NewBatchBuilder()
	for _, lang := range []string{"eng_Latn", "cmn_Hani", "", "und"} {
		bb.Append(&pipeline.Doc{Text: "这是第一句话。\n这是第二句话。", Lang: lang})
	}
	b := bb.Build(0)
	defer b.Release()
	processOne(t, st, b)
	for i, want := range []string{c4TooFewSentences, "", c4TooFewSentences, c4TooFewSentences} {
		if b.Dropped[i] != want {
			t.Errorf("row %d: drop reason %q, want %q", i, b.Dropped[i], want)
		}
	}
	if got := textsOf(b)[1]; got != "这是第一句话。\n这是第二句话。" {
		t.Errorf("unchecked cjk text changed to %q", got)
	}
}

func TestC4OptionsValidate(t *testing.T) {
	tests := []struct {
		name    string
		options string
		wantErr string
	}{
		{"defaults", "", ""},
		{"negative min words", "min_words_per_line: -1", "invalid min_words_per_line -1"},
		{"negative max word length", "max_word_length: -5", "invalid max_word_length -5"},
		{"negative min sentences", "min_sentences: -1", "invalid min_sentences -1"},
		{"blank policy phrase", `policy_phrases: ["  "]`, `invalid policy_phrases entry "  "`},
		{"unknown language", "languages: [en]", `invalid languages entry "en"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { checkBuild(t, "c4", tt.options, tt.wantErr) })
	}
}

func TestC4Spec(t *testing.T) {
	spec, ok := pipeline.Lookup("c4")
	if !ok {
		t.Fatal("c4 is not registered")
	}
	if !spec.Concurrent {
		t.Error("c4 is not marked concurrent")
	}
	for _, o := range spec.Options {
		if !strings.Contains(o.Doc, "default") {
			t.Errorf("option %s doc %q does not state its default", o.Name, o.Doc)
		}
	}
}

// BenchmarkC4 measures the stage on a batch of about 3 KB English
// documents. Every iteration cleans the original texts again, because the
// batch is rebuilt.
func BenchmarkC4(b *testing.B) {
	texts := benchEnglishDocs(b)
	st, _ := stageFromYAML(b, "c4", "")
	b.SetBytes(int64(totalBytes(texts)))
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		batch := batchFromTexts(0, texts...)
		b.StartTimer()
		processOne(b, st, batch)
		batch.Release()
	}
}
