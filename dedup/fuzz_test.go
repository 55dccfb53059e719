package dedup

import (
	"bytes"
	"slices"
	"testing"
	"unicode/utf8"
)

// FuzzNormalizeShingle checks that normalisation and shingling never
// panic, are deterministic, and keep their output invariants.
func FuzzNormalizeShingle(f *testing.F) {
	for _, seed := range []string{
		"", " ", "Hello, World!", "| 2019 | 4.1 |", "cafe\u0301", "a\u200bb\u00ad",
		"你好，世界", "コーヒー2019年", "ภาษาไทย ที่นี่", "ΟΔΟΣ ΟΔΟΣ", "\xff\xfe\xc0",
		"x\u1fef\u1fefy τι\u037e cannot", "ﷺ ﬃ ㎏ Ⅻ", "\u0301\u0301a",
	} {
		f.Add(seed)
	}
	first := newTestShingler(f, ShingleConfig{WordN: 3, CharN: 4})
	second := newTestShingler(f, ShingleConfig{WordN: 3, CharN: 4})
	f.Fuzz(func(t *testing.T, text string) {
		norm := AppendNormalized(nil, text)
		checkNormalized(t, text, norm)
		if again := AppendNormalized(nil, text); !bytes.Equal(norm, again) {
			t.Fatalf("AppendNormalized(%q) differs between calls: %q, %q", text, norm, again)
		}

		a := first.AppendShingles(nil, text)
		b := second.AppendShingles(nil, text)
		if !slices.Equal(a, b) {
			t.Fatalf("shingles of %q differ between Shinglers", text)
		}
		if (len(a) == 0) != (len(norm) == 0) {
			t.Fatalf("%q: %d shingles but normalised form %q", text, len(a), norm)
		}

		d := &datatroveShingler{wordN: 5}
		x := d.appendShingles(nil, text)
		if y := d.appendShingles(nil, text); !slices.Equal(x, y) {
			t.Fatalf("datatrove shingles of %q differ between calls", text)
		}
	})
}

func checkNormalized(t *testing.T, text string, norm []byte) {
	t.Helper()
	if !utf8.Valid(norm) {
		t.Fatalf("AppendNormalized(%q) = %q, not valid UTF-8", text, norm)
	}
	if bytes.HasPrefix(norm, []byte(" ")) || bytes.HasSuffix(norm, []byte(" ")) || bytes.Contains(norm, []byte("  ")) {
		t.Fatalf("AppendNormalized(%q) = %q: spaces not collapsed", text, norm)
	}
	if again := AppendNormalized(nil, string(norm)); !bytes.Equal(again, norm) {
		t.Fatalf("AppendNormalized is not idempotent on %q: %q then %q", text, norm, again)
	}
}
