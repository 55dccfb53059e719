package stages

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/winnow-data/winnow/pipeline"
)

// yamlOverrides parses a YAML mapping of labels to options.
func yamlOverrides(tb testing.TB, mapping string) map[string]yaml.Node {
	tb.Helper()
	var m map[string]yaml.Node
	if err := yaml.Unmarshal([]byte(mapping), &m); err != nil {
		tb.Fatalf("parsing overrides %q: %v", mapping, err)
	}
	return m
}

func TestFineWeb2TableSpotChecks(t *testing.T) {
	entries, err := fineweb2Entries()
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1929 {
		t.Errorf("table has %d languages, want 1929", len(entries))
	}

	fra, ok := entries["fra_Latn"]
	if !ok {
		t.Fatal("no fra_Latn entry")
	}
	if fra.MaxDupLineFraction != 0.264 {
		t.Errorf("fra_Latn dup_line_frac = %v, want 0.264", fra.MaxDupLineFraction)
	}
	if !slices.Contains(fra.StopWords, "de") {
		t.Errorf("fra_Latn stop words %q lack \"de\"", fra.StopWords)
	}
	if fra.MaxDupNGramFractions != [6]float64{0.15, 0.141, 0.131, 0.121, 0.111, 0.1} {
		t.Errorf("fra_Latn dup_n_grams = %v", fra.MaxDupNGramFractions)
	}

	cmn, ok := entries["cmn_Hani"]
	if !ok {
		t.Fatal("no cmn_Hani entry")
	}
	if cmn.MinMeanWordLength != 1 || cmn.MaxMeanWordLength != 5 {
		t.Errorf("cmn_Hani mean word length %v to %v, want 1 to 5", cmn.MinMeanWordLength, cmn.MaxMeanWordLength)
	}
	for _, w := range []string{"的", "年", "在", "·"} {
		if !slices.Contains(cmn.StopWords, w) {
			t.Errorf("cmn_Hani stop words %q lack %q", cmn.StopWords, w)
		}
	}

	if _, ok := entries["eng_Latn"]; ok {
		t.Error("eng_Latn has an entry; English must keep the stage options")
	}
	for _, label := range LangLabels() {
		if _, ok := entries[label]; !ok && label != "eng_Latn" {
			t.Errorf("langid label %s has no FineWeb-2 entry", label)
		}
	}
}

