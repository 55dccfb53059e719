package stages

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"

	"github.com/parquet-go/parquet-go"

	"github.com/winnow-data/winnow/pipeline"
)

// seedRow is the part of a shard row that seeds deduplication stages.
type seedRow struct {
	ID        string `parquet:"id"`
	Text      string `parquet:"text"`
	Signature []byte `parquet:"signature,optional"`
}

// ReadVersionDocs calls fn for every document of version m under the
// local folder root, as ReadStoreVersionDocs does.
func ReadVersionDocs(ctx context.Context, root string, m *pipeline.Manifest, fn func(pipeline.SeedDoc) error) error {
	store, err := pipeline.OpenLocalStore(root)
	if err != nil {
		return err
	}
	return ReadStoreVersionDocs(ctx, store, m, fn)
}

// ReadStoreVersionDocs calls fn for every document of version m in store,
// in shard and row order, after checking each shard's checksum against m.
// Rows that m deletes are skipped. Shards written before the signature
// column existed give documents with no signature.
//
// On a LocalStore every shard is checked before the first document is
// read. On another store each shard is checked as FetchFile downloads it,
// so fn may have seen the documents of earlier shards when a later shard
// fails its check.
func ReadStoreVersionDocs(ctx context.Context, store pipeline.Store, m *pipeline.Manifest, fn func(pipeline.SeedDoc) error) error {
	if _, local := store.(*pipeline.LocalStore); local {
		if err := pipeline.VerifyShards(store, m); err != nil {
			return err
		}
	}
	deleted := m.DeletedRows()
	for _, sh := range m.Shards {
		skip := deleted[sh.Path]
		row := int64(-1)
		keep := func(doc pipeline.SeedDoc) error {
			row++
			if skip[row] {
				return nil
			}
			return fn(doc)
		}
		if err := readStoreShardDocs(ctx, store, sh, keep); err != nil {
			return fmt.Errorf("reading shard %s of version %s: %w", sh.Path, m.ID, err)
		}
	}
	return nil
}

func readStoreShardDocs(ctx context.Context, store pipeline.Store, sh pipeline.ShardRecord, fn func(pipeline.SeedDoc) error) error {
	p, cleanup, err := FetchFile(ctx, store, sh)
	if err != nil {
		return err
	}
	defer cleanup()
	return readShardDocs(ctx, p, fn)
}

// FetchFile returns the path of a local file that holds the file rec of
// store, and a function that deletes any temporary copy. On a LocalStore
// the path is the file itself and nothing is checked. On another store the
// file is downloaded to a temporary file in os.TempDir(), and its size and
// SHA-256 are checked against rec on the way. A mismatch gives an error
// that matches pipeline.ErrChecksumMismatch.
//
// A Parquet reader needs random access, to the footer first and then to
// the column chunks. One sequential download serves it with one request
// per file, and checks the very bytes that the reader then decodes. Ranged
// reads from the store would take a request for each page read.
func FetchFile(ctx context.Context, store pipeline.Store, rec pipeline.ShardRecord) (string, func(), error) {
	if local, ok := store.(*pipeline.LocalStore); ok {
		return filepath.Join(local.Root(), filepath.FromSlash(rec.Path)), func() {}, nil
	}
	if err := ctx.Err(); err != nil {
		return "", nil, err
	}

	src, err := store.Open(rec.Path)
	if err != nil {
		return "", nil, fmt.Errorf("downloading %s from %s: %w", rec.Path, store, err)
	}
	defer src.Close()
	tmp, err := os.CreateTemp("", "winnow-download-*"+path.Ext(rec.Path))
	if err != nil {
		return "", nil, fmt.Errorf("downloading %s from %s: %w", rec.Path, store, err)
	}
	cleanup := func() { os.Remove(tmp.Name()) }
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(tmp, h), src)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		cleanup()
		return "", nil, fmt.Errorf("downloading %s from %s: %w", rec.Path, store, err)
	}

	if n != rec.Bytes {
		cleanup()
		return "", nil, fmt.Errorf("downloading %s from %s: file has %d bytes, manifest records %d: %w", rec.Path, store, n, rec.Bytes, pipeline.ErrChecksumMismatch)
	}
	if got := hex.EncodeToString(h.Sum(nil)); rec.SHA256 != "" && got != rec.SHA256 {
		cleanup()
		return "", nil, fmt.Errorf("downloading %s from %s: sha256 is %s, manifest records %s: %w", rec.Path, store, got, rec.SHA256, pipeline.ErrChecksumMismatch)
	}
	return tmp.Name(), cleanup, nil
}

func readShardDocs(ctx context.Context, path string, fn func(pipeline.SeedDoc) error) error {
	return ReadParquetRows(ctx, path, func(_ int64, r *seedRow) error {
		return fn(pipeline.SeedDoc{ID: r.ID, Text: r.Text, Signature: r.Signature})
	})
}

// ReadParquetRows calls fn with every row of the Parquet file at path,
// decoded into the columns T names, and the row's number from 0.
func ReadParquetRows[T any](ctx context.Context, path string, fn func(row int64, r *T) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	r := parquet.NewGenericReader[T](f)
	defer r.Close()
	rows := make([]T, 256)
	next := int64(0)
	for {
		n, err := r.Read(rows)
		for i := range n {
			if err := fn(next, &rows[i]); err != nil {
				return err
			}
			next++
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
}
