package cli

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"slices"

	"github.com/winnow-data/winnow/internal/report"
	"github.com/winnow-data/winnow/pipeline"
)

// exitExpectation is the exit status of `winnow verify` when a data test
// fails, and of `winnow run --fail-on-expectation` when its version was
// held back from latest, so CI can tell it from other errors (1) and
// usage errors (2).
const exitExpectation = 3

// expectationError reports failed data tests.
type expectationError struct {
	version string
	failed  []pipeline.ExpectationResult
	held    bool
	listed  bool // stdout lists the results already
}

func (e *expectationError) Error() string {
	msg := fmt.Sprintf("version %s failed %s", e.version, plural(len(e.failed), "data test"))
	if e.held {
		msg += "; it is committed but latest was not moved to it"
	}
	if e.listed {
		return msg
	}
	for _, r := range e.failed {
		msg += "\n  " + r.String()
	}
	return msg
}

// evaluator evaluates the data tests of one version against its parent,
// reading each version's signals once.
type evaluator struct {
	ctx     context.Context
	root    string                          // opened with openStore on first use when store is nil
	store   pipeline.Store                  // the dataset root
	kept    map[string]map[string][]float64 // by version id, then signal
	rejects map[string]map[string][]float64
}

// newEvaluator returns an evaluator of the dataset root at root, a folder
// or an s3:// URL.
func newEvaluator(ctx context.Context, root string) *evaluator {
	return &evaluator{ctx: ctx, root: root, kept: map[string]map[string][]float64{}, rejects: map[string]map[string][]float64{}}
}

// newStoreEvaluator returns an evaluator of the dataset root store.
func newStoreEvaluator(ctx context.Context, store pipeline.Store) *evaluator {
	ev := newEvaluator(ctx, store.String())
	ev.store = store
	return ev
}

// rootStore returns the store of the dataset root, opening it on first use.
func (ev *evaluator) rootStore() (pipeline.Store, error) {
	if ev.store == nil {
		store, err := openStore(ev.root, false)
		if err != nil {
			return nil, err
		}
		ev.store = store
	}
	return ev.store, nil
}

// evaluate runs every check of cfg on m; parent is nil for a first
// version, and the drift checks are then skipped.
func (ev *evaluator) evaluate(cfg *pipeline.ExpectationsConfig, m, parent *pipeline.Manifest) ([]pipeline.ExpectationResult, error) {
	var out []pipeline.ExpectationResult
	if cfg.MinDocs > 0 {
		out = append(out, bounded("min_docs", "min", float64(cfg.MinDocs), float64(m.Totals.Docs), "kept documents"))
	}
	if cfg.MinTokens > 0 {
		out = append(out, bounded("min_tokens", "min", float64(cfg.MinTokens), float64(m.Totals.Tokens), "kept tokens"))
	}
	for _, label := range pipeline.SortedKeys(cfg.Languages) {
		b := cfg.Languages[label]
		share := fraction(m.Languages[label].Docs, m.Totals.Docs)
		if b.Min != nil {
			out = append(out, bounded("languages."+label+".min", "min", *b.Min, share, "share of kept documents"))
		}
		if b.Max != nil {
			out = append(out, bounded("languages."+label+".max", "max", *b.Max, share, "share of kept documents"))
		}
	}
	for _, reason := range pipeline.SortedKeys(cfg.MaxDropRate) {
		rate, stage := dropRate(m, reason)
		note := "not dropped by this run"
		if stage != "" {
			note = "of the documents that reached " + stage
		}
		out = append(out, bounded("max_drop_rate."+reason, "max", cfg.MaxDropRate[reason], rate, note))
	}
	if cfg.MaxDuplicateRate != nil {
		out = append(out, duplicateRate(m, *cfg.MaxDuplicateRate))
	}
	if cfg.MaxPIIPerDoc != nil {
		out = append(out, piiPerDoc(m, *cfg.MaxPIIPerDoc))
	}
	out = append(out, driftResults(cfg.Drift, m, parent)...)
	for _, s := range cfg.Signals {
		res, err := ev.signalResults(s, m, parent)
		if err != nil {
			return nil, err
		}
		out = append(out, res...)
	}
	return out, nil
}

// bounded returns the result of a check that value is at least (bound
// "min") or at most ("max") limit.
func bounded(check, bound string, limit, value float64, note string) pipeline.ExpectationResult {
	ok := value <= limit
	if bound == "min" {
		ok = value >= limit
	}
	status := pipeline.ExpectPass
	if !ok {
		status = pipeline.ExpectFail
	}
	return pipeline.ExpectationResult{Check: check, Status: status, Bound: bound, Limit: limit, Value: value, Note: note}
}

