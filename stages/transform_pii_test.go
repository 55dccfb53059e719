package stages

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/winnow-data/winnow/pipeline"
)

// buildRegisteredStage builds the registered stage name from options given
// as YAML ("" for the defaults) and returns it with its Env, or the build
// error.
func buildRegisteredStage(tb testing.TB, name, options string) (pipeline.Stage, pipeline.Env, error) {
	tb.Helper()
	spec, ok := pipeline.Lookup(name)
	if !ok {
		tb.Fatalf("stage %s is not registered", name)
	}
	var node *yaml.Node
	if options != "" {
		var doc yaml.Node
		if err := yaml.Unmarshal([]byte(options), &doc); err != nil {
			tb.Fatalf("parsing options %q: %v", options, err)
		}
		node = doc.Content[0]
	}
	env := pipeline.NewEnv(slog.New(slog.NewTextHandler(io.Discard, nil)), name)
	st, err := spec.Build(node, env)
	return st, env, err
}

// docBatch builds a batch with one document per text.
func docBatch(seq uint64, texts ...string) *pipeline.Batch {
	bb := pipeline.NewBatchBuilder()
	for _, s := range texts {
		bb.Append(&pipeline.Doc{Text: s})
	}
	return bb.Build(seq)
}

// runPII builds the pii stage with options, processes texts as one batch
// and returns the batch and the stage's events.
func runPII(t *testing.T, options string, texts ...string) (*pipeline.Batch, map[string]int64) {
	t.Helper()
	st, env, err := buildRegisteredStage(t, "pii", options)
	if err != nil {
		t.Fatalf("building pii: %v", err)
	}
	b := docBatch(0, texts...)
	t.Cleanup(b.Release)
	if err := st.Process(context.Background(), b); err != nil {
		t.Fatalf("Process: %v", err)
	}
	return b, env.Events.Snapshot()
}

func TestPIIDefaultsTag(t *testing.T) {
	b, events := runPII(t, "",
		"Mail jane@example.com or ping 93.184.216.34.",
		"Nothing here, not even 192.168.1.1 or lodash@4.17.21.",
	)
	texts := b.Strings(pipeline.ColText)
	if got, want := texts.Value(0), "Mail |||EMAIL_ADDRESS||| or ping |||IP_ADDRESS|||."; got != want {
		t.Errorf("text 0 = %q, want %q", got, want)
	}
	if got, want := texts.Value(1), "Nothing here, not even 192.168.1.1 or lodash@4.17.21."; got != want {
		t.Errorf("text 1 = %q, want it unchanged", got)
	}
	if events[piiEventEmail] != 1 || events[piiEventIP] != 1 {
		t.Errorf("events = %v, want one email_address and one ip_address", events)
	}
	if b.LiveCount() != 2 {
		t.Errorf("live rows = %d, want 2", b.LiveCount())
	}
}

func TestPIIMask(t *testing.T) {
	b, _ := runPII(t, "{action: mask, mask_char: '#'}", "to jane@example.com now")
	if got, want := b.Strings(pipeline.ColText).Value(0), "to ################ now"; got != want {
		t.Errorf("masked text = %q, want %q", got, want)
	}
	b, _ = runPII(t, "{action: mask, mask_char: '█'}", "ip 8.8.8.8")
	if got, want := b.Strings(pipeline.ColText).Value(0), "ip "+strings.Repeat("█", 7); got != want {
		t.Errorf("masked text = %q, want %q", got, want)
	}
}

func TestPIITypesAndPrivate(t *testing.T) {
	text := "jane@example.com at 192.168.1.1"
	b, events := runPII(t, "{types: [ipv4], include_private: true}", text)
	if got, want := b.Strings(pipeline.ColText).Value(0), "jane@example.com at |||IP_ADDRESS|||"; got != want {
		t.Errorf("text = %q, want %q", got, want)
	}
	if events[piiEventEmail] != 0 || events[piiEventIP] != 1 {
		t.Errorf("events = %v, want only one ip_address", events)
	}
}

