package stages

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"

	"github.com/winnow-data/winnow/pipeline"
)

// sourceDoc is one row of an emitted batch.
type sourceDoc struct {
	ID, Text, URL, Source, Metadata, Input string
	Offset                                 int64
}

// sourceRun is what a source run emitted, counted and logged.
type sourceRun struct {
	docs    []sourceDoc
	batches []*pipeline.Batch
	events  map[string]int64
	logs    []map[string]any
	inputs  []pipeline.InputRecord
}

// newSourceForTest builds a file source that logs JSON into logBuf.
func newSourceForTest(t *testing.T, cfg pipeline.InputConfig, logBuf *bytes.Buffer) *FileSource {
	t.Helper()
	logger := slog.New(slog.NewJSONHandler(logBuf, nil))
	src, err := NewFileSource(cfg, pipeline.NewEnv(logger, "source"))
	if err != nil {
		t.Fatalf("NewFileSource: %v", err)
	}
	return src
}

// runFileSource runs src to the end and collects what it emitted.
func runFileSource(t *testing.T, src *FileSource, logBuf *bytes.Buffer) sourceRun {
	t.Helper()
	var res sourceRun
	err := src.Run(context.Background(), func(b *pipeline.Batch) error {
		res.batches = append(res.batches, b)
		res.docs = append(res.docs, sourceDocs(b)...)
		return nil
	})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	res.events = src.env.Events.Snapshot()
	res.inputs = src.Inputs()
	for _, line := range bytes.Split(bytes.TrimSpace(logBuf.Bytes()), []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal(line, &m); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		res.logs = append(res.logs, m)
	}
	return res
}

// discardEnv returns an Env that counts events and discards logs.
func discardEnv() pipeline.Env {
	return pipeline.Env{Logger: slog.New(slog.DiscardHandler), Events: pipeline.NewCounters()}
}

func sourceConfigFor(paths ...string) pipeline.InputConfig {
	return pipeline.InputConfig{Paths: paths}
}

// readFiles runs a source with default settings over paths.
func readFiles(t *testing.T, paths ...string) sourceRun {
	t.Helper()
	var logBuf bytes.Buffer
	src := newSourceForTest(t, pipeline.InputConfig{Paths: paths}, &logBuf)
	return runFileSource(t, src, &logBuf)
}

func sourceDocs(b *pipeline.Batch) []sourceDoc {
	offsets := b.Column(pipeline.ColInputOffset)
	out := make([]sourceDoc, b.Len())
	for i := range out {
		out[i] = sourceDoc{
			ID:       b.Strings(pipeline.ColID).Value(i),
			Text:     b.Strings(pipeline.ColText).Value(i),
			URL:      b.Strings(pipeline.ColURL).Value(i),
			Source:   b.Strings(pipeline.ColSource).Value(i),
			Metadata: b.Strings(pipeline.ColMetadata).Value(i),
			Input:    b.Strings(pipeline.ColInput).Value(i),
			Offset:   offsets.(interface{ Value(int) int64 }).Value(i),
		}
	}
	return out
}

// logsWith returns the log entries whose reason is reason.
func (r sourceRun) logsWith(reason string) []map[string]any {
	var out []map[string]any
	for _, l := range r.logs {
		if l["reason"] == reason {
			out = append(out, l)
		}
	}
	return out
}

