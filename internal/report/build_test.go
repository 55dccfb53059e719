package report

import (
	"fmt"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/winnow-data/winnow/pipeline"
	"github.com/winnow-data/winnow/stages"
)

func TestReportJensenShannonByHand(t *testing.T) {
	tests := []struct {
		name string
		p, q []float64
		want float64
	}{
		// m = (1/4, 1/2, 1/4); each side puts 1/2 on a value twice as
		// likely as under m and 1/2 on one as likely: 1/2 bit.
		{"half overlap", []float64{1, 1, 0}, []float64{0, 1, 1}, 0.5},
		{"disjoint", []float64{5, 0}, []float64{0, 3}, 1},
		{"proportional", []float64{2, 6}, []float64{1, 3}, 0},
		// p = (3/4, 1/4), q = (1/2, 1/2), m = (5/8, 3/8):
		// KL(p||m) = 3/4 log2(6/5) + 1/4 log2(2/3) = 0.0510348
		// KL(q||m) = 1/2 log2(4/5) + 1/2 log2(4/3) = 0.0465551
		// and their mean is 0.0487949.
		{"skewed", []float64{3, 1}, []float64{1, 1}, 0.0487949},
		{"empty side", []float64{0, 0}, []float64{1, 1}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := JensenShannon(tc.p, tc.q); math.Abs(got-tc.want) > 1e-6 {
				t.Errorf("JensenShannon(%v, %v) = %.7f, want %.7f", tc.p, tc.q, got, tc.want)
			}
			if got, back := JensenShannon(tc.p, tc.q), JensenShannon(tc.q, tc.p); got != back {
				t.Errorf("not symmetric: %v one way, %v the other", got, back)
			}
		})
	}
}

// testManifest returns a version with three languages from two sources,
// and one language whose every document was dropped.
func testManifest() *pipeline.Manifest {
	totals := func(docs int64) pipeline.Totals {
		return pipeline.Totals{Docs: docs, Bytes: docs * 1000, Tokens: docs * 150}
	}
	both := func(before, after int64) pipeline.BalanceTotals {
		return pipeline.BalanceTotals{Before: totals(before), After: totals(after)}
	}
	return &pipeline.Manifest{
		ID: "v2", Parent: "v1", CreatedAt: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC),
		Totals:    totals(100),
		Languages: map[string]pipeline.Totals{"eng_Latn": totals(60), "fra_Latn": totals(30), "deu_Latn": totals(10)},
		Sources:   map[string]pipeline.Totals{"web": totals(100)},
		Balance: &pipeline.BalanceRecord{
			SourceKey: "url_domain",
			Languages: map[string]pipeline.BalanceTotals{
				"eng_Latn": both(80, 60), "fra_Latn": both(35, 30), "deu_Latn": both(10, 10), "und": both(5, 0),
			},
			Sources: map[string]pipeline.BalanceTotals{"a.example": both(90, 70), "b.example": both(40, 30)},
			Cells: []pipeline.BalanceCell{
				{Lang: "deu_Latn", Source: "a.example", BalanceTotals: both(10, 10)},
				{Lang: "eng_Latn", Source: "a.example", BalanceTotals: both(50, 40)},
				{Lang: "eng_Latn", Source: "b.example", BalanceTotals: both(30, 20)},
				{Lang: "fra_Latn", Source: "a.example", BalanceTotals: both(25, 20)},
				{Lang: "fra_Latn", Source: "b.example", BalanceTotals: both(10, 10)},
				{Lang: "und", Source: "a.example", BalanceTotals: both(5, 0)},
			},
		},
		Stages: []pipeline.StageRecord{
			{Name: "source", DocsOut: 130, Dropped: map[string]int64{"malformed_json": 2}},
			{Name: "normalize", DocsIn: 130, DocsOut: 125, Dropped: map[string]int64{"empty_text": 5}},
			{Name: "gopher_quality", DocsIn: 125, DocsOut: 100, Dropped: map[string]int64{"gopher_short_doc": 20, "gopher_stop_words": 5}},
			{Name: "sink", DocsIn: 100, DocsOut: 100, Events: map[string]int64{"shards_written": 1}},
		},
	}
}

