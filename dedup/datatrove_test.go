package dedup

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/cespare/xxhash/v2"
)

func TestDatatroveParameters(t *testing.T) {
	// The first values of datatrove's MinHash parameters for seed 1, as
	// numpy's RandomState(1).randint draws them.
	a, b := datatroveParameters(1, DefaultBands*DefaultRows)
	wantA := []uint64{775169054918279404, 1758426461858698313, 2109959069025162}
	wantB := []uint64{1062448801025099917, 1324811268927594100, 1217488311597731462}
	if !slices.Equal(a[:3], wantA) {
		t.Errorf("a[:3] = %v, want %v", a[:3], wantA)
	}
	if !slices.Equal(b[:3], wantB) {
		t.Errorf("b[:3] = %v, want %v", b[:3], wantB)
	}
	for i := range a {
		if a[i] < 1 || a[i] >= mersenne61 || b[i] >= mersenne61 {
			t.Fatalf("parameter %d out of range: a=%d b=%d", i, a[i], b[i])
		}
	}
}

func TestXXH64Vector(t *testing.T) {
	if got := xxhash.Sum64String("hello world"); got != 5020219685658847592 {
		t.Errorf("xxh64(hello world) = %d, want 5020219685658847592", got)
	}
}

func TestDatatroveTokens(t *testing.T) {
	tests := []struct {
		name string
		text string
		want string
	}{
		{"punctuation and case", "Hello, World! It's here.", "hello world it s here"},
		{"numbers", "Prices: 1,000.50 and 3.14; ２０２４", "prices 0 0 and 0 0"},
		{"contractions", "I cannot go, gonna wanna", "i can not go gon na wan na"},
		{"wanna only before space", "wannabe wanna·x", "wannabe wanna·x"},
		{"contraction after a non-word rune", "x·cannot", "x· can not"},
		{"dotless i", "gımme", "gım me"},
		{"accents dropped", "Café naïve Ἀθῆναι", "cafe naive αθηναι"},
		{"final sigma", "ΟΔΟΣ ΟΔΟΣ.", "οδος οδος"},
		{"turkish capital", "İstanbul", "istanbul"},
		{"left quote stands alone", "‘quoted’", "‘ quoted"},
		{"greek question mark", "τι\u037e", "τι ;"},
		{"figure dash", "a\u2012b", "a \u2012 b"},
		{"varia backticks", "x\u1fef\u1fef\u1fefy", "x `` ` y"},
		{"controls", "a\x00b\x1fc\u0085d", "a b c d"},
		{"zero-width space is a letter here", "a\u200bb", "a\u200bb"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := &datatroveShingler{wordN: 5}
			d.appendShingles(nil, tt.text)
			if got := string(d.out); got != tt.want {
				t.Errorf("tokens of %q = %q, want %q", tt.text, got, tt.want)
			}
		})
	}
}

func TestDatatroveSignatureRecipe(t *testing.T) {
	text := "The Quick brown fox -- it jumped over 2 lazy dogs!"
	tokens := strings.Fields("the quick brown fox it jumped over 0 lazy dogs")
	m := newTestMinHasher(t, DatatroveMinHashConfig())
	got := m.AppendSignature(nil, text)

	a, b := datatroveParameters(1, len(got))
	want := make(Signature, len(got))
	for i := range want {
		want[i] = math.MaxUint64
	}
	for i := 0; i+5 <= len(tokens); i++ {
		h := xxhash.Sum64String(strings.Join(tokens[i:i+5], " "))
		for j := range want {
			want[j] = min(want[j], (h*a[j]+b[j])%mersenne61)
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("signature differs from the recipe computed here:\n got %v\nwant %v", got[:4], want[:4])
	}
}

func TestDatatrovePunctuation(t *testing.T) {
	in := []rune{'!', '~', '\\', '`', '\x00', '\x0b', '\x7f', '\u0085', '\u00ab', '—', '…', '►', '。', '，', '１', '～'}
	out := []rune{'a', '0', ' ', '\t', '\n', '\u00a0', '‘', '¿', '•', '€', '·', '\u2012'}
	for _, r := range in {
		if !isTrovePunctuation(r) {
			t.Errorf("%q is not in the punctuation set", r)
		}
	}
	for _, r := range out {
		if isTrovePunctuation(r) {
			t.Errorf("%q is in the punctuation set", r)
		}
	}
}

func TestMT19937Reference(t *testing.T) {
	// C++'s std::mt19937 uses the same init_genrand seeding; its default
	// seed 5489 gives 3499211612 first.
	g := newMT19937(5489)
	if got := g.uint32(); got != 3499211612 {
		t.Errorf("first output for seed 5489 = %d, want 3499211612", got)
	}
}