func writeInputFile(t *testing.T, path string, data []byte) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func gzipForTest(t *testing.T, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(data)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func zstdForTest(t *testing.T, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw, err := zstd.NewWriter(&buf)
	if err != nil {
		t.Fatal(err)
	}
	zw.Write(data)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// numberedJSONLines returns n JSON lines {"id":"d<i>","text":"document <i> ..."}.
func numberedJSONLines(n int) []byte {
	var b bytes.Buffer
	for i := range n {
		fmt.Fprintf(&b, `{"id":"d%d","text":"document %d with some filler text to make the line longer"}`+"\n", i, i)
	}
	return b.Bytes()
}

func TestFileSourceDolmaSample(t *testing.T) {
	res := readFiles(t, sourceSamplePath)

	if got := len(res.docs); got != 697 {
		t.Fatalf("docs = %d, want 697", got)
	}
	d := res.docs[0]
	if d.ID != "blj5uzvcoa4iybpd5o6kom5nir6ngmoj" {
		t.Errorf("id = %q", d.ID)
	}
	if d.URL != "16thfleet.wikidot.com/chatter:anewhome" {
		t.Errorf("url = %q, want metadata.url", d.URL)
	}
	if d.Source != "test_gz" {
		t.Errorf("source = %q", d.Source)
	}
	if !strings.HasPrefix(d.Text, "A New Home?\n\nMarch 03, 2018") {
		t.Errorf("text starts %q", d.Text[:30])
	}
	if d.Input != "cc-2019-30-00140.dolma.jsonl.gz" || d.Offset != 0 {
		t.Errorf("input, offset = %q, %d", d.Input, d.Offset)
	}
	var meta map[string]any
	if err := json.Unmarshal([]byte(d.Metadata), &meta); err != nil {
		t.Fatalf("metadata %q: %v", d.Metadata, err)
	}
	for _, key := range []string{"added", "created", "version", "attributes", "warc_url", "warc_date"} {
		if _, ok := meta[key]; !ok {
			t.Errorf("metadata lacks %q: %s", key, d.Metadata)
		}
	}
	for _, key := range []string{"id", "text", "source", "url", "metadata"} {
		if _, ok := meta[key]; ok {
			t.Errorf("metadata holds mapped or merged field %q", key)
		}
	}
	if len(res.events) != 0 {
		t.Errorf("events = %v, want none", res.events)
	}
}

func TestFileSourceInputRecord(t *testing.T) {
	res := readFiles(t, sourceSamplePath)

	raw, err := os.ReadFile(sourceSamplePath)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(raw)
	if len(res.inputs) != 1 {
		t.Fatalf("inputs = %d", len(res.inputs))
	}
	in := res.inputs[0]
	want := pipeline.InputRecord{
		URI:       "cc-2019-30-00140.dolma.jsonl.gz",
		Format:    FormatJSONL,
		Size:      int64(len(raw)),
		SHA256:    hex.EncodeToString(sum[:]),
		Records:   697,
		BytesRead: int64(len(readDolmaLines(t))),
		Complete:  true,
		Path:      sourceSamplePath,
	}
	if in != want {
		t.Errorf("input record\n got %+v\nwant %+v", in, want)
	}
}

func TestFileSourceBatching(t *testing.T) {
	dir := t.TempDir()
	writeInputFile(t, filepath.Join(dir, "a.jsonl"), numberedJSONLines(5))
	writeInputFile(t, filepath.Join(dir, "b.jsonl"), append(numberedJSONLines(4), "{broken\n"...))
	var logBuf bytes.Buffer
	src := newSourceForTest(t, pipeline.InputConfig{Paths: []string{dir}, BatchSize: 3}, &logBuf)
	res := runFileSource(t, src, &logBuf)

	var sizes []int
	for i, b := range res.batches {
		if b.Seq != uint64(i) {
			t.Errorf("batch %d has Seq %d", i, b.Seq)
		}
		sizes = append(sizes, b.Len())
	}
	if fmt.Sprint(sizes) != "[3 3 3]" {
		t.Errorf("batch sizes = %v, want [3 3 3]", sizes)
	}
	// Positions cover every record of both files once, the malformed last
	// line of b.jsonl included.
	var got []string
	for _, b := range res.batches {
		for _, p := range b.Positions {
			got = append(got, fmt.Sprintf("%s[%d,%d)", p.Input, p.FirstRecord, p.EndRecord))
		}
	}
	want := "[a.jsonl[0,3) a.jsonl[3,5) b.jsonl[0,1) b.jsonl[1,5)]"
	if fmt.Sprint(got) != want {
		t.Errorf("positions = %v\nwant %s", got, want)
	}
	last := res.batches[len(res.batches)-1].Positions
	if end := last[len(last)-1].EndOffset; end != int64(len(numberedJSONLines(4))+len("{broken\n")) {
		t.Errorf("last EndOffset = %d", end)
	}
}

func TestFileSourceBatchBytes(t *testing.T) {
	dir := t.TempDir()
	path := writeInputFile(t, filepath.Join(dir, "a.jsonl"), numberedJSONLines(10))
	var logBuf bytes.Buffer
	src := newSourceForTest(t, pipeline.InputConfig{Paths: []string{path}, BatchBytes: 100}, &logBuf)
	res := runFileSource(t, src, &logBuf)

	// Each text is about 60 bytes, so a batch closes at its second document.
	if len(res.batches) != 5 {
		t.Errorf("batches = %d, want 5", len(res.batches))
	}
	if len(res.docs) != 10 {
		t.Errorf("docs = %d, want 10", len(res.docs))
	}
}

func TestFileSourceCancel(t *testing.T) {
	dir := t.TempDir()
	path := writeInputFile(t, filepath.Join(dir, "a.jsonl"), numberedJSONLines(100))
	src, err := NewFileSource(pipeline.InputConfig{Paths: []string{path}, BatchSize: 10}, pipeline.Env{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	batches := 0
	err = src.Run(ctx, func(b *pipeline.Batch) error {
		batches++
		cancel()
		return ctx.Err()
	})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Run error = %v, want context.Canceled", err)
	}
	if batches != 1 {
		t.Errorf("batches = %d, want 1", batches)
	}
}

func TestFileSourceDerivedIDs(t *testing.T) {
	dir := t.TempDir()
	lines := []byte(`{"text":"first"}` + "\n" + `{"text":"second","id":""}` + "\n" + `{"text":"third","id":7}` + "\n")
	writeInputFile(t, filepath.Join(dir, "sub", "a.jsonl"), lines)
	res := readFiles(t, dir)

	want := []string{"sub/a.jsonl:0", "sub/a.jsonl:1", "7"}
	for i, d := range res.docs {
		if d.ID != want[i] {
			t.Errorf("doc %d id = %q, want %q", i, d.ID, want[i])
		}
	}
	// A single file is named by its base name, whatever path leads to it.
	res = readFiles(t, filepath.Join(dir, "sub", "a.jsonl"))
	if res.docs[0].ID != "a.jsonl:0" {
		t.Errorf("single file id = %q, want a.jsonl:0", res.docs[0].ID)
	}
}

func TestFileSourceInputPath(t *testing.T) {
	dir := t.TempDir()
	writeInputFile(t, filepath.Join(dir, "sub", "a.jsonl"), numberedJSONLines(1))
	t.Chdir(dir)
	cases := []struct {
		name, arg, wantURI, wantPath string
	}{
		{"file", filepath.Join(dir, "sub", "a.jsonl"), "a.jsonl", filepath.Join(dir, "sub", "a.jsonl")},
		{"folder", dir, "sub/a.jsonl", filepath.Join(dir, "sub", "a.jsonl")},
		{"glob", filepath.Join(dir, "**", "*.jsonl"), "sub/a.jsonl", filepath.Join(dir, "sub", "a.jsonl")},
		{"relative file", filepath.Join("sub", "a.jsonl"), "a.jsonl", filepath.Join("sub", "a.jsonl")},
		{"relative folder", "sub", "a.jsonl", filepath.Join("sub", "a.jsonl")},
		{"relative glob", "*/*.jsonl", "sub/a.jsonl", filepath.Join("sub", "a.jsonl")},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := readFiles(t, c.arg)
			if len(res.inputs) != 1 {
				t.Fatalf("inputs = %d, want 1", len(res.inputs))
			}
			if got := res.inputs[0].URI; got != c.wantURI {
				t.Errorf("uri = %q, want %q", got, c.wantURI)
			}
			if got := res.inputs[0].Path; got != c.wantPath {
				t.Errorf("path = %q, want %q", got, c.wantPath)
			}
		})
	}
}

func TestFileSourceInvalidUTF8Name(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "caf\xe9.jsonl")
	if err := os.WriteFile(path, []byte(`{"text":"one"}`+"\n"+`{"text":"two","id":"x"}`+"\n"), 0o644); err != nil {
		t.Skip("file system rejects names that are not UTF-8:", err)
	}
	const name = "caf\uFFFD.jsonl"
	for _, arg := range []string{path, dir} {
		res := readFiles(t, arg)
		if len(res.docs) != 2 {
			t.Fatalf("%s: docs = %d, want 2", arg, len(res.docs))
		}
		if d := res.docs[0]; d.Input != name || d.ID != name+":0" {
			t.Errorf("%s: input, id = %q, %q, want %q, %q", arg, d.Input, d.ID, name, name+":0")
		}
		for _, b := range res.batches {
			for _, p := range b.Positions {
				if p.Input != name {
					t.Errorf("%s: position input = %q, want %q", arg, p.Input, name)
				}
			}
		}
		if in := res.inputs[0]; in.URI != name || in.Path != path {
			t.Errorf("%s: uri, path = %q, %q, want %q, %q", arg, in.URI, in.Path, name, path)
		}
		// Every record carries the name, so every record counts.
		if res.events[EventInvalidUTF8] != 2 {
			t.Errorf("%s: events = %v, want invalid_utf8 2", arg, res.events)
		}
	}
}

