package stages

import (
	"slices"
	"testing"
	"unicode/utf8"
)

func TestForEachWord(t *testing.T) {
	tests := []struct {
		name  string
		token string
		want  []string
	}{
		{"han characters", "中文", []string{"中", "文"}},
		{"punctuation around han is no word", "(中文)。", []string{"中", "文"}},
		{"latin and digits between han", "iPhone手机2024年", []string{"iPhone", "手", "机", "2024", "年"}},
		{"katakana run then hiragana", "テレビを見る", []string{"テレビ", "を", "見", "る"}},
		{"prolonged sound mark in katakana", "コーヒー。", []string{"コーヒー"}},
		{"katakana middle dot separates", "ジョン・スミス", []string{"ジョン", "スミス"}},
		// UAX #29 keeps ー with Katakana only, so after Hiragana it is a word of its own.
		{"prolonged sound mark after hiragana", "すごーい", []string{"す", "ご", "ー", "い"}},
		{"mark joins the ideograph", "字\uFE00", []string{"字\uFE00"}},
		// Like a Latin word, a stretch keeps the punctuation attached to it.
		{"tibetan tsheg separates", "བོད་ཡིག།", []string{"བོད", "ཡིག།"}},
		{"ethiopic wordspace separates", "ሰላም፡ዓለም", []string{"ሰላም", "ዓለም"}},
		// 19 code points: ฉ ั น อ | ย ู ่ ใ | น บ ้ า | น ข อ ง | ฉ ั น
		{"thai run in pieces of four", "ฉันอยู่ในบ้านของฉัน", []string{"ฉันอ", "ยู่ใ", "นบ้า", "นของ", "ฉัน"}},
		{"thai run of exactly four", "ของฉ", []string{"ของฉ"}},
		{"latin token is one word", "(hello),", []string{"(hello),"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			forEachWord(tt.token, func(word string, chars int) {
				got = append(got, word)
				if n := utf8.RuneCountInString(word); chars != n {
					t.Errorf("word %q reported with %d code points, has %d", word, chars, n)
				}
			})
			if !slices.Equal(got, tt.want) {
				t.Errorf("forEachWord(%q) = %q, want %q", tt.token, got, tt.want)
			}
		})
	}
}

func TestHasSplitScript(t *testing.T) {
	tokens := map[string]bool{
		"Ünïcödé": false, "한국어": false, "Привет": false,
		"中文": true, "テレビ": true, "ภาษาไทย": true, "བོད་ཡིག": true, "a·b中": true,
	}
	for token, want := range tokens {
		if got := hasSplitScript(token); got != want {
			t.Errorf("hasSplitScript(%q) = %v, want %v", token, got, want)
		}
	}
}

func TestComplexWords(t *testing.T) {
	for runes, want := range map[int]int{0: 0, 1: 1, 4: 1, 5: 2, 8: 2, 19: 5} {
		if got := complexWords(runes); got != want {
			t.Errorf("complexWords(%d) = %d, want %d", runes, got, want)
		}
	}
}

