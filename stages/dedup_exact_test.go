package stages

import (
	"bufio"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/winnow-data/winnow/pipeline"
)

// dolmaSamplePath is a real Common Crawl sample in Dolma layout: 697
// documents, 35 of them exact copies of an earlier one.
const dolmaSamplePath = "../testdata/cc-2019-30-00140.dolma.jsonl.gz"

// dolmaSampleTexts returns the text of every document in the sample, in
// file order.
func dolmaSampleTexts(tb testing.TB) []string {
	tb.Helper()
	f, err := os.Open(dolmaSamplePath)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		tb.Fatalf("reading %s: %v", dolmaSamplePath, err)
	}
	var texts []string
	sc := bufio.NewScanner(zr)
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		var rec struct {
			Text string `json:"text"`
		}
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			tb.Fatalf("decoding %s line %d: %v", dolmaSamplePath, len(texts)+1, err)
		}
		texts = append(texts, rec.Text)
	}
	if err := sc.Err(); err != nil {
		tb.Fatalf("reading %s: %v", dolmaSamplePath, err)
	}
	return texts
}

// runBatches passes each batch of texts through the stages in order, as
// the engine would with one worker, and returns the drop reason of every
// document in input order.
func runBatches(tb testing.TB, stages []pipeline.Stage, batches ...[]string) []string {
	tb.Helper()
	var dropped []string
	for seq, texts := range batches {
		b := batchFromTexts(uint64(seq), texts...)
		for _, st := range stages {
			processOne(tb, st, b)
		}
		dropped = append(dropped, b.Dropped...)
		b.Release()
	}
	return dropped
}

func TestExactDedupKeepsFirstAcrossBatches(t *testing.T) {
	st, _ := stageFromYAML(t, "exact_dedup", "")
	got := runBatches(t, []pipeline.Stage{st},
		[]string{"copy", "other", "copy"},
		[]string{"copy", "other text", "Copy"},
	)
	want := []string{"", "", exactDedupReason, exactDedupReason, "", ""}
	if !slices.Equal(got, want) {
		t.Errorf("dropped = %q, want %q", got, want)
	}
}

func TestExactDedupIgnoresDroppedRows(t *testing.T) {
	st, _ := stageFromYAML(t, "exact_dedup", "")
	b := batchFromTexts(0, "same", "same", "same")
	defer b.Release()
	b.Drop(0, "earlier_stage")
	processOne(t, st, b)

	want := []string{"earlier_stage", "", exactDedupReason}
	if !slices.Equal(b.Dropped, want) {
		t.Errorf("dropped = %q, want %q", b.Dropped, want)
	}
}

func TestExactDedupAfterNormalize(t *testing.T) {
	tests := []struct {
		name  string
		first string
		copy  string
		want  string
	}{
		{"nfc and nfd", "Caf\u00e9 cr\u00e8me", "Cafe\u0301 cre\u0300me", exactDedupReason},
		{"crlf and lf", "one\r\ntwo\r\n", "one\ntwo", exactDedupReason},
		{"zero width space", "zero\u200Bwidth", "zerowidth", exactDedupReason},
		{"trailing whitespace", "text", "text \n\n", exactDedupReason},
		{"case differs", "Text", "text", ""},
		{"inner whitespace differs", "two  spaces", "two spaces", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			normalize, _ := stageFromYAML(t, "normalize", "")
			exact, _ := stageFromYAML(t, "exact_dedup", "")
			got := runBatches(t, []pipeline.Stage{normalize, exact}, []string{tt.first}, []string{tt.copy})
			if got[0] != "" {
				t.Errorf("first copy dropped as %q", got[0])
			}
			if got[1] != tt.want {
				t.Errorf("second copy dropped = %q, want %q", got[1], tt.want)
			}
		})
	}
}

