package langid

import (
	"unicode"

	"github.com/pemistahl/lingua-go"
)

// numLanguages is the number of languages lingua v1.4.0 has models for.
const numLanguages = int(lingua.Zulu) + 1

// alphabet is one of the scripts lingua's rules know, numbered from 1 in
// lingua's order, which decides which script a word is counted under.
// Zero means none of them.
type alphabet uint8

const (
	alphabetNone alphabet = iota
	alphabetArabic
	alphabetArmenian
	alphabetBengali
	alphabetCyrillic
	alphabetDevanagari
	alphabetGeorgian
	alphabetGreek
	alphabetGujarati
	alphabetGurmukhi
	alphabetHan
	alphabetHangul
	alphabetHebrew
	alphabetHiragana
	alphabetKatakana
	alphabetLatin
	alphabetTamil
	alphabetTelugu
	alphabetThai
	numAlphabets
)

// alphabetScripts holds the Unicode script of each alphabet.
var alphabetScripts = [numAlphabets]*unicode.RangeTable{
	alphabetArabic: unicode.Arabic, alphabetArmenian: unicode.Armenian, alphabetBengali: unicode.Bengali,
	alphabetCyrillic: unicode.Cyrillic, alphabetDevanagari: unicode.Devanagari, alphabetGeorgian: unicode.Georgian,
	alphabetGreek: unicode.Greek, alphabetGujarati: unicode.Gujarati, alphabetGurmukhi: unicode.Gurmukhi,
	alphabetHan: unicode.Han, alphabetHangul: unicode.Hangul, alphabetHebrew: unicode.Hebrew,
	alphabetHiragana: unicode.Hiragana, alphabetKatakana: unicode.Katakana, alphabetLatin: unicode.Latin,
	alphabetTamil: unicode.Tamil, alphabetTelugu: unicode.Telugu, alphabetThai: unicode.Thai,
}

// languageAlphabets holds the alphabets lingua v1.4.0 assigns to each
// language that is not written in the Latin alphabet; every other
// language is Latin only.
var languageAlphabets = map[lingua.Language][]alphabet{
	lingua.Belarusian: {alphabetCyrillic}, lingua.Bulgarian: {alphabetCyrillic}, lingua.Kazakh: {alphabetCyrillic},
	lingua.Macedonian: {alphabetCyrillic}, lingua.Mongolian: {alphabetCyrillic}, lingua.Russian: {alphabetCyrillic},
	lingua.Serbian: {alphabetCyrillic}, lingua.Ukrainian: {alphabetCyrillic},
	lingua.Arabic: {alphabetArabic}, lingua.Persian: {alphabetArabic}, lingua.Urdu: {alphabetArabic},
	lingua.Hindi: {alphabetDevanagari}, lingua.Marathi: {alphabetDevanagari},
	lingua.Armenian: {alphabetArmenian}, lingua.Bengali: {alphabetBengali}, lingua.Chinese: {alphabetHan},
	lingua.Georgian: {alphabetGeorgian}, lingua.Greek: {alphabetGreek}, lingua.Gujarati: {alphabetGujarati},
	lingua.Hebrew: {alphabetHebrew}, lingua.Japanese: {alphabetHiragana, alphabetKatakana, alphabetHan},
	lingua.Korean: {alphabetHangul}, lingua.Punjabi: {alphabetGurmukhi}, lingua.Tamil: {alphabetTamil},
	lingua.Telugu: {alphabetTelugu}, lingua.Thai: {alphabetThai},
}

// Columns of the dense rows and score arrays: languages grouped by
// alphabet, Latin first, then Cyrillic, Arabic, Devanagari, Chinese and
// Japanese side by side, then the rest, so that the candidates of a text,
// which share an alphabet, take a short run of columns.
var colOf, langOfCol = languageColumns()

func languageColumns() (cols [numLanguages]int, langs [numLanguages]lingua.Language) {
	rank := func(lang lingua.Language) int {
		switch {
		case lang == lingua.Chinese:
			return 4
		case lang == lingua.Japanese:
			return 5
		}
		switch alphabetsOf(lang)[0] {
		case alphabetLatin:
			return 0
		case alphabetCyrillic:
			return 1
		case alphabetArabic:
			return 2
		case alphabetDevanagari:
			return 3
		}
		return 6
	}
	col := 0
	for r := 0; r <= 6; r++ {
		for lang := lingua.Language(0); int(lang) < numLanguages; lang++ {
			if rank(lang) == r {
				cols[lang], langs[col] = col, lang
				col++
			}
		}
	}
	return cols, langs
}