func skipped(check, bound string, limit float64, why string) pipeline.ExpectationResult {
	return pipeline.ExpectationResult{Check: check, Status: pipeline.ExpectSkipped, Bound: bound, Limit: limit, Note: why}
}

func fraction(n, of int64) float64 {
	if of <= 0 {
		return 0
	}
	return float64(n) / float64(of)
}

// dropRate returns the largest share of its input that one stage dropped
// for reason, and that stage.
func dropRate(m *pipeline.Manifest, reason string) (float64, string) {
	best, stage := 0.0, ""
	for _, s := range m.Stages {
		n := s.Dropped[reason]
		if n == 0 {
			continue
		}
		// The source stage has no input batches: what it read is what it
		// passed on plus what it dropped.
		in := s.DocsIn
		if in == 0 {
			in = s.DocsOut + n
		}
		if r := fraction(n, in); r >= best {
			best, stage = r, s.Name
		}
	}
	return best, stage
}

// dedupStages are the stages whose drops count as duplicates; dedup is
// the stage record of a `winnow dedup` pass.
var dedupStages = []string{"exact_dedup", "near_dedup", "dedup"}

func duplicateRate(m *pipeline.Manifest, limit float64) pipeline.ExpectationResult {
	const check = "max_duplicate_rate"
	var dups, in int64
	first := ""
	for _, s := range m.Stages {
		if !slices.Contains(dedupStages, s.Name) {
			continue
		}
		if first == "" {
			first, in = s.Name, s.DocsIn
		}
		dups += s.Dropped["exact_duplicate"] + s.Dropped["near_duplicate"]
	}
	if first == "" {
		return skipped(check, "max", limit, "the run had no exact_dedup or near_dedup stage")
	}
	return bounded(check, "max", limit, fraction(dups, in), "exact and near duplicates of the documents that reached "+first)
}

func piiPerDoc(m *pipeline.Manifest, limit float64) pipeline.ExpectationResult {
	const check = "max_pii_per_doc"
	for _, s := range m.Stages {
		if s.Name != "pii" {
			continue
		}
		// NOTE: every event the pii stage counts is taken to be a match of
		// one PII type, as the stage counts them today.
		var hits int64
		for _, n := range s.Events {
			hits += n
		}
		return bounded(check, "max", limit, fraction(hits, s.DocsIn), fmt.Sprintf("mean PII matches per document, %d matches in %d documents", hits, s.DocsIn))
	}
	return skipped(check, "max", limit, "the run had no pii stage")
}

// driftResults compares the language and source mixes of m with its
// parent's.
func driftResults(cfg pipeline.DriftExpectations, m, parent *pipeline.Manifest) []pipeline.ExpectationResult {
	var out []pipeline.ExpectationResult
	checks := []struct {
		name    string
		limit   *float64
		measure func() (float64, string)
	}{
		{"drift.max_language_js", cfg.MaxLanguageJS, func() (float64, string) {
			return jensenShannon(m.Languages, parent.Languages), "Jensen-Shannon divergence of the language mix of kept documents, in bits"
		}},
		{"drift.max_source_js", cfg.MaxSourceJS, func() (float64, string) {
			now, before, key := comparableSources(m, parent)
			return jensenShannon(now, before), "Jensen-Shannon divergence of the source mix (by " + key + "), in bits"
		}},
		{"drift.max_share_delta", cfg.MaxShareDelta, func() (float64, string) {
			delta, lang := maxShareDelta(m.Languages, parent.Languages)
			return delta, "largest change of one language's share of kept documents: " + lang
		}},
	}
	for _, c := range checks {
		switch {
		case c.limit == nil:
		case parent == nil:
			out = append(out, skipped(c.name, "max", *c.limit, "the version has no parent to compare with"))
		default:
			v, note := c.measure()
			out = append(out, bounded(c.name, "max", *c.limit, v, note))
		}
	}
	return out
}

// comparableSources returns the kept documents of both versions by
// source, named alike: by their balance key when both share one, else by
// the source field.
func comparableSources(m, parent *pipeline.Manifest) (now, before map[string]pipeline.Totals, key string) {
	if k := report.SourceKey(m); k == report.SourceKey(parent) {
		return report.KeptSources(m), report.KeptSources(parent), k
	}
	return m.Sources, parent.Sources, "source"
}

