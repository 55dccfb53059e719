package stages

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/winnow-data/winnow/pipeline"
)

// gopherSentence is a 16-word English line: 63 word characters, 6 stop words.
const gopherSentence = "The quick brown fox jumps over the lazy dog and runs to the river with friends."

// gopherLines returns n copies of line, one per line.
func gopherLines(n int, line string) string {
	return strings.Repeat(line+"\n", n)
}

func TestMeasureGopher(t *testing.T) {
	tests := []struct {
		name string
		text string
		want GopherSignals
	}{
		{"empty", "", GopherSignals{}},
		{"only whitespace", " \n\t\n", GopherSignals{}},
		{"punctuation stripped", "(hello), world!", GopherSignals{Words: 2, WordChars: 10, AlphaWords: 2, Lines: 1}},
		{"inner apostrophe kept", "don't stop", GopherSignals{Words: 2, WordChars: 9, AlphaWords: 2, Lines: 1}},
		{"symbols alone are not words", "| — 🙂 ... a", GopherSignals{Words: 1, WordChars: 1, AlphaWords: 1, Ellipses: 1, Lines: 1}},
		{"hashes counted anywhere", "#hashtag ## x", GopherSignals{Words: 2, WordChars: 8, AlphaWords: 2, Hashes: 3, Lines: 1}},
		{"dot runs and ellipsis character", "wait.... really… no.. end......", GopherSignals{Words: 4, WordChars: 15, AlphaWords: 4, Ellipses: 4, Lines: 1, EllipsisLines: 1}},
		{"numbers are words without letters", "123 4.5 abc", GopherSignals{Words: 3, WordChars: 9, AlphaWords: 1, Lines: 1}},
		{"length in code points", "Ünïcödé wörds", GopherSignals{Words: 2, WordChars: 12, AlphaWords: 2, Lines: 1}},
		{"combining mark is a code point", "e\u0301", GopherSignals{Words: 1, WordChars: 2, AlphaWords: 1, Lines: 1}},
		{"stop words any case with repeats", "The the THE tHe theory", GopherSignals{Words: 5, WordChars: 18, AlphaWords: 5, StopWords: 4, Lines: 1}},
		{"stop word inside punctuation", "(and) to, of.", GopherSignals{Words: 3, WordChars: 7, AlphaWords: 3, StopWords: 3, Lines: 1}},
		{
			"blank lines not counted", "a\n\n  \n- item\n • item\n–dash\n",
			GopherSignals{Words: 4, WordChars: 13, AlphaWords: 4, Lines: 4, BulletLines: 2},
		},
		{"lone bullet line", "*\n", GopherSignals{Lines: 1, BulletLines: 1}},
		{
			"ellipsis lines with trailing space and crlf", "line one...\r\nline two…  \nline three\n...",
			GopherSignals{Words: 6, WordChars: 23, AlphaWords: 6, Ellipses: 3, Lines: 4, EllipsisLines: 3},
		},
		{"non-breaking space separates words", "a\u00a0b\u3000c", GopherSignals{Words: 3, WordChars: 3, AlphaWords: 3, Lines: 1}},
		{"invalid utf8 byte stripped at word end", "ab\xff c", GopherSignals{Words: 2, WordChars: 3, AlphaWords: 2, Lines: 1}},
	}
	stop := NewStopWords(DefaultGopherOptions().StopWords)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := MeasureGopher(tt.text, stop); got != tt.want {
				t.Errorf("MeasureGopher(%q) =\n%+v, want\n%+v", tt.text, got, tt.want)
			}
		})
	}
}

