package cli

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"slices"
	"sync"
	"testing"

	"github.com/winnow-data/winnow/internal/testutil"
	"github.com/winnow-data/winnow/pipeline"
	"github.com/winnow-data/winnow/stages"
)

// recordingSink passes batches to the real sink and keeps what it was given,
// so a test can compare the shards with what winnow meant to write.
type recordingSink struct {
	pipeline.Sink
	mu   sync.Mutex
	rows map[string]writtenRow
	ids  []string
}

type writtenRow struct {
	text, lang string
	score      float32
}

func (r *recordingSink) Write(ctx context.Context, b *pipeline.Batch) error {
	ids, texts, langs := b.Strings(pipeline.ColID), b.Strings(pipeline.ColText), b.Strings(pipeline.ColLang)
	scores := b.Column(pipeline.ColLangScore)
	r.mu.Lock()
	for i := 0; i < b.Len(); i++ {
		if b.Alive(i) {
			id := ids.Value(i)
			r.ids = append(r.ids, id)
			r.rows[id] = writtenRow{texts.Value(i), langs.Value(i), scores.(interface{ Value(int) float32 }).Value(i)}
		}
	}
	r.mu.Unlock()
	return r.Sink.Write(ctx, b)
}

// fullRun is one run of the default chain, langid included, over the
// sample; several tests read it because lingua-go's scorer is slow.
var fullRun struct {
	once     sync.Once
	root     string
	manifest *pipeline.Manifest
	rec      *recordingSink
	err      error
}

func sampleFullRun(t *testing.T) (string, *pipeline.Manifest, *recordingSink) {
	t.Helper()
	fullRun.once.Do(func() {
		dir, err := makeSharedTemp()
		if err != nil {
			fullRun.err = err
			return
		}
		fullRun.root = dir
		fullRun.manifest, fullRun.rec, fullRun.err = runRecorded(dir, 2, nil)
	})
	if fullRun.err != nil {
		t.Fatalf("full run of the sample: %v", fullRun.err)
	}
	return fullRun.root, fullRun.manifest, fullRun.rec
}

// runRecorded runs the default chain on the sample with a recording sink
// and commits the version.
func runRecorded(root string, workers int, stages []string) (*pipeline.Manifest, *recordingSink, error) {
	cfg := &pipeline.Config{Workers: workers}
	cfg.Input.Paths = []string{samplePath}
	cfg.Output.Root = root
	for _, s := range stages {
		cfg.Stages = append(cfg.Stages, pipeline.StageConfig{Name: s})
	}
	cfg.ApplyDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, nil, err
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	p, err := buildPlan(cfg, logger)
	if err != nil {
		return nil, nil, err
	}
	rec := &recordingSink{Sink: p.pipeline.Sink, rows: map[string]writtenRow{}}
	p.pipeline.Sink = rec
	if err := p.pipeline.Run(context.Background()); err != nil {
		return nil, nil, err
	}
	_, m, err := p.commit("", "")
	if err != nil {
		return nil, nil, err
	}
	return m, rec, nil
}

func TestSampleShardsReadByDuckDB(t *testing.T) {
	root, m, rec := sampleFullRun(t)
	if m.Totals.Docs == 0 || len(m.Shards) == 0 {
		t.Fatalf("the run kept %d documents in %d shards", m.Totals.Docs, len(m.Shards))
	}

	var manifestRows int64
	for _, s := range m.Shards {
		manifestRows += s.Rows
		got := testutil.DuckDBQuery(t, fmt.Sprintf("SELECT count(*) AS n FROM read_parquet(%s)", sqlString(root+"/"+s.Path)))
		if n := got[0]["n"].(float64); int64(n) != s.Rows {
			t.Errorf("shard %s: DuckDB counts %v rows, the manifest %d", s.Path, n, s.Rows)
		}
	}
	if m.Totals.Tokens < m.Totals.Docs*10 {
		t.Errorf("the manifest counts %d tokens in %d documents", m.Totals.Tokens, m.Totals.Docs)
	}
	if manifestRows != m.Totals.Docs {
		t.Errorf("shard rows add up to %d, totals say %d", manifestRows, m.Totals.Docs)
	}

	rows := testutil.DuckDBQuery(t, fmt.Sprintf(
		"SELECT id, text, lang, lang_score, token_count FROM read_parquet(%s) ORDER BY id", shardList(root, m)))
	if int64(len(rows)) != m.Totals.Docs {
		t.Fatalf("DuckDB read %d rows, the manifest lists %d", len(rows), m.Totals.Docs)
	}
	seen := map[string]bool{}
	for _, row := range rows {
		id := row["id"].(string)
		if seen[id] {
			t.Errorf("id %q appears twice in the shards", id)
		}
		seen[id] = true
		want, ok := rec.rows[id]
		if !ok {
			t.Errorf("id %q is in the shards but winnow never wrote it", id)
			continue
		}
		if row["text"] != want.text {
			t.Errorf("id %q: text read back differs from the text written (%d vs %d bytes)", id, len(row["text"].(string)), len(want.text))
		}
		if row["lang"] != want.lang {
			t.Errorf("id %q: lang read back %q, written %q", id, row["lang"], want.lang)
		}
		if n := int(row["token_count"].(float64)); n != stages.CountWhitespaceTokens(want.text) || n == 0 {
			t.Errorf("id %q: token_count %d, want the %d whitespace tokens of its text", id, n, stages.CountWhitespaceTokens(want.text))
		}
		if score := row["lang_score"].(float64); math.Abs(score-float64(want.score)) > 1e-6 {
			t.Errorf("id %q: lang_score read back %v, written %v", id, score, want.score)
		}
	}
	if len(seen) != len(rec.rows) {
		t.Errorf("DuckDB read %d distinct ids, winnow wrote %d", len(seen), len(rec.rows))
	}
	labelled := 0
	for _, r := range rec.rows {
		if r.lang != "" && r.lang != "und" {
			labelled++
		}
	}
	if labelled == 0 {
		t.Error("no kept document has a language label; langid did not run")
	}
}

