package loader

import (
	"bufio"
	"compress/gzip"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/winnow-data/winnow/pipeline"
)

// sampleDocs reads the bundled Common Crawl sample: 697 real web pages,
// 2.9 MB of text.
func sampleDocs(b *testing.B) []pipeline.Doc {
	b.Helper()
	f, err := os.Open(filepath.Join("..", "testdata", "cc-2019-30-00140.dolma.jsonl.gz"))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		b.Fatal(err)
	}
	var docs []pipeline.Doc
	sc := bufio.NewScanner(zr)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		var d struct {
			ID   string `json:"id"`
			Text string `json:"text"`
		}
		if err := json.Unmarshal(sc.Bytes(), &d); err != nil {
			b.Fatal(err)
		}
		docs = append(docs, pipeline.Doc{ID: d.ID, Text: d.Text})
	}
	if err := sc.Err(); err != nil {
		b.Fatal(err)
	}
	return docs
}

// sampleShard writes the sample as one shard with winnow's defaults (zstd
// level 3, 64 MiB row groups) and returns its layout.
func sampleShard(b *testing.B) (Storage, *shardInfo) {
	root := b.TempDir()
	m := writeVersion(b, root, sampleDocs(b), 512<<20)
	store, err := OpenLocalDir(root)
	if err != nil {
		b.Fatal(err)
	}
	lay, err := newLayout(context.Background(), store, m)
	if err != nil {
		b.Fatal(err)
	}
	if len(lay.shards) != 1 {
		b.Fatalf("sample wrote %d shards, want 1", len(lay.shards))
	}
	return store, &lay.shards[0]
}

// BenchmarkLoaderDecode measures decoding the columns a batch carries
// from a zstd Parquet shard already in memory, in bytes of text.
func BenchmarkLoaderDecode(b *testing.B) {
	store, s := sampleShard(b)
	rc, err := store.Open(context.Background(), s.Path)
	if err != nil {
		b.Fatal(err)
	}
	data := make([]byte, s.Bytes)
	if _, err := rc.Read(data); err != nil {
		b.Fatal(err)
	}
	rc.Close()
	var text int64
	b.ReportAllocs()
	for b.Loop() {
		d, err := decodeShard(data, s.Rows, docColumns)
		if err != nil {
			b.Fatal(err)
		}
		text = 0
		for _, t := range d.texts {
			text += int64(len(t))
		}
	}
	b.SetBytes(text)
}

// BenchmarkLoaderFetchAndDecode adds reading the shard from a local file
// and checking its SHA-256, in bytes of text.
func BenchmarkLoaderFetchAndDecode(b *testing.B) {
	store, s := sampleShard(b)
	var text int64
	b.ReportAllocs()
	for b.Loop() {
		d, _, err := fetchShard(context.Background(), store, s, docColumns)
		if err != nil {
			b.Fatal(err)
		}
		text = 0
		for _, t := range d.texts {
			text += int64(len(t))
		}
	}
	b.SetBytes(text)
}
