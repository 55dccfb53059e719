package stages

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/winnow-data/winnow/pipeline"
)

// BenchmarkNearDedup runs the whole near_dedup stage, Prepare and Process,
// on one goroutine over ~3 KB English documents.
func BenchmarkNearDedup(b *testing.B) {
	docs := benchEnglishDocs(b)
	for _, method := range []string{"minhash", "simhash"} {
		b.Run("method="+method, func(b *testing.B) {
			var total int64
			for _, d := range docs {
				total += int64(len(d))
			}
			b.SetBytes(total)
			b.ReportAllocs()
			for b.Loop() {
				opts := DefaultNearDedupOptions()
				opts.Method = method
				st, err := newNearDedup(opts, pipeline.NewEnv(slog.New(slog.NewTextHandler(io.Discard, nil)), "near_dedup"))
				if err != nil {
					b.Fatal(err)
				}
				bb := pipeline.NewBatchBuilder()
				for _, d := range docs {
					bb.Append(&pipeline.Doc{Text: d})
				}
				batch := bb.Build(0)
				nd := st.(*nearDedup)
				if err := nd.Prepare(context.Background(), batch); err != nil {
					b.Fatal(err)
				}
				if err := nd.Process(context.Background(), batch); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
