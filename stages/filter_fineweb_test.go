package stages

import (
	"fmt"
	"strings"
	"testing"

	"github.com/winnow-data/winnow/pipeline"
)

func TestMeasureFineWeb(t *testing.T) {
	tests := []struct {
		name string
		text string
		want FineWebSignals
	}{
		{"empty", "", FineWebSignals{}},
		{"blank lines only", " \n\n\t\n", FineWebSignals{}},
		{
			// The long line has 43 code points in 9 words and 8 spaces: 51.
			"mixed lines",
			"Hello world.\nshort\n\nA longer line that has more than thirty characters!\nHello world.\n",
			FineWebSignals{Lines: 4, PunctLines: 3, ShortLines: 3, LineChars: 80, DupLineChars: 12, LineBreaks: 3, Words: 14},
		},
		{"blank lines and trailing newline are not breaks", "a\n\n\nb\n", FineWebSignals{Lines: 2, ShortLines: 2, LineChars: 2, LineBreaks: 1, Words: 2}},
		{
			// Each Han character is a word; the marks are not.
			"cjk full-width punctuation", "这是第一句话。\n这是第二句话！",
			FineWebSignals{Lines: 2, PunctLines: 2, ShortLines: 2, LineChars: 14, LineBreaks: 1, Words: 12},
		},
		{
			"line of 30 code points is short, 31 is not", strings.Repeat("é", 30) + "\n" + strings.Repeat("é", 31),
			FineWebSignals{Lines: 2, ShortLines: 1, LineChars: 61, LineBreaks: 1, Words: 2},
		},
		{
			"ellipsis and curly quotes count", "Wait…\n“Yes,” he said”\nit’s’\nno",
			FineWebSignals{Lines: 4, PunctLines: 3, ShortLines: 4, LineChars: 27, LineBreaks: 3, Words: 6},
		},
		{
			"trimmed duplicates", "  same line.\r\nsame line.\t\nsame line.",
			FineWebSignals{Lines: 3, PunctLines: 3, ShortLines: 3, LineChars: 30, DupLineChars: 20, LineBreaks: 2, Words: 6},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := MeasureFineWeb(tt.text, 30); got != tt.want {
				t.Errorf("MeasureFineWeb(%q) =\n%+v, want\n%+v", tt.text, got, tt.want)
			}
		})
	}
}

func TestFineWebFailedRule(t *testing.T) {
	base := FineWebSignals{Lines: 100, PunctLines: 50, ShortLines: 10, LineChars: 1000, LineBreaks: 10, Words: 100}
	with := func(change func(*FineWebSignals)) FineWebSignals {
		s := base
		change(&s)
		return s
	}
	tests := []struct {
		name    string
		signals FineWebSignals
		want    string
	}{
		{"base passes", base, ""},
		{"no lines", FineWebSignals{}, finewebLinePunct},
		{"12 of 100 lines end in punctuation", with(func(s *FineWebSignals) { s.PunctLines = 12 }), ""},
		{"11 of 100 lines end in punctuation", with(func(s *FineWebSignals) { s.PunctLines = 11 }), finewebLinePunct},
		{"67 of 100 lines short", with(func(s *FineWebSignals) { s.ShortLines = 67 }), ""},
		{"68 of 100 lines short", with(func(s *FineWebSignals) { s.ShortLines = 68 }), finewebShortLine},
		{"10 of 1000 characters duplicated", with(func(s *FineWebSignals) { s.DupLineChars = 10 }), ""},
		{"11 of 1000 characters duplicated", with(func(s *FineWebSignals) { s.DupLineChars = 11 }), finewebCharDup},
		{"30 breaks per 100 words", with(func(s *FineWebSignals) { s.LineBreaks = 30 }), ""},
		{"31 breaks per 100 words", with(func(s *FineWebSignals) { s.LineBreaks = 31 }), finewebList},
		{"first failing rule wins", with(func(s *FineWebSignals) { s.ShortLines, s.LineBreaks = 90, 90 }), finewebShortLine},
	}
	opts := DefaultFineWebOptions()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := opts.failedRule(tt.signals); got != tt.want {
				t.Errorf("failedRule(%+v) = %q, want %q", tt.signals, got, tt.want)
			}
		})
	}
}

// finewebLine returns a distinct 9-word line of more than 30 characters,
// ending in end.
func finewebLine(i int, end string) string {
	return fmt.Sprintf("line number %d of the test has nine words%s", i, end)
}

// finewebDocument returns n distinct long lines, the first punct of them
// ending in a period.
func finewebDocument(n, punct int) string {
	lines := make([]string, n)
	for i := range lines {
		end := ""
		if i < punct {
			end = "."
		}
		lines[i] = finewebLine(i, end)
	}
	return strings.Join(lines, "\n")
}