func TestParseFineWeb2TableErrors(t *testing.T) {
	header := strings.Join(fineweb2Columns, "\t")
	row := "fra_Latn\t0.8\t2\t11\t0.8\t0.26\t0.1\t0.1\t0.1\t0.1\t0.1\t0.1\t0.1\t0.1\t0.1\t0.1\t0.2\tde la"
	tests := []struct {
		name, table, wantErr string
	}{
		{"valid", header + "\n" + row + "\n", ""},
		{"wrong header", "label\tscore\n" + row + "\n", "header"},
		{"missing field", header + "\nfra_Latn\t0.8\n", "has 2 fields"},
		{"bad number", header + "\n" + strings.Replace(row, "0.26", "x", 1) + "\n", "dup_line_frac"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			entries, err := parseFineWeb2Table(tt.table)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("parse: %v", err)
			case tt.wantErr == "" && !slices.Equal(entries["fra_Latn"].StopWords, []string{"de", "la"}):
				t.Errorf("stop words = %q, want [de la]", entries["fra_Latn"].StopWords)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("parse error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

// TestFineWeb2EntriesGiveValidOptions checks that every entry of the table
// becomes options that pass each stage's validation, values above 1 and
// negative limits included.
func TestFineWeb2EntriesGiveValidOptions(t *testing.T) {
	entries, err := fineweb2Entries()
	if err != nil {
		t.Fatal(err)
	}
	for label := range entries {
		gopher, rep, fw := DefaultGopherOptions(), DefaultRepetitionOptions(), DefaultFineWebOptions()
		for name, o := range map[string]interface{ Validate() error }{
			"gopher_quality":    ptr(optionsForLabel(&gopher, label)),
			"gopher_repetition": ptr(optionsForLabel(&rep, label)),
			"fineweb_quality":   ptr(optionsForLabel(&fw, label)),
		} {
			if err := o.Validate(); err != nil {
				t.Errorf("%s options for %s: %v", name, label, err)
			}
		}
	}
}

// TestForLanguageValues checks how each stage turns FineWeb-2's values into
// its own, at the values FineWeb-2 gives a special meaning.
func TestForLanguageValues(t *testing.T) {
	entry := &fineweb2Rules{
		MinMeanWordLength: 0, MaxMeanWordLength: 12, MinAlphaWordFraction: 0.7,
		MaxDupLineFraction:   0,
		MaxTopNGramFractions: [3]float64{1.5, 0.3, 0.2},
		MaxDupNGramFractions: [6]float64{1.2, 0.5, 0.4, 0.3, 0.2, 0},
		MinLinePunctRatio:    -1, MaxLineBreaksPerWord: 2.5,
		StopWords: []string{"de"},
	}

	gopher := DefaultGopherOptions()
	gopher.forLanguage(entry)
	if gopher.MinMeanWordLength != 0 || gopher.MaxMeanWordLength != 12 || gopher.MinAlphaWordFraction != 0.7 || !slices.Equal(gopher.StopWords, []string{"de"}) {
		t.Errorf("gopher_quality options %+v", gopher)
	}
	if gopher.MinWords != 50 || gopher.Languages != nil || gopher.Overrides != nil {
		t.Errorf("gopher_quality kept min_words %d, languages %v, overrides %v; want 50 and both cleared", gopher.MinWords, gopher.Languages, gopher.Overrides)
	}

	rep := DefaultRepetitionOptions()
	rep.forLanguage(entry)
	if rep.MaxDupLineFraction != 1 {
		t.Errorf("dup_line_frac 0 gives max_dup_line_fraction %v, want 1 (off)", rep.MaxDupLineFraction)
	}
	if rep.MaxDupParagraphFraction != 1 || rep.MaxDupLineCharFraction != 1 || rep.MaxDupParagraphCharFraction != 1 {
		t.Errorf("paragraph and character rules %v %v %v, want all 1 (off)", rep.MaxDupParagraphFraction, rep.MaxDupLineCharFraction, rep.MaxDupParagraphCharFraction)
	}
	if rep.MaxTopNGramFractions != [3]float64{1.5, 0.3, 0.2} || rep.MaxDupNGramFractions != [6]float64{1, 0.5, 0.4, 0.3, 0.2, 0} {
		t.Errorf("n-gram limits %v %v", rep.MaxTopNGramFractions, rep.MaxDupNGramFractions)
	}
	entry.MaxDupLineFraction = 1.32
	rep.forLanguage(entry)
	if rep.MaxDupLineFraction != 1 {
		t.Errorf("dup_line_frac 1.32 gives %v, want 1", rep.MaxDupLineFraction)
	}

	for thr, want := range map[float64]float64{-1: 0, 0: finewebAnyLine, 0.1: 0.1} {
		entry.MinLinePunctRatio = thr
		fw := DefaultFineWebOptions()
		fw.forLanguage(entry)
		if fw.MinLinePunctRatio != want {
			t.Errorf("line_punct_thr %v gives min_line_punct_ratio %v, want %v", thr, fw.MinLinePunctRatio, want)
		}
		if fw.MaxLineBreaksPerWord != 2.5 || fw.MaxShortLineRatio != 1 || fw.MaxCharDupRatio != 0.1 || fw.ShortLineMaxChars != 30 {
			t.Errorf("fineweb_quality options %+v", fw)
		}
	}
}

// chineseParagraph is 300 code points of Chinese: 276 Han characters and
// 24 punctuation marks, with 39 of cmn_Hani's stop words.
const chineseParagraph = "春天的时候，我和朋友们常常在城市东边的公园里散步。这个公园很大，中间有一个安静的湖，湖边种着很多柳树和樱花树。" +
	"每到周末，附近的居民都会带着孩子来这里放风筝、骑自行车或者在草地上野餐。老人们喜欢在树下下棋、聊天，年轻人则在跑道上锻炼身体。" +
	"去年市政府对公园进行了改造，增加了新的儿童游乐场和一条沿着湖岸的木栈道，还修建了一座小型图书馆，让人们可以在阅读中度过一个悠闲的下午。" +
	"晚上，湖面倒映着周围高楼的灯光，景色格外美丽动人。很多游客专门从外地赶来拍照留念，有的人一直待到深夜才离开。" +
	"我觉得这个公园是城市里最重要的公共空间之一，它让忙碌的人们有机会停下脚步，感受自然的美好，也让邻居之间的关系变得更加亲近。"

// frenchParagraph has 72 words, among them 26 of fra_Latn's stop words
// and none of the English ones.
const frenchParagraph = "Le village se trouve au bord de la rivière, à quelques kilomètres de la ville. " +
	"Les habitants vivent surtout de l'agriculture et du tourisme. Chaque été, une grande fête réunit " +
	"les familles sur la place du marché : on y mange des spécialités locales, on danse jusqu'à minuit " +
	"et les enfants jouent dans les rues. Il est conseillé de réserver une chambre à l'avance, car les " +
	"hôtels sont souvent complets pendant cette période."

// frenchNoStopWords is 69 words of French without one of fra_Latn's stop
// words.
const frenchNoStopWords = "Visite guidée pour petits groupes : musées, jardins, marchés couverts, ruelles médiévales, " +
	"ateliers artisanaux, boutiques anciennes, cafés historiques. Horaires : lundi, mardi, mercredi, jeudi, " +
	"vendredi, samedi matin. Tarif réduit pour étudiants, seniors, familles nombreuses, demandeurs d'emploi. " +
	"Réservation conseillée pendant vacances scolaires. Départ devant office municipal, place centrale, près " +
	"fontaine. Durée totale : trois heures environ. Chaussures confortables recommandées. Parapluie utile selon " +
	"météo. Guides bilingues, anglais, espagnol, allemand, italien disponibles sur demande préalable."

// labelledDocs builds a batch of one document per text and label pair.
func labelledDocs(pairs ...string) *pipeline.Batch {
	bb := pipeline.NewBatchBuilder()
	for i := 0; i+1 < len(pairs); i += 2 {
		bb.Append(&pipeline.Doc{ID: fmt.Sprint(i / 2), Text: pairs[i], Lang: pairs[i+1]})
	}
	return bb.Build(0)
}

func TestExampleTextsAsDescribed(t *testing.T) {
	if n := len([]rune(chineseParagraph)); n != 300 {
		t.Errorf("chineseParagraph has %d code points, want 300", n)
	}
	cmn, _ := lookupFineWeb2("cmn_Hani")
	if s := MeasureGopher(chineseParagraph, NewStopWords(cmn.StopWords)); s.Words != 276 || s.StopWords != 39 {
		t.Errorf("chineseParagraph has %d words and %d stop words, want 276 and 39", s.Words, s.StopWords)
	}
	fra, _ := lookupFineWeb2("fra_Latn")
	if s := MeasureGopher(frenchParagraph, NewStopWords(fra.StopWords)); s.Words != 72 || s.StopWords != 26 {
		t.Errorf("frenchParagraph has %d words and %d stop words, want 72 and 26", s.Words, s.StopWords)
	}
	if s := MeasureGopher(frenchNoStopWords, NewStopWords(fra.StopWords)); s.Words != 69 || s.StopWords != 0 {
		t.Errorf("frenchNoStopWords has %d words and %d stop words, want 69 and 0", s.Words, s.StopWords)
	}
}

// TestGopherPerLanguage checks the verdicts of gopher_quality with its
// default options on documents of several languages.
func TestGopherPerLanguage(t *testing.T) {
	tests := []struct {
		name, text, lang, want string
	}{
		{"chinese paragraph labelled", chineseParagraph, "cmn_Hani", ""},
		// English rules: 276 words of one code point are too short on average, not too few.
		{"chinese paragraph unlabelled", chineseParagraph, "", gopherMeanWordLengthLow},
		{"chinese paragraph und", chineseParagraph, LangUndetermined, gopherMeanWordLengthLow},
		{"french paragraph labelled", frenchParagraph, "fra_Latn", ""},
		{"french paragraph unlabelled", frenchParagraph, "", gopherStopWords},
		{"french paragraph labelled english", frenchParagraph, "eng_Latn", gopherStopWords},
		{"french without stop words", frenchNoStopWords, "fra_Latn", gopherStopWords},
		// No entry: the stage's English options apply.
		{"label without an entry", frenchParagraph, "fr", gopherStopWords},
	}
	st, _ := stageFromYAML(t, "gopher_quality", "")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := labelledDocs(tt.text, tt.lang)
			defer b.Release()
			processOne(t, st, b)
			if got := b.Dropped[0]; got != tt.want {
				t.Errorf("dropped = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestGopherLanguageOptions(t *testing.T) {
	tests := []struct {
		name, options, text, lang, want string
	}{
		{"per_language off", "per_language: false", frenchParagraph, "fra_Latn", gopherStopWords},
		{"override for the label", "overrides: {fra_Latn: {min_words: 100}}", frenchParagraph, "fra_Latn", gopherShortDoc},
		{"override keeps the entry's stop words", "overrides: {fra_Latn: {min_words: 60}}", frenchNoStopWords, "fra_Latn", gopherStopWords},
		{"override of another label", "overrides: {deu_Latn: {min_words: 100}}", frenchParagraph, "fra_Latn", ""},
		{"override with per_language off", "per_language: false\noverrides: {fra_Latn: {stop_words: [de, la]}}", frenchParagraph, "fra_Latn", ""},
		{"override for english", "overrides: {eng_Latn: {stop_words: [de, la]}}", frenchParagraph, "eng_Latn", ""},
		{"override for english leaves unlabelled", "overrides: {eng_Latn: {stop_words: [de, la]}}", frenchParagraph, "", gopherStopWords},
		{"languages lists english only", "languages: [eng_Latn]", frenchNoStopWords, "fra_Latn", ""},
		{"languages lists english only, und checked", "languages: [eng_Latn]", frenchNoStopWords, "und", gopherStopWords},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, _ := stageFromYAML(t, "gopher_quality", tt.options)
			b := labelledDocs(tt.text, tt.lang)
			defer b.Release()
			processOne(t, st, b)
			if got := b.Dropped[0]; got != tt.want {
				t.Errorf("dropped = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestLanguageOptionErrors(t *testing.T) {
	tests := []struct {
		stage, options, wantErr string
	}{
		{"gopher_quality", "overrides: {french: {min_words: 80}}", `invalid overrides key "french"`},
		{"gopher_quality", "overrides: {fra_Latn: {min_word: 80}}", `invalid overrides.fra_Latn: line 1: unknown field "min_word"`},
		{"gopher_quality", "overrides: {fra_Latn: {languages: [fra_Latn]}}", `unknown field "languages"`},
		{"gopher_quality", "overrides: {fra_Latn: {min_words: 0.5}}", "invalid min_words 0.5: must be a whole number"},
		{"gopher_quality", "overrides: {fra_Latn: {min_words: -1}}", "invalid overrides.fra_Latn: invalid min_words -1"},
		{"gopher_quality", "overrides: {fra_Latn: 80}", "invalid overrides.fra_Latn: must be a mapping of options"},
		{"gopher_quality", "overrides: {fra_Latn: {min_words: many}}", "invalid overrides.fra_Latn"},
		{"gopher_quality", "languages: [french]", `invalid languages entry "french"`},
		{"gopher_quality", "languages: [aai_Latn]", ""},
		{"gopher_repetition", "overrides: {xx_Latn: {max_dup_line_fraction: 0.2}}", `invalid overrides key "xx_Latn"`},
		{"gopher_repetition", "overrides: {fra_Latn: {max_dup_line_fraction: 2}}", "invalid overrides.fra_Latn: invalid max_dup_line_fraction 2"},
		{"fineweb_quality", "overrides: {und: {min_line_punct_ratio: 0.2}}", `invalid overrides key "und"`},
		{"fineweb_quality", "overrides: {fra_Latn: {short_line_max_chars: 1.5}}", "invalid short_line_max_chars 1.5"},
		{"fineweb_quality", "overrides: {jpn_Jpan: {min_line_punct_ratio: 0.2}}", ""},
	}
	for _, tt := range tests {
		t.Run(tt.stage+" "+tt.options, func(t *testing.T) { checkBuild(t, tt.stage, tt.options, tt.wantErr) })
	}
}

// frenchRepetitionDoc returns lines distinct lines with no repeated 2-gram,
// plus dups copies of the one-word line "Suite", each after a distinct
// line, so only the duplicated-line rule can fail.
func frenchRepetitionDoc(lines, dups int) string {
	var sb strings.Builder
	for i := range lines {
		fmt.Fprintf(&sb, "Ligne%d contient mot%da et mot%db.\n", i, i, i)
		if i <= dups {
			sb.WriteString("Suite\n")
		}
	}
	return sb.String()
}

func TestRepetitionFrenchDupLineBoundary(t *testing.T) {
	// 91 distinct lines and 34 copies of "Suite": 33 of 125 lines repeat,
	// 0.264 exactly. One more copy: 34 of 126, 0.27.
	atLimit, overLimit := frenchRepetitionDoc(91, 33), frenchRepetitionDoc(91, 34)
	for _, tt := range []struct {
		text        string
		lines, dups int
	}{{atLimit, 125, 33}, {overLimit, 126, 34}} {
		if s := MeasureRepetition(tt.text); s.Lines != tt.lines || s.DupLines != tt.dups || s.TopNGramChars != [3]int{} {
			t.Fatalf("test document: %d lines, %d repeated, top n-grams %v; want %d, %d and none", s.Lines, s.DupLines, s.TopNGramChars, tt.lines, tt.dups)
		}
	}

	tests := []struct {
		name, text, lang, want string
	}{
		{"at fra_Latn limit", atLimit, "fra_Latn", ""},
		{"over fra_Latn limit", overLimit, "fra_Latn", repDupLineFrac},
		{"over fra_Latn limit, unlabelled", overLimit, "", ""}, // 0.3 for English
	}
	st, _ := stageFromYAML(t, "gopher_repetition", "")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := labelledDocs(tt.text, tt.lang)
			defer b.Release()
			processOne(t, st, b)
			if got := b.Dropped[0]; got != tt.want {
				t.Errorf("dropped = %q, want %q (signals %+v)", got, tt.want, MeasureRepetition(tt.text))
			}
		})
	}

	fra, _ := lookupFineWeb2("fra_Latn")
	opts := DefaultRepetitionOptions()
	opts.forLanguage(fra)
	for dups, want := range map[int]string{33: "", 34: repDupLineFrac} {
		s := RepetitionSignals{Lines: 125, DupLines: dups, LineChars: 1000, Paragraphs: 1, Words: 200, WordChars: 800}
		if got := opts.failedRule(s); got != want {
			t.Errorf("%d of 125 lines repeated: failedRule = %q, want %q", dups, got, want)
		}
	}
}

func TestRepetitionPerLanguageParagraphs(t *testing.T) {
	// 1 of 8 lines but 1 of 3 paragraphs repeats: English drops it by the
	// paragraph rule, which FineWeb-2 turned off.
	text := strings.Join(repetitionParagraphs, "\n") + "\n\nShort one.\n\nShort one."
	st, _ := stageFromYAML(t, "gopher_repetition", "")
	b := labelledDocs(text, "", text, "fra_Latn")
	defer b.Release()
	processOne(t, st, b)
	if b.Dropped[0] != repDupParaFrac || b.Dropped[1] != "" {
		t.Errorf("dropped = %q, want %q unlabelled and nothing for fra_Latn", b.Dropped, repDupParaFrac)
	}
}

func TestFineWebPerLanguage(t *testing.T) {
	// Ten lines of a Thai run of 29 code points and a number: 8 + 1 words
	// each, and 9 line breaks per 90 words, under tha_Thai's 0.153.
	var thai []string
	for i := range 10 {
		thai = append(thai, fmt.Sprintf("ภาษาไทยเป็นภาษาที่มีความงดงาม %d", i))
	}
	noPunct := strings.Join(thai, "\n")
	onePunct := noPunct + "."
	// 3 of 4 lines are short; 3 breaks per 20 words is under fra_Latn's 0.185.
	shortLines := "Bonjour.\nMerci.\nAu revoir.\nUne ligne beaucoup plus longue que trente caractères, avec de la ponctuation et quelques mots de plus."

	tests := []struct {
		name, text, lang, want string
	}{
		// tha_Thai's line_punct_thr is 0: at least one line must end in punctuation.
		{"thai without end punctuation", noPunct, "tha_Thai", finewebLinePunct},
		{"thai with one line ending in a period", onePunct, "tha_Thai", ""},
		// aai_Latn's line_punct_thr is -1: the rule is off.
		{"rule off for aai_Latn", "one line without any punctuation that goes on for a while", "aai_Latn", ""},
		// Short lines: off for a FineWeb-2 language, 0.67 for English.
		{"short lines in french", shortLines, "fra_Latn", ""},
		{"short lines unlabelled", shortLines, "", finewebShortLine},
	}
	st, _ := stageFromYAML(t, "fineweb_quality", "")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := labelledDocs(tt.text, tt.lang)
			defer b.Release()
			processOne(t, st, b)
			if got := b.Dropped[0]; got != tt.want {
				t.Errorf("dropped = %q, want %q (signals %+v)", got, tt.want, MeasureFineWeb(tt.text, 30))
			}
		})
	}
}

func TestLangRulesForLabel(t *testing.T) {
	opts := DefaultGopherOptions()
	opts.Overrides = yamlOverrides(t, "fra_Latn: {min_words: 70}")
	rules, err := newLangRules(&opts, func(o *GopherOptions) *GopherOptions { return o })
	if err != nil {
		t.Fatal(err)
	}
	for label, wantMinLength := range map[string]float64{"": 3, "und": 3, "eng_Latn": 3, "zz": 3, "cmn_Hani": 1, "deu_Latn": 0, "fra_Latn": 2} {
		if got := rules.forLabel(label).MinMeanWordLength; got != wantMinLength {
			t.Errorf("forLabel(%q) min_mean_word_length = %v, want %v", label, got, wantMinLength)
		}
	}
	if got := rules.forLabel("fra_Latn").MinWords; got != 70 {
		t.Errorf("fra_Latn min_words = %d, want the override's 70", got)
	}
	if rules.forLabel("cmn_Hani") != rules.forLabel("cmn_Hani") {
		t.Error("rules for cmn_Hani prepared twice")
	}
	if allocs := testing.AllocsPerRun(100, func() {
		rules.forLabel("cmn_Hani")
		rules.forLabel("")
		rules.forLabel("fra_Latn")
		rules.forLabel("zz")
	}); allocs != 0 {
		t.Errorf("forLabel allocates %v times per call", allocs)
	}
}

func TestLangRulesConcurrent(t *testing.T) {
	opts := DefaultRepetitionOptions()
	rules, err := newLangRules(&opts, func(o *RepetitionOptions) *RepetitionOptions { return o })
	if err != nil {
		t.Fatal(err)
	}
	labels := []string{"fra_Latn", "deu_Latn", "cmn_Hani", "jpn_Jpan", "tha_Thai", "eng_Latn", "", "rus_Cyrl"}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				label := labels[(g+i)%len(labels)]
				want := 0.3
				if entry, ok := lookupFineWeb2(label); ok {
					want = entry.MaxDupLineFraction
				}
				if got := rules.forLabel(label).MaxDupLineFraction; got != want {
					t.Errorf("forLabel(%q) max_dup_line_fraction = %v, want %v", label, got, want)
					return
				}
			}
		})
	}
	wg.Wait()
}

