package cli

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"slices"
	"text/tabwriter"

	"github.com/winnow-data/winnow/internal/report"
	"github.com/winnow-data/winnow/pipeline"
)

// diffReport is the comparison `winnow diff` prints.
type diffReport struct {
	From      diffVersion    `json:"from"`
	To        diffVersion    `json:"to"`
	Documents *docDiff       `json:"documents"`
	Stages    []stageDelta   `json:"stages"`
	Config    []configChange `json:"config"`
	Drift     driftReport    `json:"drift"`
}

type diffVersion struct {
	ID         string          `json:"id"`
	Tags       []string        `json:"tags,omitempty"`
	Totals     pipeline.Totals `json:"totals"`
	ConfigHash string          `json:"config_hash"`
}

// stageDelta is one reason code of one stage, counted in either version.
type stageDelta struct {
	Stage  string `json:"stage"`
	Reason string `json:"reason"`
	Kind   string `json:"kind"` // dropped or counted
	Before int64  `json:"before"`
	After  int64  `json:"after"`
}

// driftReport measures how far the mix and the signals moved.
type driftReport struct {
	LanguageJSDocs   float64         `json:"language_js_docs"`   // Jensen-Shannon divergence in bits
	LanguageJSTokens float64         `json:"language_js_tokens"` // same, weighted by tokens
	SourceJSDocs     float64         `json:"source_js_docs"`
	SourceKey        string          `json:"source_key"`
	LanguageShares   []report.Change `json:"language_shares"` // largest change first
	SourceShares     []report.Change `json:"source_shares"`
	Signals          []signalShift   `json:"signals"`
	Notes            []string        `json:"notes,omitempty"`
}

// signalShift compares the distribution of one signal in two versions.
type signalShift struct {
	Signal     string  `json:"signal"`
	Of         string  `json:"of"`  // kept or dropped documents
	KS         float64 `json:"ks"`  // two-sample Kolmogorov-Smirnov statistic
	PSI        float64 `json:"psi"` // population stability index, the older version as reference
	Before     int     `json:"values_before"`
	After      int     `json:"values_after"`
	MeanBefore float64 `json:"mean_before"`
	MeanAfter  float64 `json:"mean_after"`
}

// diffTopGroups bounds the languages, sources and share changes printed
// as tables; --json has them all.
const diffTopGroups = 15

// diffCommand compares two versions: documents added and removed, stage
// counts, config and drift.
func diffCommand(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("winnow diff", flag.ContinueOnError)
	fs.SetOutput(stderr)
	jsonOut := fs.Bool("json", false, "print the comparison as JSON")
	pos, err := parseCommandFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 3 {
		return usageError{fmt.Errorf("diff takes ROOT, V1 and V2, got %q", pos)}
	}

	store, err := openLocalRoot(pos[0])
	if err != nil {
		return err
	}
	var versions [2]*pipeline.Manifest
	for i, ref := range pos[1:] {
		id, err := pipeline.ResolveVersion(store, ref)
		if err != nil {
			return usageError{err}
		}
		if versions[i], err = pipeline.ReadManifest(store, id); err != nil {
			return err
		}
	}
	tags, err := pipeline.ReadTags(store)
	if err != nil {
		return err
	}

	d, err := buildDiff(context.Background(), store.Root(), versions[0], versions[1], pipeline.TagsByVersion(tags))
	if err != nil {
		return err
	}
	if *jsonOut {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(d)
	}
	d.write(stdout)
	return nil
}

func buildDiff(ctx context.Context, root string, a, b *pipeline.Manifest, tags map[string][]string) (*diffReport, error) {
	d := &diffReport{
		From:   diffVersion{ID: a.ID, Tags: tags[a.ID], Totals: a.Totals, ConfigHash: a.ConfigHash},
		To:     diffVersion{ID: b.ID, Tags: tags[b.ID], Totals: b.Totals, ConfigHash: b.ConfigHash},
		Stages: stageDeltas(a, b),
		Config: diffConfigs(a.Config, b.Config),
	}
	now, before, key := comparableSources(b, a)
	docs, err := diffDocuments(ctx, root, a, b, key)
	if err != nil {
		return nil, err
	}
	d.Documents = docs
	d.Drift = driftReport{
		LanguageJSDocs:   jensenShannon(b.Languages, a.Languages),
		LanguageJSTokens: jensenShannonTokens(b.Languages, a.Languages),
		SourceJSDocs:     jensenShannon(now, before),
		SourceKey:        key,
		LanguageShares:   report.Changes(b.Languages, a.Languages),
		SourceShares:     report.Changes(now, before),
	}
	if d.Drift.Signals, d.Drift.Notes, err = signalShifts(ctx, root, a, b); err != nil {
		return nil, err
	}
	return d, nil
}

