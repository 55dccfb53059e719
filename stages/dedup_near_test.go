package stages

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/winnow-data/winnow/pipeline"
)

// memSource emits texts as documents "d0", "d1", ... in batches of size.
type memSource struct {
	texts []string
	size  int
}

func (s memSource) Run(ctx context.Context, emit func(*pipeline.Batch) error) error {
	bb := pipeline.NewBatchBuilder()
	seq := uint64(0)
	for i, text := range s.texts {
		bb.Append(&pipeline.Doc{ID: fmt.Sprintf("d%d", i), Text: text})
		if bb.Len() == s.size || i == len(s.texts)-1 {
			if err := emit(bb.Build(seq)); err != nil {
				return err
			}
			seq++
		}
	}
	return nil
}

// idSink collects the ids of the rows that reach it.
type idSink struct{ ids []string }

func (s *idSink) Write(_ context.Context, b *pipeline.Batch) error {
	ids := b.Strings(pipeline.ColID)
	for i := range b.Len() {
		if b.Alive(i) {
			s.ids = append(s.ids, ids.Value(i))
		}
	}
	return nil
}

func (s *idSink) Close(context.Context) error { return nil }

// runNearDedup runs normalize and near_dedup through the engine and returns
// the kept ids.
func runNearDedup(t *testing.T, texts []string, opts NearDedupOptions, batchSize, workers int) []string {
	return runNearDedupChain(t, texts, opts, batchSize, workers, true)
}

// runNearDedupChain runs near_dedup, after normalize when normalize is set.
func runNearDedupChain(t *testing.T, texts []string, opts NearDedupOptions, batchSize, workers int, normalize bool) []string {
	t.Helper()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	normEnv, nearEnv := pipeline.NewEnv(logger, "normalize"), pipeline.NewEnv(logger, "near_dedup")
	norm, err := newNormalizer(DefaultNormalizeOptions(), normEnv)
	if err != nil {
		t.Fatal(err)
	}
	near, err := newNearDedup(opts, nearEnv)
	if err != nil {
		t.Fatal(err)
	}
	var chain []pipeline.StageInstance
	if normalize {
		chain = append(chain, pipeline.StageInstance{Name: "normalize", Stage: norm, Workers: workers, Env: normEnv})
	}
	chain = append(chain, pipeline.StageInstance{Name: "near_dedup", Stage: near, Workers: workers, Env: nearEnv})
	sink := &idSink{}
	p := &pipeline.Pipeline{
		Source: memSource{texts, batchSize}, SourceEnv: pipeline.NewEnv(logger, "source"),
		Stages: chain,
		Sink:   sink, SinkEnv: pipeline.NewEnv(logger, "sink"),
		Logger: logger,
	}
	if err := p.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	return sink.ids
}

func paragraphs(seed, n int) string {
	var b strings.Builder
	for p := range n {
		for s := range 4 {
			fmt.Fprintf(&b, "Paragraph %d of document %d says that sentence %d holds the words w%d w%d w%d and w%d. ",
				p, seed, s, seed*31+p, seed*17+s, p*s+seed, seed+p+s)
		}
		b.WriteString("\n\n")
	}
	return b.String()
}

func TestNearDedupFixtures(t *testing.T) {
	base := paragraphs(1, 3)
	table := func(a, b string) string {
		return "| year | value |\n|---|---|\n| " + a + " | " + b + " |\n| 2020 | 5.5 |\n| 2021 | 6.1 |\n"
	}
	var ten []string
	for i := range 10 {
		ten = append(ten, paragraphs(i+10, 3))
	}
	for _, tc := range []struct {
		name  string
		texts []string
		want  []string
		raw   bool // without normalize, which drops blank documents itself
	}{
		{"two-word documents, two equal", []string{"hello world", "hello world", "goodbye world"}, []string{"d0", "d2"}, false},
		{"empty blank and whitespace-only", []string{"", " ", "\n\t\n", "   "}, []string{"d0", "d1", "d2", "d3"}, true},
		{"NFC, NFD and zero-width copies", []string{base + " café", base + " cafe\u0301", strings.Replace(base, " ", " \u200b", 5) + " café"}, []string{"d0"}, false},
		{"tables differing only in numbers", []string{table("2019", "4.1"), table("2023", "8.7")}, []string{"d0", "d1"}, false},
		{"three identical and one unique", []string{base, base, base, paragraphs(2, 3)}, []string{"d0", "d3"}, false},
		{"ten distinct documents", ten, []string{"d0", "d1", "d2", "d3", "d4", "d5", "d6", "d7", "d8", "d9"}, false},
	} {
		for _, method := range []string{"minhash", "simhash", "minhash-disk"} {
			t.Run(tc.name+"/"+method, func(t *testing.T) {
				opts := DefaultNearDedupOptions()
				opts.Method = method
				if method == "minhash-disk" {
					opts.Method, opts.Index, opts.IndexMemoryBytes, opts.TempDir = "minhash", "disk", 1<<16, t.TempDir()
				}
				got := runNearDedupChain(t, tc.texts, opts, 2, 2, !tc.raw)
				if !slices.Equal(got, tc.want) {
					t.Errorf("kept %v, want %v", got, tc.want)
				}
			})
		}
	}
}

