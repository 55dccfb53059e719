package stages

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/pemistahl/lingua-go"

	"github.com/winnow-data/winnow/pipeline"
)

// langidResult is the lang and lang_score of one row.
type langidResult struct {
	label string
	score float32
}

// runLangid builds the langid stage with options, processes texts as one
// batch and returns the result per text and the stage's events.
func runLangid(t *testing.T, options string, texts ...string) ([]langidResult, map[string]int64) {
	t.Helper()
	st, env, err := buildRegisteredStage(t, "langid", options)
	if err != nil {
		t.Fatalf("building langid: %v", err)
	}
	b := docBatch(0, texts...)
	defer b.Release()
	if err := st.Process(context.Background(), b); err != nil {
		t.Fatalf("Process: %v", err)
	}
	return langidResults(b), env.Events.Snapshot()
}

func langidResults(b *pipeline.Batch) []langidResult {
	langs := b.Strings(pipeline.ColLang)
	scores := b.Column(pipeline.ColLangScore).(*array.Float32)
	out := make([]langidResult, b.Len())
	for i := range out {
		out[i] = langidResult{langs.Value(i), scores.Value(i)}
	}
	return out
}

func TestLangidLabelTable(t *testing.T) {
	if got, want := len(langidLabels), len(lingua.AllLanguages()); got != want {
		t.Fatalf("table has %d labels, lingua has %d languages", got, want)
	}
	shape := regexp.MustCompile(`^[a-z]{3}_[A-Z][a-z]{3}$`)
	seen := map[string]bool{}
	for lang, label := range langidLabels {
		if !shape.MatchString(label) {
			t.Errorf("%v: label %q is not ISO 639-3 code plus ISO 15924 script", lingua.Language(lang), label)
		}
		if seen[label] {
			t.Errorf("%v: label %q used twice", lingua.Language(lang), label)
		}
		seen[label] = true
	}
	labels := LangLabels()
	if len(labels) != 75 || !slices.IsSorted(labels) {
		t.Errorf("LangLabels() has %d labels, sorted %v; want 75, sorted", len(labels), slices.IsSorted(labels))
	}
	if IsLangLabel(LangUndetermined) || !IsLangLabel("cmn_Hani") || IsLangLabel("en") {
		t.Errorf("IsLangLabel accepts und or en, or rejects cmn_Hani")
	}
}

// whatlangAliases maps the ISO 639-3 codes of the whatlang samples to the
// codes of langid labels where the two differ.
var whatlangAliases = map[string]string{
	"ara": "arb", "aze": "azj", "est": "ekk", "lav": "lvs", "pes": "fas", "tgl": "fil",
}

// whatlangSamples returns the whatlang sentences of the languages lingua
// supports, keyed by the expected label.
func whatlangSamples(t *testing.T) map[string]string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "testdata", "langid", "whatlang-examples.json"))
	if err != nil {
		t.Fatal(err)
	}
	var byCode map[string]string
	if err := json.Unmarshal(raw, &byCode); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for code, text := range byCode {
		if alias, ok := whatlangAliases[code]; ok {
			code = alias
		}
		for _, label := range LangLabels() {
			if strings.HasPrefix(label, code+"_") {
				out[label] = text
			}
		}
	}
	return out
}

func TestLangidWhatlangAccuracy(t *testing.T) {
	samples := whatlangSamples(t)
	labels := make([]string, 0, len(samples))
	for label := range samples {
		labels = append(labels, label)
	}
	sort.Strings(labels)
	texts := make([]string, len(labels))
	for i, label := range labels {
		texts[i] = samples[label]
	}

	results, _ := runLangid(t, "", texts...)
	correct, scored := 0, 0
	for i, r := range results {
		if r.label != LangUndetermined && !IsLangLabel(r.label) {
			t.Errorf("%s: label %q is not in the table", labels[i], r.label)
		}
		// Two samples are three-word phrases (Hebrew, Armenian) with fewer
		// letters than min_chars, so und is their right label.
		if _, letters := langidPrefix(texts[i], 2000); letters < 20 {
			if r.label != LangUndetermined {
				t.Errorf("%s: %d letters labelled %s, want und", labels[i], letters, r.label)
			}
			continue
		}
		scored++
		if r.label == labels[i] {
			correct++
		} else {
			t.Logf("%s labelled %s (%.2f)", labels[i], r.label, r.score)
		}
	}

	// Measured with lingua v1.4.0 in low-accuracy mode: 54 of 54.
	accuracy := float64(correct) / float64(scored)
	t.Logf("accuracy %.3f (%d of %d)", accuracy, correct, scored)
	if scored < 50 {
		t.Errorf("only %d samples were scored, want 50 or more", scored)
	}
	if accuracy < 0.94 {
		t.Errorf("accuracy %.3f, want 0.94 or more", accuracy)
	}
}

