package cli

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"

	"github.com/zeebo/xxh3"

	"github.com/winnow-data/winnow/pipeline"
	"github.com/winnow-data/winnow/stages"
)

// groupDiff is the document change of one language or source.
type groupDiff struct {
	Name    string `json:"name"`
	Before  int64  `json:"docs_before"`
	After   int64  `json:"docs_after"`
	Added   int64  `json:"added"`
	Removed int64  `json:"removed"`
}

// docDiff is the document-level change from one version to another.
type docDiff struct {
	Added     int64       `json:"added"`
	Removed   int64       `json:"removed"`
	Changed   int64       `json:"changed"` // ids in both whose text differs; counted in Added and Removed too
	Unchanged int64       `json:"unchanged"`
	SourceKey string      `json:"source_key"` // the source naming: url_domain, source or input
	Languages []groupDiff `json:"languages"`
	Sources   []groupDiff `json:"sources"`
}

// docEntry counts the copies of one document, by id and text, in each
// version, with the language and source of the first copy read.
type docEntry struct {
	before, after int32
	lang, source  string
	id            string
}

// diffDocuments compares the documents of two versions by id and text
// hash. Shards that both versions list with the same deleted rows hold the
// same documents in both and are not read.
//
// NOTE: the comparison holds one entry per document of the shards it
// reads, about 100 bytes each, so a diff of versions with hundreds of
// millions of documents needs tens of GB of memory.
func diffDocuments(ctx context.Context, root string, a, b *pipeline.Manifest, sourceKey string) (*docDiff, error) {
	shared := identicalShards(a, b)
	entries := map[[2]uint64]*docEntry{}
	read := func(m *pipeline.Manifest, after bool) error {
		deleted := m.DeletedRows()
		for _, sh := range m.Shards {
			if shared[sh.Path] {
				continue
			}
			skip := deleted[sh.Path]
			err := stages.ReadParquetRows(ctx, shardFile(root, sh.Path), func(row int64, r *docRow) error {
				if skip[row] {
					return nil
				}
				key := [2]uint64{xxh3.HashString(r.ID), xxh3.HashString(r.Text)}
				e := entries[key]
				if e == nil {
					e = &docEntry{id: r.ID, lang: orUnknown(r.Lang, stages.LangUndetermined), source: sourceName(sourceKey, r)}
					entries[key] = e
				}
				if after {
					e.after++
				} else {
					e.before++
				}
				return nil
			})
			if err != nil {
				return fmt.Errorf("reading shard %s of version %s: %w", sh.Path, m.ID, err)
			}
		}
		return nil
	}
	if err := read(a, false); err != nil {
		return nil, err
	}
	if err := read(b, true); err != nil {
		return nil, err
	}

	d := &docDiff{SourceKey: sourceKey}
	langs, sources := map[string]*groupDiff{}, map[string]*groupDiff{}
	addedIDs, removedIDs := map[string]bool{}, map[string]bool{}
	for _, e := range entries {
		added, removed := int64(max(e.after-e.before, 0)), int64(max(e.before-e.after, 0))
		d.Added += added
		d.Removed += removed
		d.Unchanged += int64(min(e.before, e.after))
		for _, g := range []*groupDiff{group(langs, e.lang), group(sources, e.source)} {
			g.Before += int64(e.before)
			g.After += int64(e.after)
			g.Added += added
			g.Removed += removed
		}
		if added > 0 {
			addedIDs[e.id] = true
		}
		if removed > 0 {
			removedIDs[e.id] = true
		}
	}
	for id := range addedIDs {
		if removedIDs[id] {
			d.Changed++
		}
	}
	// Shards common to both versions add the same documents to each side.
	deletedA := a.DeletedRows()
	for _, sh := range a.Shards {
		if shared[sh.Path] {
			d.Unchanged += sh.Rows - int64(len(deletedA[sh.Path]))
		}
	}
	if len(shared) > 0 {
		if err := addSharedGroups(ctx, root, a, shared, sourceKey, langs, sources); err != nil {
			return nil, err
		}
	}
	d.Languages = sortedGroups(langs)
	d.Sources = sortedGroups(sources)
	return d, nil
}

