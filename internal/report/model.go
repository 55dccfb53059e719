package report

import "time"

// Report is the view of one version, and optionally of its changes since
// an earlier one. Every slice is in display order.
type Report struct {
	Version VersionInfo
	Against *VersionInfo // the version compared with, nil without one

	// SourceKey is the name of a source: url_domain, source or input as
	// the balance accounting chose, or source (the field) for versions
	// without a balance record.
	SourceKey string

	Languages  []Share
	Sources    []Share
	Grid       []Cell // documents by language and source, for the heat map
	Mixture    []MixtureRow
	Stages     []StageRow
	Drops      []DropRow
	Events     []EventRow
	Histograms []Histogram
	Clusters   []ClusterRow

	// Filled only when the report compares two versions.
	LanguageChanges []Change
	SourceChanges   []Change
	Divergence      []DivergenceRow

	// Notes explain, by table name, why a table is empty or what it
	// leaves out.
	Notes map[string]string
}

// VersionInfo identifies a version and sums up what it holds.
type VersionInfo struct {
	ID         string
	CreatedAt  time.Time
	Parent     string
	Tag        string
	Message    string
	Winnow     string // winnow's version and VCS revision
	ConfigHash string
	DedupOf    string // the version a `winnow dedup` pass made this one from
	Docs       int64  // kept documents
	Bytes      int64  // text bytes of the kept documents
	Tokens     int64
	DocsRead   int64 // documents the source stage passed on, 0 when unknown
	Shards     int
	Rejects    int // rejects files
}

// Share is one language's or source's kept documents, bytes and tokens,
// with its share of each total (fractions from 0 to 1).
type Share struct {
	Name        string
	Docs        int64
	Bytes       int64
	Tokens      int64
	DocsShare   float64
	BytesShare  float64
	TokensShare float64
	// DocsBefore counts the documents of the group that reached the end
	// of the pipeline, kept or dropped; -1 when the version has no
	// balance record.
	DocsBefore int64
}

// Cell is the kept documents of one language within one source.
type Cell struct {
	Lang       string
	Source     string
	Docs       int64
	Bytes      int64
	Tokens     int64
	DocsBefore int64
}

// MixtureRow is one language's weight in the training mixture recorded
// in the manifest.
type MixtureRow struct {
	Lang    string
	Tokens  int64
	Natural float64 // share of the kept tokens
	Share   float64 // share of the training mix
	Repeats float64 // expected passes over the language's tokens
	Capped  bool    // the share was cut to respect the repeat cap
}

// StageRow is one stage of the funnel, in dataflow order.
type StageRow struct {
	Stage    string
	DocsIn   int64
	DocsOut  int64
	Dropped  int64
	BytesIn  int64
	BytesOut int64
}

// DropRow is the documents one stage dropped for one reason.
type DropRow struct {
	Stage  string
	Reason string
	Docs   int64
	// Share is Docs as a fraction of the documents that reached the
	// stage (for the source stage, of the records it read).
	Share float64
}

// EventRow is an event a stage counted without dropping the document,
// such as a replaced email address.
type EventRow struct {
	Stage string
	Event string
	Count int64
}

// Histogram is the distribution of one measured signal over the documents
// that a stage dropped for it.
type Histogram struct {
	Stage  string
	Signal string
	// Thresholds are the distinct thresholds the dropped rows name, in
	// ascending order; usually one.
	Thresholds []float64
	Docs       int64
	Bins       []Bin
}

// Bin is one bin of a histogram: values from Low up to High, High
// included only in the last bin.
type Bin struct {
	Low  float64
	High float64
	Docs int64
}

// ClusterRow is the number of near-duplicate clusters of one size. A
// cluster is a kept document and the documents dropped as its near
// duplicates.
type ClusterRow struct {
	Size     int64
	Clusters int64
	Docs     int64 // Size * Clusters
}

// Change compares one language or source between the earlier version
// (Before) and this one.
type Change struct {
	Name   string
	Status string // new, lost or common
	// Documents and shares of documents and tokens, shares as fractions.
	DocsBefore        int64
	Docs              int64
	ShareBefore       float64
	Share             float64
	TokensShareBefore float64
	TokensShare       float64
}

// Change statuses.
const (
	statusNew    = "new"
	statusLost   = "lost"
	statusCommon = "common"
)

// DivergenceRow is the Jensen-Shannon divergence of the language mix of
// the two versions, measured by documents, bytes or tokens.
type DivergenceRow struct {
	Measure    string
	Divergence float64 // in bits, from 0 (same mix) to 1 (no language in common)
}
