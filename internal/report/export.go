package report

import "github.com/winnow-data/winnow/pipeline"

// Changes compares the groups of two versions, such as their languages:
// one row per group kept in either, with its document and token shares
// before and now, the largest change of document share first.
func Changes(now, before map[string]pipeline.Totals) []Change { return changes(now, before) }

// KeptSources returns a version's kept totals by source, named as its
// balance record names them (by default the URL's domain), or by the
// source field for a version without a balance record.
func KeptSources(m *pipeline.Manifest) map[string]pipeline.Totals { return keptSources(m) }

// SourceKey returns what KeptSources names a source by: url_domain,
// source or input.
func SourceKey(m *pipeline.Manifest) string { return sourceKey(m) }
