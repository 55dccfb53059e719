package loader

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"path"
	"slices"
	"sort"

	"github.com/winnow-data/winnow/pipeline"
)

// layout is the documents of one version: its shards in manifest order,
// each with the rows that the version's deletions leave in it.
type layout struct {
	shards []shardInfo
	docs   int64 // live documents of the version
}

// shardInfo is one shard of a version.
type shardInfo struct {
	pipeline.ShardRecord
	deleted []uint32 // rows the manifest deletes, ascending
	live    int64    // rows minus deleted rows
}

// docRef names one row of one shard, by the shard's index in the manifest.
type docRef struct {
	shard uint32
	row   uint32
}

// ReadVersion reads the manifest of version id from store, checking its
// content hash; "" and "latest" name the latest version.
func ReadVersion(ctx context.Context, store Storage, id string) (*pipeline.Manifest, error) {
	ms := manifestStore{ctx: ctx, s: store}
	if id == "" || id == "latest" {
		latest, err := pipeline.LatestVersion(ms)
		if err != nil {
			return nil, err
		}
		id = latest
	}
	return pipeline.ReadManifest(ms, id)
}

// newLayout checks that every shard m lists is in store with the size the
// manifest records, and maps the manifest's deletions to rows. It lists
// each shard folder once rather than asking for every shard, because on
// an object store every call is a request. The contents are checked
// against their SHA-256 later, when each shard is fetched.
func newLayout(ctx context.Context, store Storage, m *pipeline.Manifest) (*layout, error) {
	if len(m.Shards) > math.MaxUint32 {
		return nil, fmt.Errorf("version %s has %d shards, more than the loader addresses", m.ID, len(m.Shards))
	}
	sizes := map[string]int64{}
	listed := map[string]bool{}
	for _, s := range m.Shards {
		dir := path.Dir(s.Path)
		if listed[dir] {
			continue
		}
		listed[dir] = true
		entries, err := store.List(ctx, dir)
		if err != nil {
			return nil, fmt.Errorf("listing shards of version %s in %s: %w", m.ID, store, err)
		}
		for _, e := range entries {
			sizes[path.Join(dir, e.Name)] = e.Size
		}
	}

	lay := &layout{shards: make([]shardInfo, len(m.Shards))}
	index := map[string]int{}
	for i, s := range m.Shards {
		size, ok := sizes[s.Path]
		if !ok {
			return nil, fmt.Errorf("shard %s of version %s is missing from %s: %w", s.Path, m.ID, store, fs.ErrNotExist)
		}
		if size != s.Bytes {
			return nil, fmt.Errorf("shard %s of version %s has %d bytes, the manifest records %d: %w", s.Path, m.ID, size, s.Bytes, pipeline.ErrChecksumMismatch)
		}
		if s.Rows < 0 || s.Rows > math.MaxUint32 {
			return nil, fmt.Errorf("shard %s of version %s records %d rows, outside 0 to %d", s.Path, m.ID, s.Rows, uint32(math.MaxUint32))
		}
		if _, dup := index[s.Path]; dup {
			return nil, fmt.Errorf("version %s lists shard %s twice", m.ID, s.Path)
		}
		index[s.Path] = i
		lay.shards[i] = shardInfo{ShardRecord: s, live: s.Rows}
	}
	if err := lay.applyDeletions(m, index); err != nil {
		return nil, err
	}
	for _, s := range lay.shards {
		lay.docs += s.live
	}
	return lay, nil
}

// applyDeletions records the deleted rows of each shard.
func (lay *layout) applyDeletions(m *pipeline.Manifest, index map[string]int) error {
	for shardPath, rows := range m.DeletedRows() {
		i, ok := index[shardPath]
		if !ok {
			return fmt.Errorf("version %s deletes rows of shard %s, which it does not list", m.ID, shardPath)
		}
		s := &lay.shards[i]
		for r := range rows {
			if r < 0 || r >= s.Rows {
				return fmt.Errorf("version %s deletes row %d of shard %s, which has %d rows", m.ID, r, shardPath, s.Rows)
			}
			s.deleted = append(s.deleted, uint32(r))
		}
		slices.Sort(s.deleted)
		s.live = s.Rows - int64(len(s.deleted))
	}
	return nil
}

// row returns the physical row of the shard's live-th live row. The j-th
// deleted row d_j (from 0) has d_j - j live rows before it, a sequence
// that never decreases, so the deleted rows at or before the result are
// those with d_j - j <= live.
func (s *shardInfo) row(live int64) uint32 {
	if len(s.deleted) == 0 {
		return uint32(live)
	}
	before := sort.Search(len(s.deleted), func(j int) bool {
		return int64(s.deleted[j])-int64(j) > live
	})
	return uint32(live + int64(before))
}

// isDeleted reports whether the manifest deletes row.
func (s *shardInfo) isDeleted(row uint32) bool {
	_, found := slices.BinarySearch(s.deleted, row)
	return found
}

// errEmptyVersion is returned for a version with no documents left.
var errEmptyVersion = errors.New("version has no documents to load")
