package loader

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/winnow-data/winnow/mixture"
	"github.com/winnow-data/winnow/pipeline"
)

// mixDataset writes 3 documents labelled aaa_Latn, 4 labelled bbb_Latn
// and 5 labelled ccc_Latn, each of 10 tokens, and returns the root.
func mixDataset(t *testing.T) (string, *pipeline.Manifest) {
	t.Helper()
	var docs []pipeline.Doc
	for _, lang := range []struct {
		name string
		n    int
	}{{"aaa_Latn", 3}, {"bbb_Latn", 4}, {"ccc_Latn", 5}} {
		for i := range lang.n {
			id := fmt.Sprintf("%s-%d", lang.name[:1], i)
			docs = append(docs, pipeline.Doc{ID: id, Text: strings.TrimSpace(strings.Repeat(id+" ", 10)), Lang: lang.name, Source: lang.name[:1]})
		}
	}
	root := t.TempDir()
	return root, writeVersion(t, root, docs, 1<<20)
}

var mixWeights = map[string]float64{"aaa_Latn": 0.7, "bbb_Latn": 0.2, "ccc_Latn": 0.1}

// langCounts counts the documents of each language in batches.
func langCounts(batches []*Batch) map[string]int64 {
	out := map[string]int64{}
	for _, b := range batches {
		for _, d := range b.Docs {
			out[d.Lang]++
		}
	}
	return out
}

// checkReport checks that the report counts what the batches hold.
func checkReport(t *testing.T, r *MixReport, counts map[string]int64) {
	t.Helper()
	for _, ld := range r.Languages {
		if ld.DrawnDocs != counts[ld.Lang] {
			t.Errorf("report has %d draws of %s, the batches %d", ld.DrawnDocs, ld.Lang, counts[ld.Lang])
		}
		if want := float64(counts[ld.Lang]) / float64(ld.Docs); math.Abs(ld.Repeats-want) > 1e-9 {
			t.Errorf("report has %v repeats of %s, the batches %v", ld.Repeats, ld.Lang, want)
		}
	}
}

func TestLoaderMixFollowsWeights(t *testing.T) {
	root, _ := mixDataset(t)
	mix := &Mix{Weights: mixWeights, BudgetTokens: 100_000}
	l := openLoader(t, root, Options{BatchSize: 100, Shuffle: true, Seed: 7, Epochs: 1, Mix: mix})
	batches := drain(t, l)
	counts := langCounts(batches)

	// 10,000 draws; 4 standard deviations of a binomial count.
	for lang, w := range mixWeights {
		want := 10_000 * w
		tolerance := 4 * math.Sqrt(10_000*w*(1-w))
		if got := float64(counts[lang]); math.Abs(got-want) > tolerance {
			t.Errorf("%s drawn %v times, want %v ± %.0f", lang, got, want, tolerance)
		}
	}
	r := l.Mixture(0)
	if r.Docs != 10_000 || r.Tokens != 100_000 {
		t.Errorf("report has %d documents and %d tokens, want 10000 and 100000", r.Docs, r.Tokens)
	}
	checkReport(t, r, counts)
}

func TestLoaderMixStratifiedBatches(t *testing.T) {
	root, _ := mixDataset(t)
	for _, batch := range []int{10, 4, 7} {
		t.Run(fmt.Sprintf("batch=%d", batch), func(t *testing.T) {
			mix := &Mix{Weights: mixWeights, BudgetTokens: 10_000, Stratified: true}
			batches := drain(t, openLoader(t, root, Options{BatchSize: batch, Shuffle: true, Seed: 7, Epochs: 1, Mix: mix}))
			for i, b := range batches {
				counts := langCounts([]*Batch{b})
				n := float64(len(b.Docs))
				for lang, w := range mixWeights {
					want := n * w
					got := float64(counts[lang])
					exact := want == math.Trunc(want)
					if exact && got != want || math.Abs(got-want) >= 2 {
						t.Fatalf("batch %d of %d documents has %v of %s, want %v", i, len(b.Docs), got, lang, want)
					}
				}
			}
		})
	}
}

func TestLoaderMixCapsRepeats(t *testing.T) {
	root, _ := mixDataset(t)
	mix := &Mix{Weights: mixWeights, BudgetTokens: 10_000, MaxRepeats: 200, Stratified: true}
	l := openLoader(t, root, Options{BatchSize: 10, Shuffle: true, Seed: 7, Epochs: 1, Mix: mix})
	batches := drain(t, l)
	counts := langCounts(batches)
	r := l.Mixture(0)
	checkReport(t, r, counts)

	if r.Docs != 1000 || r.EndedEarly {
		t.Errorf("epoch has %d documents (ended early: %v), want the budget's 1000", r.Docs, r.EndedEarly)
	}
	byLang := map[string]LangDraws{}
	for _, ld := range r.Languages {
		byLang[ld.Lang] = ld
	}
	if a := byLang["aaa_Latn"]; !a.Capped || a.DrawnDocs != 600 || a.Repeats != 200 {
		t.Errorf("aaa_Latn: capped %v, %d draws, %v repeats; want capped at 600 draws, 200 repeats", a.Capped, a.DrawnDocs, a.Repeats)
	}
	for _, lang := range []string{"bbb_Latn", "ccc_Latn"} {
		if byLang[lang].Capped {
			t.Errorf("%s reported capped", lang)
		}
	}
	// The cap's share goes to the others in proportion to their weights.
	if ratio := float64(counts["bbb_Latn"]) / float64(counts["ccc_Latn"]); math.Abs(ratio-2) > 0.05 {
		t.Errorf("bbb_Latn/ccc_Latn draws = %.3f, want 2", ratio)
	}

	// Each cycle through a language's documents gives each once.
	var aDraws []string
	for _, b := range batches {
		for _, d := range b.Docs {
			if d.Lang == "aaa_Latn" {
				aDraws = append(aDraws, d.ID)
			}
		}
	}
	for c := 0; c+3 <= len(aDraws); c += 3 {
		cycle := slices.Sorted(slices.Values(aDraws[c : c+3]))
		if !slices.Equal(cycle, []string{"a-0", "a-1", "a-2"}) {
			t.Fatalf("cycle %d of aaa_Latn is %v, want each document once", c/3, aDraws[c:c+3])
		}
	}
}