func TestGopherFailedRule(t *testing.T) {
	// base passes every default rule; each case changes one signal.
	base := GopherSignals{Words: 100, WordChars: 500, AlphaWords: 100, StopWords: 10, Lines: 10}
	with := func(change func(*GopherSignals)) GopherSignals {
		s := base
		change(&s)
		return s
	}
	tests := []struct {
		name    string
		signals GopherSignals
		want    string
	}{
		{"base passes", base, ""},
		{"no words", GopherSignals{}, gopherShortDoc},
		{"49 words", with(func(s *GopherSignals) { s.Words, s.WordChars, s.AlphaWords = 49, 245, 49 }), gopherShortDoc},
		{"50 words", with(func(s *GopherSignals) { s.Words, s.WordChars, s.AlphaWords = 50, 250, 50 }), ""},
		{"100001 words", with(func(s *GopherSignals) { s.Words, s.WordChars, s.AlphaWords = 100_001, 500_005, 100_001 }), gopherLongDoc},
		{"100000 words", with(func(s *GopherSignals) { s.Words, s.WordChars, s.AlphaWords = 100_000, 500_000, 100_000 }), ""},
		{"mean length 2.99", with(func(s *GopherSignals) { s.WordChars = 299 }), gopherMeanWordLengthLow},
		{"mean length 3", with(func(s *GopherSignals) { s.WordChars = 300 }), ""},
		{"mean length 10.01", with(func(s *GopherSignals) { s.WordChars = 1001 }), gopherMeanWordLengthHigh},
		{"mean length 10", with(func(s *GopherSignals) { s.WordChars = 1000 }), ""},
		{"11 hashes per 100 words", with(func(s *GopherSignals) { s.Hashes = 11 }), gopherHashRatio},
		{"10 hashes per 100 words", with(func(s *GopherSignals) { s.Hashes = 10 }), ""},
		{"11 ellipses per 100 words", with(func(s *GopherSignals) { s.Ellipses = 11 }), gopherEllipsisRatio},
		{"10 ellipses per 100 words", with(func(s *GopherSignals) { s.Ellipses = 10 }), ""},
		{"all lines bullets", with(func(s *GopherSignals) { s.BulletLines = 10 }), gopherBulletLines},
		{"9 of 10 lines bullets", with(func(s *GopherSignals) { s.BulletLines = 9 }), ""},
		{"4 of 10 lines end with ellipsis", with(func(s *GopherSignals) { s.EllipsisLines = 4 }), gopherEllipsisLines},
		{"3 of 10 lines end with ellipsis", with(func(s *GopherSignals) { s.EllipsisLines = 3 }), ""},
		{"79 of 100 words alphabetic", with(func(s *GopherSignals) { s.AlphaWords = 79 }), gopherAlphaWords},
		{"80 of 100 words alphabetic", with(func(s *GopherSignals) { s.AlphaWords = 80 }), ""},
		{"1 stop word", with(func(s *GopherSignals) { s.StopWords = 1 }), gopherStopWords},
		{"2 stop words", with(func(s *GopherSignals) { s.StopWords = 2 }), ""},
		{"first failing rule wins", with(func(s *GopherSignals) { s.Hashes, s.StopWords = 50, 0 }), gopherHashRatio},
	}
	opts := DefaultGopherOptions()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := opts.failedRule(tt.signals); got != tt.want {
				t.Errorf("failedRule(%+v) = %q, want %q", tt.signals, got, tt.want)
			}
		})
	}
}

// TestGopherStage runs the registered stage on crafted documents, one that
// triggers each reason code and a near miss that passes.
func TestGopherStage(t *testing.T) {
	four := gopherLines(4, gopherSentence) // 64 words, 24 stop words
	noStop := strings.Repeat("quick brown fox jumps over lazy dog ", 9)
	tests := []struct {
		name    string
		options string
		text    string
		want    string
	}{
		{"four sentences pass", "", four, ""},
		{"48 words", "", gopherLines(3, gopherSentence), gopherShortDoc},
		{"48 words with min_words 48", "min_words: 48", gopherLines(3, gopherSentence), ""},
		{"100016 words", "", gopherLines(6251, gopherSentence), gopherLongDoc},
		{"100000 words", "", gopherLines(6250, gopherSentence), ""},
		{"two-letter words", "", strings.Repeat("to be or no ", 15), gopherMeanWordLengthLow},
		{"three-letter words", "", strings.Repeat("the cat and dog ", 15), ""},
		{"long words", "", strings.Repeat("the internationalization ", 30), gopherMeanWordLengthHigh},
		{"mean length exactly ten", "", strings.Repeat("the and "+strings.Repeat("disclaimers ", 14)+strings.Repeat("disclaimer ", 4), 3), ""},
		{"seven hashes", "", four + "# # # # # # #", gopherHashRatio},
		{"six hashes", "", four + "# # # # # #", ""},
		{"thirteen ellipses in 128 words", "", four + "... ... ... ... ... ... ... ... ... ... ... ... …\n" + four, gopherEllipsisRatio},
		{"twelve ellipses in 128 words", "", four + "... ... ... ... ... ... ... ... ... ... ... ...\n" + four, ""},
		{"all lines bullets", "", gopherLines(10, "- "+gopherSentence), gopherBulletLines},
		{"nine of ten lines bullets", "", gopherLines(9, "• "+gopherSentence) + gopherSentence, ""},
		{"four of ten lines end with ellipsis", "", gopherLines(4, gopherSentence+"..") + gopherLines(6, gopherSentence), gopherEllipsisLines},
		{"three of ten lines end with ellipsis", "", gopherLines(3, gopherSentence+"..") + gopherLines(7, gopherSentence), ""},
		{"17 numbers in 81 words", "", four + strings.Repeat("123 ", 17), gopherAlphaWords},
		{"16 numbers in 80 words", "", four + strings.Repeat("123 ", 16), ""},
		{"no stop words", "", noStop, gopherStopWords},
		{"two stop words", "", noStop + "The... and", ""},
		{"custom stop words", "stop_words: [fox, dog]", noStop, ""},
		{"stop-word rule off", "min_stop_words: 0\nstop_words: []", noStop, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, _ := stageFromYAML(t, "gopher_quality", tt.options)
			b := batchFromTexts(0, tt.text)
			defer b.Release()
			processOne(t, st, b)
			if got := b.Dropped[0]; got != tt.want {
				t.Errorf("dropped = %q, want %q (signals %+v)", got, tt.want, MeasureGopher(tt.text, NewStopWords(DefaultGopherOptions().StopWords)))
			}
		})
	}
}

