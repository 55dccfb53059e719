package report

import "time"

// Kind is the type of a column's values, for formatting in the HTML report.
type Kind int

// Column kinds.
const (
	Text     Kind = iota
	Count         // a whole number of documents, tokens or events
	Bytes         // a whole number of bytes
	Fraction      // a share from 0 to 1, shown as a percentage
	Number        // any other number
	Bool
)

// Column is one column of a table.
type Column struct {
	Name string
	Kind Kind
}

// Table is one table of the report as every format writes it. A value is
// a string, int64, float64, bool or nil (unknown).
type Table struct {
	Name    string // JSON key and CSV file name
	Columns []Column
	Rows    [][]any
}

// Table names, in the order Tables returns them.
const (
	TableVersions       = "versions"
	TableLanguages      = "languages"
	TableSources        = "sources"
	TableLanguageSource = "language_source"
	TableMixture        = "mixture"
	TableStages         = "stages"
	TableDrops          = "drops"
	TableEvents         = "events"
	TableHistograms     = "signal_histograms"
	TableClusters       = "near_duplicate_clusters"
	TableLanguageChange = "language_changes"
	TableSourceChange   = "source_changes"
	TableDivergence     = "divergence"
)

// Tables returns every table of the report, empty ones included, so that
// the layout of the JSON and CSV output does not depend on the data.
func (r *Report) Tables() []Table {
	return []Table{
		r.versionsTable(),
		shareTable(TableLanguages, "lang", r.Languages),
		shareTable(TableSources, "source", r.Sources),
		r.gridTable(),
		r.mixtureTable(),
		r.stagesTable(),
		r.dropsTable(),
		r.eventsTable(),
		r.histogramTable(),
		r.clustersTable(),
		changeTable(TableLanguageChange, "lang", r.LanguageChanges),
		changeTable(TableSourceChange, "source", r.SourceChanges),
		r.divergenceTable(),
	}
}

func (r *Report) versionsTable() Table {
	t := Table{Name: TableVersions, Columns: []Column{
		{"role", Text}, {"id", Text}, {"created_at", Text}, {"parent", Text}, {"tag", Text}, {"message", Text},
		{"winnow", Text}, {"config_hash", Text}, {"dedup_of", Text},
		{"docs", Count}, {"bytes", Bytes}, {"tokens", Count}, {"docs_read", Count}, {"shards", Count}, {"rejects_files", Count},
	}}
	add := func(role string, v *VersionInfo) {
		t.Rows = append(t.Rows, []any{
			role, v.ID, v.CreatedAt.UTC().Format(time.RFC3339), v.Parent, v.Tag, v.Message, v.Winnow, v.ConfigHash, v.DedupOf,
			v.Docs, v.Bytes, v.Tokens, v.DocsRead, int64(v.Shards), int64(v.Rejects),
		})
	}
	add("report", &r.Version)
	if r.Against != nil {
		add("against", r.Against)
	}
	return t
}

func shareTable(name, key string, rows []Share) Table {
	t := Table{Name: name, Columns: []Column{
		{key, Text}, {"docs", Count}, {"bytes", Bytes}, {"tokens", Count},
		{"docs_share", Fraction}, {"bytes_share", Fraction}, {"tokens_share", Fraction}, {"docs_before", Count},
	}}
	for _, s := range rows {
		t.Rows = append(t.Rows, []any{s.Name, s.Docs, s.Bytes, s.Tokens, s.DocsShare, s.BytesShare, s.TokensShare, knownCount(s.DocsBefore)})
	}
	return t
}

// knownCount returns n, or nil for the -1 that marks an unknown count.
func knownCount(n int64) any {
	if n < 0 {
		return nil
	}
	return n
}

func (r *Report) gridTable() Table {
	t := Table{Name: TableLanguageSource, Columns: []Column{
		{"lang", Text}, {"source", Text}, {"docs", Count}, {"bytes", Bytes}, {"tokens", Count}, {"docs_before", Count},
	}}
	for _, c := range r.Grid {
		t.Rows = append(t.Rows, []any{c.Lang, c.Source, c.Docs, c.Bytes, c.Tokens, c.DocsBefore})
	}
	return t
}

