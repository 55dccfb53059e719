package tokens

import "testing"

// checkFuzzCount fails when a count of text differs from tiktoken-go's.
func checkFuzzCount(t *testing.T, text string) {
	for _, enc := range encodings {
		if got, want := newTestCounter(t, enc).Count(text), libraryCount(t, enc, text); got != want {
			t.Errorf("%s: Count(%q) = %d, tiktoken-go counts %d", enc, text, got, want)
		}
	}
}

// FuzzTokenCount compares the counts of arbitrary strings, valid UTF-8 or
// not, with tiktoken-go's.
func FuzzTokenCount(f *testing.F) {
	for _, s := range []string{
		"Hello, World! It's 2024.",
		"we'RE 'ſ 'll'",
		"a  b \n\n c  ",
		"1234567 ½ Ⅻ",
		"中文，日本語。한국어",
		"😀👍🏽 e\u0301",
		"a\x80b\xe2\x82\xff",
		"!\x7f! \x7fx",
		"\n \n x\r\n\t\r\n ",
	} {
		f.Add(s)
	}
	f.Fuzz(checkFuzzCount)
}

// FuzzTokenCountFragments compares the counts of strings made of the
// fragments that the split patterns tell apart, which random bytes rarely
// combine.
func FuzzTokenCountFragments(f *testing.F) {
	f.Add([]byte{16, 5, 0, 1, 42})
	f.Add([]byte{42, 43, 44, 10, 45, 46})
	f.Fuzz(func(t *testing.T, data []byte) {
		checkFuzzCount(t, fragmentString(data))
	})
}