func TestNearDedupNoChainRemoval(t *testing.T) {
	// B shares most shingles with both A and C, which share few: C must
	// survive because its only near twin, B, was removed.
	words := strings.Fields(paragraphs(5, 6))
	half := len(words) / 2
	a := strings.Join(words[:half+half/3], " ")
	b := strings.Join(words[half/3:half+2*half/3], " ")
	c := strings.Join(words[2*half/3:], " ")
	opts := DefaultNearDedupOptions()
	opts.Threshold = 0.5
	got := runNearDedup(t, []string{a, b, c}, opts, 1, 1)
	if !slices.Equal(got, []string{"d0", "d2"}) {
		t.Errorf("kept %v, want [d0 d2]: B removed for A, C kept", got)
	}
}

func TestNearDedupSpacelessScripts(t *testing.T) {
	for _, lang := range []string{"zho_Hant", "jpn_Jpan", "tha_Thai"} {
		t.Run(lang, func(t *testing.T) {
			texts := readExcerpts(t, lang)
			var in []string
			for _, text := range texts {
				// A copy with a footer and one character in 80 changed.
				r := []rune(text)
				for i := 40; i < len(r); i += 80 {
					r[i] = r[i-1]
				}
				in = append(in, text, string(r)+" 2024")
			}
			got := runNearDedup(t, in, DefaultNearDedupOptions(), 7, 2)
			var want []string
			for i := range texts {
				want = append(want, fmt.Sprintf("d%d", 2*i))
			}
			if !slices.Equal(got, want) {
				t.Errorf("kept %v, want every original and no copy: %v", got, want)
			}
		})
	}
}

func TestNearDedupDeterministic(t *testing.T) {
	var texts []string
	for i := range 300 {
		texts = append(texts, paragraphs(i%120, 3)+fmt.Sprint(i%7))
	}
	want := runNearDedup(t, texts, DefaultNearDedupOptions(), 64, 1)
	if len(want) == 0 || len(want) == len(texts) {
		t.Fatalf("kept %d of %d, want some removed", len(want), len(texts))
	}
	for _, c := range []struct{ batch, workers int }{{4096, 1}, {64, 2}, {5, 2}} {
		if got := runNearDedup(t, texts, DefaultNearDedupOptions(), c.batch, c.workers); !slices.Equal(got, want) {
			t.Errorf("batch %d, workers %d: kept %d ids, want the %d of batch 64 on 1 worker", c.batch, c.workers, len(got), len(want))
		}
	}
	disk := DefaultNearDedupOptions()
	disk.Index, disk.IndexMemoryBytes, disk.TempDir = "disk", 1<<16, t.TempDir()
	if got := runNearDedup(t, texts, disk, 64, 2); !slices.Equal(got, want) {
		t.Errorf("disk index: kept %d ids, want the %d of the memory index", len(got), len(want))
	}
	if entries, _ := os.ReadDir(disk.TempDir); len(entries) != 0 {
		t.Errorf("the disk index left %d entries in its folder", len(entries))
	}
}

func TestNearDedupOptions(t *testing.T) {
	for _, tc := range []struct {
		edit func(*NearDedupOptions)
		want string
	}{
		{func(o *NearDedupOptions) { o.Method = "lsh" }, `invalid method "lsh"`},
		{func(o *NearDedupOptions) { o.Threshold = 0 }, "invalid threshold 0"},
		{func(o *NearDedupOptions) { o.Keep = "longest" }, `invalid keep "longest"`},
		{func(o *NearDedupOptions) { o.Rows = 65 }, "invalid rows 65"},
		{func(o *NearDedupOptions) { o.Method, o.Datatrove = "simhash", true }, "invalid datatrove"},
	} {
		o := DefaultNearDedupOptions()
		tc.edit(&o)
		if err := o.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Validate() = %v, want %q", err, tc.want)
		}
	}
}

// readExcerpts reads testdata/dedup/<lang>.jsonl, HPLT v2 web excerpts.
func readExcerpts(t *testing.T, lang string) []string {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "testdata", "dedup", lang+".jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var texts []string
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var doc struct{ Text string }
		if err := json.Unmarshal(sc.Bytes(), &doc); err != nil {
			t.Fatal(err)
		}
		texts = append(texts, doc.Text)
	}
	return texts
}
