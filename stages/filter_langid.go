package stages

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/pemistahl/lingua-go"
	"github.com/shopspring/decimal"

	fastlangid "github.com/winnow-data/winnow/langid"
	"github.com/winnow-data/winnow/pipeline"
)

// LangUndetermined is the language label of a document whose language was
// not identified: too few letters, or a top confidence below min_score. It
// is the ISO 639-3 code for "undetermined".
const LangUndetermined = "und"

// Event names of the langid stage: documents labelled und, by cause.
const (
	langidEventShort    = "und_short_text"
	langidEventLowScore = "und_low_score"
)

const langidDoc = "Identifies the language of each document with the n-gram models and decision rules of lingua (github.com/pemistahl/lingua-go) " +
	"and writes the lang and lang_score columns, and lang_script, the ISO 15924 script most letters belong to (Latn, Cyrl, Hans, Hant, Jpan). Labels are ISO 639-3 code plus ISO 15924 script, as FineWeb-2 names them " +
	"(eng_Latn, fra_Latn, cmn_Hani, rus_Cyrl), or und when the text has fewer than min_chars letters or the top confidence is below min_score. " +
	"Scores documents of up to 2*max_chars characters whole, and longer ones by their first max_chars characters and max_chars characters from their middle. " +
	"Drops nothing; counts und documents as und_short_text and und_low_score."

func init() {
	pipeline.Register("langid", langidDoc, true, DefaultLangidOptions(), newLangid)
}

// langidLabels maps each lingua language to its label. Where FineWeb-2 has
// a per-language configuration, the label is FineWeb-2's, so later stages
// find their thresholds by label. FineWeb-2 names some languages by an
// individual ISO 639-3 code where lingua gives the macrolanguage: arb for
// Arabic, als for Albanian, azj for Azerbaijani, ekk for Estonian, khk for
// Mongolian, lvs for Latvian, swh for Swahili and zsm for Malay. It files
// Tagalog as fil. English has no FineWeb-2 file and is eng_Latn.
//
// Chinese is cmn_Hani, FineWeb-2's label, because lingua does not tell
// simplified from traditional characters and FineWeb-2 does not split them
// either. Each language has the single script its lingua model was trained
// on.
var langidLabels = [...]string{
	lingua.Afrikaans: "afr_Latn", lingua.Albanian: "als_Latn", lingua.Arabic: "arb_Arab",
	lingua.Armenian: "hye_Armn", lingua.Azerbaijani: "azj_Latn", lingua.Basque: "eus_Latn",
	lingua.Belarusian: "bel_Cyrl", lingua.Bengali: "ben_Beng", lingua.Bokmal: "nob_Latn",
	lingua.Bosnian: "bos_Latn", lingua.Bulgarian: "bul_Cyrl", lingua.Catalan: "cat_Latn",
	lingua.Chinese: "cmn_Hani", lingua.Croatian: "hrv_Latn", lingua.Czech: "ces_Latn",
	lingua.Danish: "dan_Latn", lingua.Dutch: "nld_Latn", lingua.English: "eng_Latn",
	lingua.Esperanto: "epo_Latn", lingua.Estonian: "ekk_Latn", lingua.Finnish: "fin_Latn",
	lingua.French: "fra_Latn", lingua.Ganda: "lug_Latn", lingua.Georgian: "kat_Geor",
	lingua.German: "deu_Latn", lingua.Greek: "ell_Grek", lingua.Gujarati: "guj_Gujr",
	lingua.Hebrew: "heb_Hebr", lingua.Hindi: "hin_Deva", lingua.Hungarian: "hun_Latn",
	lingua.Icelandic: "isl_Latn", lingua.Indonesian: "ind_Latn", lingua.Irish: "gle_Latn",
	lingua.Italian: "ita_Latn", lingua.Japanese: "jpn_Jpan", lingua.Kazakh: "kaz_Cyrl",
	lingua.Korean: "kor_Hang", lingua.Latin: "lat_Latn", lingua.Latvian: "lvs_Latn",
	lingua.Lithuanian: "lit_Latn", lingua.Macedonian: "mkd_Cyrl", lingua.Malay: "zsm_Latn",
	lingua.Maori: "mri_Latn", lingua.Marathi: "mar_Deva", lingua.Mongolian: "khk_Cyrl",
	lingua.Nynorsk: "nno_Latn", lingua.Persian: "fas_Arab", lingua.Polish: "pol_Latn",
	lingua.Portuguese: "por_Latn", lingua.Punjabi: "pan_Guru", lingua.Romanian: "ron_Latn",
	lingua.Russian: "rus_Cyrl", lingua.Serbian: "srp_Cyrl", lingua.Shona: "sna_Latn",
	lingua.Slovak: "slk_Latn", lingua.Slovene: "slv_Latn", lingua.Somali: "som_Latn",
	lingua.Sotho: "sot_Latn", lingua.Spanish: "spa_Latn", lingua.Swahili: "swh_Latn",
	lingua.Swedish: "swe_Latn", lingua.Tagalog: "fil_Latn", lingua.Tamil: "tam_Taml",
	lingua.Telugu: "tel_Telu", lingua.Thai: "tha_Thai", lingua.Tsonga: "tso_Latn",
	lingua.Tswana: "tsn_Latn", lingua.Turkish: "tur_Latn", lingua.Ukrainian: "ukr_Cyrl",
	lingua.Urdu: "urd_Arab", lingua.Vietnamese: "vie_Latn", lingua.Welsh: "cym_Latn",
	lingua.Xhosa: "xho_Latn", lingua.Yoruba: "yor_Latn", lingua.Zulu: "zul_Latn",
}