// TestMeasureGopherScripts pins hand-counted signals of text in scripts
// written without spaces, with the stop words FineWeb-2 lists for each
// language.
func TestMeasureGopherScripts(t *testing.T) {
	tests := []struct {
		name  string
		label string
		text  string
		want  GopherSignals
	}{
		{
			// 我 在 北 京 的 大 学 学 习: stop words 在 and 的.
			"chinese", "cmn_Hani", "我在北京的大学学习。",
			GopherSignals{Words: 9, WordChars: 9, AlphaWords: 9, StopWords: 2, Lines: 1},
		},
		{
			// 乔 治 · 华 盛 顿 是 美 国 人: the middle dot, 是 and 人 are stop words.
			"chinese middle dot", "cmn_Hani", "乔治·华盛顿是美国人。",
			GopherSignals{Words: 9, WordChars: 9, AlphaWords: 9, StopWords: 3, Lines: 1},
		},
		{
			// ジョン ・ スミス さ ん は 東 京 に 住 ん で い ま す: 14 words of
			// 3+3+12 code points. The stop words are ・ さ は に で.
			"japanese kana and kanji", "jpn_Jpan", "ジョン・スミスさんは東京に住んでいます。",
			GopherSignals{Words: 14, WordChars: 18, AlphaWords: 14, StopWords: 5, Lines: 1},
		},
		{
			// コーヒー を 飲 む: stop word を.
			"japanese prolonged sound mark", "jpn_Jpan", "コーヒーを飲む",
			GopherSignals{Words: 4, WordChars: 7, AlphaWords: 4, StopWords: 1, Lines: 1},
		},
		{
			// One run of 19 code points: ceil(19/4) = 5 words; ใน and ของ match.
			"thai", "tha_Thai", "ฉันอยู่ในบ้านของฉัน",
			GopherSignals{Words: 5, WordChars: 19, AlphaWords: 5, StopWords: 2, Lines: 1},
		},
		{
			// Runs of 13 and 6 code points: 4 + 2 words.
			"thai with a space", "tha_Thai", "ฉันอยู่ในบ้าน ของฉัน",
			GopherSignals{Words: 6, WordChars: 19, AlphaWords: 6, StopWords: 2, Lines: 1},
		},
		{
			// བོད དང ཡིག: དང and the shad ། are stop words.
			"tibetan", "bod_Tibt", "བོད་དང་ཡིག།",
			GopherSignals{Words: 3, WordChars: 8, AlphaWords: 3, StopWords: 2, Lines: 1},
		},
		{
			// 학교에서 ends with 에서 and 공부했다 with 다.
			"korean endings", "kor_Hang", "학교에서 공부했다",
			GopherSignals{Words: 2, WordChars: 8, AlphaWords: 2, StopWords: 2, Lines: 1},
		},
		{
			// ذهبت إلى السوق ثم عدت: إلى and the Arabic comma are stop words.
			"arabic comma", "arb_Arab", "ذهبت إلى السوق، ثم عدت",
			GopherSignals{Words: 5, WordChars: 17, AlphaWords: 5, StopWords: 2, Lines: 1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			entry, ok := lookupFineWeb2(tt.label)
			if !ok {
				t.Fatalf("no FineWeb-2 entry for %s", tt.label)
			}
			if got := MeasureGopher(tt.text, NewStopWords(entry.StopWords)); got != tt.want {
				t.Errorf("MeasureGopher(%q) =\n%+v, want\n%+v", tt.text, got, tt.want)
			}
		})
	}
}

func TestStopWordsSpecialMatches(t *testing.T) {
	sw := NewStopWords([]string{"ใน", "ในการ", "ของ", "에서", "다", "،", "的"})
	runs := map[string]int{
		"ในการ":     1, // the longest match wins over ใน
		"ในบ้านของ": 2,
		"บ้าน":      0,
		"ในในใน":    3,
		"ฉันอยู่ใน": 1,
	}
	for run, want := range runs {
		if got := sw.countInRun(run); got != want {
			t.Errorf("countInRun(%q) = %d, want %d", run, got, want)
		}
	}

	suffixes := map[string]bool{"학교에서": true, "했다": true, "다": false, "학교": false, "에서x": false}
	for word, want := range suffixes {
		if got := sw.hasHangulSuffix(word); got != want {
			t.Errorf("hasHangulSuffix(%q) = %v, want %v", word, got, want)
		}
	}

	for r, want := range map[rune]bool{'،': true, '的': true, ',': false, '在': false} {
		if got := sw.containsRune(r); got != want {
			t.Errorf("containsRune(%q) = %v, want %v", r, got, want)
		}
	}
}

func TestMeasureFineWebScripts(t *testing.T) {
	// テレビ を 見 る, then one Thai run of 19 code points (5 words).
	text := "テレビを見る。\nฉันอยู่ในบ้านของฉัน"
	want := FineWebSignals{Lines: 2, PunctLines: 1, ShortLines: 2, LineChars: 26, LineBreaks: 1, Words: 9}
	if got := MeasureFineWeb(text, 30); got != want {
		t.Errorf("MeasureFineWeb(%q) =\n%+v, want\n%+v", text, got, want)
	}
}
