package report

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"path/filepath"
	"slices"

	"github.com/winnow-data/winnow/pipeline"
	"github.com/winnow-data/winnow/stages"
)

// reasonNearDuplicate is the reason code near_dedup drops with; its
// detail names the kept twin.
const reasonNearDuplicate = "near_duplicate"

// histogramBins is the number of bins of a histogram whose values are not
// all small whole numbers.
const histogramBins = 20

// RejectStats are the statistics a report takes from a version's rejects
// files: the measured signal of each dropped document, by stage and
// signal, and the near-duplicate drops by the id of their kept twin.
type RejectStats struct {
	Rows    int64
	signals map[signalKey]*signalValues
	twins   map[string]int64
}

type signalKey struct{ stage, signal string }

type signalValues struct {
	values     []float64
	thresholds map[float64]bool
}

// NewRejectStats returns empty statistics.
func NewRejectStats() *RejectStats {
	return &RejectStats{signals: map[signalKey]*signalValues{}, twins: map[string]int64{}}
}

// Add counts one rejected document.
func (s *RejectStats) Add(row *stages.RejectRow) {
	s.Rows++
	if row.Signal != "" && row.Value != nil && !math.IsNaN(*row.Value) && !math.IsInf(*row.Value, 0) {
		key := signalKey{row.Stage, row.Signal}
		v := s.signals[key]
		if v == nil {
			v = &signalValues{thresholds: map[float64]bool{}}
			s.signals[key] = v
		}
		v.values = append(v.values, *row.Value)
		if row.Threshold != nil {
			v.thresholds[*row.Threshold] = true
		}
	}
	if row.Reason == reasonNearDuplicate && row.Detail != "" {
		var d struct {
			Twin string `json:"twin"`
		}
		if json.Unmarshal([]byte(row.Detail), &d) == nil && d.Twin != "" {
			s.twins[d.Twin]++
		}
	}
}

// ReadRejects reads every rejects file of m, under the dataset root, into
// statistics. It returns nil statistics when m has no rejects output.
//
// NOTE: stages.ReadRejects decodes whole rows, text included, so a report
// reads every rejected document once. For a large rejects output, that is
// the slow part of `winnow report`.
func ReadRejects(ctx context.Context, root string, m *pipeline.Manifest) (*RejectStats, error) {
	if len(m.Rejects) == 0 {
		return nil, nil
	}
	stats := NewRejectStats()
	for _, f := range m.Rejects {
		path := filepath.Join(root, filepath.FromSlash(f.Path))
		err := stages.ReadRejects(ctx, path, func(row *stages.RejectRow) error {
			stats.Add(row)
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("reading rejects file %s: %w", f.Path, err)
		}
	}
	return stats, nil
}

// buildRejects fills the histograms and the near-duplicate clusters, or
// notes why they are empty.
func (r *Report) buildRejects(m *pipeline.Manifest, rejects *RejectStats) {
	if rejects == nil {
		const fix = "run with --rejects (output.rejects: true) to record them."
		r.Notes[TableHistograms] = "This version has no rejects output, so the measured signals of its dropped documents are unknown; " + fix
		r.Notes[TableClusters] = "This version has no rejects output, so the twins of its near duplicates are unknown; " + fix
		return
	}
	r.Histograms = rejects.histograms(stageOrder(m))
	if len(r.Histograms) == 0 {
		r.Notes[TableHistograms] = "No dropped document of this version carries a measured signal: the rules that dropped them record none."
	}
	r.Clusters = rejects.clusters()
	if len(r.Clusters) == 0 {
		r.Notes[TableClusters] = "No document of this version was dropped as a near duplicate."
	}
}

// stageOrder maps each stage name of m to its place in the dataflow.
func stageOrder(m *pipeline.Manifest) map[string]int {
	order := map[string]int{}
	for i, s := range m.Stages {
		order[s.Name] = i
	}
	return order
}

// histograms returns one histogram per stage and signal, in dataflow
// order, then by signal name.
func (s *RejectStats) histograms(order map[string]int) []Histogram {
	keys := make([]signalKey, 0, len(s.signals))
	for k := range s.signals {
		keys = append(keys, k)
	}
	rank := func(stage string) int {
		if i, ok := order[stage]; ok {
			return i
		}
		return len(order)
	}
	slices.SortFunc(keys, func(a, b signalKey) int {
		return cmp.Or(cmp.Compare(rank(a.stage), rank(b.stage)), cmp.Compare(a.stage, b.stage), cmp.Compare(a.signal, b.signal))
	})
	out := make([]Histogram, 0, len(keys))
	for _, k := range keys {
		v := s.signals[k]
		var thresholds []float64
		for t := range v.thresholds {
			thresholds = append(thresholds, t)
		}
		slices.Sort(thresholds)
		out = append(out, Histogram{
			Stage: k.stage, Signal: k.signal, Thresholds: thresholds,
			Docs: int64(len(v.values)), Bins: binValues(v.values, thresholds),
		})
	}
	return out
}

// binValues counts values into equal-width bins over a range that also
// covers the thresholds, so that the chart can mark them. Values that are
// all whole numbers spanning fewer than histogramBins get one bin per
// number.
func binValues(values, thresholds []float64) []Bin {
	lo, hi := math.Inf(1), math.Inf(-1)
	whole := true
	for _, x := range slices.Concat(values, thresholds) {
		lo, hi = min(lo, x), max(hi, x)
		whole = whole && x == math.Trunc(x)
	}
	if len(values) == 0 {
		return nil
	}

	n, width := histogramBins, (hi-lo)/histogramBins
	switch {
	case whole && hi-lo < histogramBins:
		n, width = int(hi-lo)+1, 1
	case hi == lo:
		n, width = 1, 1
	}
	bins := make([]Bin, n)
	for i := range bins {
		bins[i] = Bin{Low: lo + float64(i)*width, High: lo + float64(i+1)*width}
	}
	if !(whole && width == 1) {
		bins[n-1].High = hi // no rounding error at the top edge
	}
	for _, x := range values {
		i := int((x - lo) / width)
		bins[min(max(i, 0), n-1)].Docs++
	}
	return bins
}

// clusters returns the number of near-duplicate clusters of each size,
// smallest size first.
func (s *RejectStats) clusters() []ClusterRow {
	bySize := map[int64]int64{}
	for _, dropped := range s.twins {
		bySize[1+dropped]++
	}
	out := make([]ClusterRow, 0, len(bySize))
	for size, n := range bySize {
		out = append(out, ClusterRow{Size: size, Clusters: n, Docs: size * n})
	}
	slices.SortFunc(out, func(a, b ClusterRow) int { return cmp.Compare(a.Size, b.Size) })
	return out
}