// stageDeltas lists every stage and reason code of either version, in
// the dataflow order of b, then a's stages that b lacks.
func stageDeltas(a, b *pipeline.Manifest) []stageDelta {
	var order []string
	for _, s := range slices.Concat(b.Stages, a.Stages) {
		if !slices.Contains(order, s.Name) {
			order = append(order, s.Name)
		}
	}
	counts := func(m *pipeline.Manifest, stage, kind string) map[string]int64 {
		for _, s := range m.Stages {
			if s.Name == stage {
				if kind == "dropped" {
					return s.Dropped
				}
				return s.Events
			}
		}
		return nil
	}
	var out []stageDelta
	for _, stage := range order {
		for _, kind := range []string{"dropped", "counted"} {
			ca, cb := counts(a, stage, kind), counts(b, stage, kind)
			keys := map[string]bool{}
			for k := range ca {
				keys[k] = true
			}
			for k := range cb {
				keys[k] = true
			}
			for _, reason := range pipeline.SortedKeys(keys) {
				out = append(out, stageDelta{Stage: stage, Reason: reason, Kind: kind, Before: ca[reason], After: cb[reason]})
			}
		}
	}
	return out
}

// jensenShannonTokens returns the divergence of two mixes by tokens.
func jensenShannonTokens(now, before map[string]pipeline.Totals) float64 {
	var p, q []float64
	for _, name := range pipeline.SortedKeys(unionKeys(now, before)) {
		p = append(p, float64(now[name].Tokens))
		q = append(q, float64(before[name].Tokens))
	}
	return report.JensenShannon(p, q)
}

// signalShifts compares token_count and lang_score of the kept documents
// and, when both versions have rejects output, every signal measured on
// the dropped documents of both.
func signalShifts(ctx context.Context, root string, a, b *pipeline.Manifest) ([]signalShift, []string, error) {
	var out []signalShift
	var notes []string
	store, err := pipeline.OpenLocalStore(root)
	if err != nil {
		return nil, nil, err
	}
	keptA, err := keptSignals(ctx, store, a)
	if err != nil {
		return nil, nil, err
	}
	keptB, err := keptSignals(ctx, store, b)
	if err != nil {
		return nil, nil, err
	}
	for _, name := range []string{pipeline.SignalTokenCount, pipeline.SignalLangScore} {
		out = append(out, shift(name, "kept", keptA[name], keptB[name]))
	}

	rejA, err := rejectSignals(ctx, store, a)
	if err != nil {
		return nil, nil, err
	}
	rejB, err := rejectSignals(ctx, store, b)
	if err != nil {
		return nil, nil, err
	}
	if rejA == nil || rejB == nil {
		notes = append(notes, "signals of dropped documents are compared only between versions whose runs both wrote rejects (--rejects)")
		return out, notes, nil
	}
	for _, name := range pipeline.SortedKeys(rejB) {
		if _, ok := rejA[name]; ok {
			out = append(out, shift(name, "dropped", rejA[name], rejB[name]))
		}
	}
	return out, notes, nil
}

func shift(name, of string, before, after []float64) signalShift {
	return signalShift{
		Signal: name, Of: of, Before: len(before), After: len(after),
		MeanBefore: mean(before), MeanAfter: mean(after),
		KS:  kolmogorovSmirnov(slices.Clone(before), slices.Clone(after)),
		PSI: populationStability(slices.Clone(before), slices.Clone(after)),
	}
}