// langidLanguages maps a label back to its lingua language.
var langidLanguages = func() map[string]lingua.Language {
	m := make(map[string]lingua.Language, len(langidLabels))
	for lang, label := range langidLabels {
		m[label] = lingua.Language(lang)
	}
	return m
}()

// LangLabels returns the labels the langid stage can write, sorted, without
// LangUndetermined. Stages that take language labels in their options
// check them against this list at startup.
func LangLabels() []string {
	labels := slices.Clone(langidLabels[:])
	slices.Sort(labels)
	return labels
}

// IsLangLabel reports whether label is one of LangLabels.
func IsLangLabel(label string) bool {
	_, ok := langidLanguages[label]
	return ok
}

// LangidOptions configures the langid stage.
type LangidOptions struct {
	Languages    []string `yaml:"languages" doc:"labels to choose among, such as [eng_Latn, fra_Latn], at least 2; default [] means all 75 languages lingua supports"`
	MinScore     float64  `yaml:"min_score" doc:"lowest confidence of the top language, 0 to 1, for a label other than und (datatrove uses 0.65 and cc_net 0.5, on fastText's scale); lingua's confidence reaches 0.99 on most texts over 120 characters, so the threshold mostly acts on short texts; default 0.5"`
	MinChars     int      `yaml:"min_chars" doc:"fewest letters in the scored text for a label other than und; default 20 letters"`
	MaxChars     int      `yaml:"max_chars" doc:"length of the stretches scored: a document of up to 2*max_chars characters is scored whole, a longer one by its first max_chars characters and max_chars characters from its middle; default 2000 characters"`
	HighAccuracy bool     `yaml:"high_accuracy" doc:"score texts under 120 letters with lingua's 1- to 5-gram models instead of trigrams only, which is lingua's default and more accurate on short texts; the fast scorer then holds about 260 MB of models instead of 90 MB, lingua's about 1.9 GB instead of 120 MB; default true"`
	Preload      bool     `yaml:"preload" doc:"load the language models when the stage is built instead of on first use; default false"`
	Paragraphs   bool     `yaml:"paragraphs" doc:"also identify each paragraph (text between blank lines) of the scored stretches and record in metadata lang_shares the share of the document's letters in each language, such as {\"deu_Latn\":0.83,\"eng_Latn\":0.17}; paragraphs too short to identify count under und; default false"`
	Scorer       string   `yaml:"scorer" doc:"fast: winnow's scorer over lingua's models, which gives lingua's labels about 100 times faster; lingua: lingua-go's own detector, for comparisons; default fast"`
}

// Scorers of the langid stage.
const (
	langidScorerFast   = "fast"
	langidScorerLingua = "lingua"
)

// DefaultLangidOptions returns the options a config that names none gets.
func DefaultLangidOptions() LangidOptions {
	return LangidOptions{MinScore: 0.5, MinChars: 20, MaxChars: 2000, HighAccuracy: true, Scorer: langidScorerFast}
}