func TestPIIDropAbove(t *testing.T) {
	many := "a@example.com b@example.com c@example.com"
	b, events := runPII(t, "{drop_above: 2}", many, "one@example.com only")
	if b.Dropped[0] != piiReasonTooMany {
		t.Errorf("row 0 reason = %q, want %s", b.Dropped[0], piiReasonTooMany)
	}
	if !b.Alive(1) {
		t.Errorf("row 1 dropped as %q, want it kept", b.Dropped[1])
	}
	if got := b.Strings(pipeline.ColText).Value(1); got != "|||EMAIL_ADDRESS||| only" {
		t.Errorf("row 1 text = %q, want the address tagged", got)
	}
	if events[piiEventEmail] != 4 {
		t.Errorf("email_address = %d, want 4, dropped rows included", events[piiEventEmail])
	}
}

func TestPIISkipsDroppedRows(t *testing.T) {
	st, _, err := buildRegisteredStage(t, "pii", "")
	if err != nil {
		t.Fatal(err)
	}
	b := docBatch(0, "jane@example.com")
	defer b.Release()
	b.Drop(0, "earlier_stage")
	if err := st.Process(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	if got := b.Strings(pipeline.ColText).Value(0); got != "jane@example.com" {
		t.Errorf("dropped row text = %q, want it unchanged", got)
	}
}

func TestPIIInvalidOptions(t *testing.T) {
	cases := []struct{ options, field string }{
		{"{types: []}", "types"},
		{"{types: [phone]}", `types entry "phone"`},
		{"{action: hash}", `action "hash"`},
		{"{mask_char: ''}", "mask_char"},
		{"{mask_char: ab}", `mask_char "ab"`},
		{"{drop_above: -1}", "drop_above -1"},
		{"{dropabove: 3}", "dropabove"},
	}
	for _, c := range cases {
		t.Run(c.options, func(t *testing.T) {
			_, _, err := buildRegisteredStage(t, "pii", c.options)
			if err == nil {
				t.Fatalf("options %s built a stage, want an error", c.options)
			}
			if !strings.Contains(err.Error(), c.field) {
				t.Errorf("error %q does not name %s", err, c.field)
			}
		})
	}
}

func TestPIIConcurrentProcess(t *testing.T) {
	st, env, err := buildRegisteredStage(t, "pii", "")
	if err != nil {
		t.Fatal(err)
	}
	const workers, perWorker = 4, 20
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for k := range perWorker {
				text := fmt.Sprintf("user%d.%d@example.com from 8.8.%d.%d", w, k, w, k)
				b := docBatch(uint64(w*perWorker+k), text)
				if err := st.Process(context.Background(), b); err != nil {
					t.Error(err)
				}
				if got := b.Strings(pipeline.ColText).Value(0); got != "|||EMAIL_ADDRESS||| from |||IP_ADDRESS|||" {
					t.Errorf("text = %q", got)
				}
				b.Release()
			}
		})
	}
	wg.Wait()
	events := env.Events.Snapshot()
	if events[piiEventEmail] != workers*perWorker || events[piiEventIP] != workers*perWorker {
		t.Errorf("events = %v, want %d of each", events, workers*perWorker)
	}
}

// BenchmarkPIIStage measures Process on a batch of 256 English documents of
// 3 KB with one address each, so every text column is rebuilt.
func BenchmarkPIIStage(b *testing.B) {
	st, _, err := buildRegisteredStage(b, "pii", "")
	if err != nil {
		b.Fatal(err)
	}
	doc := strings.Repeat("The committee met on Tuesday to review the budget for 2024. ", 50) +
		"Questions go to office@example.org."
	texts := make([]string, 256)
	for i := range texts {
		texts[i] = doc
	}
	b.SetBytes(int64(len(doc) * len(texts)))
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		batch := docBatch(0, texts...)
		b.StartTimer()
		if err := st.Process(context.Background(), batch); err != nil {
			b.Fatal(err)
		}
		batch.Release()
	}
}