// span returns the run of columns [lo, hi) that holds the languages of s.
func (s langSet) span() (lo, hi int) {
	lo, hi = numLanguages, 0
	for lang := lingua.Language(0); int(lang) < numLanguages; lang++ {
		if s.has(lang) {
			lo, hi = min(lo, colOf[lang]), max(hi, colOf[lang]+1)
		}
	}
	return lo, hi
}

// alphabetsOf returns the alphabets of lang.
func alphabetsOf(lang lingua.Language) []alphabet {
	if a, ok := languageAlphabets[lang]; ok {
		return a
	}
	return []alphabet{alphabetLatin}
}

// uniqueCharacters holds, for the languages that have them, the letters
// lingua v1.4.0 treats as proof of the language when they appear in the
// Latin, Cyrillic or Devanagari script.
var uniqueCharacters = map[lingua.Language]string{
	lingua.Azerbaijani: "Əə",
	lingua.Catalan:     "Ïï",
	lingua.Czech:       "ĚěŘřŮů",
	lingua.Esperanto:   "ĈĉĜĝĤĥĴĵŜŝŬŭ",
	lingua.German:      "ß",
	lingua.Hungarian:   "ŐőŰű",
	lingua.Kazakh:      "ӘәҒғҚқҢңҰұ",
	lingua.Latvian:     "ĢģĶķĻļŅņ",
	lingua.Lithuanian:  "ĖėĮįŲų",
	lingua.Macedonian:  "ЃѓЅѕЌќЏџ",
	lingua.Marathi:     "ळ",
	lingua.Mongolian:   "ӨөҮү",
	lingua.Polish:      "ŁłŃńŚśŹź",
	lingua.Romanian:    "Țţ",
	lingua.Serbian:     "ЂђЋћ",
	lingua.Slovak:      "ĹĺĽľŔŕ",
	lingua.Spanish:     "¿¡",
	lingua.Ukrainian:   "ҐґЄєЇї",
	lingua.Vietnamese:  "ẰằẦầẲẳẨẩẴẵẪẫẮắẤấẠạẶặẬậỀềẺẻỂểẼẽỄễẾếỆệỈỉĨĩỊịƠơỒồỜờỎỏỔổỞởỖỗỠỡỐốỚớỘộỢợƯưỪừỦủỬửŨũỮữỨứỤụỰựỲỳỶỷỸỹỴỵ",
	lingua.Yoruba:      "ŌōṢṣ",
}

// charGroup is a set of letters shared by a few languages. When at least
// half of a text's words contain letters of groups that a language
// belongs to, lingua v1.4.0 keeps only such languages as candidates.
type charGroup struct {
	chars     string
	languages []lingua.Language
}