// Validate checks the labels and the ranges of the thresholds.
func (o *LangidOptions) Validate() error {
	if len(o.Languages) == 1 {
		return fmt.Errorf("invalid languages %v: list at least 2 labels, or none for all", o.Languages)
	}
	for i, label := range o.Languages {
		if !IsLangLabel(label) {
			return fmt.Errorf("invalid languages entry %q: %s", label, langLabelHint(label))
		}
		if slices.Contains(o.Languages[:i], label) {
			return fmt.Errorf("invalid languages entry %q: listed twice", label)
		}
	}
	if !(o.MinScore >= 0 && o.MinScore <= 1) {
		return fmt.Errorf("invalid min_score %v: must be between 0 and 1", o.MinScore)
	}
	if o.MaxChars < 1 {
		return fmt.Errorf("invalid max_chars %d: must be 1 or more", o.MaxChars)
	}
	if o.MinChars < 0 || o.MinChars > o.MaxChars {
		return fmt.Errorf("invalid min_chars %d: must be between 0 and max_chars (%d)", o.MinChars, o.MaxChars)
	}
	if o.Scorer != langidScorerFast && o.Scorer != langidScorerLingua {
		return fmt.Errorf("invalid scorer %q: must be fast or lingua", o.Scorer)
	}
	return nil
}

// langid is the langid stage. One detector serves every worker. The fast
// scorer is safe for concurrent use. lingua v1.4.0's detector is a value
// whose methods never write to it, and its regular expressions are safe
// for concurrent use. Its model caches are package-level sync.Maps, so two
// workers that miss the same lazily loaded model both decode it and one
// copy wins, which costs time once and is never wrong.
type langid struct {
	opts     LangidOptions
	env      pipeline.Env
	fast     func() (*fastlangid.Detector, error) // nil for the lingua scorer
	detector lingua.LanguageDetector              // nil for the fast scorer
}

func newLangid(opts LangidOptions, env pipeline.Env) (pipeline.Stage, error) {
	l := &langid{opts: opts, env: env}
	if opts.Scorer == langidScorerLingua {
		start := time.Now()
		warmDecimalFactorials(opts.MaxChars)
		l.detector = newLinguaDetector(opts)
		if opts.Preload {
			env.Logger.Info("language models preloaded", "scorer", opts.Scorer, "high_accuracy", opts.HighAccuracy, "duration", time.Since(start))
		}
		return l, nil
	}

	l.fast = sync.OnceValues(func() (*fastlangid.Detector, error) {
		start := time.Now()
		langs := make([]lingua.Language, len(opts.Languages))
		for i, label := range opts.Languages {
			langs[i] = langidLanguages[label]
		}
		d, err := fastlangid.NewDetector(langs, opts.HighAccuracy)
		if err != nil {
			return nil, fmt.Errorf("loading the language models: %w", err)
		}
		env.Logger.Info("language models loaded", "scorer", opts.Scorer, "high_accuracy", opts.HighAccuracy, "duration", time.Since(start))
		return d, nil
	})
	if opts.Preload {
		if _, err := l.fast(); err != nil {
			return nil, err
		}
	}
	return l, nil
}

// newLinguaDetector builds the lingua detector that opts describe.
// Validate has checked that Languages is empty or holds 2 or more known
// labels, because lingua panics on fewer than 2 languages.
func newLinguaDetector(opts LangidOptions) lingua.LanguageDetector {
	var builder lingua.LanguageDetectorBuilder
	if len(opts.Languages) == 0 {
		builder = lingua.NewLanguageDetectorBuilder().FromAllLanguages()
	} else {
		langs := make([]lingua.Language, len(opts.Languages))
		for i, label := range opts.Languages {
			langs[i] = langidLanguages[label]
		}
		builder = lingua.NewLanguageDetectorBuilder().FromLanguages(langs...)
	}
	if !opts.HighAccuracy {
		builder = builder.WithLowAccuracyMode()
	}
	if opts.Preload {
		builder = builder.WithPreloadedLanguageModels()
	}
	return builder.Build()
}

