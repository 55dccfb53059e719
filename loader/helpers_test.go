package loader

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/winnow-data/winnow/pipeline"
	"github.com/winnow-data/winnow/stages"
)

// testDocs returns n documents with ids "0" to "n-1" and texts of about
// 200 bytes of random words that start with their id.
func testDocs(n int) []pipeline.Doc {
	r := newRNG(1, "test docs")
	docs := make([]pipeline.Doc, n)
	for i := range docs {
		var text strings.Builder
		fmt.Fprintf(&text, "document %d", i)
		for range 25 {
			fmt.Fprintf(&text, " %x", r.below(1<<24))
		}
		docs[i] = pipeline.Doc{
			ID:   fmt.Sprint(i),
			Text: text.String(),
			URL:  fmt.Sprintf("https://example.com/%d", i),
		}
	}
	return docs
}

// writeVersion writes docs as shards of about shardBytes under root with
// winnow's own Parquet sink, commits them as a version and returns its
// manifest.
func writeVersion(t testing.TB, root string, docs []pipeline.Doc, shardBytes int64) *pipeline.Manifest {
	t.Helper()
	ctx := context.Background()
	store, err := pipeline.NewLocalStore(root)
	if err != nil {
		t.Fatal(err)
	}
	cfg := pipeline.OutputConfig{ShardMaxBytes: shardBytes, RowGroupMaxBytes: max(shardBytes/4, 1), ZstdLevel: 3}
	sink, err := stages.NewParquetSink(root, cfg, pipeline.NewEnv(slog.New(slog.DiscardHandler), "sink"))
	if err != nil {
		t.Fatal(err)
	}

	bb := pipeline.NewBatchBuilder()
	for i := range docs {
		bb.Append(&docs[i])
		if bb.Len() == 100 || i == len(docs)-1 {
			b := bb.Build(uint64(i))
			if err := sink.Write(ctx, b); err != nil {
				t.Fatal(err)
			}
			b.Release()
		}
	}
	if err := sink.Close(ctx); err != nil {
		t.Fatal(err)
	}

	parent, err := pipeline.LatestVersion(store)
	if errors.Is(err, pipeline.ErrNoVersions) {
		parent, err = "", nil
	}
	if err != nil {
		t.Fatal(err)
	}
	m := &pipeline.Manifest{
		Parent:    parent,
		Shards:    sink.Shards(),
		Totals:    sink.Totals(),
		Languages: sink.Languages(),
		Sources:   sink.Sources(),
	}
	if _, err := pipeline.Commit(store, m); err != nil {
		t.Fatal(err)
	}
	return m
}

// commitManifest commits m, changed from an earlier manifest, as the
// latest version of root.
func commitManifest(t testing.TB, root string, m *pipeline.Manifest) *pipeline.Manifest {
	t.Helper()
	store, err := pipeline.OpenLocalStore(root)
	if err != nil {
		t.Fatal(err)
	}
	latest, err := pipeline.LatestVersion(store)
	if err != nil {
		t.Fatal(err)
	}
	m.Parent = latest
	m.CreatedAt = m.CreatedAt.Add(1)
	if _, err := pipeline.Commit(store, m); err != nil {
		t.Fatal(err)
	}
	return m
}

// openLoader opens the dataset at root with opts and closes the loader
// when the test ends.
func openLoader(t testing.TB, root string, opts Options) *Loader {
	t.Helper()
	store, err := OpenLocalDir(root)
	if err != nil {
		t.Fatal(err)
	}
	l, err := Open(t.Context(), store, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// drain returns every batch of l until io.EOF.
func drain(t testing.TB, l *Loader) []*Batch {
	t.Helper()
	var out []*Batch
	for {
		b, err := l.Next(t.Context())
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
}

// take returns the next n batches of l.
func take(t testing.TB, l *Loader, n int) []*Batch {
	t.Helper()
	out := make([]*Batch, 0, n)
	for range n {
		b, err := l.Next(t.Context())
		if err != nil {
			t.Fatalf("batch %d of %d: %v", len(out)+1, n, err)
		}
		out = append(out, b)
	}
	return out
}

// ids returns the document ids of batches, in order.
func ids(batches []*Batch) []string {
	var out []string
	for _, b := range batches {
		for _, d := range b.Docs {
			out = append(out, d.ID)
		}
	}
	return out
}
