package main

import (
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strings"
	"time"
)

// bandEdges are the lower edges of the similarity bands above the first;
// bandNames names the bands, "below 0.5" first. A band includes its lower
// edge, and the last one includes 1.
var (
	bandEdges = []float64{0.5, 0.6, 0.7, 0.8, 0.9}
	bandNames = []string{"below 0.5", "0.5-0.6", "0.6-0.7", "0.7-0.8", "0.8-0.9", "0.9-1.0"}
)

// bandOf returns the index in bandNames of the band holding sim. It
// compares against the edges instead of scaling sim, because 0.7*10 is not
// 7 in floating point, while 7/10 and the literal 0.7 are the same float64.
func bandOf(sim float64) int {
	b := 0
	for _, edge := range bandEdges {
		if sim >= edge {
			b++
		}
	}
	return b
}

// tally counts pairs and the pairs of them that lost a member.
type tally struct{ pairs, caught int }

func (t tally) String() string {
	if t.pairs == 0 {
		return "0/0"
	}
	return fmt.Sprintf("%d/%d (%.1f%%)", t.caught, t.pairs, 100*float64(t.caught)/float64(t.pairs))
}

func (t tally) share() float64 {
	if t.pairs == 0 {
		return math.NaN()
	}
	return float64(t.caught) / float64(t.pairs)
}

// recall is near_dedup's recall over a set of pairs: a pair counts as
// caught when at least one of its members was removed.
type recall struct {
	bands   [6]tally
	all     tally
	atLeast tally // pairs with similarity >= the recall threshold
}

// measureRecall tallies pairs by band. removed[d] is true when document d
// is missing from the dataset.
func measureRecall(pairs []pair, removed []bool, threshold float64) recall {
	var r recall
	for _, p := range pairs {
		caught := removed[p.a] || removed[p.b]
		add := func(t *tally) {
			t.pairs++
			if caught {
				t.caught++
			}
		}
		add(&r.bands[bandOf(p.sim)])
		add(&r.all)
		if p.sim >= threshold {
			add(&r.atLeast)
		}
	}
	return r
}

// precision counts the removed documents that have a kept document at or
// above the precision threshold.
type precision struct {
	removed  int
	withTwin int
	viaTruth int     // twins found among the truth file's links
	misses   []match // each miss with its most similar kept document, doc -1 if none
	missDocs []int32
}

// measurePrecision checks each removed document: first against the kept
// documents the truth file links it to, then by an exact search of every
// kept document through an inverted index.
func measurePrecision(s *shingleSets, removed []bool, tr *truth, threshold float64) precision {
	var keptDocs []int32
	for d, r := range removed {
		if !r {
			keptDocs = append(keptDocs, int32(d))
		}
	}
	index := newInvertedIndex(s, keptDocs)

	var p precision
	var found []match
	for d, r := range removed {
		if !r {
			continue
		}
		q := int32(d)
		p.removed++
		if tr != nil && keptTwinInTruth(s, removed, tr.twins[q], q, threshold) {
			p.withTwin++
			p.viaTruth++
			continue
		}
		found = index.appendAtLeast(found[:0], q, threshold, nil)
		if len(found) > 0 {
			p.withTwin++
			continue
		}
		p.misses = append(p.misses, index.best(q))
		p.missDocs = append(p.missDocs, q)
	}
	return p
}

func keptTwinInTruth(s *shingleSets, removed []bool, twins []int32, q int32, threshold float64) bool {
	for _, d := range twins {
		if !removed[d] && jaccard(s.sets[q], s.sets[d]) >= threshold {
			return true
		}
	}
	return false
}

// evalOptions are the evaluation's inputs and thresholds.
type evalOptions struct {
	corpus, truth, root string
	recallAt            float64 // similarity from which pairs must lose a member
	precisionAt         float64 // similarity a removed document needs to a kept one
	showMisses          int     // recall and precision misses to list
}

// Targets of the evaluation. The report states whether each was met.
const (
	recallTarget    = 0.95
	precisionTarget = 0.99
)