// Process writes the lang, lang_score and lang_script of every alive row. Dropped rows
// keep the values they had. It checks ctx between documents because a
// batch can take seconds to score.
func (l *langid) Process(ctx context.Context, b *pipeline.Batch) error {
	texts := b.Strings(pipeline.ColText)
	oldLangs := b.Strings(pipeline.ColLang)
	oldScores := b.Column(pipeline.ColLangScore).(*array.Float32)
	oldScripts := b.Strings(pipeline.ColLangScript)

	langs := array.NewStringBuilder(memory.DefaultAllocator)
	defer langs.Release()
	scores := array.NewFloat32Builder(memory.DefaultAllocator)
	defer scores.Release()
	scripts := array.NewStringBuilder(memory.DefaultAllocator)
	defer scripts.Release()
	langs.Reserve(b.Len())
	scores.Reserve(b.Len())
	scripts.Reserve(b.Len())

	var fast *fastlangid.Detector
	if l.fast != nil {
		var err error
		if fast, err = l.fast(); err != nil {
			return err
		}
	}

	var short, lowScore int64
	for i := 0; i < b.Len(); i++ {
		if !b.Alive(i) {
			appendStringOrNull(langs, oldLangs, i)
			appendFloat32OrNull(scores, oldScores, i)
			appendStringOrNull(scripts, oldScripts, i)
			continue
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		result, err := l.identify(fast, texts.Value(i))
		if err != nil {
			return fmt.Errorf("identifying the language of document %q: %w", b.Strings(pipeline.ColID).Value(i), err)
		}
		langs.Append(result.label)
		scores.Append(result.score)
		scripts.Append(DetectScript(texts.Value(i), l.opts.MaxChars))
		switch result.event {
		case langidEventShort:
			short++
		case langidEventLowScore:
			lowScore++
		}
	}

	setBuiltColumn(b, pipeline.ColLang, langs)
	setBuiltColumn(b, pipeline.ColLangScore, scores)
	setBuiltColumn(b, pipeline.ColLangScript, scripts)
	if l.opts.Paragraphs {
		l.writeShares(fast, b)
	}
	l.env.Events.Add(langidEventShort, short)
	l.env.Events.Add(langidEventLowScore, lowScore)
	return nil
}

// langidOutcome is the label of one document, its confidence, and for und
// the event that names the cause.
type langidOutcome struct {
	label string
	score float32 // 0 for und
	event string  // "" unless label is und
}

// LangLabels returns the labels this stage can write besides und: its
// languages option, or every label.
func (l *langid) LangLabels() []string {
	if len(l.opts.Languages) > 0 {
		labels := slices.Clone(l.opts.Languages)
		slices.Sort(labels)
		return labels
	}
	return LangLabels()
}

// identify returns the label of text, scored by fast or, when fast is
// nil, by lingua. The error reports a panic inside lingua, which the stage
// turns into an error naming the document.
func (l *langid) identify(fast *fastlangid.Detector, text string) (outcome langidOutcome, err error) {
	head, middle, letters := langidSample(text, l.opts.MaxChars)
	if letters < l.opts.MinChars || letters == 0 {
		return langidOutcome{LangUndetermined, 0, langidEventShort}, nil
	}

	var top fastlangid.Result
	if fast != nil {
		top = fast.Detect(head, middle)
	} else if top, err = l.linguaTop(head, middle); err != nil {
		return langidOutcome{}, err
	}

	// NOTE: lingua's confidence is a softmax over summed log-probabilities,
	// which saturates as text grows. Of the 611 documents of 120 or more
	// characters in testdata/cc-2019-30-00140.dolma.jsonl.gz, 597 scored
	// 0.99 or more, mixed-language pages included, so min_score is no guard
	// on long texts.
	if top.Language == lingua.Unknown || top.Confidence <= 0 || top.Confidence < l.opts.MinScore {
		return langidOutcome{LangUndetermined, 0, langidEventLowScore}, nil
	}
	return langidOutcome{langidLabels[top.Language], float32(top.Confidence), ""}, nil
}

// linguaTop returns lingua's top language for the sample and its
// confidence, or an error for a panic inside lingua.
func (l *langid) linguaTop(head, middle string) (top fastlangid.Result, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("lingua panicked: %v", r)
		}
	}()
	text := head
	if middle != "" {
		text = head + "\n" + middle
	}

	// NOTE: lingua v1.4.0 breaks a tie between the two most frequent
	// scripts of a text that has three or more scripts by map order, so
	// such a text can get different labels in different runs. None of
	// 7,297 web documents checked (HPLT v2 samples in 165 languages and a
	// Common Crawl extract) had such a tie in its first 2000 characters.
	// The fast scorer breaks such ties by script order.
	first := l.detector.ComputeLanguageConfidenceValues(text)[0]
	return fastlangid.Result{Language: first.Language(), Confidence: first.Value()}, nil
}