// charGroups holds lingua v1.4.0's letter groups.
var charGroups = [...]charGroup{
	{"Ãã", []lingua.Language{lingua.Portuguese, lingua.Vietnamese}},
	{"ĄąĘę", []lingua.Language{lingua.Lithuanian, lingua.Polish}},
	{"Żż", []lingua.Language{lingua.Polish, lingua.Romanian}},
	{"Îî", []lingua.Language{lingua.French, lingua.Romanian}},
	{"Ññ", []lingua.Language{lingua.Basque, lingua.Spanish}},
	{"ŇňŤť", []lingua.Language{lingua.Czech, lingua.Slovak}},
	{"Ăă", []lingua.Language{lingua.Romanian, lingua.Vietnamese}},
	{"İıĞğ", []lingua.Language{lingua.Azerbaijani, lingua.Turkish}},
	{"ЈјЉљЊњ", []lingua.Language{lingua.Macedonian, lingua.Serbian}},
	{"ẸẹỌọ", []lingua.Language{lingua.Vietnamese, lingua.Yoruba}},
	{"ÐðÞþ", []lingua.Language{lingua.Icelandic, lingua.Turkish}},
	{"Ûû", []lingua.Language{lingua.French, lingua.Hungarian}},
	{"Ōō", []lingua.Language{lingua.Maori, lingua.Yoruba}},
	{"ĀāĒēĪī", []lingua.Language{lingua.Latvian, lingua.Maori, lingua.Yoruba}},
	{"Şş", []lingua.Language{lingua.Azerbaijani, lingua.Romanian, lingua.Turkish}},
	{"Ďď", []lingua.Language{lingua.Czech, lingua.Romanian, lingua.Slovak}},
	{"Ćć", []lingua.Language{lingua.Bosnian, lingua.Croatian, lingua.Polish}},
	{"Đđ", []lingua.Language{lingua.Bosnian, lingua.Croatian, lingua.Vietnamese}},
	{"Іі", []lingua.Language{lingua.Belarusian, lingua.Kazakh, lingua.Ukrainian}},
	{"Ìì", []lingua.Language{lingua.Italian, lingua.Vietnamese, lingua.Yoruba}},
	{"Øø", []lingua.Language{lingua.Bokmal, lingua.Danish, lingua.Nynorsk}},
	{"Ūū", []lingua.Language{lingua.Latvian, lingua.Lithuanian, lingua.Maori, lingua.Yoruba}},
	{"Ëë", []lingua.Language{lingua.Afrikaans, lingua.Albanian, lingua.Dutch, lingua.French}},
	{"ÈèÙù", []lingua.Language{lingua.French, lingua.Italian, lingua.Vietnamese, lingua.Yoruba}},
	{"Êê", []lingua.Language{lingua.Afrikaans, lingua.French, lingua.Portuguese, lingua.Vietnamese}},
	{"Õõ", []lingua.Language{lingua.Estonian, lingua.Hungarian, lingua.Portuguese, lingua.Vietnamese}},
	{"Ôô", []lingua.Language{lingua.French, lingua.Portuguese, lingua.Slovak, lingua.Vietnamese}},
	{"ЁёЫыЭэ", []lingua.Language{lingua.Belarusian, lingua.Kazakh, lingua.Mongolian, lingua.Russian}},
	{"ЩщЪъ", []lingua.Language{lingua.Bulgarian, lingua.Kazakh, lingua.Mongolian, lingua.Russian}},
	{"Òò", []lingua.Language{lingua.Catalan, lingua.Italian, lingua.Vietnamese, lingua.Yoruba}},
	{"Ææ", []lingua.Language{lingua.Bokmal, lingua.Danish, lingua.Icelandic, lingua.Nynorsk}},
	{"Åå", []lingua.Language{lingua.Bokmal, lingua.Danish, lingua.Nynorsk, lingua.Swedish}},
	{"Ýý", []lingua.Language{lingua.Czech, lingua.Icelandic, lingua.Slovak, lingua.Turkish, lingua.Vietnamese}},
	{"Ää", []lingua.Language{lingua.Estonian, lingua.Finnish, lingua.German, lingua.Slovak, lingua.Swedish}},
	{"Àà", []lingua.Language{lingua.Catalan, lingua.French, lingua.Italian, lingua.Portuguese, lingua.Vietnamese}},
	{"Ââ", []lingua.Language{lingua.French, lingua.Portuguese, lingua.Romanian, lingua.Turkish, lingua.Vietnamese}},
	{"Üü", []lingua.Language{lingua.Azerbaijani, lingua.Catalan, lingua.Estonian, lingua.German, lingua.Hungarian, lingua.Spanish, lingua.Turkish}},
	{"ČčŠšŽž", []lingua.Language{lingua.Bosnian, lingua.Czech, lingua.Croatian, lingua.Latvian, lingua.Lithuanian, lingua.Slovak, lingua.Slovene}},
	{"Çç", []lingua.Language{lingua.Albanian, lingua.Azerbaijani, lingua.Basque, lingua.Catalan, lingua.French, lingua.Portuguese, lingua.Turkish}},
	{"Öö", []lingua.Language{lingua.Azerbaijani, lingua.Estonian, lingua.Finnish, lingua.German, lingua.Hungarian, lingua.Icelandic, lingua.Swedish, lingua.Turkish}},
	{"Óó", []lingua.Language{lingua.Catalan, lingua.Hungarian, lingua.Icelandic, lingua.Irish, lingua.Polish, lingua.Portuguese, lingua.Slovak, lingua.Spanish, lingua.Vietnamese, lingua.Yoruba}},
	{"ÁáÍíÚú", []lingua.Language{lingua.Catalan, lingua.Czech, lingua.Icelandic, lingua.Irish, lingua.Hungarian, lingua.Portuguese, lingua.Slovak, lingua.Spanish, lingua.Vietnamese, lingua.Yoruba}},
	{"Éé", []lingua.Language{lingua.Catalan, lingua.Czech, lingua.French, lingua.Hungarian, lingua.Icelandic, lingua.Irish, lingua.Italian, lingua.Portuguese, lingua.Slovak, lingua.Spanish, lingua.Vietnamese, lingua.Yoruba}},
}

// langSet is a set of languages, one bit per lingua.Language.
type langSet [2]uint64

func (s *langSet) add(lang lingua.Language)      { s[lang>>6] |= 1 << (lang & 63) }
func (s *langSet) has(lang lingua.Language) bool { return s[lang>>6]&(1<<(lang&63)) != 0 }
func (s langSet) intersect(t langSet) langSet    { return langSet{s[0] & t[0], s[1] & t[1]} }
func (s langSet) empty() bool                    { return s[0] == 0 && s[1] == 0 }
func setOf(langs ...lingua.Language) (s langSet) {
	for _, l := range langs {
		s.add(l)
	}
	return s
}

// ruleKind is how lingua's rules count a letter for a language.
type ruleKind uint8