func TestGopherOptionsValidate(t *testing.T) {
	tests := []struct {
		name    string
		options string
		wantErr string
	}{
		{"defaults", "", ""},
		{"negative min_words", "min_words: -1", "invalid min_words -1"},
		{"max_words below min_words", "max_words: 10", "invalid max_words 10: must be at least min_words (50)"},
		{"negative min mean length", "min_mean_word_length: -1", "invalid min_mean_word_length -1"},
		{"max mean length below min", "max_mean_word_length: 2", "invalid max_mean_word_length 2"},
		{"nan hash ratio", "max_hash_ratio: .nan", "invalid max_hash_ratio NaN"},
		{"negative ellipsis ratio", "max_ellipsis_ratio: -0.5", "invalid max_ellipsis_ratio -0.5"},
		{"bullet fraction above one", "max_bullet_line_fraction: 1.1", "invalid max_bullet_line_fraction 1.1"},
		{"negative ellipsis line fraction", "max_ellipsis_line_fraction: -1", "invalid max_ellipsis_line_fraction -1"},
		{"alpha fraction above one", "min_alpha_word_fraction: 80", "invalid min_alpha_word_fraction 80"},
		{"negative min_stop_words", "min_stop_words: -2", "invalid min_stop_words -2"},
		{"empty stop words needed", "stop_words: []", "invalid stop_words: empty, but min_stop_words is 2"},
		{"stop word with space", "stop_words: [the, of the]", `invalid stop_words entry "of the"`},
		{"empty stop word", `stop_words: [the, ""]`, `invalid stop_words entry ""`},
		{"stop word too long", "stop_words: [" + strings.Repeat("x", 65) + "]", "longer than 64 bytes"},
		{"wrong type", "min_words: many", "invalid options"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { checkBuild(t, "gopher_quality", tt.options, tt.wantErr) })
	}
}

func TestGopherSpec(t *testing.T) {
	spec, ok := pipeline.Lookup("gopher_quality")
	if !ok {
		t.Fatal("gopher_quality is not registered")
	}
	if !spec.Concurrent {
		t.Error("gopher_quality is not marked concurrent")
	}
	if len(spec.Options) != 14 {
		t.Errorf("spec lists %d options, want 14", len(spec.Options))
	}
	for _, o := range spec.Options {
		if !strings.Contains(o.Doc, "default") {
			t.Errorf("option %s doc %q does not state its default", o.Name, o.Doc)
		}
	}
}