func (r *Report) mixtureTable() Table {
	t := Table{Name: TableMixture, Columns: []Column{
		{"lang", Text}, {"tokens", Count}, {"natural_share", Fraction}, {"mix_share", Fraction}, {"repeats", Number}, {"capped", Bool},
	}}
	for _, m := range r.Mixture {
		t.Rows = append(t.Rows, []any{m.Lang, m.Tokens, m.Natural, m.Share, m.Repeats, m.Capped})
	}
	return t
}

func (r *Report) stagesTable() Table {
	t := Table{Name: TableStages, Columns: []Column{
		{"stage", Text}, {"docs_in", Count}, {"docs_out", Count}, {"dropped", Count}, {"bytes_in", Bytes}, {"bytes_out", Bytes},
	}}
	for _, s := range r.Stages {
		t.Rows = append(t.Rows, []any{s.Stage, s.DocsIn, s.DocsOut, s.Dropped, s.BytesIn, s.BytesOut})
	}
	return t
}

func (r *Report) dropsTable() Table {
	t := Table{Name: TableDrops, Columns: []Column{
		{"stage", Text}, {"reason", Text}, {"docs", Count}, {"share_of_stage_input", Fraction},
	}}
	for _, d := range r.Drops {
		t.Rows = append(t.Rows, []any{d.Stage, d.Reason, d.Docs, d.Share})
	}
	return t
}

func (r *Report) eventsTable() Table {
	t := Table{Name: TableEvents, Columns: []Column{{"stage", Text}, {"event", Text}, {"count", Count}}}
	for _, e := range r.Events {
		t.Rows = append(t.Rows, []any{e.Stage, e.Event, e.Count})
	}
	return t
}

// histogramTable has one row per bin. Its threshold is nil when the
// dropped documents of a signal name several thresholds.
func (r *Report) histogramTable() Table {
	t := Table{Name: TableHistograms, Columns: []Column{
		{"stage", Text}, {"signal", Text}, {"threshold", Number}, {"bin_low", Number}, {"bin_high", Number}, {"docs", Count},
	}}
	for _, h := range r.Histograms {
		var threshold any
		if len(h.Thresholds) == 1 {
			threshold = h.Thresholds[0]
		}
		for _, b := range h.Bins {
			t.Rows = append(t.Rows, []any{h.Stage, h.Signal, threshold, b.Low, b.High, b.Docs})
		}
	}
	return t
}

func (r *Report) clustersTable() Table {
	t := Table{Name: TableClusters, Columns: []Column{{"cluster_size", Count}, {"clusters", Count}, {"docs", Count}}}
	for _, c := range r.Clusters {
		t.Rows = append(t.Rows, []any{c.Size, c.Clusters, c.Docs})
	}
	return t
}

func changeTable(name, key string, rows []Change) Table {
	t := Table{Name: name, Columns: []Column{
		{key, Text}, {"status", Text}, {"docs_before", Count}, {"docs", Count},
		{"docs_share_before", Fraction}, {"docs_share", Fraction}, {"docs_share_delta", Fraction},
		{"tokens_share_before", Fraction}, {"tokens_share", Fraction}, {"tokens_share_delta", Fraction},
	}}
	for _, c := range rows {
		t.Rows = append(t.Rows, []any{
			c.Name, c.Status, c.DocsBefore, c.Docs,
			c.ShareBefore, c.Share, c.Share - c.ShareBefore,
			c.TokensShareBefore, c.TokensShare, c.TokensShare - c.TokensShareBefore,
		})
	}
	return t
}

func (r *Report) divergenceTable() Table {
	t := Table{Name: TableDivergence, Columns: []Column{{"measure", Text}, {"js_divergence_bits", Number}}}
	for _, d := range r.Divergence {
		t.Rows = append(t.Rows, []any{d.Measure, d.Divergence})
	}
	return t
}
