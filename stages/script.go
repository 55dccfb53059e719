package stages

import (
	"strings"
	"unicode"
)

// scriptTables lists the scripts DetectScript distinguishes, each with its
// ISO 15924 code, in the order that breaks ties.
var scriptTables = []struct {
	code  string
	table *unicode.RangeTable
}{
	{"Latn", unicode.Latin}, {"Cyrl", unicode.Cyrillic}, {"Arab", unicode.Arabic},
	{"Hani", unicode.Han}, {"Hang", unicode.Hangul}, {"Deva", unicode.Devanagari},
	{"Grek", unicode.Greek}, {"Hebr", unicode.Hebrew}, {"Thai", unicode.Thai},
	{"Beng", unicode.Bengali}, {"Taml", unicode.Tamil}, {"Telu", unicode.Telugu},
	{"Geor", unicode.Georgian}, {"Armn", unicode.Armenian}, {"Ethi", unicode.Ethiopic},
	{"Gujr", unicode.Gujarati}, {"Guru", unicode.Gurmukhi}, {"Knda", unicode.Kannada},
	{"Mlym", unicode.Malayalam}, {"Orya", unicode.Oriya}, {"Sinh", unicode.Sinhala},
	{"Khmr", unicode.Khmer}, {"Laoo", unicode.Lao}, {"Mymr", unicode.Myanmar},
	{"Tibt", unicode.Tibetan}, {"Thaa", unicode.Thaana}, {"Mong", unicode.Mongolian},
}

// Characters written differently in simplified and traditional Chinese,
// as pairs at the same index: common words (这/這 "this", 们/們 plural,
// 国/國 "country", 说/說 "say") whose two forms are distinct code points.
const (
	simplifiedOnly  = "这们国说时会为来对发经过还进学长门问间见东车马书个开关头实现动应该从后"
	traditionalOnly = "這們國說時會為來對發經過還進學長門問間見東車馬書個開關頭實現動應該從後"
)

// DetectScript returns the ISO 15924 code of the script most letters of
// text belong to, looking at its first maxRunes code points, or "" when
// it has no letter of a listed script. Han text is Hans or Hant when its
// characters that differ between simplified and traditional Chinese lean
// one way, else Hani; Han mixed with kana is Jpan.
func DetectScript(text string, maxRunes int) string {
	counts := make([]int, len(scriptTables))
	var kana, simplified, traditional, seen int
	last := 0 // most scripts repeat, so the last one is tried first
	for _, r := range text {
		if seen++; seen > maxRunes {
			break
		}
		if r < 0x80 {
			if 'a' <= r|0x20 && r|0x20 <= 'z' {
				counts[0]++
			}
			continue
		}
		if !unicode.IsLetter(r) {
			continue
		}
		if unicode.In(r, unicode.Hiragana, unicode.Katakana) {
			kana++
			continue
		}
		if !unicode.Is(scriptTables[last].table, r) {
			last = -1
			for i, s := range scriptTables {
				if unicode.Is(s.table, r) {
					last = i
					break
				}
			}
			if last < 0 {
				last = 0
				continue
			}
		}
		counts[last]++
		if scriptTables[last].code == "Hani" {
			switch {
			case strings.ContainsRune(simplifiedOnly, r):
				simplified++
			case strings.ContainsRune(traditionalOnly, r):
				traditional++
			}
		}
	}

	best := -1
	for i, n := range counts {
		if n > 0 && (best < 0 || n > counts[best]) {
			best = i
		}
	}
	hani := 3 // index of Hani in scriptTables
	switch {
	case kana > 0 && (best < 0 || best == hani || kana > counts[best]):
		return "Jpan"
	case best < 0:
		return ""
	case best == hani && simplified > traditional:
		return "Hans"
	case best == hani && traditional > simplified:
		return "Hant"
	}
	return scriptTables[best].code
}
