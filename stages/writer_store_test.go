package stages

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/winnow-data/winnow/internal/testutil"
	"github.com/winnow-data/winnow/objstore"
	"github.com/winnow-data/winnow/objstore/s3test"
	"github.com/winnow-data/winnow/pipeline"
)

// s3Root starts versitygw with a bucket and returns the store of the
// dataset root s3://bucket/prefix on it.
func s3Root(t *testing.T, bucket, prefix string) (*s3test.Server, *objstore.Store) {
	t.Helper()
	srv := s3test.StartWithMetadata(t)
	srv.MakeBucket(bucket)
	t.Setenv("AWS_ACCESS_KEY_ID", s3test.AccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", s3test.SecretKey)
	c, err := objstore.New(objstore.Config{Endpoint: srv.Endpoint, Region: "us-east-1", PathStyle: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	store, err := objstore.NewStore(c, objstore.URL(bucket, prefix))
	if err != nil {
		t.Fatal(err)
	}
	return srv, store
}

// writeStoreDocs writes docs through a sink on store, staging in staging,
// and closes it.
func writeStoreDocs(t *testing.T, store pipeline.Store, staging string, cfg pipeline.OutputConfig, docs []sinkDoc, batchSize int) *ParquetSink {
	t.Helper()
	sink, err := NewStoreParquetSink(store, staging, cfg, pipeline.Env{})
	if err != nil {
		t.Fatalf("NewStoreParquetSink: %v", err)
	}
	ctx := context.Background()
	for _, b := range buildBatches(docs, batchSize) {
		if err := sink.Write(ctx, b); err != nil {
			t.Fatalf("Write batch %d: %v", b.Seq, err)
		}
		b.Release()
	}
	if err := sink.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	return sink
}

func TestParquetSinkOnS3MatchesLocal(t *testing.T) {
	srv, store := s3Root(t, "datasets", "web/en")
	cfg := testOutput(2<<10, 6<<10)
	docs := awkwardDocs()
	staging := t.TempDir()
	sink := writeStoreDocs(t, store, staging, cfg, docs, 9)
	local := writeDocs(t, t.TempDir(), cfg, docs, 9)

	if len(sink.Shards()) < 2 {
		t.Fatalf("wrote %d shards, want several for the test to mean something", len(sink.Shards()))
	}
	if !slices.Equal(sink.Shards(), local.Shards()) {
		t.Errorf("shard records on S3 differ from a local root's:\n%v\n%v", sink.Shards(), local.Shards())
	}
	if entries, _ := os.ReadDir(staging); len(entries) > 0 {
		t.Errorf("staging folder holds %d files after Close, want none", len(entries))
	}

	id, err := pipeline.Commit(store, &pipeline.Manifest{Shards: sink.Shards(), Totals: sink.Totals()})
	if err != nil {
		t.Fatalf("Commit: %v", err)
	}
	m, err := pipeline.ReadManifest(store, id)
	if err != nil {
		t.Fatal(err)
	}

	// awscli, an independent client, downloads the root; DuckDB reads the
	// shards, and each file matches its manifest record.
	dir := t.TempDir()
	srv.AWS("s3", "cp", "--recursive", "--only-show-errors", "s3://datasets/web/en", dir)
	for _, sh := range m.Shards {
		data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(sh.Path)))
		if err != nil {
			t.Fatalf("shard %s was not uploaded: %v", sh.Path, err)
		}
		sum := sha256.Sum256(data)
		if int64(len(data)) != sh.Bytes || hex.EncodeToString(sum[:]) != sh.SHA256 {
			t.Errorf("shard %s: %d bytes, sha256 %x; manifest records %d, %s", sh.Path, len(data), sum, sh.Bytes, sh.SHA256)
		}
	}
	rows := testutil.DuckDBQuery(t, `SELECT id FROM read_parquet(`+shardGlob(dir)+`) ORDER BY id`)
	kept := keptDocs(docs)
	if len(rows) != len(kept) || int64(len(rows)) != m.Totals.Docs {
		t.Fatalf("DuckDB reads %d rows, want %d kept documents (manifest totals %d)", len(rows), len(kept), m.Totals.Docs)
	}
	for i, row := range rows {
		if row["id"] != kept[i].ID {
			t.Fatalf("row %d id = %v, want %s", i, row["id"], kept[i].ID)
		}
	}

	var ids []string
	err = ReadStoreVersionDocs(context.Background(), store, m, func(d pipeline.SeedDoc) error {
		ids = append(ids, d.ID)
		return nil
	})
	if err != nil {
		t.Fatalf("ReadStoreVersionDocs: %v", err)
	}
	if len(ids) != len(kept) {
		t.Errorf("ReadStoreVersionDocs read %d documents, want %d", len(ids), len(kept))
	}
}

func TestReadStoreVersionDocsCatchesFlippedByte(t *testing.T) {
	srv, store := s3Root(t, "datasets", "flip")
	sink := writeStoreDocs(t, store, "", testOutput(4<<10, 1<<20), awkwardDocs()[:20], 7)
	id, err := pipeline.Commit(store, &pipeline.Manifest{Shards: sink.Shards(), Totals: sink.Totals()})
	if err != nil {
		t.Fatal(err)
	}
	m, err := pipeline.ReadManifest(store, id)
	if err != nil {
		t.Fatal(err)
	}

	// Flip one byte of the object in the server's backend folder.
	p := filepath.Join(srv.Dir, "datasets", "flip", filepath.FromSlash(m.Shards[0].Path))
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)/2] ^= 0x01
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}

	err = ReadStoreVersionDocs(context.Background(), store, m, func(pipeline.SeedDoc) error { return nil })
	if !errors.Is(err, pipeline.ErrChecksumMismatch) {
		t.Errorf("ReadStoreVersionDocs of a changed shard: %v, want ErrChecksumMismatch", err)
	}
	if err := pipeline.VerifyShards(store, m); !errors.Is(err, pipeline.ErrChecksumMismatch) {
		t.Errorf("VerifyShards of a changed shard: %v, want ErrChecksumMismatch", err)
	}
}

func TestRejectsWriterOnS3(t *testing.T) {
	srv, store := s3Root(t, "datasets", "rej")
	w, err := NewStoreRejectsWriter(store, t.TempDir(), 4<<10, 3)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	docs := awkwardDocs()
	for _, b := range buildBatches(docs, 16) {
		if err := w.Write(ctx, b); err != nil {
			t.Fatal(err)
		}
		b.Release()
	}
	if err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}
	dropped := len(docs) - len(keptDocs(docs))
	var rows int64
	for _, f := range w.Files() {
		info, err := store.Stat(f.Path)
		if err != nil {
			t.Fatalf("rejects file %s is not in the store: %v", f.Path, err)
		}
		if info.Size() != f.Bytes {
			t.Errorf("rejects file %s has %d bytes, record says %d", f.Path, info.Size(), f.Bytes)
		}
		rows += f.Rows
	}
	if rows != int64(dropped) {
		t.Errorf("rejects files hold %d rows, want the %d dropped documents", rows, dropped)
	}
	dir := t.TempDir()
	srv.AWS("s3", "cp", "--recursive", "--only-show-errors", "s3://datasets/rej/rejects", dir)
	got := testutil.DuckDBQuery(t, `SELECT count(*) AS n FROM read_parquet(`+sqlString(filepath.Join(dir, "*.parquet"))+`)`)
	if n := got[0]["n"]; n != float64(dropped) {
		t.Errorf("DuckDB counts %v rejected rows, want %d", n, dropped)
	}
}
