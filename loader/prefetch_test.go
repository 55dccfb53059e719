package loader

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/winnow-data/winnow/pipeline"
)

// countingStorage counts the Open calls of each file.
type countingStorage struct {
	Storage
	mu    sync.Mutex
	opens map[string]int
}

func (c *countingStorage) Open(ctx context.Context, name string) (io.ReadCloser, error) {
	c.mu.Lock()
	c.opens[name]++
	c.mu.Unlock()
	return c.Storage.Open(ctx, name)
}

func (c *countingStorage) count(name string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.opens[name]
}

func TestLoaderPrefetchesNextEpochBeforeEnd(t *testing.T) {
	root, m := newDataset(t, 2000, 50_000)
	if len(m.Shards) < 4 {
		t.Fatalf("got %d shards, want 4 or more", len(m.Shards))
	}
	dir, err := OpenLocalDir(root)
	if err != nil {
		t.Fatal(err)
	}
	store := &countingStorage{Storage: dir, opens: map[string]int{}}
	// Room for about two decoded shards, so the first shard is evicted
	// during epoch 0 and must be fetched again for epoch 1.
	budget := 2 * m.Shards[0].Bytes * 4
	l, err := Open(t.Context(), store, Options{BatchSize: 100, Epochs: 2, Memory: budget, Prefetch: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()

	first := m.Shards[0].Path
	for {
		b, err := l.Next(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if b.Epoch == 0 && b.State.Epoch == 1 {
			break
		}
	}
	// The trainer now holds epoch 0's last batch and has not asked for
	// more: epoch 1's first shard must be fetched meanwhile.
	deadline := time.Now().Add(10 * time.Second)
	for store.count(first) < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("epoch 1's first shard %s was opened %d times, want a second fetch before epoch 1 is asked for", first, store.count(first))
		}
		time.Sleep(5 * time.Millisecond)
	}
	b, err := l.Next(t.Context())
	if err != nil || b.Epoch != 1 || b.Docs[0].ID != "0" {
		t.Fatalf("batch after epoch 0: %v, %v", b, err)
	}
}

func TestLoaderStaysWithinMemoryBudget(t *testing.T) {
	root, m := newDataset(t, 3000, 40_000)
	for _, shuffle := range []bool{false, true} {
		budget := m.Shards[0].Bytes * 4
		l := openLoader(t, root, Options{BatchSize: 64, Shuffle: shuffle, Window: 300, Epochs: 1, Memory: budget})
		n := 0
		for {
			b, err := l.Next(t.Context())
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			n += len(b.Docs)
			// One batch may exceed the budget alone, when its shards do
			// not fit together; a window spans at most two shards here.
			if used := l.Stats().MemoryBytes; used > 3*budget {
				t.Fatalf("shuffle=%v: %d bytes held, budget %d", shuffle, used, budget)
			}
		}
		if n != 3000 {
			t.Errorf("shuffle=%v: got %d documents with a small budget, want 3000", shuffle, n)
		}
	}
}

func TestLoaderTokenizes(t *testing.T) {
	root, _ := newDataset(t, 50, 1<<20)
	l := openLoader(t, root, Options{BatchSize: 50, Epochs: 1, Tokenize: "cl100k_base"})
	b := take(t, l, 1)[0]
	codec, err := codecFor("cl100k_base")
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Tokens) != len(b.Docs) {
		t.Fatalf("got %d token lists for %d documents", len(b.Tokens), len(b.Docs))
	}
	for i, d := range b.Docs {
		ids, _, err := codec.Encode(d.Text)
		if err != nil {
			t.Fatal(err)
		}
		want := make([]uint32, len(ids))
		for k, id := range ids {
			want[k] = uint32(id)
		}
		if !slices.Equal(b.Tokens[i], want) {
			t.Fatalf("tokens of document %s differ from tiktoken's", d.ID)
		}
	}
}

func TestLoaderWritesConsumptionRecord(t *testing.T) {
	root, m := newDataset(t, 500, 1<<20)
	l := openLoader(t, root, Options{BatchSize: 10, Shuffle: true, Seed: 4, RunID: "run-42", RecordEvery: 5})
	path := filepath.Join(root, ConsumersDir, m.ID, "run-42.json")
	read := func() ConsumptionRecord {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var rec ConsumptionRecord
		if err := json.Unmarshal(data, &rec); err != nil {
			t.Fatal(err)
		}
		return rec
	}
	if rec := read(); rec.LastState.Position != 0 || rec.Version != m.ID || rec.RunID != "run-42" {
		t.Errorf("record at open: %+v", rec)
	}

	take(t, l, 12)
	want := l.State()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	rec := read()
	if rec.LastState != want {
		t.Errorf("record's last state is %v, want %v", rec.LastState, want)
	}
	if !rec.Options.Shuffle || rec.Options.Seed != 4 || rec.Options.BatchSize != 10 {
		t.Errorf("record's options are %+v", rec.Options)
	}
	for name, v := range map[string]string{"opened_at": rec.OpenedAt, "updated_at": rec.UpdatedAt} {
		ts, err := time.Parse(time.RFC3339, v)
		if err != nil || ts.Location() != time.UTC {
			t.Errorf("%s = %q, want an RFC 3339 time in UTC", name, v)
		}
	}
	// winnow consumers reads the record through the pipeline package.
	ps, err := pipeline.OpenLocalStore(root)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := pipeline.ReadConsumers(ps, m.ID)
	if err != nil || len(recs) != 1 || recs[0].RunID != "run-42" || recs[0].OpenedAt.IsZero() {
		t.Errorf("pipeline.ReadConsumers returned %+v, %v", recs, err)
	}

	raw, _ := os.ReadFile(path)
	var keys map[string]json.RawMessage
	json.Unmarshal(raw, &keys)
	for _, k := range []string{"run_id", "version", "opened_at", "options", "last_state", "updated_at"} {
		if _, ok := keys[k]; !ok {
			t.Errorf("record has no %q key", k)
		}
	}
}

func TestLoaderDecodesOptionalAndDictionaryColumns(t *testing.T) {
	type row struct {
		ID         string  `parquet:"id"`
		Text       *string `parquet:"text,optional"`
		Lang       string  `parquet:"lang,dict"`
		TokenCount *int64  `parquet:"token_count,optional"`
	}
	text, tokens := "hello there", int64(2)
	rows := []row{
		{ID: "a", Text: &text, Lang: "eng_Latn", TokenCount: &tokens},
		{ID: "b", Lang: "fra_Latn"},
		{ID: "c", Text: &text, Lang: "eng_Latn"},
	}
	var buf bytes.Buffer
	if err := parquet.Write(&buf, rows); err != nil {
		t.Fatal(err)
	}
	d, err := decodeShard(buf.Bytes(), 3, docColumns)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(d.ids, []string{"a", "b", "c"}) {
		t.Errorf("ids = %q", d.ids)
	}
	if !slices.Equal(d.texts, []string{text, "", text}) {
		t.Errorf("texts = %q, want the null as empty", d.texts)
	}
	if !slices.Equal(d.langs, []string{"eng_Latn", "fra_Latn", "eng_Latn"}) {
		t.Errorf("langs = %q", d.langs)
	}
	if !slices.Equal(d.tokenCounts, []int32{2, 0, 0}) {
		t.Errorf("token counts = %v", d.tokenCounts)
	}
	if !slices.Equal(d.urls, []string{"", "", ""}) {
		t.Errorf("urls of a shard without the column = %q", d.urls)
	}

	if _, err := decodeShard(buf.Bytes(), 4, docColumns); err == nil {
		t.Error("decoding succeeded with the wrong row count")
	}
}