// TestFailedRulePerLanguageBoundaries checks each per-language threshold at
// and just past its limit, with the options of cmn_Hani for gopher_quality
// (mean word length 1 to 5, alpha words 0.735) and of fra_Latn for
// fineweb_quality (line punctuation 0.1, line breaks per word 0.185).
func TestFailedRulePerLanguageBoundaries(t *testing.T) {
	cmn, _ := lookupFineWeb2("cmn_Hani")
	gopher := DefaultGopherOptions()
	gopher.forLanguage(cmn)
	base := GopherSignals{Words: 1000, WordChars: 1200, AlphaWords: 900, StopWords: 2, Lines: 10}
	with := func(change func(*GopherSignals)) GopherSignals {
		s := base
		change(&s)
		return s
	}
	gopherCases := []struct {
		name    string
		signals GopherSignals
		want    string
	}{
		{"base passes", base, ""},
		{"mean length 1", with(func(s *GopherSignals) { s.WordChars = 1000 }), ""},
		{"mean length 0.999", with(func(s *GopherSignals) { s.WordChars = 999 }), gopherMeanWordLengthLow},
		{"mean length 5", with(func(s *GopherSignals) { s.WordChars = 5000 }), ""},
		{"mean length 5.001", with(func(s *GopherSignals) { s.WordChars = 5001 }), gopherMeanWordLengthHigh},
		{"735 of 1000 words alphabetic", with(func(s *GopherSignals) { s.AlphaWords = 735 }), ""},
		{"734 of 1000 words alphabetic", with(func(s *GopherSignals) { s.AlphaWords = 734 }), gopherAlphaWords},
		{"1 stop word", with(func(s *GopherSignals) { s.StopWords = 1 }), gopherStopWords},
	}
	for _, tt := range gopherCases {
		if got := gopher.failedRule(tt.signals); got != tt.want {
			t.Errorf("cmn_Hani %s: failedRule = %q, want %q", tt.name, got, tt.want)
		}
	}

	fra, _ := lookupFineWeb2("fra_Latn")
	fw := DefaultFineWebOptions()
	fw.forLanguage(fra)
	fwBase := FineWebSignals{Lines: 100, PunctLines: 50, ShortLines: 100, LineChars: 1000, DupLineChars: 100, LineBreaks: 99, Words: 1000}
	fwWith := func(change func(*FineWebSignals)) FineWebSignals {
		s := fwBase
		change(&s)
		return s
	}
	fineWebCases := []struct {
		name    string
		signals FineWebSignals
		want    string
	}{
		// All lines short and 10% of characters in repeated lines: both rules
		// are off or at 0.1 for FineWeb-2 languages.
		{"base passes", fwBase, ""},
		{"10 of 100 lines end in punctuation", fwWith(func(s *FineWebSignals) { s.PunctLines = 10 }), ""},
		{"9 of 100 lines end in punctuation", fwWith(func(s *FineWebSignals) { s.PunctLines = 9 }), finewebLinePunct},
		{"101 of 1000 characters repeated", fwWith(func(s *FineWebSignals) { s.DupLineChars = 101 }), finewebCharDup},
		{"185 breaks per 1000 words", fwWith(func(s *FineWebSignals) { s.LineBreaks = 185 }), ""},
		{"186 breaks per 1000 words", fwWith(func(s *FineWebSignals) { s.LineBreaks = 186 }), finewebList},
	}
	for _, tt := range fineWebCases {
		if got := fw.failedRule(tt.signals); got != tt.want {
			t.Errorf("fra_Latn %s: failedRule = %q, want %q", tt.name, got, tt.want)
		}
	}
}
