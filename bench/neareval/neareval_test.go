package main

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"

	"github.com/winnow-data/winnow/dedup"
)

func TestJaccardCounts(t *testing.T) {
	cases := []struct {
		name string
		a, b []uint32
		want float64
	}{
		{"identical", []uint32{1, 2, 3}, []uint32{1, 2, 3}, 1},
		{"disjoint", []uint32{1, 2}, []uint32{3, 4}, 0},
		{"both empty", nil, nil, 0},
		{"one empty", []uint32{1}, nil, 0},
		{"seven of ten", []uint32{0, 1, 2, 3, 4, 5, 6, 7, 8}, []uint32{0, 1, 2, 3, 4, 5, 6, 9}, 0.7},
	}
	for _, c := range cases {
		if got := jaccard(c.a, c.b); got != c.want {
			t.Errorf("%s: jaccard = %v, want %v", c.name, got, c.want)
		}
	}
}

func TestBandOfEdges(t *testing.T) {
	cases := []struct {
		sim  float64
		want string
	}{
		{0, "below 0.5"},
		{0.4999, "below 0.5"},
		{0.5, "0.5-0.6"},
		{3.0 / 5, "0.6-0.7"},
		{7.0 / 10, "0.7-0.8"}, // 0.7*10 != 7 in float64, 7/10 == 0.7
		{0.8999, "0.8-0.9"},
		{9.0 / 10, "0.9-1.0"},
		{1, "0.9-1.0"},
	}
	for _, c := range cases {
		if got := bandNames[bandOf(c.sim)]; got != c.want {
			t.Errorf("bandOf(%v) = %s, want %s", c.sim, got, c.want)
		}
	}
}

// words returns n distinct words w0..w(n-1).
func words(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("w%d", i)
	}
	return out
}

func TestShingleSetsMatchShingler(t *testing.T) {
	// 20 distinct words give 16 distinct 5-word shingles. Replacing word 10
	// changes the 5 windows that hold it: 11 shared of 16+16-11 = 21.
	a := words(20)
	b := slices.Clone(a)
	b[10] = "changed"
	texts := []string{strings.Join(a, " "), strings.Join(b, " ")}
	s, err := buildShingleSets(texts)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := jaccard(s.sets[0], s.sets[1]), 11.0/21; got != want {
		t.Errorf("jaccard of ids = %v, want %v", got, want)
	}

	// The same value computed directly on the Shingler's 64-bit hashes.
	sh, err := dedup.NewShingler(dedup.ShingleConfig{})
	if err != nil {
		t.Fatal(err)
	}
	ha := map[uint64]bool{}
	for _, h := range sh.AppendShingles(nil, texts[0]) {
		ha[h] = true
	}
	hb := sh.AppendShingles(nil, texts[1])
	inter := 0
	for _, h := range hb {
		if ha[h] {
			inter++
		}
	}
	if got := float64(inter) / float64(len(ha)+len(hb)-inter); got != 11.0/21 {
		t.Errorf("jaccard of hashes = %v, want %v", got, 11.0/21)
	}
}

func TestShingleSetsRepeatsCountOnce(t *testing.T) {
	// A text that repeats a 5-word window has that shingle once in its set.
	s, err := buildShingleSets([]string{"a b c d e a b c d e", "a b c d e"})
	if err != nil {
		t.Fatal(err)
	}
	if got := len(s.sets[0]); got != 5 {
		t.Errorf("distinct shingles = %d, want 5", got)
	}
	if got, want := jaccard(s.sets[0], s.sets[1]), 1.0/5; got != want {
		t.Errorf("jaccard = %v, want %v", got, want)
	}
}

// randomTexts makes texts from a small vocabulary, with many texts edited
// from a few bases, so similarities spread over the whole range.
func randomTexts(rng *rand.Rand, n int) []string {
	vocab := words(40)
	bases := make([][]string, 5)
	for i := range bases {
		for range 30 + rng.IntN(30) {
			bases[i] = append(bases[i], vocab[rng.IntN(len(vocab))])
		}
	}
	texts := make([]string, n)
	for i := range texts {
		ws := slices.Clone(bases[rng.IntN(len(bases))])
		for range rng.IntN(12) {
			ws[rng.IntN(len(ws))] = vocab[rng.IntN(len(vocab))]
		}
		texts[i] = strings.Join(ws, " ")
	}
	texts[0] = "" // a document without shingles never pairs
	return texts
}

func TestAllPairsMatchesBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	s, err := buildShingleSets(randomTexts(rng, 150))
	if err != nil {
		t.Fatal(err)
	}
	for _, threshold := range []float64{0.3, 0.5, 0.6, 0.85, 1} {
		want := map[[2]int32]float64{}
		for a := range s.sets {
			for b := a + 1; b < len(s.sets); b++ {
				if sim := jaccard(s.sets[a], s.sets[b]); sim >= threshold {
					want[[2]int32{int32(a), int32(b)}] = sim
				}
			}
		}
		got := map[[2]int32]float64{}
		for _, p := range allPairs(s, threshold) {
			got[[2]int32{p.a, p.b}] = p.sim
		}
		if len(want) == 0 {
			t.Fatalf("threshold %v: brute force found no pair, the test corpus is too dissimilar", threshold)
		}
		if len(got) != len(want) {
			t.Errorf("threshold %v: all-pairs found %d pairs, brute force %d", threshold, len(got), len(want))
		}
		for k, sim := range want {
			if got[k] != sim {
				t.Errorf("threshold %v: pair %v: all-pairs similarity %v, brute force %v", threshold, k, got[k], sim)
			}
		}
	}
}

func TestBestMatchesBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 8))
	s, err := buildShingleSets(randomTexts(rng, 60))
	if err != nil {
		t.Fatal(err)
	}
	members := []int32{}
	for d := 0; d < len(s.sets); d += 2 {
		members = append(members, int32(d))
	}
	x := newInvertedIndex(s, members)
	for q := int32(1); q < int32(len(s.sets)); q += 2 {
		want := 0.0
		for _, d := range members {
			want = max(want, jaccard(s.sets[q], s.sets[d]))
		}
		if got := x.best(q); got.sim != want {
			t.Errorf("doc %d: best similarity %v, brute force %v", q, got.sim, want)
		}
	}
}

func TestMeasureRecallBands(t *testing.T) {
	removed := []bool{false, true, false, false, true}
	pairs := []pair{
		{a: 0, b: 1, sim: 0.95}, // caught
		{a: 0, b: 2, sim: 0.9},  // missed
		{a: 2, b: 3, sim: 0.55}, // missed
		{a: 3, b: 4, sim: 0.4},  // caught
	}
	r := measureRecall(pairs, removed, 0.85)
	want := map[string]tally{"below 0.5": {1, 1}, "0.5-0.6": {1, 0}, "0.9-1.0": {2, 1}}
	for i, name := range bandNames {
		if r.bands[i] != want[name] {
			t.Errorf("band %s = %+v, want %+v", name, r.bands[i], want[name])
		}
	}
	if r.atLeast != (tally{2, 1}) {
		t.Errorf("at 0.85 = %+v, want {2 1}", r.atLeast)
	}
	if r.all != (tally{4, 2}) {
		t.Errorf("all = %+v, want {4 2}", r.all)
	}
}

func TestPrecisionFindsKeptTwin(t *testing.T) {
	a := words(30)
	b := slices.Clone(a)
	b[29] = "end" // J = 25/27 with a
	s, err := buildShingleSets([]string{strings.Join(a, " "), strings.Join(b, " "), "unrelated text of six words"})
	if err != nil {
		t.Fatal(err)
	}
	// Doc 1 has a kept twin; doc 2 does not.
	p := measurePrecision(s, []bool{false, true, true}, nil, 0.6)
	if p.removed != 2 || p.withTwin != 1 {
		t.Errorf("removed %d, with twin %d; want 2 and 1", p.removed, p.withTwin)
	}
	if len(p.missDocs) != 1 || p.missDocs[0] != 2 || p.misses[0].doc != -1 {
		t.Errorf("misses %v %v, want doc 2 with no similar kept document", p.missDocs, p.misses)
	}
}

func TestEditTextKeepsLines(t *testing.T) {
	text := strings.Join(words(50), " ") + "\n" + strings.Join(words(50), " ")
	rng := rand.New(rand.NewPCG(1, 2))
	for _, mode := range []string{"scattered", "burst"} {
		edited := editText(rng, text, 0.1, mode, []string{"new"})
		if got := strings.Count(edited, "\n"); got != 1 {
			t.Errorf("%s: %d line breaks, want 1", mode, got)
		}
		if edited == text {
			t.Errorf("%s: text unchanged", mode)
		}
	}
}

func TestReadDatasetIDs(t *testing.T) {
	root := t.TempDir()
	type row struct {
		ID   string `parquet:"id"`
		Text string `parquet:"text"`
	}
	if err := os.MkdirAll(filepath.Join(root, "shards"), 0o755); err != nil {
		t.Fatal(err)
	}
	err := parquet.WriteFile(filepath.Join(root, "shards", "a.parquet"), []row{{"d1", "x"}, {"d3", "y"}})
	if err != nil {
		t.Fatal(err)
	}
	manifest, _ := json.Marshal(map[string]any{
		"shards": []map[string]any{{"path": "shards/a.parquet", "rows": 2}},
		"stages": []map[string]any{{"name": "near_dedup", "dropped": map[string]int64{"near_duplicate": 1}}},
	})
	for name, data := range map[string][]byte{"versions/v1.json": manifest, "refs/latest": []byte("v1\n")} {
		path := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	ds, err := readDataset(root)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ds.ids, []string{"d1", "d3"}) {
		t.Errorf("ids = %v, want [d1 d3]", ds.ids)
	}
	if ds.drops["near_dedup"] != 1 {
		t.Errorf("near_dedup drops = %d, want 1", ds.drops["near_dedup"])
	}
	c := &corpus{ids: []string{"d1", "d2", "d3"}, index: map[string]int32{"d1": 0, "d2": 1, "d3": 2}}
	removed, err := removedDocs(c, ds.ids)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(removed, []bool{false, true, false}) {
		t.Errorf("removed = %v, want [false true false]", removed)
	}
}
