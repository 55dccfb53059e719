package cli

import (
	"context"
	"fmt"

	"github.com/winnow-data/winnow/pipeline"
	"github.com/winnow-data/winnow/stages"
)

// docRow is a shard row without its signature. Structs with fewer fields
// below read only their columns.
type docRow struct {
	ID          string  `parquet:"id"`
	Text        string  `parquet:"text"`
	URL         string  `parquet:"url"`
	Source      string  `parquet:"source"`
	Lang        string  `parquet:"lang"`
	LangScore   float32 `parquet:"lang_score"`
	TokenCount  int32   `parquet:"token_count"`
	Metadata    string  `parquet:"metadata"`
	Input       string  `parquet:"input"`
	InputOffset int64   `parquet:"input_offset"`
}

// keyRow holds the columns that select documents to forget.
type keyRow struct {
	ID  string `parquet:"id"`
	URL string `parquet:"url"`
}

// signalRow holds the per-document signals of kept documents.
type signalRow struct {
	LangScore  float32 `parquet:"lang_score"`
	TokenCount int32   `parquet:"token_count"`
}

// rejectSignalRow holds the measured signal of a rejects row.
type rejectSignalRow struct {
	ID     string   `parquet:"id"`
	Stage  string   `parquet:"stage"`
	Signal string   `parquet:"signal"`
	Value  *float64 `parquet:"value,optional"`
}

// readVersionRows calls fn with every row of version m that its deletions
// leave in, in shard and row order.
func readVersionRows[T any](ctx context.Context, store pipeline.Store, m *pipeline.Manifest, fn func(shard string, row int64, r *T) error) error {
	deleted := m.DeletedRows()
	for _, sh := range m.Shards {
		skip := deleted[sh.Path]
		err := readStoreRows(ctx, store, sh, func(row int64, r *T) error {
			if skip[row] {
				return nil
			}
			return fn(sh.Path, row, r)
		})
		if err != nil {
			return fmt.Errorf("reading shard %s of version %s: %w", sh.Path, m.ID, err)
		}
	}
	return nil
}

// readStoreRows calls fn with every row of the Parquet file rec of store,
// which stages.FetchFile downloads first when store is not local.
func readStoreRows[T any](ctx context.Context, store pipeline.Store, rec pipeline.ShardRecord, fn func(row int64, r *T) error) error {
	path, cleanup, err := stages.FetchFile(ctx, store, rec)
	if err != nil {
		return err
	}
	defer cleanup()
	return stages.ReadParquetRows(ctx, path, fn)
}

// keptSignals returns samples of the token_count and lang_score of the
// documents of m.
func keptSignals(ctx context.Context, store pipeline.Store, m *pipeline.Manifest) (map[string][]float64, error) {
	tokens, scores := newSampler(), newSampler()
	err := readVersionRows(ctx, store, m, func(_ string, _ int64, r *signalRow) error {
		tokens.add(float64(r.TokenCount))
		scores.add(float64(r.LangScore))
		return nil
	})
	if err != nil {
		return nil, err
	}
	return map[string][]float64{pipeline.SignalTokenCount: tokens.values, pipeline.SignalLangScore: scores.values}, nil
}

// rejectSignals returns samples of every STAGE.SIGNAL measured for the
// documents that the run of m dropped, or nil when m has no rejects
// output.
func rejectSignals(ctx context.Context, store pipeline.Store, m *pipeline.Manifest) (map[string][]float64, error) {
	if len(m.Rejects) == 0 {
		return nil, nil
	}
	samples := map[string]*sampler{}
	for _, f := range m.Rejects {
		err := readStoreRows(ctx, store, f, func(_ int64, r *rejectSignalRow) error {
			if r.Signal == "" || r.Value == nil {
				return nil
			}
			key := r.Stage + "." + r.Signal
			s := samples[key]
			if s == nil {
				s = newSampler()
				samples[key] = s
			}
			s.add(*r.Value)
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("reading rejects file %s of version %s: %w", f.Path, m.ID, err)
		}
	}
	out := make(map[string][]float64, len(samples))
	for k, s := range samples {
		out[k] = s.values
	}
	return out, nil
}