const (
	ruleNone ruleKind = iota
	// ruleAlphabet: the letter's alphabet belongs to one language only,
	// which is counted when the detector has it.
	ruleAlphabet
	// ruleAlways: a Han letter counts for Chinese, a kana for Japanese,
	// whatever the detector's languages.
	ruleAlways
	// ruleUnique: one of the language's unique characters, counted when
	// the detector has the language.
	ruleUnique
)

// charInfo packs what the detector needs to know about the lower-case
// form of a rune:
//
//	bits  0-13  unigram row + 1 (0: in no unigram model)
//	bits 14-23  character id in the 2- to 5-gram keys (0: in none)
//	bit  24     is a letter (Unicode category L)
//	bit  25     forms a word on its own (Han, Hangul, Hiragana, Katakana)
//	bits 26-30  alphabet
//	bits 31-32  rule kind
//	bits 33-39  rule language
//	bits 40-45  letter group index + 1 (0: in no group)
//	bits 46-61  the lower-case rune, for runes of the BMP
type charInfo uint64

const (
	infoCharIDShift   = 14
	infoLetter        = 1 << 24
	infoStandalone    = 1 << 25
	infoAlphabetShift = 26
	infoRuleShift     = 31
	infoRuleLangShift = 33
	infoGroupShift    = 40
	infoLowerShift    = 46
)

func (c charInfo) unigramRow() int    { return int(c&(1<<14-1)) - 1 }
func (c charInfo) charID() uint64     { return uint64(c>>infoCharIDShift) & (1<<10 - 1) }
func (c charInfo) isLetter() bool     { return c&infoLetter != 0 }
func (c charInfo) isStandalone() bool { return c&infoStandalone != 0 }
func (c charInfo) alphabet() alphabet { return alphabet(c>>infoAlphabetShift) & 31 }
func (c charInfo) rule() ruleKind     { return ruleKind(c>>infoRuleShift) & 3 }
func (c charInfo) ruleLanguage() lingua.Language {
	return lingua.Language(c>>infoRuleLangShift) & 127
}
func (c charInfo) group() int  { return int(c>>infoGroupShift) & 63 }
func (c charInfo) lower() rune { return rune(c>>infoLowerShift) & 0xFFFF }

// staticInfo returns the fields of charInfo that depend on Unicode alone,
// for the lower-case rune lower. The model fields are added by the loader.
func staticInfo(lower rune) charInfo {
	var info charInfo
	if unicode.IsLetter(lower) {
		info |= infoLetter
	}
	if unicode.In(lower, unicode.Han, unicode.Hangul, unicode.Hiragana, unicode.Katakana) {
		info |= infoStandalone
	}
	for a := alphabetArabic; a < numAlphabets; a++ {
		if unicode.Is(alphabetScripts[a], lower) {
			info |= charInfo(a) << infoAlphabetShift
			break
		}
	}

	kind, lang := ruleOf(lower, info.alphabet())
	info |= charInfo(kind)<<infoRuleShift | charInfo(lang)<<infoRuleLangShift
	for i, g := range charGroups {
		for _, r := range g.chars {
			if r == lower {
				info |= charInfo(i+1) << infoGroupShift
			}
		}
	}
	return info
}

// ruleOf returns how lingua's rules count the letter r of alphabet a.
func ruleOf(r rune, a alphabet) (ruleKind, lingua.Language) {
	switch a {
	case alphabetHan:
		return ruleAlways, lingua.Chinese
	case alphabetHiragana, alphabetKatakana:
		return ruleAlways, lingua.Japanese
	case alphabetLatin, alphabetCyrillic, alphabetDevanagari:
		for lang := lingua.Language(0); int(lang) < numLanguages; lang++ {
			for _, u := range uniqueCharacters[lang] {
				if u == r {
					return ruleUnique, lang
				}
			}
		}
		return ruleNone, 0
	case alphabetNone:
		return ruleNone, 0
	}
	if lang, ok := singleLanguageOf(a); ok {
		return ruleAlphabet, lang
	}
	return ruleNone, 0
}

// singleLanguageOf returns the language of alphabet a when it is the only
// language written in a.
func singleLanguageOf(a alphabet) (lingua.Language, bool) {
	var found []lingua.Language
	for lang := lingua.Language(0); int(lang) < numLanguages; lang++ {
		for _, b := range alphabetsOf(lang) {
			if b == a {
				found = append(found, lang)
			}
		}
	}
	if len(found) == 1 {
		return found[0], true
	}
	return 0, false
}

// lowerRune returns the lower-case form of r as strings.ToLower maps it.
func lowerRune(r rune) rune {
	if r < 0x80 {
		if 'A' <= r && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return r
	}
	return unicode.ToLower(r)
}
