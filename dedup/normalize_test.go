package dedup

import (
	"strings"
	"testing"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

func TestAppendNormalized(t *testing.T) {
	tests := []struct {
		name string
		text string
		want string
	}{
		{"empty", "", ""},
		{"blank", " \t\r\n\u00a0\u3000", ""},
		{"punctuation only", "--- *** !!! ...", ""},
		{"ascii", "  Hello, World!  It's 9AM.\n", "hello world it s 9am"},
		{"table keeps digits", "| 2019 | 4.1 |", "2019 4 1"},
		{"symbols break words", "a+b=c → d€e", "a b c d e"},
		{"nfc", "caf\u00e9 na\u00efve", "caf\u00e9 na\u00efve"},
		{"nfd", "cafe\u0301 nai\u0308ve", "caf\u00e9 na\u00efve"},
		{"zero-width space removed", "zero\u200bwidth", "zerowidth"},
		{"joiners and bom removed", "\ufeffa\u200cb\u200dc\u2060d", "abcd"},
		{"soft hyphen removed", "co\u00adoperate", "cooperate"},
		{"full-width", "\uff37\uff49\uff4e\uff4e\uff4f\uff57\uff11", "winnow1"},
		{"ligature", "\ufb01nd", "find"},
		{"sharp s", "Stra\u00dfe STRASSE stra\u1e9ee", "strasse strasse strasse"},
		{"greek final sigma", "\u039f\u0394\u039f\u03a3 \u03bf\u03b4\u03bf\u03c2", "\u03bf\u03b4\u03bf\u03c3 \u03bf\u03b4\u03bf\u03c3"},
		{"turkish dotted capital", "\u0130stanbul", "istanbul"},
		{"cjk punctuation", "你好，世界。「引用」", "你好 世界 引用"},
		{"thai marks kept", "ภาษาไทย ที่นี่", "ภาษาไทย ที่นี่"},
		{"invalid utf-8", "a\xffb\xc0", "a b"},
		{"emoji", "ok👍ok", "ok ok"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(AppendNormalized(nil, tt.text)); got != tt.want {
				t.Errorf("AppendNormalized(%q) = %q, want %q", tt.text, got, tt.want)
			}
		})
	}
}

func TestAppendNormalizedAppends(t *testing.T) {
	got := string(AppendNormalized([]byte("prefix:"), "  Two Words "))
	if got != "prefix:two words" {
		t.Errorf("got %q, want %q", got, "prefix:two words")
	}
}

func TestAppendNormalizedNormalFormsAgree(t *testing.T) {
	texts := []string{
		"Ångström café Ωmega ǅemal 한국어 텍스트 ﬃ ½ ℌ ﾊﾟﾝ",
		"Việt Nam đẹp lắm, Ελληνικά τονισμένα ά ή ί",
	}
	for _, text := range texts {
		want := string(AppendNormalized(nil, norm.NFC.String(text)))
		for _, form := range []norm.Form{norm.NFD, norm.NFKC, norm.NFKD} {
			if got := string(AppendNormalized(nil, form.String(text))); got != want {
				t.Errorf("form %v of %q normalises to %q, NFC to %q", form, text, got, want)
			}
		}
	}
}

func TestAppendNormalizedAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool drop items at random")
	}
	texts := map[string]string{
		"ascii":   strings.Repeat("The quick brown fox, jumps over the lazy dog. ", 50),
		"unicode": strings.Repeat("Cafe\u0301 你好，世界 ภาษาไทย Straße. ", 50),
	}
	for name, text := range texts {
		dst := make([]byte, 0, 4*len(text))
		AppendNormalized(dst, text) // warm the pool
		allocs := testing.AllocsPerRun(20, func() { AppendNormalized(dst[:0], text) })
		if allocs > 0 {
			t.Errorf("%s: %v allocations per call, want 0", name, allocs)
		}
	}
}

func TestCaselessSpacelessRanges(t *testing.T) {
	for r := rune(0); r <= unicode.MaxRune; r++ {
		if !isCaselessSpaceless(r) {
			continue
		}
		kept := unicode.IsLetter(r) || unicode.IsMark(r) || unicode.IsNumber(r)
		caseless := unicode.ToLower(unicode.ToUpper(r)) == r
		spaceless := unicode.In(r, spacelessScripts...)
		if !kept || !caseless || !spaceless {
			t.Errorf("U+%04X: kept %v, caseless %v, spaceless script %v; want all true", r, kept, caseless, spaceless)
		}
	}
}
