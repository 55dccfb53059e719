package stages

import (
	"context"
	"os"
	"testing"

	"github.com/winnow-data/winnow/pipeline"
)

// benchHTMLPages returns the HTML documents of the real WARC samples: 16
// Common Crawl pages in four charsets and 22 pages that wget fetched, from
// 6 KB to 200 KB each.
func benchHTMLPages(b *testing.B) []pipeline.Doc {
	b.Helper()
	var docs []pipeline.Doc
	for _, name := range []string{"CC-MAIN-2020-34-excerpt__warcfile.warc.gz", "warc__sample-0000.warc.gz"} {
		src, err := NewFileSource(pipeline.InputConfig{Paths: []string{warcTestdata + name}}, discardEnv())
		if err != nil {
			b.Fatal(err)
		}
		err = src.Run(context.Background(), func(batch *pipeline.Batch) error {
			texts := batch.Strings(pipeline.ColText)
			metas := batch.Strings(pipeline.ColMetadata)
			for i := range batch.Len() {
				docs = append(docs, pipeline.Doc{Text: texts.Value(i), Metadata: metas.Value(i)})
			}
			return nil
		})
		if err != nil {
			b.Fatalf("reading %s: %v", name, err)
		}
	}
	return docs
}

// BenchmarkExtract runs the extract stage with its default options over
// real HTML pages. Its MB/s are of HTML in.
func BenchmarkExtract(b *testing.B) {
	docs := benchHTMLPages(b)
	var total int64
	for _, d := range docs {
		total += int64(len(d.Text))
	}
	st, _ := stageFromYAML(b, "extract", "")
	b.SetBytes(total)
	b.ReportAllocs()
	for b.Loop() {
		bb := pipeline.NewBatchBuilder()
		for i := range docs {
			bb.Append(&docs[i])
		}
		batch := bb.Build(0)
		if err := st.Process(context.Background(), batch); err != nil {
			b.Fatal(err)
		}
		batch.Release()
	}
}

// BenchmarkReadWARC reads the Common Crawl excerpt with the file source:
// gzip, WARC framing, HTTP decoding and charset conversion. Its MB/s are of
// the compressed file.
func BenchmarkReadWARC(b *testing.B) {
	path := warcTestdata + "CC-MAIN-2020-34-excerpt__warcfile.warc.gz"
	info, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(info.Size())
	b.ReportAllocs()
	for b.Loop() {
		src, err := NewFileSource(pipeline.InputConfig{Paths: []string{path}}, discardEnv())
		if err != nil {
			b.Fatal(err)
		}
		err = src.Run(context.Background(), func(batch *pipeline.Batch) error {
			batch.Release()
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}
