// Package report builds an analyst's view of one dataset version. The view
// shows what the version is made of (language and source shares, languages
// by source) and what its run removed (the stage funnel, drops by reason,
// the measured signals of dropped documents, near-duplicate cluster sizes).
// Against an earlier version, it also shows what changed. It is written as
// one self-contained HTML file with inline SVG charts, as JSON, or as a
// folder of CSV files, and all three contain the same tables.
//
// Build computes a Report from manifests and the statistics of a rejects
// output; Tables flattens it into the rows that every format writes.
package report