func TestReportBuildShares(t *testing.T) {
	r := Build(testManifest(), nil, nil)

	var names []string
	var docs, tokens float64
	for _, s := range r.Languages {
		names = append(names, s.Name)
		docs += s.DocsShare
		tokens += s.TokensShare
	}
	if want := []string{"eng_Latn", "fra_Latn", "deu_Latn", "und"}; !slices.Equal(names, want) {
		t.Errorf("languages in order %v, want %v", names, want)
	}
	if math.Abs(docs-1) > 1e-12 || math.Abs(tokens-1) > 1e-12 {
		t.Errorf("language shares add up to %v of documents and %v of tokens, want 1", docs, tokens)
	}
	if eng := r.Languages[0]; eng.DocsShare != 0.6 || eng.DocsBefore != 80 {
		t.Errorf("eng_Latn: %+v, want a share of 0.6 and 80 documents before", eng)
	}
	if und := r.Languages[3]; und.Docs != 0 || und.DocsBefore != 5 {
		t.Errorf("und: %+v, want 0 kept of 5", und)
	}
	if r.SourceKey != "url_domain" || len(r.Sources) != 2 || r.Sources[0].Name != "a.example" {
		t.Errorf("sources by %s: %+v, want a.example first, by url_domain", r.SourceKey, r.Sources)
	}
	if len(r.Grid) != 6 || r.Grid[0] != (Cell{Lang: "eng_Latn", Source: "a.example", Docs: 40, Bytes: 40000, Tokens: 6000, DocsBefore: 50}) {
		t.Errorf("grid starts with %+v, want eng_Latn in a.example, 6 cells", r.Grid)
	}
}

func TestReportBuildFoldsSmallSources(t *testing.T) {
	m := testManifest()
	m.Balance.Sources = map[string]pipeline.BalanceTotals{}
	for i := range MaxSources + 5 {
		n := pipeline.Totals{Docs: int64(100 - i)}
		m.Balance.Sources[fmt.Sprintf("s%02d.example", i)] = pipeline.BalanceTotals{Before: n, After: n}
	}
	r := Build(m, nil, nil)
	if len(r.Sources) != MaxSources {
		t.Fatalf("%d source rows, want %d", len(r.Sources), MaxSources)
	}
	other := r.Sources[MaxSources-1]
	// Sources 39 to 44 have 61 down to 56 documents.
	if other.Name != OtherName || other.Docs != 61+60+59+58+57+56 {
		t.Errorf("last row %+v, want %s with 351 documents", other, OtherName)
	}
	if r.Notes[TableSources] == "" {
		t.Error("no note says that sources were folded")
	}
}

func TestReportBuildStages(t *testing.T) {
	r := Build(testManifest(), nil, nil)
	if len(r.Stages) != 4 || r.Stages[2] != (StageRow{Stage: "gopher_quality", DocsIn: 125, DocsOut: 100, Dropped: 25}) {
		t.Errorf("stages %+v", r.Stages)
	}
	want := []DropRow{
		{Stage: "source", Reason: "malformed_json", Docs: 2, Share: 2.0 / 132},
		{Stage: "normalize", Reason: "empty_text", Docs: 5, Share: 5.0 / 130},
		{Stage: "gopher_quality", Reason: "gopher_short_doc", Docs: 20, Share: 20.0 / 125},
		{Stage: "gopher_quality", Reason: "gopher_stop_words", Docs: 5, Share: 5.0 / 125},
	}
	if !slices.Equal(r.Drops, want) {
		t.Errorf("drops\n%+v\nwant\n%+v", r.Drops, want)
	}
	if len(r.Events) != 1 || r.Events[0].Event != "shards_written" {
		t.Errorf("events %+v", r.Events)
	}
}

func TestReportBuildChanges(t *testing.T) {
	before := testManifest()
	before.ID = "v1"
	before.Languages = map[string]pipeline.Totals{"eng_Latn": {Docs: 50, Tokens: 500}, "spa_Latn": {Docs: 50, Tokens: 500}}
	r := Build(testManifest(), before, nil)

	status := map[string]string{}
	for _, c := range r.LanguageChanges {
		status[c.Name] = c.Status
	}
	want := map[string]string{"eng_Latn": statusCommon, "spa_Latn": statusLost, "fra_Latn": statusNew, "deu_Latn": statusNew}
	for name, s := range want {
		if status[name] != s {
			t.Errorf("%s: status %q, want %q", name, status[name], s)
		}
	}
	if len(status) != len(want) {
		t.Errorf("changes for %v, want only the languages kept in either version", status)
	}
	// spa_Latn went from half the documents to none: the largest change.
	if first := r.LanguageChanges[0]; first.Name != "spa_Latn" || first.ShareBefore != 0.5 || first.Share != 0 {
		t.Errorf("first change %+v, want spa_Latn from 0.5 to 0", first)
	}
	if len(r.Divergence) != 3 || r.Divergence[0].Measure != "docs" {
		t.Fatalf("divergence %+v, want docs, bytes and tokens", r.Divergence)
	}
	// By documents, p = (0.6, 0.3, 0.1, 0) and q = (0.5, 0, 0, 0.5) over
	// eng, fra, deu, spa.
	p, q := []float64{0.6, 0.3, 0.1, 0}, []float64{0.5, 0, 0, 0.5}
	if got, want := r.Divergence[0].Divergence, JensenShannon(p, q); math.Abs(got-want) > 1e-12 {
		t.Errorf("divergence by documents %v, want %v", got, want)
	}
}

func float(f float64) *float64 { return &f }