// evaluate prints the recall and precision of the dataset at o.root
// against the corpus it was made from.
func evaluate(w io.Writer, o evalOptions) error {
	start := time.Now()
	c, err := readCorpus(o.corpus)
	if err != nil {
		return err
	}
	ds, err := readDataset(o.root)
	if err != nil {
		return err
	}
	removed, err := removedDocs(c, ds.ids)
	if err != nil {
		return fmt.Errorf("dataset %s: %w", o.root, err)
	}
	s, err := buildShingleSets(c.texts)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "corpus %s: %d documents, %d distinct shingles\n", o.corpus, len(c.ids), s.tokens)
	fmt.Fprintf(w, "dataset %s, version %s: %d kept, %d removed\n", o.root, ds.version, len(ds.ids), len(c.ids)-len(ds.ids))
	for _, stage := range slices.Sorted(maps.Keys(ds.drops)) {
		if stage != "near_dedup" && ds.drops[stage] > 0 {
			fmt.Fprintf(w, "WARNING: stage %s dropped %d documents, which recall and precision count as near_dedup removals: run with --only normalize,near_dedup\n",
				stage, ds.drops[stage])
		}
	}

	var tr *truth
	var pairs []pair
	if o.truth != "" {
		if tr, err = readTruth(o.truth, c); err != nil {
			return err
		}
		pairs = tr.pairs
		mismatched := fillSimilarities(s, pairs)
		fillSimilarities(s, tr.exact)
		fmt.Fprintf(w, "truth %s (%s format): %d pairs, %d verbatim copies\n", o.truth, tr.format, len(pairs), len(tr.exact))
		if tr.format == "pairs" && mismatched > 0 {
			return fmt.Errorf("truth file %s: %d listed similarities differ from recomputed ones: regenerate it with -make-pairs of this build", o.truth, mismatched)
		}
	} else {
		pairs = allPairs(s, o.recallAt)
		fmt.Fprintf(w, "no truth file: %d pairs at J >= %.2f found by exact all-pairs search\n", len(pairs), o.recallAt)
	}

	fmt.Fprintln(w)
	printRecall(w, pairs, removed, c.ids, o.recallAt, o.showMisses)
	if tr != nil && len(tr.exact) > 0 {
		fmt.Fprintf(w, "verbatim copies: %v\n", measureRecall(tr.exact, removed, o.recallAt).all)
	}
	printModes(w, pairs)

	fmt.Fprintln(w)
	p := measurePrecision(s, removed, tr, o.precisionAt)
	printPrecision(w, p, c, o)
	fmt.Fprintf(w, "\nevaluated in %.1f s\n", time.Since(start).Seconds())
	return nil
}

// removedDocs marks the corpus documents missing from keptIDs. Every kept
// id must be a corpus id, or the dataset was made from another input.
func removedDocs(c *corpus, keptIDs []string) ([]bool, error) {
	removed := make([]bool, len(c.ids))
	for i := range removed {
		removed[i] = true
	}
	for _, id := range keptIDs {
		d, ok := c.index[id]
		if !ok {
			return nil, fmt.Errorf("kept id %q is not in the corpus: was the dataset made from another input?", id)
		}
		if !removed[d] {
			return nil, fmt.Errorf("id %q is kept twice", id)
		}
		removed[d] = false
	}
	return removed, nil
}

// fillSimilarities computes each pair's true similarity and returns how
// many differed from the value already in the pair by more than rounding
// in a 6-decimal TSV.
func fillSimilarities(s *shingleSets, pairs []pair) (mismatched int) {
	for i := range pairs {
		sim := jaccard(s.sets[pairs[i].a], s.sets[pairs[i].b])
		if math.Abs(sim-pairs[i].sim) > 1e-6 {
			mismatched++
		}
		pairs[i].sim = sim
	}
	return mismatched
}

