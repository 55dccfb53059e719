package dedup

import (
	"slices"
	"strings"
	"testing"

	"github.com/zeebo/xxh3"
)

func newTestShingler(t testing.TB, cfg ShingleConfig) *Shingler {
	t.Helper()
	s, err := NewShingler(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// unitsOf returns the units of text as strings, character units prefixed
// with "c:".
func unitsOf(s *Shingler, text string) []string {
	s.text = s.norm.appendNormalized(s.text[:0], text)
	if len(s.text) == 0 {
		return nil
	}
	s.splitUnits()
	var out []string
	for _, u := range s.units {
		str := string(s.text[u.start:u.end])
		if u.char {
			str = "c:" + str
		}
		out = append(out, str)
	}
	return out
}

func TestShinglerUnits(t *testing.T) {
	tests := []struct {
		name string
		text string
		want []string
	}{
		{"words", "Two words", []string{"two", "words"}},
		{"chinese", "你好，世界", []string{"c:你", "c:好", "c:世", "c:界"}},
		{"digits join han", "2019年3月", []string{"c:2", "c:0", "c:1", "c:9", "c:年", "c:3", "c:月"}},
		{"digits alone are a word", "在 2019 年", []string{"c:在", "2019", "c:年"}},
		{"latin inside han", "使用iPhone手机", []string{"c:使", "c:用", "iphone", "c:手", "c:机"}},
		{"katakana prolonged mark", "コーヒー", []string{"c:コ", "c:ー", "c:ヒ", "c:ー"}},
		{"thai marks stay", "ที่นี่", []string{"c:ท", "c:\u0e35", "c:\u0e48", "c:น", "c:\u0e35", "c:\u0e48"}},
		{"hangul is spaced", "한국어 텍스트", []string{"한국어", "텍스트"}},
		{"khmer lao myanmar", "ខ្មែរ ລາວ မြန်", []string{
			"c:ខ", "c:\u17d2", "c:ម", "c:\u17c2", "c:រ", "c:ລ", "c:າ", "c:ວ",
			"c:မ", "c:\u103c", "c:န", "c:\u103a"}},
	}
	s := newTestShingler(t, ShingleConfig{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := unitsOf(s, tt.text); !slices.Equal(got, tt.want) {
				t.Errorf("units of %q = %q, want %q", tt.text, got, tt.want)
			}
		})
	}
}

func TestShinglerShingles(t *testing.T) {
	word := func(s string) uint64 { return xxh3.HashString(s) }
	char := func(s string) uint64 { return xxh3.HashStringSeed(s, charShingleSeed) }
	tests := []struct {
		name string
		cfg  ShingleConfig
		text string
		want []uint64
	}{
		{"empty", ShingleConfig{}, "", nil},
		{"blank", ShingleConfig{}, " \n\t ", nil},
		{"punctuation only", ShingleConfig{}, "... --- !!!", nil},
		{"short doc is one shingle", ShingleConfig{}, "Just three words.", []uint64{word("just three words")}},
		{"windows", ShingleConfig{WordN: 2}, "a b c", []uint64{word("a b"), word("b c")}},
		{"repeats kept", ShingleConfig{WordN: 1}, "a a", []uint64{word("a"), word("a")}},
		{"char windows skip spaces", ShingleConfig{CharN: 3}, "你好，世界", []uint64{char("你好世"), char("好世界")}},
		{"short char run", ShingleConfig{}, "你好", []uint64{char("你好")}},
		{"mixed runs", ShingleConfig{WordN: 2, CharN: 2}, "one two 你好世 three", []uint64{
			word("one two"), char("你好"), char("好世"), word("three")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newTestShingler(t, tt.cfg)
			if got := s.AppendShingles(nil, tt.text); !slices.Equal(got, tt.want) {
				t.Errorf("AppendShingles(%q) = %x, want %x", tt.text, got, tt.want)
			}
		})
	}
}

func TestShinglerShortDocsDiffer(t *testing.T) {
	s := newTestShingler(t, ShingleConfig{})
	seen := map[uint64]string{}
	for _, text := range []string{"a", "b", "a b", "b a", "yes", "no", "你", "好", "你好", "one two three four"} {
		got := s.AppendShingles(nil, text)
		if len(got) != 1 {
			t.Fatalf("%q has %d shingles, want 1", text, len(got))
		}
		if prev, ok := seen[got[0]]; ok {
			t.Errorf("%q and %q have the same shingle", text, prev)
		}
		seen[got[0]] = text
	}
}

func TestNewShinglerRejectsBadSizes(t *testing.T) {
	for _, cfg := range []ShingleConfig{{WordN: -1}, {CharN: -2}, {WordN: maxShingleN + 1}} {
		if _, err := NewShingler(cfg); err == nil {
			t.Errorf("NewShingler(%+v) returned no error", cfg)
		}
	}
}

func TestShinglerAllocations(t *testing.T) {
	s := newTestShingler(t, ShingleConfig{})
	text := strings.Repeat("Mixed text 混合文本，ภาษาไทย and words. ", 40)
	dst := s.AppendShingles(nil, text)
	allocs := testing.AllocsPerRun(20, func() { dst = s.AppendShingles(dst[:0], text) })
	if allocs > 0 {
		t.Errorf("%v allocations per call, want 0", allocs)
	}
}
