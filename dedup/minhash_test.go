package dedup

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

func newTestMinHasher(t testing.TB, cfg MinHashConfig) *MinHasher {
	t.Helper()
	m, err := NewMinHasher(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// allSchemes returns one configuration per scheme with default sizes.
func allSchemes() map[string]MinHashConfig {
	perm := DefaultMinHashConfig()
	perm.Scheme = Permutations
	return map[string]MinHashConfig{
		"one permutation": DefaultMinHashConfig(),
		"permutations":    perm,
		"datatrove":       DatatroveMinHashConfig(),
	}
}

const testArticle = `The committee met on Tuesday to review the proposal for the new
library building. Members agreed that the design should include a larger
reading room, a children's section with natural light, and quiet study
spaces on the upper floor. The budget will be discussed again next month,
after the architects return with revised cost estimates for the roof and
the heating system.`

func TestNewMinHasherValidates(t *testing.T) {
	bad := []MinHashConfig{
		{Bands: -1},
		{Rows: maxRows + 1},
		{WordN: -1},
		{Scheme: 9},
		{Scheme: Permutations, Seed: 1 << 32},
	}
	for _, cfg := range bad {
		if _, err := NewMinHasher(cfg); err == nil {
			t.Errorf("NewMinHasher(%+v) returned no error", cfg)
		}
	}
	m := newTestMinHasher(t, MinHashConfig{})
	if got, want := m.Config(), DefaultMinHashConfig(); got != want {
		t.Errorf("Config() = %+v, want %+v", got, want)
	}
}

func TestSignatureEqualTexts(t *testing.T) {
	for name, cfg := range allSchemes() {
		t.Run(name, func(t *testing.T) {
			a := newTestMinHasher(t, cfg).AppendSignature(nil, testArticle)
			b := newTestMinHasher(t, cfg).AppendSignature(nil, testArticle)
			if len(a) != DefaultBands*DefaultRows {
				t.Fatalf("signature has %d values, want %d", len(a), DefaultBands*DefaultRows)
			}
			if !slices.Equal(a, b) {
				t.Error("two MinHashers gave different signatures for one text")
			}
			if got := Similarity(a, b); got != 1 {
				t.Errorf("Similarity = %v, want 1", got)
			}
		})
	}
}

func TestSignatureUnicodeVariantsMatch(t *testing.T) {
	base := "Der Bürgermeister eröffnete die Straße am Montag; café und crème brûlée gab es für alle Gäste."
	variants := map[string]string{
		"nfd":                strings.NewReplacer("ü", "u\u0308", "ö", "o\u0308", "é", "e\u0301", "è", "e\u0300", "û", "u\u0302", "ä", "a\u0308").Replace(base),
		"zero-width spaces":  strings.ReplaceAll(base, "e", "e\u200b"),
		"soft hyphens":       strings.ReplaceAll(base, "st", "s\u00adt"),
		"upper case":         strings.ToUpper(base),
		"different spacing":  strings.ReplaceAll(base, " ", " \n\t "),
		"full-width letters": strings.ReplaceAll(base, "M", "\uff2d"),
	}
	for name, cfg := range allSchemes() {
		m := newTestMinHasher(t, cfg)
		want := m.AppendSignature(nil, base)
		for variant, text := range variants {
			if name == "datatrove" && variant != "nfd" && variant != "upper case" && variant != "different spacing" {
				continue // datatrove neither applies NFKC nor removes format characters
			}
			if got := m.AppendSignature(nil, text); !slices.Equal(got, want) {
				t.Errorf("%s: %s variant has a different signature", name, variant)
			}
		}
	}
}

func TestSignatureEmptyDocuments(t *testing.T) {
	for name, cfg := range allSchemes() {
		m := newTestMinHasher(t, cfg)
		for _, text := range []string{"", "   ", "\n\t\u00a0", "... !!! ---", "\u200b\ufeff"} {
			if name == "datatrove" && text == "\u200b\ufeff" {
				continue // Python counts neither rune as space or punctuation
			}
			sig := m.AppendSignature(nil, text)
			if len(sig) != 0 {
				t.Errorf("%s: %q has a signature of %d values, want none", name, text, len(sig))
			}
			if got := Similarity(sig, sig); got != 0 {
				t.Errorf("%s: Similarity of an empty signature to itself = %v, want 0", name, got)
			}
			full := m.AppendSignature(nil, testArticle)
			if got := Similarity(sig, full); got != 0 || math.IsNaN(got) {
				t.Errorf("%s: Similarity(empty, article) = %v, want 0", name, got)
			}
			if keys := m.AppendBandKeys(nil, sig); len(keys) != 0 {
				t.Errorf("%s: empty signature has %d band keys, want none", name, len(keys))
			}
		}
	}
}

func TestSignatureShortDocumentsDoNotCollide(t *testing.T) {
	short := []string{"Yes", "No", "Thank you", "Click here", "Read more now", "Read more now please", "你好", "ขอบคุณ"}
	for name, cfg := range allSchemes() {
		m := newTestMinHasher(t, cfg)
		sigs := make([]Signature, len(short))
		for i, text := range short {
			sigs[i] = m.AppendSignature(nil, text)
			if len(sigs[i]) == 0 {
				t.Fatalf("%s: %q has no signature", name, text)
			}
		}
		for i := range sigs {
			for j := i + 1; j < len(sigs); j++ {
				if s := Similarity(sigs[i], sigs[j]); s > 0.05 {
					t.Errorf("%s: Similarity(%q, %q) = %v, want about 0", name, short[i], short[j], s)
				}
			}
		}
	}
}

func TestSignatureTablesWithDifferentNumbers(t *testing.T) {
	table := func(values [][2]string) string {
		var b strings.Builder
		b.WriteString("| year | growth |\n|---|---|\n")
		for _, v := range values {
			fmt.Fprintf(&b, "| %s | %s |\n", v[0], v[1])
		}
		return b.String()
	}
	a := table([][2]string{{"2019", "4.1"}, {"2020", "-2.3"}, {"2021", "5.7"}, {"2022", "3.2"}, {"2023", "2.9"}})
	b := table([][2]string{{"2011", "1.6"}, {"2012", "2.2"}, {"2013", "1.8"}, {"2014", "2.5"}, {"2015", "2.9"}})
	for _, name := range []string{"one permutation", "permutations"} {
		m := newTestMinHasher(t, allSchemes()[name])
		if s := Similarity(m.AppendSignature(nil, a), m.AppendSignature(nil, b)); s > 0.2 {
			t.Errorf("%s: tables differing only in numbers have similarity %v, want below 0.2", name, s)
		}
	}
}

func TestSignatureNearDuplicateEnglish(t *testing.T) {
	edited := strings.Replace(testArticle, "Tuesday", "Wednesday", 1)
	edited = strings.Replace(edited, "next month", "in two weeks", 1)
	for name, cfg := range allSchemes() {
		m := newTestMinHasher(t, cfg)
		if s := Similarity(m.AppendSignature(nil, testArticle), m.AppendSignature(nil, edited)); s < 0.6 {
			t.Errorf("%s: near duplicate has similarity %v, want at least 0.6", name, s)
		}
	}
}

func TestAppendBandKeys(t *testing.T) {
	m := newTestMinHasher(t, MinHashConfig{})
	sig := m.AppendSignature(nil, testArticle)
	keys := m.AppendBandKeys(nil, sig)
	if len(keys) != DefaultBands {
		t.Fatalf("got %d keys, want %d", len(keys), DefaultBands)
	}

	other := slices.Clone(sig)
	other[0]++ // band 0 differs, the rest agree
	otherKeys := m.AppendBandKeys(nil, other)
	if keys[0] == otherKeys[0] {
		t.Error("band 0 differs but its keys are equal")
	}
	if !slices.Equal(keys[1:], otherKeys[1:]) {
		t.Error("bands 1 to 13 agree but their keys differ")
	}

	same := slices.Repeat([]uint64{7}, DefaultBands*DefaultRows)
	sameKeys := m.AppendBandKeys(nil, same)
	if sameKeys[0] == sameKeys[1] {
		t.Error("equal bands at different positions have equal keys")
	}
	if got := m.AppendBandKeys(nil, sig[:10]); len(got) != 0 {
		t.Errorf("a signature of the wrong length has %d keys, want none", len(got))
	}
}

func TestSignatureAllocations(t *testing.T) {
	for name, cfg := range allSchemes() {
		m := newTestMinHasher(t, cfg)
		text := strings.Repeat(testArticle, 5) + " 你好世界，ภาษาไทย"
		sig := m.AppendSignature(nil, text)
		keys := m.AppendBandKeys(nil, sig)
		allocs := testing.AllocsPerRun(10, func() {
			sig = m.AppendSignature(sig[:0], text)
			keys = m.AppendBandKeys(keys[:0], sig)
		})
		if allocs > 0 {
			t.Errorf("%s: %v allocations per signature, want 0", name, allocs)
		}
	}
}

// randomPair returns two shingle sets whose Jaccard similarity is
// inter/union.
func randomPair(rng *rand.Rand, inter, union int) (a, b []uint64) {
	for range inter {
		v := rng.Uint64()
		a, b = append(a, v), append(b, v)
	}
	for i := range union - inter {
		if i%2 == 0 {
			a = append(a, rng.Uint64())
		} else {
			b = append(b, rng.Uint64())
		}
	}
	return a, b
}

func TestLSHCandidateProbability(t *testing.T) {
	schemes := []struct {
		name         string
		cfg          MinHashConfig
		pairs, union int
	}{
		{"one permutation", DefaultMinHashConfig(), 300, 1000},
		{"permutations", allSchemes()["permutations"], 100, 300},
	}
	for _, sc := range schemes {
		m := newTestMinHasher(t, sc.cfg)
		rng := rand.New(rand.NewPCG(1, 2))
		for _, s := range []float64{0.3, 0.5, 0.65, 0.72, 0.8, 0.9} {
			hits, simSum := 0, 0.0
			for range sc.pairs {
				a, b := randomPair(rng, int(s*float64(sc.union)), sc.union)
				sa, sb := m.appendSignatureOf(nil, a), m.appendSignatureOf(nil, b)
				simSum += Similarity(sa, sb)
				if slices.ContainsFunc(zip(m.AppendBandKeys(nil, sa), m.AppendBandKeys(nil, sb)), func(eq bool) bool { return eq }) {
					hits++
				}
			}
			p := 1 - math.Pow(1-math.Pow(s, DefaultRows), DefaultBands)
			got := float64(hits) / float64(sc.pairs)
			tol := 4*math.Sqrt(p*(1-p)/float64(sc.pairs)) + 0.03
			t.Logf("%s: s=%.2f: candidate rate %.3f, formula %.3f", sc.name, s, got, p)
			if math.Abs(got-p) > tol {
				t.Errorf("%s: s=%.2f: candidate rate %.3f, want %.3f ± %.3f", sc.name, s, got, p, tol)
			}
			if mean := simSum / float64(sc.pairs); math.Abs(mean-s) > 0.02 {
				t.Errorf("%s: s=%.2f: mean Similarity %.3f", sc.name, s, mean)
			}
		}
	}
}

// zip reports, position by position, whether a and b are equal.
func zip(a, b []uint64) []bool {
	eq := make([]bool, len(a))
	for i := range a {
		eq[i] = a[i] == b[i]
	}
	return eq
}

func TestOnePermutationDensifiesSmallSets(t *testing.T) {
	m := newTestMinHasher(t, MinHashConfig{})
	for _, n := range []int{1, 2, 5, 40} {
		shingles := make([]uint64, n)
		for i := range shingles {
			shingles[i] = uint64(i) * 0x9e3779b97f4a7c15
		}
		sig := m.appendSignatureOf(nil, shingles)
		distinct := map[uint64]bool{}
		for _, v := range sig {
			if v == math.MaxUint64 {
				t.Fatalf("%d shingles: a slot stayed empty", n)
			}
			distinct[v] = true
		}
		if len(distinct) > n {
			t.Errorf("%d shingles gave %d distinct slot values", n, len(distinct))
		}
	}
}