// printRecall prints the recall table: one column for all pairs and, when
// the pairs are of several kinds, one per kind. Then it lists up to
// showMisses pairs at or above threshold that kept both members.
func printRecall(w io.Writer, pairs []pair, removed []bool, ids []string, threshold float64, showMisses int) {
	var kinds []string
	byKind := map[string][]pair{}
	for _, p := range pairs {
		if _, ok := byKind[p.kind]; !ok {
			kinds = append(kinds, p.kind)
		}
		byKind[p.kind] = append(byKind[p.kind], p)
	}
	slices.Sort(kinds)
	columns := []recall{measureRecall(pairs, removed, threshold)}
	header := fmt.Sprintf("  %-9s  %-20s", "band", "all pairs")
	if len(kinds) > 1 {
		for _, k := range kinds {
			columns = append(columns, measureRecall(byKind[k], removed, threshold))
			header += fmt.Sprintf("  %-20s", k)
		}
	}

	fmt.Fprintln(w, "recall by true Jaccard band (pairs with a member removed / pairs):")
	fmt.Fprintln(w, strings.TrimRight(header, " "))
	row := func(name string, cell func(r recall) tally) {
		line := fmt.Sprintf("  %-9s", name)
		for _, r := range columns {
			line += fmt.Sprintf("  %-20v", cell(r))
		}
		fmt.Fprintln(w, strings.TrimRight(line, " "))
	}
	for i, name := range bandNames {
		row(name, func(r recall) tally { return r.bands[i] })
	}
	row("all", func(r recall) tally { return r.all })
	at := columns[0].atLeast
	fmt.Fprintf(w, "recall at J >= %.2f: %v, target %.0f%%: %s\n", threshold, at, 100*recallTarget,
		verdict(at.share() >= recallTarget))

	listed := 0
	for _, p := range pairs {
		if p.sim < threshold || removed[p.a] || removed[p.b] {
			continue
		}
		if listed == 0 {
			fmt.Fprintf(w, "  pairs at J >= %.2f with both members kept:\n", threshold)
		}
		if listed == showMisses {
			fmt.Fprintf(w, "    ... %d more\n", at.pairs-at.caught-listed)
			break
		}
		fmt.Fprintf(w, "    %s %s J=%.3f\n", ids[p.a], ids[p.b], p.sim)
		listed++
	}
}

// printModes prints the mean true similarity of the pairs of each edit mode.
func printModes(w io.Writer, pairs []pair) {
	sums := map[string]float64{}
	counts := map[string]int{}
	for _, p := range pairs {
		if p.mode != "" {
			sums[p.mode] += p.sim
			counts[p.mode]++
		}
	}
	modes := make([]string, 0, len(counts))
	for m := range counts {
		modes = append(modes, m)
	}
	slices.Sort(modes)
	for _, m := range modes {
		fmt.Fprintf(w, "mean true J of %s edits: %.3f over %d pairs\n", m, sums[m]/float64(counts[m]), counts[m])
	}
}

func printPrecision(w io.Writer, p precision, c *corpus, o evalOptions) {
	t := tally{pairs: p.removed, caught: p.withTwin}
	fmt.Fprintf(w, "precision: removed documents with a kept document at J >= %.2f: %v, target %.0f%%: %s\n",
		o.precisionAt, t, 100*precisionTarget, verdict(p.removed == 0 || t.share() >= precisionTarget))
	fmt.Fprintf(w, "  twins found among the truth file's links: %d, by searching all kept documents: %d\n",
		p.viaTruth, p.withTwin-p.viaTruth)
	if len(p.misses) == 0 {
		return
	}
	fmt.Fprintf(w, "  removed without a kept document at J >= %.2f (most similar kept document):\n", o.precisionAt)
	for i, m := range p.misses {
		if i == o.showMisses {
			fmt.Fprintf(w, "    ... %d more\n", len(p.misses)-i)
			break
		}
		if m.doc < 0 {
			fmt.Fprintf(w, "    %s  shares no shingle with a kept document\n", c.ids[p.missDocs[i]])
			continue
		}
		fmt.Fprintf(w, "    %s  %s J=%.3f\n", c.ids[p.missDocs[i]], c.ids[m.doc], m.sim)
	}
}

func verdict(met bool) string {
	if met {
		return "met"
	}
	return "MISSED"
}
