package tokens

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/tiktoken-go/tokenizer"
	"github.com/winnow-data/winnow/internal/testutil"
)

var encodings = []string{Cl100kBase, O200kBase}

// newTestCounter returns the shared Counter of encoding.
func newTestCounter(tb testing.TB, encoding string) *Counter {
	tb.Helper()
	c, err := New(encoding)
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// libraryCodecs holds one tiktoken-go codec per encoding, shared by the
// tests. A codec's Count is safe for concurrent use.
var libraryCodecs sync.Map

func libraryCodec(tb testing.TB, encoding string) tokenizer.Codec {
	tb.Helper()
	if c, ok := libraryCodecs.Load(encoding); ok {
		return c.(tokenizer.Codec)
	}
	c, err := tokenizer.Get(tokenizer.Encoding(encoding))
	if err != nil {
		tb.Fatal(err)
	}
	libraryCodecs.Store(encoding, c)
	return c
}

// libraryCount returns tiktoken-go's count of text.
func libraryCount(tb testing.TB, encoding, text string) int {
	tb.Helper()
	n, err := libraryCodec(tb, encoding).Count(text)
	if err != nil {
		tb.Fatalf("tiktoken-go %s: counting %q: %v", encoding, text, err)
	}
	return n
}

// checkSameCounts fails the test for each text whose count differs from
// tiktoken-go's in either encoding, naming at most five of them.
func checkSameCounts(t *testing.T, source string, texts []string) {
	t.Helper()
	for _, enc := range encodings {
		c := newTestCounter(t, enc)
		differ := 0
		for i, text := range texts {
			got, want := c.Count(text), libraryCount(t, enc, text)
			if got == want {
				continue
			}
			differ++
			if differ <= 5 {
				t.Errorf("%s: %s text %d (%.60q): %d tokens, tiktoken-go counts %d", enc, source, i, text, got, want)
			}
		}
		if differ > 0 {
			t.Errorf("%s: %s: %d of %d texts differ", enc, source, differ, len(texts))
		}
	}
}

func TestTokenCountEdgeCases(t *testing.T) {
	cases := []string{
		"",
		"hello world",
		"Hello, World! It's 2024.",
		// Contractions in every case, the long s that case folding matches,
		// and near misses.
		"don't I'M we'RE they'Ve she'LL he'D it'ſ 'x 'r 'l' 'll' '",
		"HELLO'S Ǆemo'S ǅungla'T",
		// White space before words, punctuation, line breaks and the end.
		"a  b   c\t\td \u00a0e\u3000\u3000f",
		"line\n\nnext \n  \n\t indented\r\n\r\nend  ",
		"   ",
		" \n",
		"\n \n x",
		// Numbers in runs longer than three, other number kinds.
		"1234567 12 ¹²³⁴ ½¾ ⅫⅩ ٣٤٥٦ 一二三",
		// Punctuation runs with trailing line breaks and slashes.
		"!!!\n\n?/ //\r\n https://example.com/a/b?c=d#e ...\n",
		// Combining marks alone, after letters and after punctuation.
		"e\u0301 \u0301a !\u0301x \u0301\u0301 a\u0301\u0301b ʰʰ",
		"ÉCOLE École éCOLE ǅx Xǅ ABCdef abcDEF",
		// Scripts without spaces, emoji and symbols.
		"中文文本，没有空格。日本語のテキスト한국어 텍스트",
		"😀👍🏽 ❤️ 👨‍👩‍👧 ✓ €100 £5",
		// Text that looks like special tokens.
		"<|endoftext|> <|fim_prefix|>",
		// Invalid UTF-8: a stray continuation byte, a truncated sequence, an
		// encoded surrogate, a lone lead byte at the end.
		"a\x80b",
		"\xe2\x82 word",
		"\xed\xa0\x80x",
		"end\xf0",
		"\xff\xfe\xfd",
		strings.Repeat("abc", 200),
		strings.Repeat(" ", 300) + "x",
		strings.Repeat("中", 100),
	}
	checkSameCounts(t, "edge case", cases)
}

func TestTokenCountKnownValues(t *testing.T) {
	// "hello" and " world" are single tokens in both encodings.
	cases := []struct {
		encoding, text string
		want           int
	}{
		{Cl100kBase, "hello world", 2},
		{O200kBase, "hello world", 2},
		{Cl100kBase, "", 0},
	}
	for _, tc := range cases {
		if got := newTestCounter(t, tc.encoding).Count(tc.text); got != tc.want {
			t.Errorf("%s: Count(%q) = %d, want %d", tc.encoding, tc.text, got, tc.want)
		}
	}
}

func TestTokenCountSample(t *testing.T) {
	checkSameCounts(t, "sample", testutil.ReadJSONLTexts(t, samplePath))
}

func TestTokenCountHPLTSentences(t *testing.T) {
	const path = "../testdata/langid/hplt-sentences.tsv.gz"
	if !fileExists(path) {
		t.Skipf("%s is missing", path)
	}
	checkSameCounts(t, "HPLT sentence", readTSVColumn(t, path, "text", 3))
}

func TestTokenCountMultilingual(t *testing.T) {
	dir := multilingualDir()
	if dir == "" {
		t.Skip("folder of HPLT excerpts is missing; set WINNOW_MULTILINGUAL_DIR to a folder of LABEL__batch0.tsv.gz files")
	}
	paths, err := filepath.Glob(filepath.Join(dir, "*__batch0.tsv.gz"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no LABEL__batch0.tsv.gz file in %s (err %v)", dir, err)
	}
	slices.Sort(paths)
	for _, path := range paths {
		label := strings.TrimSuffix(filepath.Base(path), "__batch0.tsv.gz")
		t.Run(label, func(t *testing.T) {
			texts := readTSVColumn(t, path, "text_show", 3)
			if raceEnabled || testing.Short() {
				texts = texts[:min(len(texts), 5)]
			}
			checkSameCounts(t, label, texts)
		})
	}
}

// fragments are the pieces random test strings are made of: each class
// the split patterns tell apart, the characters their alternatives hinge
// on, and invalid UTF-8.
var fragments = []string{
	"a", "z", "A", "Z", "s", "S", "t", "T", "re", "RE", "ve", "m", "ll", "LL", "d", "D",
	"'", "ſ", "ß", "é", "É", "ǅ", "ʰ", "ª", "и", "Я", "中", "の", "ア", "한", "ก", "ا", "\u0301", "\u0903",
	"0", "7", "42", "²", "½", "Ⅻ", "٣", "〇",
	" ", "  ", "\t", "\n", "\r", "\r\n", "\v", "\f", "\u0085", "\u00a0", "\u2003", "\u2028", "\u3000",
	".", ",", "!", "?", "/", "//", "-", "_", "#", "@", "(", ")", "{", "}", "\"", "`", "~", "©", "€",
	"😀", "👍🏽", "\u200d", "\ufe0f", "\ufffd", "\x00", "\x1f", "\x7f",
	"\x80", "\xbf", "\xc3", "\xe2\x82", "\xed\xa0\x80", "\xf0\x9f", "\xff",
}

// fragmentString makes a string of fragments picked by the bytes of data,
// so that the fuzzer and random tests explore combinations of the
// characters that matter rather than arbitrary bytes.
func fragmentString(data []byte) string {
	var b strings.Builder
	for _, c := range data {
		b.WriteString(fragments[int(c)%len(fragments)])
	}
	return b.String()
}

func TestTokenCountRandomFragments(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	n := 20000
	if raceEnabled || testing.Short() {
		n = 2000
	}
	texts := make([]string, n)
	for i := range texts {
		data := make([]byte, 1+rng.IntN(24))
		for j := range data {
			data[j] = byte(rng.Uint32())
		}
		texts[i] = fragmentString(data)
	}
	checkSameCounts(t, "random fragments", texts)
}

func TestTokenCountConcurrent(t *testing.T) {
	docs := testutil.ReadJSONLTexts(t, samplePath)
	if raceEnabled {
		docs = docs[:100]
	}
	for _, enc := range encodings {
		c := newTestCounter(t, enc)
		want := make([]int, len(docs))
		for i, d := range docs {
			want[i] = libraryCount(t, enc, d)
		}
		// Four goroutines count the documents in different orders, so they
		// fill and read the cache's slots at the same time.
		var wg sync.WaitGroup
		errs := make(chan string, 4)
		for g := range 4 {
			wg.Go(func() {
				for k := range docs {
					i := (k*(2*g+1) + g*101) % len(docs)
					if got := c.Count(docs[i]); got != want[i] {
						errs <- fmt.Sprintf("%s: goroutine %d: document %d: %d tokens, want %d", enc, g, i, got, want[i])
						return
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for e := range errs {
			t.Error(e)
		}
	}
}

func TestTokenCounterUnknownEncoding(t *testing.T) {
	for _, name := range []string{"", "p50k_base", "CL100K_BASE", "gpt-4"} {
		if _, err := New(name); err == nil {
			t.Errorf("New(%q) returned no error", name)
		}
	}
}

func TestTokenCounterShared(t *testing.T) {
	a, b := newTestCounter(t, O200kBase), newTestCounter(t, O200kBase)
	if a != b {
		t.Error("two calls of New(o200k_base) returned different counters")
	}
	if a.Encoding() != O200kBase {
		t.Errorf("Encoding() = %q, want %q", a.Encoding(), O200kBase)
	}
}

func TestTokenMergesHeapMatchesScan(t *testing.T) {
	// Both merge loops must give the same count for every piece they can
	// both take.
	rng := rand.New(rand.NewPCG(3, 4))
	for _, enc := range encodings {
		r := newTestCounter(t, enc).ranks
		for range 5000 {
			data := make([]byte, 2+rng.IntN(20))
			for j := range data {
				data[j] = byte(rng.Uint32())
			}
			piece := fragmentString(data)
			if len(piece) > scanMaxLen {
				piece = piece[:scanMaxLen]
			}
			if scan, long := r.countMerges(piece), r.countMergesLong(piece); scan != long {
				t.Fatalf("%s: %q: scan merges to %d tokens, heap to %d", enc, piece, scan, long)
			}
		}
	}
}