func TestSampleExactDuplicatesRemoved(t *testing.T) {
	// The duplicates, computed here from the raw input: every copy of a
	// text after its first occurrence.
	docs := readSample(t)
	first := map[string]string{}
	var copies []string
	for _, d := range docs {
		if _, dup := first[d.Text]; dup {
			copies = append(copies, d.ID)
			continue
		}
		first[d.Text] = d.ID
	}
	if len(copies) != 35 {
		t.Fatalf("the sample has %d exact duplicates, want 35", len(copies))
	}

	root := t.TempDir()
	mustRun(t, "-o", root, "--only", "normalize,exact_dedup", samplePath)
	m := latestManifest(t, root)
	got := testutil.DuckDBQuery(t, fmt.Sprintf("SELECT id FROM read_parquet(%s)", shardList(root, m)))
	kept := map[string]bool{}
	for _, r := range got {
		kept[r["id"].(string)] = true
	}
	for _, id := range copies {
		if kept[id] {
			t.Errorf("duplicate %s was kept", id)
		}
	}
	// Normalisation drops empty texts; every other first occurrence stays.
	for text, id := range first {
		if text != "" && !kept[id] {
			t.Errorf("first occurrence %s was dropped", id)
		}
	}
	if n := stageRecord(t, m, "exact_dedup").Dropped["exact_duplicate"]; n < 1 {
		t.Errorf("exact_dedup dropped %d documents", n)
	}

	// In the full chain, no copy survives either.
	_, _, rec := sampleFullRun(t)
	for _, id := range copies {
		if _, ok := rec.rows[id]; ok {
			t.Errorf("duplicate %s was kept by the default chain", id)
		}
	}
	texts := map[string]string{}
	for id, r := range rec.rows {
		if other, dup := texts[r.text]; dup {
			t.Errorf("documents %s and %s were both kept with the same text", other, id)
		}
		texts[r.text] = id
	}
}

func TestRunDeterministic(t *testing.T) {
	// langid is left out here because each run of it takes seconds under
	// the race detector; TestRunDeterministicWithLangid covers it once.
	base := []string{"--skip", "langid", samplePath}
	batchConfig := writeFile(t, "batch7.yaml", "input:\n  batch_size: 7\n  batch_bytes: 20000\n")
	runs := []struct {
		name string
		args []string
	}{
		{"workers 1", []string{"--workers", "1"}},
		{"workers 2", []string{"--workers", "2"}},
		{"workers 1 again", []string{"--workers", "1"}},
		{"batch size 7", []string{"--workers", "2", "-c", batchConfig}},
	}
	var wantSums []string
	var wantIDs []string
	for i, r := range runs {
		root := t.TempDir()
		mustRun(t, append(append([]string{"-o", root}, r.args...), base...)...)
		m := latestManifest(t, root)
		ids := keptIDs(t, root, m)
		if i == 0 {
			wantSums, wantIDs = shardSums(m), ids
			if len(wantIDs) == 0 {
				t.Fatal("the first run kept nothing")
			}
			continue
		}
		if !slices.Equal(shardSums(m), wantSums) {
			t.Errorf("%s: shard checksums %v, want %v", r.name, shardSums(m), wantSums)
		}
		if !slices.Equal(ids, wantIDs) {
			t.Errorf("%s: kept %d ids, first run kept %d, or their order differs", r.name, len(ids), len(wantIDs))
		}
	}
}

func TestRunDeterministicWithLangid(t *testing.T) {
	_, full, fullRec := sampleFullRun(t)
	m, rec, err := runRecorded(t.TempDir(), 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(shardSums(m), shardSums(full)) {
		t.Errorf("workers 1 vs 2 with langid: shard checksums %v vs %v", shardSums(m), shardSums(full))
	}
	if !slices.Equal(rec.ids, fullRec.ids) {
		t.Errorf("workers 1 vs 2 with langid: kept %d vs %d ids, or in another order", len(rec.ids), len(fullRec.ids))
	}
}

// keptIDs reads the ids of every shard, in shard and row order, with DuckDB.
func keptIDs(t *testing.T, root string, m *pipeline.Manifest) []string {
	t.Helper()
	rows := testutil.DuckDBQuery(t, fmt.Sprintf(
		"SELECT id FROM read_parquet(%s, filename = true, file_row_number = true) ORDER BY list_position(%s, filename), file_row_number",
		shardList(root, m), shardList(root, m)))
	ids := make([]string, len(rows))
	for i, r := range rows {
		ids[i] = r["id"].(string)
	}
	return ids
}