func TestLangidShortAndEmpty(t *testing.T) {
	texts := []string{"", "   \n", "Hello world", "Guten Tag!", "merci beaucoup", "12345 678 90", "こんにちは"}
	results, events := runLangid(t, "", texts...)
	for i, r := range results {
		if r.label != LangUndetermined || r.score != 0 {
			t.Errorf("%q labelled %s (%.2f), want und (0)", texts[i], r.label, r.score)
		}
	}
	if events[langidEventShort] != int64(len(texts)) {
		t.Errorf("%s = %d, want %d", langidEventShort, events[langidEventShort], len(texts))
	}
}

func TestLangidLowScore(t *testing.T) {
	// lingua spreads the few trigrams of "The quick fox" over many
	// languages, with a top confidence near 0.27.
	results, events := runLangid(t, "{min_chars: 5}", "The quick fox")
	if results[0].label != LangUndetermined {
		t.Errorf("labelled %s (%.2f), want und", results[0].label, results[0].score)
	}
	if events[langidEventLowScore] != 1 {
		t.Errorf("events = %v, want one %s", events, langidEventLowScore)
	}
}

func TestLangidLabelsAndScores(t *testing.T) {
	texts := []string{
		"The committee will meet on Tuesday to discuss the budget for the coming year.",
		"Le comité se réunira mardi pour discuter du budget de l'année prochaine.",
		"Комитет соберётся во вторник, чтобы обсудить бюджет на следующий год.",
		"委员会将于星期二开会，讨论明年的预算问题和其他事项。",
	}
	want := []string{"eng_Latn", "fra_Latn", "rus_Cyrl", "cmn_Hani"}
	results, events := runLangid(t, "", texts...)
	for i, r := range results {
		if r.label != want[i] {
			t.Errorf("%q labelled %s, want %s", texts[i], r.label, want[i])
		}
		if r.score < 0.5 || r.score > 1 {
			t.Errorf("%q score %.3f, want between min_score and 1", texts[i], r.score)
		}
	}
	if len(events) != 0 && (events[langidEventShort] != 0 || events[langidEventLowScore] != 0) {
		t.Errorf("events = %v, want no und", events)
	}
}

func TestLangidLanguagesOption(t *testing.T) {
	text := "Le comité se réunira mardi pour discuter du budget de l'année prochaine."
	results, _ := runLangid(t, "{languages: [eng_Latn, fra_Latn]}", text)
	if results[0].label != "fra_Latn" {
		t.Errorf("labelled %s, want fra_Latn", results[0].label)
	}
	german := "Der Ausschuss trifft sich am Dienstag, um den Haushalt zu besprechen."
	results, _ = runLangid(t, "{languages: [eng_Latn, fra_Latn]}", german)
	if results[0].label == "deu_Latn" {
		t.Errorf("labelled deu_Latn, which the languages option excludes")
	}
}

func TestLangidMaxChars(t *testing.T) {
	french := "Le comité se réunira mardi pour discuter du budget de l'année prochaine. "
	english := strings.Repeat("The committee will meet on Tuesday to discuss the budget. ", 20)
	results, _ := runLangid(t, "{max_chars: 70}", french+english)
	if results[0].label != "fra_Latn" {
		t.Errorf("labelled %s, want fra_Latn from the first 70 characters", results[0].label)
	}
}

func TestLangidPrefix(t *testing.T) {
	cases := []struct {
		in          string
		max         int
		want        string
		wantLetters int
	}{
		{"héllo wörld", 2, "hé", 2},
		{"héllo wörld", 100, "héllo wörld", 10},
		{"日本語テキスト", 3, "日本語", 3},
		{"a1 b2", 5, "a1 b2", 2},
		{"", 10, "", 0},
		{"ab\xffcd", 3, "ab\xff", 2},
	}
	for _, c := range cases {
		got, letters := langidPrefix(c.in, c.max)
		if got != c.want || letters != c.wantLetters {
			t.Errorf("langidPrefix(%q, %d) = %q, %d; want %q, %d", c.in, c.max, got, letters, c.want, c.wantLetters)
		}
		if utf8.ValidString(c.in) && !utf8.ValidString(got) {
			t.Errorf("langidPrefix(%q, %d) cut inside a rune", c.in, c.max)
		}
	}
}