func TestStopWordsContains(t *testing.T) {
	small := []string{"The", "ÉTÉ", "straße", "и", "key", "wherever"}
	large := append(slices.Clone(small), strings.Fields("a an as at by he if in is it me my no on or so up us we am do go")...)
	tests := []struct {
		word string
		want bool
	}{
		{"the", true}, {"THE", true}, {"them", false}, {"th", false}, {"", false},
		{"été", true}, {"Été", true}, {"ete", false},
		{"STRAßE", true}, {"И", true}, {strings.Repeat("the", 30), false},
		{"Wherever", true}, {"wherevers", false},
		{"\u212Aey", true}, // KELVIN SIGN lowercases to ASCII k
	}
	for _, words := range [][]string{small, large} {
		sw := NewStopWords(words)
		for _, tt := range tests {
			if got := sw.Contains(tt.word); got != tt.want {
				t.Errorf("%d stop words: Contains(%q) = %v, want %v", len(words), tt.word, got, tt.want)
			}
		}
		if allocs := testing.AllocsPerRun(100, func() { sw.Contains("Été") }); allocs != 0 {
			t.Errorf("Contains allocates %v times per call", allocs)
		}
	}
}

// TestMeasureGopherRealDocuments pins the signals of five sample documents,
// which a separate Python implementation of the GopherSignals definitions
// also gave, and checks the verdict on each.
func TestMeasureGopherRealDocuments(t *testing.T) {
	texts := dolmaSampleTexts(t)
	tests := []struct {
		doc        int
		want       GopherSignals
		wantReason string
	}{
		{ // English forum page
			doc:  0,
			want: GopherSignals{Words: 635, WordChars: 3027, AlphaWords: 603, StopWords: 105, Lines: 38},
		},
		{ // Macedonian blog post
			doc:        7,
			want:       GopherSignals{Words: 598, WordChars: 2986, AlphaWords: 596, Ellipses: 1, Lines: 17, EllipsisLines: 1},
			wantReason: gopherStopWords,
		},
		{ // Italian forum index: numbers and list markers
			doc:        179,
			want:       GopherSignals{Words: 576, WordChars: 3266, AlphaWords: 371, StopWords: 9, Ellipses: 4, Lines: 170, BulletLines: 54, EllipsisLines: 3},
			wantReason: gopherAlphaWords,
		},
		{ // Chinese article: each Han character is a word, too short for the English rules
			doc:        414,
			want:       GopherSignals{Words: 1424, WordChars: 2844, AlphaWords: 1418, Lines: 48, BulletLines: 8},
			wantReason: gopherMeanWordLengthLow,
		},
		{ // Spanish blog post with truncated teasers
			doc:        432,
			want:       GopherSignals{Words: 408, WordChars: 1897, AlphaWords: 370, Ellipses: 12, Lines: 38, BulletLines: 2, EllipsisLines: 12},
			wantReason: gopherEllipsisLines,
		},
	}
	stop := NewStopWords(DefaultGopherOptions().StopWords)
	opts := DefaultGopherOptions()
	for _, tt := range tests {
		t.Run(fmt.Sprintf("doc %d", tt.doc), func(t *testing.T) {
			got := MeasureGopher(texts[tt.doc], stop)
			if got != tt.want {
				t.Errorf("signals =\n%+v, want\n%+v", got, tt.want)
			}
			if reason := opts.failedRule(got); reason != tt.wantReason {
				t.Errorf("failedRule = %q, want %q", reason, tt.wantReason)
			}
		})
	}
}

// referenceGopherSignals measures text from the definitions in
// GopherSignals and words.go with plain library calls and several passes,
// to check the one-pass scanner.
func referenceGopherSignals(text string, stop map[string]bool) GopherSignals {
	var s GopherSignals
	isStrip := func(r rune) bool { return unicode.IsPunct(r) || unicode.IsSymbol(r) }
	isBreak := func(r rune) bool { return r == '\u0F0B' || r == '\u0F0C' || r == '\u1361' }
	var complexStops []string
	for w := range stop {
		if first, _ := utf8.DecodeRuneInString(w); referenceRuneKind(first) == "complex" {
			complexStops = append(complexStops, w)
		}
	}

	tokens := strings.FieldsFunc(text, func(r rune) bool { return unicode.IsSpace(r) || isBreak(r) })
	for _, token := range tokens {
		for _, p := range referencePieces(token) {
			word := p.text
			if p.kind == "plain" {
				word = strings.TrimFunc(word, isStrip)
			}
			if word == "" {
				continue
			}
			runes := utf8.RuneCountInString(word)
			hasLetter := strings.ContainsFunc(word, unicode.IsLetter)
			if p.kind == "complex" {
				n := (runes + 3) / 4
				s.Words += n
				s.WordChars += runes
				if hasLetter {
					s.AlphaWords += n
				}
				s.StopWords += referenceLongestMatches(word, complexStops)
				continue
			}
			s.Words++
			s.WordChars += runes
			if hasLetter {
				s.AlphaWords++
			}
			if p.kind == "ideo" {
				word = string([]rune(word)[0]) // without the marks after it
			}
			if stop[strings.ToLower(word)] || referenceHangulSuffix(word, stop) {
				s.StopWords++
			}
		}
	}
	for _, r := range text {
		if (isStrip(r) || isBreak(r)) && stop[string(r)] {
			s.StopWords++
		}
	}

	s.Hashes = strings.Count(text, "#")
	s.Ellipses = strings.Count(text, "...") + strings.Count(text, "…")
	for line := range strings.SplitSeq(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		s.Lines++
		if first, _ := utf8.DecodeRuneInString(line); strings.ContainsRune("•‣⁃◦●▪■-*", first) {
			s.BulletLines++
		}
		if strings.HasSuffix(line, "...") || strings.HasSuffix(line, "…") {
			s.EllipsisLines++
		}
	}
	return s
}

