package stages

import (
	"github.com/winnow-data/winnow/internal/testutil"

	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/pemistahl/lingua-go"

	fastlangid "github.com/winnow-data/winnow/langid"
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
		if _, _, letters := langidSample(texts[i], 2000); letters < 20 {
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

	// Measured with the default options (fast scorer, high accuracy): 54 of 54.
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

func TestLangidSampleMiddle(t *testing.T) {
	// A menu in English, then a German article: with max_chars 150 the
	// head is mostly menu and the middle stretch is German.
	menu := "Home | News | Sports | Weather | Contact us | Sign in | Subscribe | Privacy policy | Cookie settings\n"
	german := strings.Repeat("Der Gemeinderat hat am Dienstagabend beschlossen, die alte Brücke über den Fluss im kommenden Frühjahr zu erneuern. ", 25)
	results, _ := runLangid(t, "{max_chars: 150}", menu+german)
	if results[0].label != "deu_Latn" {
		t.Errorf("labelled %s (%.2f), want deu_Latn from the middle stretch", results[0].label, results[0].score)
	}
}

func TestLangidSample(t *testing.T) {
	long := strings.Repeat("a", 10) + "XY" + strings.Repeat("b", 5) + " word " + strings.Repeat("c", 20)
	cases := []struct {
		name         string
		in           string
		max          int
		head, middle string
		letters      int
	}{
		{"short text whole", "héllo wörld", 100, "héllo wörld", "", 10},
		{"up to twice max_chars whole", "日本語テキスト", 4, "日本語テキスト", "", 7},
		{"digits are not letters", "a1 b2", 5, "a1 b2", "", 2},
		{"empty", "", 10, "", "", 0},
		{"invalid UTF-8 kept whole", "ab\xffcd", 3, "ab\xffcd", "", 4},
		// 43 characters: the head is the first 5, the middle starts at
		// byte 21, inside "word", and skips to the space after it.
		{"long text head and middle", long, 5, "aaaaa", " cccc", 9},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			head, middle, letters := langidSample(c.in, c.max)
			if head != c.head || middle != c.middle || letters != c.letters {
				t.Errorf("langidSample(%q, %d) = %q, %q, %d; want %q, %q, %d", c.in, c.max, head, middle, letters, c.head, c.middle, c.letters)
			}
		})
	}
}