// langidSample returns the stretches of text the stage scores, and the
// number of letters in them. A text of up to 2*maxChars characters is
// scored whole, as head. A longer one is scored by its first maxChars
// characters and by maxChars characters from its middle, starting at the
// first non-letter at or after the middle byte so that no partial word
// is scored. The middle stretch catches documents whose first lines are
// in another language than their body (menus, cookie notices, an English
// title). Both are cut at rune boundaries.
func langidSample(text string, maxChars int) (head, middle string, letters int) {
	headEnd, chars := len(text), 0
	for i := range text {
		if chars == maxChars {
			headEnd = i
		}
		if chars == 2*maxChars {
			middle = text[max(len(text)/2, headEnd):]
			break
		}
		chars++
	}
	if middle == "" {
		return text, "", countLetters(text)
	}

	head = text[:headEnd]
	middle = skipPartialWord(middle)
	chars = 0
	for i := range middle {
		if chars == maxChars {
			middle = middle[:i]
			break
		}
		chars++
	}
	return head, middle, countLetters(head) + countLetters(middle)
}

// skipPartialWord returns s from its first rune that is not a letter.
func skipPartialWord(s string) string {
	for len(s) > 0 && !utf8.RuneStart(s[0]) {
		s = s[1:]
	}
	for i, r := range s {
		if !unicode.IsLetter(r) {
			return s[i:]
		}
	}
	return ""
}

func countLetters(s string) int {
	n := 0
	for _, r := range s {
		if unicode.IsLetter(r) {
			n++
		}
	}
	return n
}

func appendStringOrNull(b *array.StringBuilder, col *array.String, i int) {
	if col.IsNull(i) {
		b.AppendNull()
		return
	}
	b.Append(col.Value(i))
}

func appendFloat32OrNull(b *array.Float32Builder, col *array.Float32, i int) {
	if col.IsNull(i) {
		b.AppendNull()
		return
	}
	b.Append(col.Value(i))
}

// setBuiltColumn replaces the column col of b with the array built so far
// and drops the builder's reference, which the batch's record now holds.
func setBuiltColumn(b *pipeline.Batch, col string, bld array.Builder) {
	arr := bld.NewArray()
	defer arr.Release()
	b.SetColumn(col, arr)
}

// warmDecimalFactorials fills the factorial cache of
// github.com/shopspring/decimal (v1.3.1) before any worker scores a text.
// lingua calls Decimal.ExpTaylor when a log-probability sum underflows
// math.Exp, and ExpTaylor appends to a package-level slice without a lock:
// the race detector reports it when two workers grow the cache at once.
// Once the cache holds every factorial a call needs, calls only read it.
//
// The number of Taylor terms grows with |value/1000|. We estimate the sum
// lingua exponentiates at no less than -20 nats per n-gram over up to 5
// n-gram orders of maxChars characters, so |value/1000| stays under
// maxChars/10. This is an estimate, not a bound read from the models.
//
// NOTE: a text whose sum falls below that estimate would grow the cache
// again, concurrently. Only the lingua scorer calls ExpTaylor.
func warmDecimalFactorials(maxChars int) {
	factorialsMu.Lock()
	defer factorialsMu.Unlock()
	bound := max(float64(maxChars)/10, 100)
	if bound <= factorialsWarmed {
		return
	}
	// 25 digits is the precision lingua v1.4.0 passes to ExpTaylor.
	if _, err := decimal.NewFromFloat(-bound).ExpTaylor(25); err == nil {
		factorialsWarmed = bound
	}
}

var (
	factorialsMu     sync.Mutex
	factorialsWarmed float64
)

// writeShares adds lang_shares to the metadata of every alive row: the
// share of the letters of its scored stretches in each language, by
// paragraph. Only the fast scorer is used, as lingua would take seconds
// per document.
func (l *langid) writeShares(fast *fastlangid.Detector, b *pipeline.Batch) {
	if fast == nil {
		return
	}
	b.MapStrings(pipeline.ColMetadata, func(i int, meta string) (string, bool) {
		if !b.Alive(i) {
			return meta, false
		}
		head, middle, _ := langidSample(b.Strings(pipeline.ColText).Value(i), l.opts.MaxChars)
		shares := map[string]float64{}
		total := 0
		for _, stretch := range []string{head, middle} {
			for para := range strings.SplitSeq(stretch, "\n\n") {
				letters := countLetters(para)
				if letters == 0 {
					continue
				}
				label := LangUndetermined
				if letters >= l.opts.MinChars {
					if top := fast.Detect(para); top.Language != lingua.Unknown && top.Confidence >= l.opts.MinScore {
						label = langidLabels[top.Language]
					}
				}
				shares[label] += float64(letters)
				total += letters
			}
		}
		if total == 0 {
			return meta, false
		}
		for k, v := range shares {
			shares[k] = math.Round(v/float64(total)*1000) / 1000
		}
		return mergeMetadata(meta, "lang_shares", shares)
	})
}