func mean(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	var s float64
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

func (d *diffReport) write(w io.Writer) {
	label := func(v diffVersion) string {
		if len(v.Tags) > 0 {
			return v.ID + " (" + v.Tags[0] + ")"
		}
		return v.ID
	}
	fmt.Fprintf(w, "diff %s -> %s\n", label(d.From), label(d.To))
	fmt.Fprintf(w, "  kept docs    %d -> %d (%+d)\n", d.From.Totals.Docs, d.To.Totals.Docs, d.To.Totals.Docs-d.From.Totals.Docs)
	fmt.Fprintf(w, "  kept tokens  %d -> %d (%+d)\n", d.From.Totals.Tokens, d.To.Totals.Tokens, d.To.Totals.Tokens-d.From.Totals.Tokens)

	doc := d.Documents
	fmt.Fprintf(w, "\ndocuments: %d added, %d removed, %d unchanged", doc.Added, doc.Removed, doc.Unchanged)
	if doc.Changed > 0 {
		fmt.Fprintf(w, " (%d ids kept with changed text, counted as removed and added)", doc.Changed)
	}
	fmt.Fprintln(w)
	writeGroups(w, "by language", doc.Languages)
	writeGroups(w, "by source ("+doc.SourceKey+")", doc.Sources)

	fmt.Fprintln(w, "\nstages, by reason, as counted by the run that made each version:")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  stage\treason\t\tbefore\tafter\tchange")
	for _, s := range d.Stages {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%d\t%d\t%+d\n", s.Stage, s.Reason, s.Kind, s.Before, s.After, s.After-s.Before)
	}
	tw.Flush()

	fmt.Fprintln(w, "\nconfig:")
	if len(d.Config) == 0 {
		fmt.Fprintf(w, "  same settings (config hash %s)\n", short(d.To.ConfigHash))
	}
	for _, c := range d.Config {
		fmt.Fprintf(w, "  %s: %s -> %s\n", c.Path, c.Before, c.After)
	}

	dr := d.Drift
	fmt.Fprintln(w, "\ndrift:")
	fmt.Fprintf(w, "  Jensen-Shannon divergence of the language mix: %.4f bits by documents, %.4f by tokens\n", dr.LanguageJSDocs, dr.LanguageJSTokens)
	fmt.Fprintf(w, "  Jensen-Shannon divergence of the source mix (%s): %.4f bits by documents\n", dr.SourceKey, dr.SourceJSDocs)
	writeShares(w, "language", dr.LanguageShares)
	writeShares(w, "source", dr.SourceShares)
	fmt.Fprintln(w, "  signal distributions (KS: Kolmogorov-Smirnov statistic; PSI: population stability index against the first version):")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "    signal\tof\tmean before\tmean after\tKS\tPSI\tvalues")
	for _, s := range dr.Signals {
		fmt.Fprintf(tw, "    %s\t%s docs\t%.4g\t%.4g\t%.4f\t%.4f\t%d -> %d\n", s.Signal, s.Of, s.MeanBefore, s.MeanAfter, s.KS, s.PSI, s.Before, s.After)
	}
	tw.Flush()
	for _, n := range dr.Notes {
		fmt.Fprintf(w, "  note: %s\n", n)
	}
}

func writeGroups(w io.Writer, title string, groups []groupDiff) {
	fmt.Fprintf(w, "  %s:\n", title)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "    name\tbefore\tafter\tadded\tremoved\t")
	for i, g := range groups {
		if i == diffTopGroups {
			fmt.Fprintf(tw, "    ... %d more\t\t\t\t\t\n", len(groups)-diffTopGroups)
			break
		}
		fmt.Fprintf(tw, "    %s\t%d\t%d\t+%d\t-%d\t\n", g.Name, g.Before, g.After, g.Added, g.Removed)
	}
	tw.Flush()
}

func writeShares(w io.Writer, what string, changes []report.Change) {
	fmt.Fprintf(w, "  largest changes of %s share of kept documents:\n", what)
	for i, c := range changes {
		if i == 5 || math.Abs(c.Share-c.ShareBefore) < 0.0005 {
			break
		}
		fmt.Fprintf(w, "    %-24s %5.1f%% -> %5.1f%% (%+.1f points, %s)\n", c.Name, 100*c.ShareBefore, 100*c.Share, 100*(c.Share-c.ShareBefore), c.Status)
	}
}
