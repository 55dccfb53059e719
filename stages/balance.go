package stages

import (
	"cmp"
	"context"
	"slices"
	"strings"

	"github.com/winnow-data/winnow/pipeline"
)

// Placeholders of the balance accounting.
const (
	balanceUnknownSource = "unknown" // a document without the source key
	balanceOtherSources  = "(other)" // sources past the distinct-source cap, together
)

// Balance counts every document that reaches the end of the pipeline, kept
// or dropped, by language, by source and by the pair of both. Documents
// count "before" curation whatever happened to them, and "after" when they
// were kept. A document dropped before langid ran counts under und.
// Records the source skipped (malformed lines) never become documents and
// are not counted.
//
// Balance is a pipeline.Sink that writes nothing; use it beside the
// Parquet sink. It is not safe for concurrent use.
type Balance struct {
	key       string // pipeline.SourceBy*
	maxSource int
	langs     map[string]*pipeline.BalanceTotals
	sources   map[string]*pipeline.BalanceTotals
	cells     map[[2]string]*pipeline.BalanceTotals
}

// NewBalance returns an accountant that names sources by key, one of the
// pipeline.SourceBy* constants. It counts at most maxSources distinct
// sources, and counts later ones together as "(other)".
func NewBalance(key string, maxSources int) *Balance {
	return &Balance{
		key:       key,
		maxSource: maxSources,
		langs:     map[string]*pipeline.BalanceTotals{},
		sources:   map[string]*pipeline.BalanceTotals{},
		cells:     map[[2]string]*pipeline.BalanceTotals{},
	}
}

// Write counts the rows of b.
func (a *Balance) Write(_ context.Context, b *pipeline.Batch) error {
	texts, langs := b.Strings(pipeline.ColText), b.Strings(pipeline.ColLang)
	tokens := b.Column(pipeline.ColTokenCount).(interface{ Value(int) int32 })
	var keys interface{ Value(int) string }
	switch a.key {
	case pipeline.SourceByField:
		keys = b.Strings(pipeline.ColSource)
	case pipeline.SourceByInput:
		keys = b.Strings(pipeline.ColInput)
	default:
		keys = b.Strings(pipeline.ColURL)
	}
	for i := range b.Len() {
		text := texts.Value(i)
		t := pipeline.Totals{Docs: 1, Bytes: int64(len(text)), Tokens: int64(tokens.Value(i))}
		if t.Tokens == 0 {
			t.Tokens = int64(CountWhitespaceTokens(text))
		}
		lang := langs.Value(i)
		if lang == "" {
			lang = LangUndetermined
		}
		source := keys.Value(i)
		if a.key == pipeline.SourceByDomain {
			source = URLDomain(source)
		}
		if source == "" {
			source = balanceUnknownSource
		}
		if _, seen := a.sources[source]; !seen && len(a.sources) >= a.maxSource {
			source = balanceOtherSources
		}
		kept := b.Alive(i)
		add(a.langs, lang, t, kept)
		add(a.sources, source, t, kept)
		cell := [2]string{lang, source}
		bt := a.cells[cell]
		if bt == nil {
			bt = &pipeline.BalanceTotals{}
			a.cells[cell] = bt
		}
		bt.Add(t, kept)
	}
	return nil
}

func add(m map[string]*pipeline.BalanceTotals, key string, t pipeline.Totals, kept bool) {
	bt := m[key]
	if bt == nil {
		bt = &pipeline.BalanceTotals{}
		m[key] = bt
	}
	bt.Add(t, kept)
}

// Close does nothing: the counts are read with Record.
func (a *Balance) Close(context.Context) error { return nil }

// Record returns the counts for the manifest. Cells are sorted by
// language, then source.
func (a *Balance) Record() *pipeline.BalanceRecord {
	r := &pipeline.BalanceRecord{
		SourceKey: a.key,
		Languages: map[string]pipeline.BalanceTotals{},
		Sources:   map[string]pipeline.BalanceTotals{},
	}
	for k, v := range a.langs {
		r.Languages[k] = *v
	}
	for k, v := range a.sources {
		r.Sources[k] = *v
	}
	for k, v := range a.cells {
		r.Cells = append(r.Cells, pipeline.BalanceCell{Lang: k[0], Source: k[1], BalanceTotals: *v})
	}
	slices.SortFunc(r.Cells, func(x, y pipeline.BalanceCell) int {
		return cmp.Or(cmp.Compare(x.Lang, y.Lang), cmp.Compare(x.Source, y.Source))
	})
	return r
}

// URLDomain returns the lowercased host of a URL, without a port, user
// information or a leading "www.", or "" when the URL has no host. It
// accepts URLs without a scheme ("example.com/page").
func URLDomain(u string) string {
	if i := strings.Index(u, "://"); i >= 0 {
		u = u[i+3:]
	}
	if i := strings.IndexAny(u, "/?#"); i >= 0 {
		u = u[:i]
	}
	if i := strings.LastIndexByte(u, '@'); i >= 0 {
		u = u[i+1:]
	}
	if strings.HasPrefix(u, "[") { // IPv6 literal
		if i := strings.IndexByte(u, ']'); i >= 0 {
			return strings.ToLower(u[:i+1])
		}
	}
	if i := strings.LastIndexByte(u, ':'); i >= 0 {
		u = u[:i]
	}
	u = strings.TrimSuffix(strings.ToLower(u), ".")
	return strings.TrimPrefix(u, "www.")
}

var _ pipeline.Sink = (*Balance)(nil)

// Reset clears every count, so the next Record covers only the batches
// written after it. A Kafka run resets after each version, whose balance
// counts that version's documents alone.
func (a *Balance) Reset() {
	a.langs = map[string]*pipeline.BalanceTotals{}
	a.sources = map[string]*pipeline.BalanceTotals{}
	a.cells = map[[2]string]*pipeline.BalanceTotals{}
}