func TestLangidSampleRuneBoundaries(t *testing.T) {
	text := strings.Repeat("日本語のテキスト、", 50)
	head, middle, _ := langidSample(text, 20)
	if utf8.RuneCountInString(head) != 20 || !utf8.ValidString(head) {
		t.Errorf("head %q has %d runes, want 20 whole runes", head, utf8.RuneCountInString(head))
	}
	if n := utf8.RuneCountInString(middle); n > 20 || n == 0 || !utf8.ValidString(middle) {
		t.Errorf("middle %q has %d runes, want 1 to 20 whole runes", middle, n)
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
		{"{scorer: cld3}", `scorer "cld3"`},
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

func TestLangidFixtures(t *testing.T) {
	german := strings.Repeat("Die Stadtverwaltung hat am Montag mitgeteilt, dass die Sanierung der Schwimmhalle länger dauern wird als geplant. "+
		"Nach Angaben der Bauleitung fehlen noch Ersatzteile für die Lüftungsanlage, die erst im Herbst geliefert werden können.\n\n", 5)
	english := "The committee published its annual report on Monday. It covers the budget, the new library " +
		"and the plans for the harbour, and it thanks the volunteers who ran the summer festival.\n"
	names := "English Deutsch Français Русский Ελληνικά العربية 中文 日本語 한국어"
	cases := []struct {
		name    string
		options string
		text    string
		want    []string // any of these labels
	}{
		{"French sentence", "", "Nous partons demain matin pour Lyon avec mes cousins.", []string{"fra_Latn"}},
		{"two words", "", "GOOD LUCK", []string{"und"}},
		{"three words", "", "see you soon", []string{"und"}},
		{"two words, min_chars 1", "{min_chars: 1}", "GOOD LUCK", []string{"eng_Latn", "und"}},
		{"three words, min_chars 1", "{min_chars: 1}", "see you soon", []string{"eng_Latn", "und"}},
		{"English title, German paragraphs", "", "How to apply for a parking permit\n\n" + german, []string{"deu_Latn"}},
		{"German with a French loanword", "", "Sie hat ihm zum Geburtstag ein schönes Portemonnaie aus Leder geschenkt, das er jeden Tag benutzt.", []string{"deu_Latn"}},
		{"English, then language names in six scripts", "", english + names, []string{"eng_Latn"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			results, _ := runLangid(t, c.options, c.text)
			if !slices.Contains(c.want, results[0].label) {
				t.Errorf("labelled %s (%.2f), want one of %v", results[0].label, results[0].score, c.want)
			}
		})
	}
}

// langidSampleDocs returns the first n documents of the Common Crawl
// sample, which has pages in about 50 languages.
func langidSampleDocs(t *testing.T, n int) []string {
	t.Helper()
	docs := testutil.ReadJSONLTexts(t, filepath.Join("..", "testdata", "cc-2019-30-00140.dolma.jsonl.gz"))
	return docs[:min(n, len(docs))]
}

func TestLangidScorersAgree(t *testing.T) {
	// Low-accuracy mode keeps lingua's model loading cheap; the
	// high-accuracy comparison is package langid's golden test.
	docs := append(langidSampleDocs(t, 80), "The quick fox", "Nous partons demain matin pour Lyon avec mes cousins.")
	fast, _ := runLangid(t, "{high_accuracy: false, min_chars: 5}", docs...)
	ref, _ := runLangid(t, "{high_accuracy: false, min_chars: 5, scorer: lingua}", docs...)
	for i := range docs {
		if fast[i].label != ref[i].label {
			t.Errorf("document %d: fast %s (%.4f), lingua %s (%.4f)", i, fast[i].label, fast[i].score, ref[i].label, ref[i].score)
			continue
		}
		if d := fast[i].score - ref[i].score; d > 1e-4 || d < -1e-4 {
			t.Errorf("document %d: fast score %.6f, lingua %.6f", i, fast[i].score, ref[i].score)
		}
	}
}

func TestLangidSameLabelsAnyBatching(t *testing.T) {
	docs := langidSampleDocs(t, 300)
	want, _ := runLangid(t, "", docs...)

	st, _, err := buildRegisteredStage(t, "langid", "")
	if err != nil {
		t.Fatal(err)
	}
	for _, size := range []int{1, 7, 64} {
		got := make([]langidResult, len(docs))
		var wg sync.WaitGroup
		for start := 0; start < len(docs); start += size {
			end := min(start+size, len(docs))
			wg.Go(func() {
				b := docBatch(uint64(start), docs[start:end]...)
				defer b.Release()
				if err := st.Process(context.Background(), b); err != nil {
					t.Error(err)
					return
				}
				copy(got[start:end], langidResults(b))
			})
		}
		wg.Wait()
		if !slices.Equal(got, want) {
			t.Errorf("batches of %d, processed concurrently, gave other labels than one batch", size)
		}
	}
}

// TestLangidModelMemory measures the heap the fast scorer's models take,
// all 75 languages in high-accuracy mode, in a fresh process, because the
// models load once per process.
func TestLangidModelMemory(t *testing.T) {
	if os.Getenv("WINNOW_LANGID_MEMORY_CHILD") == "1" {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		if _, err := fastlangid.NewDetector(nil, true); err != nil {
			t.Fatal(err)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		fmt.Printf("heap %d sys %d\n", after.HeapAlloc-before.HeapAlloc, after.Sys)
		return
	}
	if testing.Short() || raceEnabled {
		t.Skip("loads about 260 MB of models; the race detector inflates the heap")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestLangidModelMemory$")
	cmd.Env = append(os.Environ(), "WINNOW_LANGID_MEMORY_CHILD=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child process: %v\n%s", err, out)
	}
	var heap, sys uint64
	if _, err := fmt.Sscanf(string(out), "heap %d sys %d", &heap, &sys); err != nil {
		t.Fatalf("reading %q: %v", out, err)
	}
	t.Logf("models: %d MB of heap after GC; %d MB obtained from the OS, loading included", heap>>20, sys>>20)
	if heap > 600<<20 {
		t.Errorf("models take %d MB of heap, want 600 MB at most", heap>>20)
	}
}

// cutDocs joins texts and cuts them into documents of about size bytes,
// each cut at a rune boundary.
func cutDocs(texts []string, size int) []string {
	text := strings.Join(texts, "\n\n")
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

// langidBenchDocs returns documents of about 2 KB in English, German,
// Russian, Arabic and Chinese. English is the RedPajama sample. German,
// Russian and Chinese are the documents of the Common Crawl sample that
// the fast scorer labels so with a confidence over 0.9. Arabic is the
// HPLT sample, because the Common Crawl sample has no Arabic.
func langidBenchDocs(b *testing.B) map[string][]string {
	b.Helper()
	d, err := fastlangid.NewDetector(nil, true)
	if err != nil {
		b.Fatal(err)
	}
	byLang := map[lingua.Language][]string{}
	for _, text := range testutil.ReadJSONLTexts(b, filepath.Join("..", "testdata", "cc-2019-30-00140.dolma.jsonl.gz")) {
		if r := d.Detect(text); r.Confidence > 0.9 {
			byLang[r.Language] = append(byLang[r.Language], text)
		}
	}
	return map[string][]string{
		"eng": cutDocs(testutil.ReadJSONLTexts(b, filepath.Join("..", "testdata", "redpajama-cc-2023-06-refined.jsonl")), 2000),
		"deu": cutDocs(byLang[lingua.German], 2000),
		"rus": cutDocs(byLang[lingua.Russian], 2000),
		"arb": cutDocs(testutil.ReadJSONLTexts(b, filepath.Join("..", "testdata", "langid", "ara_Arab.jsonl")), 2000),
		"cmn": cutDocs(byLang[lingua.Chinese], 2000),
	}
}

// BenchmarkLangid measures Process with the default options, all 75
// languages, on one batch of documents of about 2 KB per language, on one
// goroutine.
func BenchmarkLangid(b *testing.B) {
	docs := langidBenchDocs(b)
	for _, lang := range []string{"eng", "deu", "rus", "arb", "cmn"} {
		b.Run(lang, func(b *testing.B) {
			benchmarkLangidDocs(b, "", docs[lang])
		})
	}
}

// BenchmarkLangidLingua measures the lingua scorer on the English
// documents of BenchmarkLangid, for comparison.
func BenchmarkLangidLingua(b *testing.B) {
	docs := cutDocs(testutil.ReadJSONLTexts(b, filepath.Join("..", "testdata", "redpajama-cc-2023-06-refined.jsonl")), 2000)
	benchmarkLangidDocs(b, "{scorer: lingua}", docs[:20])
}

func benchmarkLangidDocs(b *testing.B, options string, docs []string) {
	st, _, err := buildRegisteredStage(b, "langid", options)
	if err != nil {
		b.Fatal(err)
	}
	if len(docs) == 0 {
		b.Fatal("no documents")
	}
	total := 0
	for _, d := range docs {
		total += len(d)
	}
	warm := docBatch(0, docs[0])
	if err := st.Process(context.Background(), warm); err != nil {
		b.Fatal(err)
	}
	warm.Release()

	b.SetBytes(int64(total))
	b.ReportAllocs()
	b.ResetTimer()
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