func TestNewFileSourceErrors(t *testing.T) {
	dir := t.TempDir()
	writeInputFile(t, filepath.Join(dir, "a.jsonl"), numberedJSONLines(1))
	cases := []struct {
		name string
		cfg  pipeline.InputConfig
		want string
	}{
		{"missing file", pipeline.InputConfig{Paths: []string{filepath.Join(dir, "nope.jsonl")}}, "nope.jsonl"},
		{"glob without match", pipeline.InputConfig{Paths: []string{filepath.Join(dir, "*.parquet")}}, "*.parquet"},
		{"bad format", pipeline.InputConfig{Paths: []string{dir}, Format: "csv"}, `input.format: invalid value "csv"`},
		{"bad field path", pipeline.InputConfig{Paths: []string{dir}, Fields: pipeline.FieldMap{URL: "meta..url"}}, "input.fields.url"},
		{"negative batch size", pipeline.InputConfig{Paths: []string{dir}, BatchSize: -1}, "input.batch_size"},
		{"no paths", pipeline.InputConfig{}, "no input paths"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := NewFileSource(c.cfg, pipeline.Env{})
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q does not contain %q", err, c.want)
			}
		})
	}
}

// countingSink counts the alive rows it is given.
type countingSink struct {
	docs   int
	closed bool
}

func (s *countingSink) Write(_ context.Context, b *pipeline.Batch) error {
	s.docs += b.LiveCount()
	return nil
}

func (s *countingSink) Close(context.Context) error {
	s.closed = true
	return nil
}

func TestFileSourceInPipeline(t *testing.T) {
	src, err := NewFileSource(pipeline.InputConfig{Paths: []string{sourceSamplePath, "../testdata/whirlwind.warc.wet.gz"}, BatchSize: 64}, discardEnv())
	if err != nil {
		t.Fatal(err)
	}
	sink := &countingSink{}
	p := &pipeline.Pipeline{
		Source:    src,
		SourceEnv: src.env,
		Sink:      sink,
		SinkEnv:   discardEnv(),
		Logger:    slog.New(slog.DiscardHandler),
	}
	if err := p.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if sink.docs != 698 || !sink.closed {
		t.Errorf("sink got %d docs, closed %v; want 698, true", sink.docs, sink.closed)
	}
	if got := p.Metrics().Stages[0].DocsOut.Load(); got != 698 {
		t.Errorf("source docs out = %d, want 698", got)
	}
	if n := len(src.Inputs()); n != 2 {
		t.Errorf("input records = %d, want 2", n)
	}
}