func TestLangidKeepsDroppedRows(t *testing.T) {
	st, _, err := buildRegisteredStage(t, "langid", "")
	if err != nil {
		t.Fatal(err)
	}
	bb := pipeline.NewBatchBuilder()
	bb.Append(&pipeline.Doc{Text: "The committee will meet on Tuesday to discuss the budget.", Lang: "xx_Test", LangScore: 0.25})
	b := bb.Build(0)
	defer b.Release()
	b.Drop(0, "earlier_stage")
	if err := st.Process(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	if got := langidResults(b)[0]; got != (langidResult{"xx_Test", 0.25}) {
		t.Errorf("dropped row = %+v, want its input values kept", got)
	}
}

func TestLangidInvalidOptions(t *testing.T) {
	cases := []struct{ options, field string }{
		{"{languages: [eng_Latn]}", "languages"},
		{"{languages: [eng_Latn, en]}", `languages entry "en"`},
		{"{languages: [eng_Latn, eng_Latn]}", "listed twice"},
		{"{min_score: 1.5}", "min_score 1.5"},
		{"{min_score: -0.1}", "min_score -0.1"},
		{"{max_chars: 0}", "max_chars 0"},
		{"{min_chars: -1}", "min_chars -1"},
		{"{min_chars: 50, max_chars: 40}", "min_chars 50"},
		{"{threshold: 0.6}", "threshold"},
	}
	for _, c := range cases {
		t.Run(c.options, func(t *testing.T) {
			_, _, err := buildRegisteredStage(t, "langid", c.options)
			if err == nil {
				t.Fatalf("options %s built a stage, want an error", c.options)
			}
			if !strings.Contains(err.Error(), c.field) {
				t.Errorf("error %q does not name %s", err, c.field)
			}
		})
	}
}

func TestLangidConcurrentMatchesSerial(t *testing.T) {
	texts := []string{
		"The committee will meet on Tuesday to discuss the budget for the coming year.",
		"Le comité se réunira mardi pour discuter du budget de l'année prochaine.",
		"Der Ausschuss trifft sich am Dienstag, um den Haushalt zu besprechen.",
		"El comité se reunirá el martes para discutir el presupuesto del próximo año.",
		"Hi",
	}
	serial, _ := runLangid(t, "", texts...)

	st, _, err := buildRegisteredStage(t, "langid", "")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			b := docBatch(uint64(w), texts...)
			defer b.Release()
			if err := st.Process(context.Background(), b); err != nil {
				t.Error(err)
				return
			}
			if got := langidResults(b); !slices.Equal(got, serial) {
				t.Errorf("worker %d got %v, serial run got %v", w, got, serial)
			}
		})
	}
	wg.Wait()
}

func TestLangidStopsOnCancel(t *testing.T) {
	st, _, err := buildRegisteredStage(t, "langid", "")
	if err != nil {
		t.Fatal(err)
	}
	b := docBatch(0, "The committee will meet on Tuesday to discuss the budget.")
	defer b.Release()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := st.Process(ctx, b); err != context.Canceled {
		t.Errorf("Process on a cancelled context = %v, want context.Canceled", err)
	}
}

// panickingDetector is a lingua detector whose scoring panics.
type panickingDetector struct{ lingua.LanguageDetector }

func (panickingDetector) ComputeLanguageConfidenceValues(string) []lingua.ConfidenceValue {
	panic("zerogram detected")
}

func TestLangidRecoversLinguaPanic(t *testing.T) {
	l := &langid{opts: DefaultLangidOptions(), detector: panickingDetector{}}
	bb := pipeline.NewBatchBuilder()
	bb.Append(&pipeline.Doc{ID: "doc-7", Text: "The committee will meet on Tuesday to discuss the budget."})
	b := bb.Build(0)
	defer b.Release()
	err := l.Process(context.Background(), b)
	if err == nil {
		t.Fatal("Process returned no error for a panicking detector")
	}
	if !strings.Contains(err.Error(), `"doc-7"`) || !strings.Contains(err.Error(), "zerogram detected") {
		t.Errorf("error %q does not name the document and the panic", err)
	}
}

// langidEnglishDocs cuts the English web text of the RedPajama sample into
// documents of about size bytes, each cut at a rune boundary.
func langidEnglishDocs(b *testing.B, size int) []string {
	b.Helper()
	f, err := os.Open(filepath.Join("..", "testdata", "redpajama-cc-2023-06-refined.jsonl"))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()

	var all strings.Builder
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var rec struct{ Text string }
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			b.Fatal(err)
		}
		all.WriteString(rec.Text)
		all.WriteString("\n\n")
	}
	if err := sc.Err(); err != nil {
		b.Fatal(err)
	}

	text := all.String()
	var docs []string
	for len(text) > size {
		cut := size
		for cut > 0 && !utf8.RuneStart(text[cut]) {
			cut--
		}
		docs = append(docs, text[:cut])
		text = text[cut:]
	}
	return docs
}

// BenchmarkLangid measures Process on one batch of English documents of
// about 2 KB, the default max_chars, on one goroutine.
func BenchmarkLangid(b *testing.B) {
	st, _, err := buildRegisteredStage(b, "langid", "")
	if err != nil {
		b.Fatal(err)
	}
	docs := langidEnglishDocs(b, 2000)
	total := 0
	for _, d := range docs {
		total += len(d)
	}
	b.SetBytes(int64(total))
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		batch := docBatch(0, docs...)
		b.StartTimer()
		if err := st.Process(context.Background(), batch); err != nil {
			b.Fatal(err)
		}
		batch.Release()
	}
}