func TestLoaderMixStopsWhenAllCapped(t *testing.T) {
	root, _ := mixDataset(t)
	mix := &Mix{Weights: mixWeights, BudgetTokens: 10_000, MaxRepeats: 2}
	l := openLoader(t, root, Options{BatchSize: 10, Seed: 7, Epochs: 1, Mix: mix})
	batches := drain(t, l)
	r := l.Mixture(0)
	if !r.EndedEarly || r.Docs != 2*(3+4+5) {
		t.Errorf("epoch has %d documents (ended early: %v), want every language twice: 24", r.Docs, r.EndedEarly)
	}
	checkReport(t, r, langCounts(batches))
}

func TestLoaderMixResumes(t *testing.T) {
	root, _ := mixDataset(t)
	opts := Options{BatchSize: 8, Shuffle: true, Seed: 9, Epochs: 2, Mix: &Mix{Weights: mixWeights, BudgetTokens: 5_000}}
	whole := ids(drain(t, openLoader(t, root, opts)))

	l := openLoader(t, root, opts)
	head := ids(take(t, l, 9))
	s := l.State()
	if s.Mix == "" {
		t.Fatal("state of a mixed loader has no mixture digest")
	}
	opts.Resume = &s
	rest := ids(drain(t, openLoader(t, root, opts)))
	if !slices.Equal(append(head, rest...), whole) {
		t.Errorf("mixed order resumed after 9 batches differs from an uninterrupted one")
	}

	opts.Mix = &Mix{Weights: map[string]float64{"aaa_Latn": 0.5, "bbb_Latn": 0.5}, BudgetTokens: 5_000}
	store, err := OpenLocalDir(root)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Open(t.Context(), store, opts); err == nil || !strings.Contains(err.Error(), "mixture") {
		t.Errorf("resuming with other weights returned %v, want an error naming the mixture", err)
	}
}

func TestLoaderMixUsesManifestWeights(t *testing.T) {
	root, m := mixDataset(t)
	weights, _, err := mixture.Compute([]mixture.Bucket{{Name: "aaa_Latn", Tokens: 30}, {Name: "bbb_Latn", Tokens: 40}, {Name: "ccc_Latn", Tokens: 50}}, mixture.Spec{Alpha: 1, MaxRepeats: 3, Budget: 100})
	if err != nil {
		t.Fatal(err)
	}
	m.Balance = &pipeline.BalanceRecord{Mixture: &pipeline.MixtureRecord{Alpha: 1, MaxRepeats: 3, BudgetTokens: 100, Weights: weights}}
	commitManifest(t, root, m)

	l := openLoader(t, root, Options{Epochs: 1, Mix: &Mix{}})
	drain(t, l)
	r := l.Mixture(0)
	if r.BudgetTokens != 100 || r.MaxRepeats != 3 {
		t.Errorf("report has budget %d and cap %v, want the manifest's 100 and 3", r.BudgetTokens, r.MaxRepeats)
	}
	for _, ld := range r.Languages {
		if math.Abs(ld.Weight-float64(ld.Docs*10)/120) > 1e-9 {
			t.Errorf("%s weight %v, want its natural share %v", ld.Lang, ld.Weight, float64(ld.Docs*10)/120)
		}
	}
}

func TestLoaderMixRejectsUnknownLanguage(t *testing.T) {
	root, _ := mixDataset(t)
	store, err := OpenLocalDir(root)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Open(t.Context(), store, Options{Mix: &Mix{Weights: map[string]float64{"aaa_Latn": 0.5, "zzz_Latn": 0.5}}})
	if err == nil || !strings.Contains(err.Error(), "zzz_Latn") {
		t.Errorf("Open returned %v, want an error naming zzz_Latn", err)
	}
}

func TestLoaderStratifiedDrawStaysWithinOne(t *testing.T) {
	r := newRNG(1, "weights")
	for trial := range 200 {
		n := 2 + int(r.below(5))
		mx := &mixer{stratified: true}
		var active []int
		shares := make([]float64, n)
		sum := 0.0
		for i := range n {
			shares[i] = float64(1 + r.below(1000))
			sum += shares[i]
		}
		for i := range n {
			// Equal token counts, so draw probabilities equal shares.
			mx.langs = append(mx.langs, mixLang{share: shares[i] / sum, pool: make([]docRef, 4), total: 40})
			active = append(active, i)
		}
		d := newDrawer(mx, active, 0)
		counts := make([]int64, n)
		for k := int64(1); k <= 5000; k++ {
			counts[d.next()]++
			for i := range n {
				target := float64(k) * float64(d.weights[i]) / mixScale
				if dev := math.Abs(float64(counts[i]) - target); dev >= 1 {
					t.Fatalf("trial %d: after %d draws language %d has %d, %.3f from its share %.3f", trial, k, i, counts[i], dev, target)
				}
			}
		}
	}
}
