package pipeline

import (
	"cmp"
	"slices"
	"time"

	"github.com/winnow-data/winnow/mixture"
)

// ManifestFormat is the version of the manifest layout written by this code.
const ManifestFormat = 1

// Manifest describes one committed version of a dataset. A version is a
// full snapshot: Shards lists every shard a reader needs, with paths
// relative to the dataset root. The file versions/<ID>.json holds it.
type Manifest struct {
	Format     int           `json:"format"`
	ID         string        `json:"id"` // content hash of the manifest written with an empty ID
	Tag        string        `json:"tag,omitempty"`
	Parent     string        `json:"parent,omitempty"` // previous latest version, empty for the first
	Message    string        `json:"message,omitempty"`
	CreatedAt  time.Time     `json:"created_at"`
	Winnow     BuildInfo     `json:"winnow"`
	Config     any           `json:"config"`      // the resolved config, defaults applied
	ConfigHash string        `json:"config_hash"` // sha256 of the resolved config's canonical JSON
	Inputs     []InputRecord `json:"inputs"`
	Shards     []ShardRecord `json:"shards"`
	Rejects    []ShardRecord `json:"rejects,omitempty"` // files of dropped documents, when output.rejects is set
	// Deletions are rows of Shards that are not part of this version. A
	// global deduplication pass removes documents this way instead of
	// rewriting shards; every reader must skip them.
	Deletions []Deletion `json:"deletions,omitempty"`
	// DedupOf is the version a `winnow dedup` pass deduplicated to make
	// this one, empty for versions made by `winnow run`.
	DedupOf   string            `json:"dedup_of,omitempty"`
	Stages    []StageRecord     `json:"stages"`    // in dataflow order, source first and sink last
	Totals    Totals            `json:"totals"`    // kept documents
	Languages map[string]Totals `json:"languages"` // kept documents by lang
	Sources   map[string]Totals `json:"sources"`   // kept documents by source
	// Balance counts documents by language and source before and after
	// curation. Versions made by `winnow dedup` have none.
	Balance *BalanceRecord `json:"balance,omitempty"`
	// Expectations are the results of the config's data tests, evaluated
	// when the version was committed. It is nil when the config has none.
	Expectations *ExpectationsRecord `json:"expectations,omitempty"`
	// Forgotten lists the `winnow forget` requests that removed documents
	// from this version. ReadManifest fills it from the forget records. A
	// committed manifest has it only when it copied an earlier one's.
	Forgotten []ForgetNote `json:"forgotten,omitempty"`
	// Run ties the version to the run that made it and, for a checkpoint,
	// records where a restarted run continues. Versions made by other
	// commands have none.
	Run *RunRecord `json:"run,omitempty"`
	// Kafka records, per topic read, the next offset of every partition
	// the versions so far consumed.
	Kafka []KafkaRecord `json:"kafka,omitempty"`
}

// BalanceTotals are the documents, text bytes and tokens of a group that
// reached the end of the pipeline (Before) and that were kept (After).
type BalanceTotals struct {
	Before Totals `json:"before"`
	After  Totals `json:"after"`
}

// Add counts t before curation, and after it when kept.
func (b *BalanceTotals) Add(t Totals, kept bool) {
	b.Before.add(t)
	if kept {
		b.After.add(t)
	}
}

// BalanceCell is the balance of one language within one source.
type BalanceCell struct {
	Lang   string `json:"lang"`
	Source string `json:"source"`
	BalanceTotals
}

// BalanceRecord is the balance of a version by language, by source and by
// both. It includes the training mixture derived from it when the config
// sets balance.mixture.
type BalanceRecord struct {
	SourceKey string                   `json:"source_key"` // url_domain, source or input
	Languages map[string]BalanceTotals `json:"languages"`
	Sources   map[string]BalanceTotals `json:"sources"`
	Cells     []BalanceCell            `json:"cells"` // sorted by lang, then source
	Mixture   *MixtureRecord           `json:"mixture,omitempty"`
}

// MixtureRecord is the per-language training mixture of a version: the
// settings and, for each language, its share of the mix and expected
// repeats. The loader samples by these weights.
type MixtureRecord struct {
	Alpha        float64            `json:"alpha"`
	Targets      map[string]float64 `json:"targets,omitempty"`
	MaxRepeats   float64            `json:"max_repeats,omitempty"`
	BudgetTokens int64              `json:"budget_tokens"`
	Weights      []mixture.Weight   `json:"weights"`
	Warnings     []string           `json:"warnings,omitempty"`
}

// BuildInfo identifies the winnow build that wrote a manifest.
type BuildInfo struct {
	Version  string `json:"version"`
	Revision string `json:"revision,omitempty"` // VCS revision, when the build recorded one
}