type referencePiece struct {
	kind string // plain, ideo, kana or complex
	text string
}

// referenceRuneKind sorts a code point as words.go describes.
func referenceRuneKind(r rune) string {
	switch {
	case unicode.Is(unicode.Katakana, r) || strings.ContainsRune("\u30A0\u30FC\uFF70\uFF9E\uFF9F\u309B\u309C\u3031\u3032\u3033\u3034\u3035", r):
		return "kana"
	case unicode.In(r, unicode.Thai, unicode.Lao, unicode.Khmer, unicode.Myanmar) && (unicode.IsLetter(r) || unicode.IsMark(r)):
		return "complex"
	case unicode.IsLetter(r) && unicode.In(r, unicode.Han, unicode.Hiragana):
		return "ideo"
	case unicode.IsMark(r):
		return "mark"
	}
	return "plain"
}

// referencePieces splits a whitespace-separated token into runs of one
// kind. Each Han or Hiragana letter is a piece of its own, and a mark
// joins the piece before it.
func referencePieces(token string) []referencePiece {
	var pieces []referencePiece
	for _, r := range token {
		kind := referenceRuneKind(r)
		last := len(pieces) - 1
		switch {
		case kind == "mark" && last >= 0:
			pieces[last].text += string(r)
		case kind == "mark":
			pieces = append(pieces, referencePiece{"plain", string(r)})
		case kind != "ideo" && last >= 0 && pieces[last].kind == kind:
			pieces[last].text += string(r)
		default:
			pieces = append(pieces, referencePiece{kind, string(r)})
		}
	}
	return pieces
}

// referenceHangulSuffix reports whether word ends with a stop word that
// is shorter than it, when both end with a Hangul syllable.
func referenceHangulSuffix(word string, stop map[string]bool) bool {
	isHangul := func(s string) bool {
		last, _ := utf8.DecodeLastRuneInString(s)
		return last >= 0xAC00 && last <= 0xD7A3 // the Hangul Syllables block
	}
	if !isHangul(word) {
		return false
	}
	for w := range stop {
		if len(w) < len(word) && isHangul(w) && strings.HasSuffix(word, w) {
			return true
		}
	}
	return false
}

// referenceLongestMatches counts the stop words in run by greedy longest
// match, moving on one code point where none matches.
func referenceLongestMatches(run string, stops []string) int {
	n := 0
	for run != "" {
		longest := ""
		for _, w := range stops {
			if strings.HasPrefix(run, w) && len(w) > len(longest) {
				longest = w
			}
		}
		if longest != "" {
			n++
			run = run[len(longest):]
			continue
		}
		_, size := utf8.DecodeRuneInString(run)
		run = run[size:]
	}
	return n
}

func referenceStopSet(words []string) map[string]bool {
	m := map[string]bool{}
	for _, w := range words {
		m[stopWordKey(w)] = true
	}
	return m
}

func TestMeasureGopherMatchesReferenceOnSample(t *testing.T) {
	words := DefaultGopherOptions().StopWords
	stop, ref := NewStopWords(words), referenceStopSet(words)
	for i, text := range dolmaSampleTexts(t) {
		got, want := MeasureGopher(text, stop), referenceGopherSignals(text, ref)
		if got != want {
			t.Errorf("doc %d: signals =\n%+v, reference\n%+v", i, got, want)
		}
	}
}