func TestReportRejectStats(t *testing.T) {
	s := NewRejectStats()
	near := func(id, twin string) *stages.RejectRow {
		return &stages.RejectRow{
			ID: id, Reason: reasonNearDuplicate, Stage: "near_dedup", Signal: "similarity",
			Value: float(0.9), Threshold: float(0.7), Detail: fmt.Sprintf(`{"twin":%q,"similarity":0.9}`, twin),
		}
	}
	for _, r := range []*stages.RejectRow{
		near("b", "a"), near("c", "a"), near("e", "d"), near("g", "f"),
		{ID: "x", Reason: "gopher_short_doc", Stage: "gopher_quality"}, // measures nothing
		{ID: "y", Reason: "pii_too_many", Stage: "pii", Signal: "pii_matches", Value: float(7), Threshold: float(5)},
		{ID: "z", Reason: "pii_too_many", Stage: "pii", Signal: "pii_matches", Value: float(9), Threshold: float(5)},
	} {
		s.Add(r)
	}
	if s.Rows != 7 {
		t.Errorf("%d rows counted, want 7", s.Rows)
	}

	clusters := s.clusters()
	want := []ClusterRow{{Size: 2, Clusters: 2, Docs: 4}, {Size: 3, Clusters: 1, Docs: 3}}
	if !slices.Equal(clusters, want) {
		t.Errorf("clusters %+v, want %+v", clusters, want)
	}

	hs := s.histograms(map[string]int{"pii": 0, "near_dedup": 1})
	if len(hs) != 2 || hs[0].Stage != "pii" || hs[1].Signal != "similarity" {
		t.Fatalf("histograms %+v, want pii then near_dedup", hs)
	}
	// Whole numbers from 5 (the threshold) to 9: one bin per number.
	pii := hs[0]
	if len(pii.Bins) != 5 || pii.Bins[2] != (Bin{Low: 7, High: 8, Docs: 1}) || pii.Bins[4].Docs != 1 || pii.Docs != 2 {
		t.Errorf("pii histogram %+v", pii)
	}
	if !slices.Equal(pii.Thresholds, []float64{5}) {
		t.Errorf("pii thresholds %v, want [5]", pii.Thresholds)
	}
}

func TestReportBinValues(t *testing.T) {
	values := []float64{0.71, 0.8, 0.95, 1}
	bins := binValues(values, []float64{0.7})
	if len(bins) != histogramBins {
		t.Fatalf("%d bins, want %d", len(bins), histogramBins)
	}
	if bins[0].Low != 0.7 || bins[len(bins)-1].High != 1 {
		t.Errorf("bins span %v to %v, want 0.7 (the threshold) to 1", bins[0].Low, bins[len(bins)-1].High)
	}
	var n int64
	for _, b := range bins {
		n += b.Docs
	}
	// Bins are 0.015 wide: 0.71 falls in the first, 1 in the last.
	if n != 4 || bins[0].Docs != 1 || bins[len(bins)-1].Docs != 1 {
		t.Errorf("%d values binned, %d in the first bin and %d in the last; want 4, 1 and 1", n, bins[0].Docs, bins[len(bins)-1].Docs)
	}

	single := binValues([]float64{0.5, 0.5}, nil)
	if len(single) != 1 || single[0].Docs != 2 {
		t.Errorf("equal values give %+v, want one bin of 2", single)
	}
	if binValues(nil, []float64{1}) != nil {
		t.Error("no values should give no bins")
	}
}

func TestReportBuildWithoutRejects(t *testing.T) {
	r := Build(testManifest(), nil, nil)
	if len(r.Histograms) != 0 || len(r.Clusters) != 0 {
		t.Errorf("histograms %v, clusters %v; want none without rejects", r.Histograms, r.Clusters)
	}
	for _, table := range []string{TableHistograms, TableClusters} {
		if r.Notes[table] == "" {
			t.Errorf("no note for %s says that the version has no rejects", table)
		}
	}
}

func TestReportFoldChanges(t *testing.T) {
	rows := []Change{
		{Name: "a", Docs: 50, Share: 0.5}, {Name: "b", Docs: 30, Share: 0.3},
		{Name: "c", Docs: 10, Share: 0.1, DocsBefore: 4, ShareBefore: 0.04}, {Name: "d", Docs: 10, Share: 0.1},
	}
	folded, n := foldChanges(rows, 3)
	if n != 2 || len(folded) != 3 {
		t.Fatalf("%d rows folded into %d rows, want 2 into 3", n, len(folded))
	}
	if other := folded[2]; other.Name != OtherName || other.Docs != 20 || other.DocsBefore != 4 || math.Abs(other.Share-0.2) > 1e-12 {
		t.Errorf("last row %+v, want %s with 20 documents, 4 before, a share of 0.2", other, OtherName)
	}
	if same, n := foldChanges(rows, 4); n != 0 || len(same) != 4 {
		t.Errorf("4 rows under a limit of 4 gave %d rows, %d folded", len(same), n)
	}
}