// InputRecord is one input of a run and how much of it was consumed.
type InputRecord struct {
	URI       string `json:"uri"`        // as resolved from the run's inputs
	Format    string `json:"format"`     // jsonl, parquet or wet
	Size      int64  `json:"size"`       // bytes of the file
	SHA256    string `json:"sha256"`     // of the file's bytes
	Records   int64  `json:"records"`    // records read, malformed ones included
	BytesRead int64  `json:"bytes_read"` // decoded bytes consumed
	Complete  bool   `json:"complete"`   // false when the file ended early, e.g. truncated
	Error     string `json:"error,omitempty"`

	// Path is the path the file was opened at: the path given on the
	// command line or in the config, joined with the name found under a
	// folder or glob. NOTE: JSON encoding replaces bytes that are not valid
	// UTF-8 with U+FFFD, so such a path cannot be reopened from a manifest.
	Path string `json:"path"`
}

// ShardRecord is one Parquet shard of a version.
type ShardRecord struct {
	Path      string `json:"path"` // relative to the dataset root, e.g. shards/<sha256>.parquet
	Rows      int64  `json:"rows"`
	Bytes     int64  `json:"bytes"`
	SHA256    string `json:"sha256"`
	RowGroups int    `json:"row_groups"`
}

// StageRecord is the count of documents in, out and dropped by one stage of
// the run that made a version.
type StageRecord struct {
	Name     string           `json:"name"`
	DocsIn   int64            `json:"docs_in"`
	DocsOut  int64            `json:"docs_out"`
	BytesIn  int64            `json:"bytes_in"`
	BytesOut int64            `json:"bytes_out"`
	Dropped  map[string]int64 `json:"dropped,omitempty"` // by reason code
	Events   map[string]int64 `json:"events,omitempty"`  // counted events that are not drops
}

// Totals counts documents, text bytes and tokens.
type Totals struct {
	Docs   int64 `json:"docs"`
	Bytes  int64 `json:"bytes"`
	Tokens int64 `json:"tokens"`
}

func (t *Totals) add(o Totals) {
	t.Docs += o.Docs
	t.Bytes += o.Bytes
	t.Tokens += o.Tokens
}

// Merge adds the counts of o to r, group by group, as when a version
// appends a run to an earlier one. Mixtures are not merged.
func (r *BalanceRecord) Merge(o *BalanceRecord) {
	for k, v := range o.Languages {
		cur := r.Languages[k]
		cur.Before.add(v.Before)
		cur.After.add(v.After)
		r.Languages[k] = cur
	}
	for k, v := range o.Sources {
		cur := r.Sources[k]
		cur.Before.add(v.Before)
		cur.After.add(v.After)
		r.Sources[k] = cur
	}
	cells := map[[2]string]int{}
	for i, c := range r.Cells {
		cells[[2]string{c.Lang, c.Source}] = i
	}
	for _, c := range o.Cells {
		if i, ok := cells[[2]string{c.Lang, c.Source}]; ok {
			r.Cells[i].Before.add(c.Before)
			r.Cells[i].After.add(c.After)
			continue
		}
		r.Cells = append(r.Cells, c)
	}
	slices.SortFunc(r.Cells, func(x, y BalanceCell) int {
		return cmp.Or(cmp.Compare(x.Lang, y.Lang), cmp.Compare(x.Source, y.Source))
	})
}

// StageRecords turns run metrics into manifest records.
func (ms *Metrics) StageRecords() []StageRecord {
	out := make([]StageRecord, 0, len(ms.Stages))
	for _, m := range ms.Stages {
		r := StageRecord{
			Name:     m.Name,
			DocsIn:   m.DocsIn.Load(),
			DocsOut:  m.DocsOut.Load(),
			BytesIn:  m.BytesIn.Load(),
			BytesOut: m.BytesOut.Load(),
			Dropped:  m.Drops(),
			Events:   m.Events(),
		}
		out = append(out, r)
	}
	return out
}

// Deletion lists rows of one shard that a version leaves out.
type Deletion struct {
	Shard  string  `json:"shard"`  // path, as in ShardRecord.Path
	Rows   []int64 `json:"rows"`   // row numbers in the shard, from 0, ascending
	Reason string  `json:"reason"` // reason code, such as near_duplicate
}

// DeletedRows returns the deleted row numbers of each shard path.
func (m *Manifest) DeletedRows() map[string]map[int64]bool {
	out := map[string]map[int64]bool{}
	for _, d := range m.Deletions {
		rows := out[d.Shard]
		if rows == nil {
			rows = map[int64]bool{}
			out[d.Shard] = rows
		}
		for _, r := range d.Rows {
			rows[r] = true
		}
	}
	return out
}
