package report

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/winnow-data/winnow/pipeline"
)

// Limits on the rows of the share tables and the heat map, so that a
// dataset keyed by URL domain still gives a readable report. Rows past a
// limit are summed under OtherName, and the table's note gives their
// number.
const (
	MaxLanguages     = 200
	MaxSources       = 40
	MaxGridLanguages = 30
	MaxGridSources   = 15
)

// OtherName is the row that sums the groups past a limit. The balance
// accounting uses the same name for sources past its own cap.
const OtherName = "(other)"

// Build returns the report of version m. against, when not nil, is the
// earlier version to compare m with. rejects holds the statistics of m's
// rejects files, nil when m has none.
func Build(m, against *pipeline.Manifest, rejects *RejectStats) *Report {
	r := &Report{Version: versionInfo(m), Notes: map[string]string{}}
	r.buildShares(m)
	r.buildGrid(m)
	r.buildMixture(m)
	r.buildStages(m)
	r.buildRejects(m, rejects)
	if against != nil {
		info := versionInfo(against)
		r.Against = &info
		r.buildChanges(m, against)
	}
	return r
}

func versionInfo(m *pipeline.Manifest) VersionInfo {
	v := VersionInfo{
		ID: m.ID, CreatedAt: m.CreatedAt, Parent: m.Parent, Tag: m.Tag, Message: m.Message,
		Winnow:     strings.TrimSpace(m.Winnow.Version + " " + m.Winnow.Revision),
		ConfigHash: m.ConfigHash, DedupOf: m.DedupOf,
		Docs: m.Totals.Docs, Bytes: m.Totals.Bytes, Tokens: m.Totals.Tokens,
		Shards: len(m.Shards), Rejects: len(m.Rejects),
	}
	for _, s := range m.Stages {
		if s.Name == "source" {
			v.DocsRead = s.DocsOut
		}
	}
	return v
}

// groupTotals is a group's kept totals and, when known, its documents
// before curation (-1 when not).
type groupTotals struct {
	kept       pipeline.Totals
	docsBefore int64
}

// buildShares fills the language and source shares. Kept totals come from
// the manifest's own counts; the balance record adds the documents before
// curation, and groups whose every document was dropped.
func (r *Report) buildShares(m *pipeline.Manifest) {
	langs := map[string]groupTotals{}
	for name, t := range m.Languages {
		langs[name] = groupTotals{kept: t, docsBefore: -1}
	}
	sources := map[string]groupTotals{}
	r.SourceKey = "source"
	if m.Balance == nil {
		for name, t := range m.Sources {
			sources[name] = groupTotals{kept: t, docsBefore: -1}
		}
		r.Notes[TableLanguageSource] = "This version has no balance record (versions made by `winnow dedup` have none), so languages by source are unknown."
	} else {
		for name, b := range m.Balance.Languages {
			g, ok := langs[name]
			if !ok {
				g.kept = b.After
			}
			g.docsBefore = b.Before.Docs
			langs[name] = g
		}
		for name, b := range m.Balance.Sources {
			sources[name] = groupTotals{kept: b.After, docsBefore: b.Before.Docs}
		}
		r.SourceKey = m.Balance.SourceKey
	}

	var folded int
	r.Languages, folded = shareRows(langs, MaxLanguages)
	if folded > 0 {
		r.Notes[TableLanguages] = fmt.Sprintf("%d smaller languages are summed under %s.", folded, OtherName)
	}
	r.Sources, folded = shareRows(sources, MaxSources)
	if folded > 0 {
		r.Notes[TableSources] = fmt.Sprintf("%d smaller sources are summed under %s.", folded, OtherName)
	}
}

// shareRows returns the groups as share rows, largest first, at most limit
// of them, with the number of groups summed into the last row.
func shareRows(groups map[string]groupTotals, limit int) ([]Share, int) {
	var total pipeline.Totals
	rows := make([]Share, 0, len(groups))
	for name, g := range groups {
		rows = append(rows, Share{Name: name, Docs: g.kept.Docs, Bytes: g.kept.Bytes, Tokens: g.kept.Tokens, DocsBefore: g.docsBefore})
		total.Docs += g.kept.Docs
		total.Bytes += g.kept.Bytes
		total.Tokens += g.kept.Tokens
	}
	slices.SortFunc(rows, compareShares)
	rows, folded := foldShares(rows, limit)
	for i := range rows {
		rows[i].DocsShare = fraction(rows[i].Docs, total.Docs)
		rows[i].BytesShare = fraction(rows[i].Bytes, total.Bytes)
		rows[i].TokensShare = fraction(rows[i].Tokens, total.Tokens)
	}
	return rows, folded
}

// compareShares orders groups by kept documents, then documents before
// curation, both descending, then by name; OtherName always sorts last.
func compareShares(a, b Share) int {
	if (a.Name == OtherName) != (b.Name == OtherName) {
		if a.Name == OtherName {
			return 1
		}
		return -1
	}
	return cmp.Or(cmp.Compare(b.Docs, a.Docs), cmp.Compare(b.DocsBefore, a.DocsBefore), cmp.Compare(a.Name, b.Name))
}

// foldShares sums the rows from limit-1 on into one OtherName row, merging
// an OtherName row already present. It returns the number of groups
// folded in.
func foldShares(rows []Share, limit int) ([]Share, int) {
	if len(rows) <= limit {
		return rows, 0
	}
	other := Share{Name: OtherName}
	folded := 0
	for _, s := range rows[limit-1:] {
		other.Docs += s.Docs
		other.Bytes += s.Bytes
		other.Tokens += s.Tokens
		if s.DocsBefore < 0 || other.DocsBefore < 0 {
			other.DocsBefore = -1
		} else {
			other.DocsBefore += s.DocsBefore
		}
		if s.Name != OtherName {
			folded++
		}
	}
	return append(rows[:limit-1:limit-1], other), folded
}