func FuzzMeasureGopher(f *testing.F) {
	for _, s := range []string{
		"", "a b", "(x)... #y\n- z…\n\n", "The\u00a0and\r\nof", "\xff.#", "e\u0301 — 🙂",
		"東京タワーは高い。", "字\uFE00\u0301 テ\u3099キ", "ฉันอยู่ในบ้าน ของ", "བོད་ཡིག། ፡x", "a·b、中", "학교에서 공부했다 다",
	} {
		f.Add(s)
	}
	words := append(DefaultGopherOptions().StopWords, "の", "は", "・", "·", "ใน", "ของ", "།", "的", "에서", "다")
	stop, ref := NewStopWords(words), referenceStopSet(words)
	f.Fuzz(func(t *testing.T, text string) {
		if got, want := MeasureGopher(text, stop), referenceGopherSignals(text, ref); got != want {
			t.Errorf("MeasureGopher(%q) =\n%+v, reference\n%+v", text, got, want)
		}
	})
}

func TestMeasureGopherDoesNotAllocate(t *testing.T) {
	text := gopherLines(20, gopherSentence+" Ünïcödé… #tag")
	stop := NewStopWords(DefaultGopherOptions().StopWords)
	if allocs := testing.AllocsPerRun(20, func() { MeasureGopher(text, stop) }); allocs != 0 {
		t.Errorf("MeasureGopher allocates %v times per call", allocs)
	}
}

// benchEnglishDocs returns the English documents of the sample, normalized
// and regrouped at line ends into documents of 3 to 4 KB: about 230
// documents, 760 KB in all. A document counts as English when it passes the
// default Gopher rules and at most 2% of its bytes are not ASCII; the second
// test leaves out the Wikipedia pages in other scripts whose "Jump to
// navigation Jump to search" line meets the stop-word rule.
func benchEnglishDocs(tb testing.TB) []string {
	tb.Helper()
	opts := DefaultGopherOptions()
	stop := NewStopWords(opts.StopWords)
	n := &normalizer{opts: DefaultNormalizeOptions()}

	var docs []string
	var cur strings.Builder
	for _, text := range dolmaSampleTexts(tb) {
		if opts.failedRule(MeasureGopher(text, stop)) != "" || nonASCIIBytes(text) > len(text)/50 {
			continue
		}
		for line := range strings.Lines(text) {
			cur.WriteString(line)
			if cur.Len() < 3000 {
				continue
			}
			doc, reason := n.normalizeText(cur.String(), &normalizeCounts{})
			if reason == "" {
				docs = append(docs, doc)
			}
			cur.Reset()
		}
	}
	if len(docs) == 0 {
		tb.Fatal("the sample has no English documents")
	}
	return docs
}

func nonASCIIBytes(s string) int {
	n := 0
	for i := range len(s) {
		if s[i] >= utf8.RuneSelf {
			n++
		}
	}
	return n
}

// BenchmarkGopherQuality measures the stage on a batch of about 3 KB
// English documents.
func BenchmarkGopherQuality(b *testing.B) {
	texts := benchEnglishDocs(b)
	batch := batchFromTexts(0, texts...)
	defer batch.Release()
	st, _ := stageFromYAML(b, "gopher_quality", "")

	b.SetBytes(int64(totalBytes(texts)))
	b.ReportAllocs()
	for b.Loop() {
		clear(batch.Dropped)
		processOne(b, st, batch)
	}
}

func TestGopherChecksOnlyListedLanguages(t *testing.T) {
	opts := DefaultGopherOptions()
	opts.Languages = []string{"eng_Latn"}
	st, err := newGopherFilter(opts, pipeline.Env{})
	if err != nil {
		t.Fatal(err)
	}
	bb := pipeline.NewBatchBuilder()
	for _, lang := range []string{"eng_Latn", "fra_Latn", "", "und"} {
		bb.Append(&pipeline.Doc{ID: lang, Text: "too short to pass", Lang: lang})
	}
	b := bb.Build(0)
	if err := st.Process(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	for i, want := range []string{gopherShortDoc, "", gopherShortDoc, gopherShortDoc} {
		if b.Dropped[i] != want {
			t.Errorf("row with lang %q: drop reason %q, want %q", b.Strings(pipeline.ColLang).Value(i), b.Dropped[i], want)
		}
	}

	opts = DefaultGopherOptions()
	opts.Languages = []string{"english"}
	if err := opts.Validate(); err == nil || !strings.Contains(err.Error(), `languages entry "english"`) {
		t.Errorf("Validate error = %v, want the bad label named", err)
	}
}
