package report

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/winnow-data/winnow/pipeline"
)

// buildChanges compares the language and source mix of m with that of the
// earlier version against.
func (r *Report) buildChanges(m, against *pipeline.Manifest) {
	var folded int
	r.LanguageChanges, folded = foldChanges(changes(m.Languages, against.Languages), MaxLanguages)
	if folded > 0 {
		r.Notes[TableLanguageChange] = fmt.Sprintf("%d languages with smaller changes are summed under %s.", folded, OtherName)
	}
	var notes []string
	if key, old := sourceKey(m), sourceKey(against); key == old {
		r.SourceChanges = changes(keptSources(m), keptSources(against))
	} else {
		// Every manifest counts its kept documents by the source field too.
		r.SourceChanges = changes(m.Sources, against.Sources)
		notes = append(notes, "The two versions name sources differently (by "+old+" before, by "+key+" now), so this compares them by the source field of each document.")
	}
	if r.SourceChanges, folded = foldChanges(r.SourceChanges, MaxSources); folded > 0 {
		notes = append(notes, fmt.Sprintf("%d sources with smaller changes are summed under %s.", folded, OtherName))
	}
	if len(notes) > 0 {
		r.Notes[TableSourceChange] = strings.Join(notes, " ")
	}
	measures := []struct {
		name string
		of   func(pipeline.Totals) int64
	}{
		{"docs", func(t pipeline.Totals) int64 { return t.Docs }},
		{"bytes", func(t pipeline.Totals) int64 { return t.Bytes }},
		{"tokens", func(t pipeline.Totals) int64 { return t.Tokens }},
	}
	for _, ms := range measures {
		p, q := distributions(m.Languages, against.Languages, ms.of)
		r.Divergence = append(r.Divergence, DivergenceRow{Measure: ms.name, Divergence: JensenShannon(p, q)})
	}
}

// keptSources returns a version's kept totals by source, named as its
// balance record names them when it has one.
func keptSources(m *pipeline.Manifest) map[string]pipeline.Totals {
	if m.Balance == nil {
		return m.Sources
	}
	out := make(map[string]pipeline.Totals, len(m.Balance.Sources))
	for name, b := range m.Balance.Sources {
		if b.After.Docs > 0 {
			out[name] = b.After
		}
	}
	return out
}

func sourceKey(m *pipeline.Manifest) string {
	if m.Balance == nil {
		return "source"
	}
	return m.Balance.SourceKey
}

// changes returns one row per group kept in either version, the largest
// change of document share first.
func changes(now, before map[string]pipeline.Totals) []Change {
	var totalNow, totalBefore pipeline.Totals
	for _, t := range now {
		totalNow.Docs += t.Docs
		totalNow.Tokens += t.Tokens
	}
	for _, t := range before {
		totalBefore.Docs += t.Docs
		totalBefore.Tokens += t.Tokens
	}

	var out []Change
	for _, name := range pipeline.SortedKeys(union(now, before)) {
		n, b := now[name], before[name]
		if n.Docs == 0 && b.Docs == 0 {
			continue
		}
		c := Change{
			Name: name, Status: statusCommon, DocsBefore: b.Docs, Docs: n.Docs,
			ShareBefore: fraction(b.Docs, totalBefore.Docs), Share: fraction(n.Docs, totalNow.Docs),
			TokensShareBefore: fraction(b.Tokens, totalBefore.Tokens), TokensShare: fraction(n.Tokens, totalNow.Tokens),
		}
		switch {
		case b.Docs == 0:
			c.Status = statusNew
		case n.Docs == 0:
			c.Status = statusLost
		}
		out = append(out, c)
	}
	slices.SortStableFunc(out, func(a, b Change) int {
		return cmp.Compare(math.Abs(b.Share-b.ShareBefore), math.Abs(a.Share-a.ShareBefore))
	})
	return out
}

// foldChanges sums the rows from limit-1 on, the smallest changes, into one
// OtherName row. It returns the number of rows folded in.
func foldChanges(rows []Change, limit int) ([]Change, int) {
	if len(rows) <= limit {
		return rows, 0
	}
	other := Change{Name: OtherName, Status: statusCommon}
	for _, c := range rows[limit-1:] {
		other.DocsBefore += c.DocsBefore
		other.Docs += c.Docs
		other.ShareBefore += c.ShareBefore
		other.Share += c.Share
		other.TokensShareBefore += c.TokensShareBefore
		other.TokensShare += c.TokensShare
	}
	return append(rows[:limit-1:limit-1], other), len(rows) - (limit - 1)
}

func union(a, b map[string]pipeline.Totals) map[string]bool {
	out := make(map[string]bool, len(a)+len(b))
	for k := range a {
		out[k] = true
	}
	for k := range b {
		out[k] = true
	}
	return out
}

// distributions returns the two versions' measures of every language of
// either, in one order, as unnormalised weights.
func distributions(now, before map[string]pipeline.Totals, of func(pipeline.Totals) int64) (p, q []float64) {
	for _, name := range pipeline.SortedKeys(union(now, before)) {
		p = append(p, float64(of(now[name])))
		q = append(q, float64(of(before[name])))
	}
	return p, q
}

// JensenShannon returns the Jensen-Shannon divergence, in bits, of the
// distributions proportional to the weights p and q, which must have the
// same length: the mean Kullback-Leibler divergence of each from their
// average m. It is symmetric, 0 for proportional weights and 1 for
// weights with disjoint support. It returns 0 when either sums to 0.
func JensenShannon(p, q []float64) float64 {
	var sumP, sumQ float64
	for i := range p {
		sumP += p[i]
		sumQ += q[i]
	}
	if sumP == 0 || sumQ == 0 {
		return 0
	}
	var d float64
	for i := range p {
		pi, qi := p[i]/sumP, q[i]/sumQ
		mi := (pi + qi) / 2
		if pi > 0 {
			d += pi / 2 * math.Log2(pi/mi)
		}
		if qi > 0 {
			d += qi / 2 * math.Log2(qi/mi)
		}
	}
	// Rounding can leave a tiny negative value for equal distributions.
	return min(max(d, 0), 1)
}