// jensenShannon returns the divergence of two mixes by documents.
func jensenShannon(now, before map[string]pipeline.Totals) float64 {
	var p, q []float64
	for _, name := range pipeline.SortedKeys(unionKeys(now, before)) {
		p = append(p, float64(now[name].Docs))
		q = append(q, float64(before[name].Docs))
	}
	return report.JensenShannon(p, q)
}

func unionKeys(a, b map[string]pipeline.Totals) map[string]bool {
	out := make(map[string]bool, len(a)+len(b))
	for k := range a {
		out[k] = true
	}
	for k := range b {
		out[k] = true
	}
	return out
}

// maxShareDelta returns the largest change of one group's document share
// and that group.
func maxShareDelta(now, before map[string]pipeline.Totals) (float64, string) {
	changes := report.Changes(now, before)
	if len(changes) == 0 {
		return 0, "none"
	}
	c := changes[0]
	return math.Abs(c.Share - c.ShareBefore), c.Name
}

// signalResults compares the distribution of one signal in m with the
// parent's.
func (ev *evaluator) signalResults(s pipeline.SignalExpectation, m, parent *pipeline.Manifest) ([]pipeline.ExpectationResult, error) {
	limits := []struct {
		name  string
		limit *float64
	}{{"max_psi", s.MaxPSI}, {"max_ks", s.MaxKS}}
	var out []pipeline.ExpectationResult
	skipAll := func(why string) []pipeline.ExpectationResult {
		for _, l := range limits {
			if l.limit != nil {
				out = append(out, skipped("signals."+s.Signal+"."+l.name, "max", *l.limit, why))
			}
		}
		return out
	}
	if parent == nil {
		return skipAll("the version has no parent to compare with"), nil
	}
	now, err := ev.signal(m, s.Signal)
	if err != nil {
		return nil, err
	}
	before, err := ev.signal(parent, s.Signal)
	if err != nil {
		return nil, err
	}
	if len(now) == 0 || len(before) == 0 {
		return skipAll("no values of " + s.Signal + " in one of the versions; signals of dropped documents need --rejects on both runs"), nil
	}
	for _, l := range limits {
		if l.limit == nil {
			continue
		}
		var v float64
		if l.name == "max_psi" {
			v = populationStability(slices.Clone(before), slices.Clone(now))
		} else {
			v = kolmogorovSmirnov(slices.Clone(before), slices.Clone(now))
		}
		note := fmt.Sprintf("%d values now, %d in the parent", len(now), len(before))
		out = append(out, bounded("signals."+s.Signal+"."+l.name, "max", *l.limit, v, note))
	}
	return out, nil
}

// signal returns the sampled values of one signal of m: of its kept
// documents for token_count and lang_score, else from its rejects output.
func (ev *evaluator) signal(m *pipeline.Manifest, name string) ([]float64, error) {
	store, err := ev.rootStore()
	if err != nil {
		return nil, err
	}
	if name == pipeline.SignalTokenCount || name == pipeline.SignalLangScore {
		if _, ok := ev.kept[m.ID]; !ok || m.ID == "" {
			values, err := keptSignals(ev.ctx, store, m)
			if err != nil {
				return nil, err
			}
			ev.kept[m.ID] = values
		}
		return ev.kept[m.ID][name], nil
	}
	if _, ok := ev.rejects[m.ID]; !ok || m.ID == "" {
		values, err := rejectSignals(ev.ctx, store, m)
		if err != nil {
			return nil, err
		}
		ev.rejects[m.ID] = values
	}
	return ev.rejects[m.ID][name], nil
}

// logExpectations logs every failed data test of m and returns them.
func logExpectations(logger *slog.Logger, m *pipeline.Manifest) []pipeline.ExpectationResult {
	if m.Expectations == nil {
		return nil
	}
	var failed []pipeline.ExpectationResult
	for _, r := range m.Expectations.Results {
		if r.Status == pipeline.ExpectFail {
			failed = append(failed, r)
			logger.Warn("data test failed", "version", m.ID, "check", r.Check, "value", r.Value, "limit", r.Limit, "margin", r.Margin())
		}
	}
	if m.Expectations.Held {
		logger.Warn("version held back: latest not moved to it", "version", m.ID, "failed", len(failed))
	}
	return failed
}

// writeExpectations prints every result, one per line.
func writeExpectations(w io.Writer, rec *pipeline.ExpectationsRecord) {
	fmt.Fprintf(w, "data tests: %d of %d failed\n", rec.Failed, len(rec.Results))
	for _, r := range rec.Results {
		fmt.Fprintf(w, "  %s\n", r)
	}
	if rec.Held {
		fmt.Fprintln(w, "  the version is committed, but latest was not moved to it")
	}
}