func TestFineWebStage(t *testing.T) {
	// 25 lines, 24 breaks and 225 words: 0.107 breaks per word.
	tests := []struct {
		name    string
		options string
		text    string
		want    string
	}{
		{"3 of 25 lines with punctuation", "", finewebDocument(25, 3), ""},
		{"2 of 25 lines with punctuation", "", finewebDocument(25, 2), finewebLinePunct},
		{"2 of 25 with lower limit", "min_line_punct_ratio: 0.08", finewebDocument(25, 2), ""},
		{"many short lines", "", finewebDocument(3, 3) + strings.Repeat("\nshort one.", 7), finewebShortLine},
		{"short lines with limit raised", "max_short_line_ratio: 0.7\nmax_char_dup_ratio: 1", finewebDocument(3, 3) + strings.Repeat("\nshort one.", 7), ""},
		{"one repeated line", "", finewebDocument(25, 25) + "\n" + finewebLine(0, "."), finewebCharDup},
		{"one-word list", "", "Items.\n" + strings.Repeat("apple\nbanana\ncherry\nplum\n", 1), finewebShortLine},
		{"list with short lines allowed", "max_short_line_ratio: 1", "Items.\napple\nbanana\ncherry\nplum", finewebList},
		// 31 code points each: neither line is short.
		{"cjk sentences", "", "这是第一句话，它比较长，所以不是短行，对吧，我们再多写几个字。\n这是第二句话，它也比较长，所以也不是短行，我们也再多写几个字！", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, _ := stageFromYAML(t, "fineweb_quality", tt.options)
			b := batchFromTexts(0, tt.text)
			defer b.Release()
			processOne(t, st, b)
			if got := b.Dropped[0]; got != tt.want {
				t.Errorf("dropped = %q, want %q (signals %+v)", got, tt.want, MeasureFineWeb(tt.text, 30))
			}
		})
	}
}

func TestFineWebChecksOnlyListedLanguages(t *testing.T) {
	st, _ := stageFromYAML(t, "fineweb_quality", "languages: [eng_Latn]")
	bb := pipeline.NewBatchBuilder()
	for _, lang := range []string{"eng_Latn", "fra_Latn", "", "und"} {
		bb.Append(&pipeline.Doc{Text: "no punctuation at all in this long line", Lang: lang})
	}
	b := bb.Build(0)
	defer b.Release()
	processOne(t, st, b)
	for i, want := range []string{finewebLinePunct, "", finewebLinePunct, finewebLinePunct} {
		if b.Dropped[i] != want {
			t.Errorf("row %d: drop reason %q, want %q", i, b.Dropped[i], want)
		}
	}
}

func TestFineWebOptionsValidate(t *testing.T) {
	tests := []struct {
		name    string
		options string
		wantErr string
	}{
		{"defaults", "", ""},
		{"punct ratio above one", "min_line_punct_ratio: 12", "invalid min_line_punct_ratio 12"},
		{"negative short ratio", "max_short_line_ratio: -0.1", "invalid max_short_line_ratio -0.1"},
		{"nan dup ratio", "max_char_dup_ratio: .nan", "invalid max_char_dup_ratio NaN"},
		{"negative short length", "short_line_max_chars: -1", "invalid short_line_max_chars -1"},
		{"negative breaks per word", "max_line_breaks_per_word: -1", "invalid max_line_breaks_per_word -1"},
		{"unknown language", "languages: [eng]", `invalid languages entry "eng"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { checkBuild(t, "fineweb_quality", tt.options, tt.wantErr) })
	}
}

func TestFineWebSpec(t *testing.T) {
	spec, ok := pipeline.Lookup("fineweb_quality")
	if !ok {
		t.Fatal("fineweb_quality is not registered")
	}
	if !spec.Concurrent {
		t.Error("fineweb_quality is not marked concurrent")
	}
	for _, o := range spec.Options {
		if !strings.Contains(o.Doc, "default") {
			t.Errorf("option %s doc %q does not state its default", o.Name, o.Doc)
		}
	}
}

func TestMeasureFineWebAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items at random under the race detector")
	}
	text := benchEnglishDocs(t)[0]
	MeasureFineWeb(text, 30) // fills the pool
	if allocs := testing.AllocsPerRun(20, func() { MeasureFineWeb(text, 30) }); allocs > 0 {
		t.Errorf("MeasureFineWeb allocates %v times per call", allocs)
	}
}

// BenchmarkFineWebQuality measures the stage on a batch of about 3 KB
// English documents.
func BenchmarkFineWebQuality(b *testing.B) {
	benchStage(b, "fineweb_quality")
}

// BenchmarkQualityChain measures gopher_quality, gopher_repetition, c4 and
// fineweb_quality run one after the other on one goroutine, on a fresh
// batch of about 3 KB English documents each time. Bytes are those of the
// input, so MB/s is the chain's throughput on one core.
func BenchmarkQualityChain(b *testing.B) {
	texts := benchEnglishDocs(b)
	var chain []pipeline.Stage
	for _, name := range []string{"gopher_quality", "gopher_repetition", "c4", "fineweb_quality"} {
		st, _ := stageFromYAML(b, name, "")
		chain = append(chain, st)
	}
	b.SetBytes(int64(totalBytes(texts)))
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		batch := batchFromTexts(0, texts...)
		b.StartTimer()
		for _, st := range chain {
			processOne(b, st, batch)
		}
		batch.Release()
	}
}