// buildGrid fills the heat map from the balance cells: the largest
// languages and sources as the share tables order them, the rest summed
// under OtherName.
func (r *Report) buildGrid(m *pipeline.Manifest) {
	if m.Balance == nil {
		return
	}
	langs := gridNames(r.Languages, MaxGridLanguages)
	sources := gridNames(r.Sources, MaxGridSources)
	cells := map[[2]string]*Cell{}
	for _, c := range m.Balance.Cells {
		key := [2]string{gridName(langs, c.Lang), gridName(sources, c.Source)}
		cell := cells[key]
		if cell == nil {
			cell = &Cell{Lang: key[0], Source: key[1]}
			cells[key] = cell
		}
		cell.Docs += c.After.Docs
		cell.Bytes += c.After.Bytes
		cell.Tokens += c.After.Tokens
		cell.DocsBefore += c.Before.Docs
	}
	for _, c := range cells {
		if c.Docs > 0 || c.DocsBefore > 0 {
			r.Grid = append(r.Grid, *c)
		}
	}
	slices.SortFunc(r.Grid, func(a, b Cell) int {
		return cmp.Or(cmp.Compare(gridRank(langs, a.Lang), gridRank(langs, b.Lang)), cmp.Compare(gridRank(sources, a.Source), gridRank(sources, b.Source)))
	})
	var folded []string
	if len(r.Languages) > MaxGridLanguages {
		folded = append(folded, fmt.Sprintf("the %d largest languages", MaxGridLanguages-1))
	}
	if len(r.Sources) > MaxGridSources {
		folded = append(folded, fmt.Sprintf("the %d largest sources", MaxGridSources-1))
	}
	if len(folded) > 0 {
		r.Notes[TableLanguageSource] = fmt.Sprintf("The heat map shows %s; the others are summed under %s.", strings.Join(folded, " and "), OtherName)
	}
}

// gridNames maps the names of the first limit-1 rows to their rank; every
// other name goes under OtherName, ranked last.
func gridNames(rows []Share, limit int) map[string]int {
	names := map[string]int{}
	for i, s := range rows {
		if len(rows) > limit && i >= limit-1 {
			break
		}
		names[s.Name] = i
	}
	return names
}

func gridName(names map[string]int, name string) string {
	if _, ok := names[name]; ok {
		return name
	}
	return OtherName
}

func gridRank(names map[string]int, name string) int {
	if i, ok := names[name]; ok && name != OtherName {
		return i
	}
	return len(names) + 1
}

func (r *Report) buildMixture(m *pipeline.Manifest) {
	if m.Balance == nil || m.Balance.Mixture == nil {
		r.Notes[TableMixture] = "The version's config sets no training mixture (balance.mixture)."
		return
	}
	for _, w := range m.Balance.Mixture.Weights {
		r.Mixture = append(r.Mixture, MixtureRow{Lang: w.Name, Tokens: w.Tokens, Natural: w.Natural, Share: w.Share, Repeats: w.Repeats, Capped: w.Capped})
	}
	slices.SortStableFunc(r.Mixture, func(a, b MixtureRow) int { return cmp.Compare(b.Share, a.Share) })
	// Each capped language adds a warning, so show only the first few.
	const maxWarnings = 3
	if warnings := m.Balance.Mixture.Warnings; len(warnings) > 0 {
		note := "Mixture warnings: " + strings.Join(warnings[:min(len(warnings), maxWarnings)], "; ") + "."
		if len(warnings) > maxWarnings {
			note += fmt.Sprintf(" And %d more, which `winnow show --json` lists.", len(warnings)-maxWarnings)
		}
		r.Notes[TableMixture] = note
	}
}

// buildStages fills the funnel, the drops by reason and the counted
// events, stage by stage in dataflow order.
func (r *Report) buildStages(m *pipeline.Manifest) {
	if len(m.Stages) == 0 {
		r.Notes[TableStages] = "This version records no stages: it was made by `winnow dedup`, which removes near duplicates listed in the manifest's deletions."
	}
	for _, s := range m.Stages {
		row := StageRow{Stage: s.Name, DocsIn: s.DocsIn, DocsOut: s.DocsOut, BytesIn: s.BytesIn, BytesOut: s.BytesOut}
		for _, n := range s.Dropped {
			row.Dropped += n
		}
		r.Stages = append(r.Stages, row)

		// The source stage has no input documents: its drops are records
		// it read but could not turn into documents.
		base := s.DocsIn
		if s.Name == "source" {
			base = s.DocsOut + row.Dropped
		}
		start := len(r.Drops)
		for reason, n := range s.Dropped {
			r.Drops = append(r.Drops, DropRow{Stage: s.Name, Reason: reason, Docs: n, Share: fraction(n, base)})
		}
		slices.SortFunc(r.Drops[start:], func(a, b DropRow) int { return cmp.Or(cmp.Compare(b.Docs, a.Docs), cmp.Compare(a.Reason, b.Reason)) })
		for _, event := range pipeline.SortedKeys(s.Events) {
			r.Events = append(r.Events, EventRow{Stage: s.Name, Event: event, Count: s.Events[event]})
		}
	}
}

// fraction returns n/total, or 0 when total is 0.
func fraction(n, total int64) float64 {
	if total == 0 {
		return 0
	}
	return float64(n) / float64(total)
}
