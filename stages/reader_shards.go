package stages

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
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

// ReadVersionDocs calls fn for every document of version m under root, in
// shard and row order, after checking each shard's checksum against m. Rows
// that m deletes are skipped. Shards written before the signature column
// existed give documents with no signature.
func ReadVersionDocs(ctx context.Context, root string, m *pipeline.Manifest, fn func(pipeline.SeedDoc) error) error {
	store, err := pipeline.OpenLocalStore(root)
	if err != nil {
		return err
	}
	if err := pipeline.VerifyShards(store, m); err != nil {
		return err
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
		if err := readShardDocs(ctx, filepath.Join(root, filepath.FromSlash(sh.Path)), keep); err != nil {
			return fmt.Errorf("reading shard %s of version %s: %w", sh.Path, m.ID, err)
		}
	}
	return nil
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