// TestExactDedupSample runs the stage over the real sample, split into
// uneven batches, and compares with a map of the raw texts.
func TestExactDedupSample(t *testing.T) {
	texts := dolmaSampleTexts(t)
	if len(texts) != 697 {
		t.Fatalf("sample has %d documents, want 697", len(texts))
	}
	first := map[string]bool{}
	want := make([]string, len(texts))
	for i, s := range texts {
		if first[s] {
			want[i] = exactDedupReason
		}
		first[s] = true
	}

	st, _ := stageFromYAML(t, "exact_dedup", "")
	var batches [][]string
	for rest := texts; len(rest) > 0; {
		n := min(len(rest), 1+len(batches)*7%100)
		batches = append(batches, rest[:n])
		rest = rest[n:]
	}
	got := runBatches(t, []pipeline.Stage{st}, batches...)

	if n := strings.Count(strings.Join(got, "\n"), exactDedupReason); n != 35 {
		t.Errorf("dropped %d documents, want 35", n)
	}
	for i := range texts {
		if got[i] != want[i] {
			t.Errorf("doc %d: dropped = %q, want %q", i, got[i], want[i])
		}
	}
}

func TestExactDedupSpec(t *testing.T) {
	spec, ok := pipeline.Lookup("exact_dedup")
	if !ok {
		t.Fatal("exact_dedup is not registered")
	}
	if spec.Concurrent {
		t.Error("exact_dedup is marked concurrent, so the first copy kept would depend on scheduling")
	}
}

// dedupTestSource emits texts in batches of batchSize, with the text's
// index as its document id.
type dedupTestSource struct {
	texts     []string
	batchSize int
}

func (s dedupTestSource) Run(ctx context.Context, emit func(*pipeline.Batch) error) error {
	bb := pipeline.NewBatchBuilder()
	var seq uint64
	for i, text := range s.texts {
		bb.Append(&pipeline.Doc{ID: strconv.Itoa(i), Text: text})
		if bb.Len() < s.batchSize && i < len(s.texts)-1 {
			continue
		}
		if err := emit(bb.Build(seq)); err != nil {
			return err
		}
		seq++
	}
	return nil
}

// dedupTestSink records the id and text of every kept document.
type dedupTestSink struct {
	kept []string
}

func (s *dedupTestSink) Write(_ context.Context, b *pipeline.Batch) error {
	ids, texts := b.Strings(pipeline.ColID), b.Strings(pipeline.ColText)
	for i := range b.Len() {
		if b.Alive(i) {
			s.kept = append(s.kept, ids.Value(i)+"\t"+texts.Value(i))
		}
	}
	return nil
}

func (s *dedupTestSink) Close(context.Context) error { return nil }

// TestStagesDeterministicAcrossWorkers runs normalize, gopher_quality and
// exact_dedup through the engine over the sample and checks that the kept
// documents do not depend on batch size or worker count.
func TestStagesDeterministicAcrossWorkers(t *testing.T) {
	texts := dolmaSampleTexts(t)
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	run := func(batchSize, workers int) []string {
		var stages []pipeline.StageInstance
		for _, name := range []string{"normalize", "gopher_quality", "exact_dedup"} {
			st, env := stageFromYAML(t, name, "")
			spec, _ := pipeline.Lookup(name)
			w := 1
			if spec.Concurrent {
				w = workers
			}
			stages = append(stages, pipeline.StageInstance{Name: name, Stage: st, Workers: w, Env: env})
		}
		sink := &dedupTestSink{}
		p := &pipeline.Pipeline{
			Source: dedupTestSource{texts: texts, batchSize: batchSize},
			Stages: stages,
			Sink:   sink,
			Logger: logger,
		}
		if err := p.Run(context.Background()); err != nil {
			t.Fatalf("batch size %d, %d workers: %v", batchSize, workers, err)
		}
		return sink.kept
	}

	want := run(697, 1)
	if len(want) == 0 {
		t.Fatal("no document kept")
	}
	for _, c := range []struct{ batchSize, workers int }{{1, 1}, {7, 4}, {50, 2}, {256, 8}} {
		if got := run(c.batchSize, c.workers); !slices.Equal(got, want) {
			t.Errorf("batch size %d, %d workers: kept %d documents, want the same %d as one batch", c.batchSize, c.workers, len(got), len(want))
		}
	}
}

// BenchmarkExactDedup measures hashing and set insertion on a batch of
// about 3 KB English documents, with a new stage each iteration so every
// document is new to the set.
func BenchmarkExactDedup(b *testing.B) {
	texts := benchEnglishDocs(b)
	batch := batchFromTexts(0, texts...)
	defer batch.Release()

	b.SetBytes(int64(totalBytes(texts)))
	b.ReportAllocs()
	for b.Loop() {
		st, _ := stageFromYAML(b, "exact_dedup", "")
		clear(batch.Dropped)
		processOne(b, st, batch)
	}
}