// addSharedGroups counts the documents of the shared shards, unchanged by
// definition, in their language and source, so each group's totals are
// whole.
func addSharedGroups(ctx context.Context, root string, m *pipeline.Manifest, shared map[string]bool, sourceKey string, langs, sources map[string]*groupDiff) error {
	type groupRow struct {
		URL    string `parquet:"url"`
		Source string `parquet:"source"`
		Lang   string `parquet:"lang"`
		Input  string `parquet:"input"`
	}
	deleted := m.DeletedRows()
	for _, sh := range m.Shards {
		if !shared[sh.Path] {
			continue
		}
		skip := deleted[sh.Path]
		err := stages.ReadParquetRows(ctx, shardFile(root, sh.Path), func(row int64, r *groupRow) error {
			if skip[row] {
				return nil
			}
			d := &docRow{URL: r.URL, Source: r.Source, Input: r.Input}
			for _, g := range []*groupDiff{group(langs, orUnknown(r.Lang, stages.LangUndetermined)), group(sources, sourceName(sourceKey, d))} {
				g.Before++
				g.After++
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("reading shard %s of version %s: %w", sh.Path, m.ID, err)
		}
	}
	return nil
}

// identicalShards returns the shards that a and b both list with the same
// deleted rows.
func identicalShards(a, b *pipeline.Manifest) map[string]bool {
	inB := map[string]bool{}
	for _, sh := range b.Shards {
		inB[sh.Path] = true
	}
	da, db := a.DeletedRows(), b.DeletedRows()
	out := map[string]bool{}
	for _, sh := range a.Shards {
		if inB[sh.Path] && maps.Equal(da[sh.Path], db[sh.Path]) {
			out[sh.Path] = true
		}
	}
	return out
}

// sourceName names the source of a row as the balance accounting does for
// key.
func sourceName(key string, r *docRow) string {
	var s string
	switch key {
	case pipeline.SourceByDomain:
		s = stages.URLDomain(r.URL)
	case pipeline.SourceByInput:
		s = r.Input
	default:
		s = r.Source
	}
	return orUnknown(s, "unknown")
}

func group(m map[string]*groupDiff, name string) *groupDiff {
	g := m[name]
	if g == nil {
		g = &groupDiff{Name: name}
		m[name] = g
	}
	return g
}

// sortedGroups orders groups by the size of their change, then by name.
func sortedGroups(m map[string]*groupDiff) []groupDiff {
	out := make([]groupDiff, 0, len(m))
	for _, g := range m {
		out = append(out, *g)
	}
	slices.SortFunc(out, func(x, y groupDiff) int {
		return cmp.Or(cmp.Compare(y.Added+y.Removed, x.Added+x.Removed), cmp.Compare(y.After, x.After), cmp.Compare(x.Name, y.Name))
	})
	return out
}

// shardFile returns the file path of the store name rel under root.
func shardFile(root, rel string) string {
	return filepath.Join(root, filepath.FromSlash(rel))
}

// configChange is one setting that differs between two resolved configs.
type configChange struct {
	Path   string `json:"path"` // such as stages.gopher_quality.min_words
	Before string `json:"before"`
	After  string `json:"after"`
}

// diffConfigs compares two resolved configs setting by setting. Stages
// are matched by name, and a change of their order is one more change.
func diffConfigs(a, b any) []configChange {
	fa, fb := map[string]string{}, map[string]string{}
	flattenConfig("", a, fa)
	flattenConfig("", b, fb)
	var out []configChange
	keys := slices.Sorted(maps.Keys(fa))
	for k := range fb {
		if _, ok := fa[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		va, okA := fa[k]
		vb, okB := fb[k]
		if okA && okB && va == vb {
			continue
		}
		if !okA {
			va = "(unset)"
		}
		if !okB {
			vb = "(unset)"
		}
		out = append(out, configChange{Path: k, Before: va, After: vb})
	}
	return out
}

// flattenConfig writes every leaf of a JSON-like value under its dotted
// path. The stages list becomes one entry per stage name and its order.
func flattenConfig(prefix string, v any, out map[string]string) {
	switch x := v.(type) {
	case map[string]any:
		for k, sub := range x {
			path := k
			if prefix != "" {
				path = prefix + "." + k
			}
			if path == "stages" {
				flattenStages(sub, out)
				continue
			}
			flattenConfig(path, sub, out)
		}
	default:
		raw, _ := json.Marshal(x)
		out[prefix] = string(raw)
	}
}

func flattenStages(v any, out map[string]string) {
	list, _ := v.([]any)
	var names []string
	for _, item := range list {
		s, _ := item.(map[string]any)
		name, _ := s["name"].(string)
		names = append(names, name)
		if opts, ok := s["options"].(map[string]any); ok && len(opts) > 0 {
			flattenConfig("stages."+name, opts, out)
		} else {
			out["stages."+name] = "(no options)"
		}
	}
	out["stages (order)"] = strings.Join(names, " -> ")
}
