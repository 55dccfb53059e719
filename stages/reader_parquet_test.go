package stages

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/winnow-data/winnow/pipeline"
)

// writeParquetInput writes rows to path as a Parquet file.
func writeParquetInput[T any](t *testing.T, path string, rows []T) string {
	t.Helper()
	var buf bytes.Buffer
	w := parquet.NewGenericWriter[T](&buf)
	if _, err := w.Write(rows); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return writeInputFile(t, path, buf.Bytes())
}

// datatroveRow has the layout of datatrove's Parquet output.
type datatroveRow struct {
	Text     string `parquet:"text"`
	ID       string `parquet:"id"`
	Metadata struct {
		URL           string  `parquet:"url"`
		Dump          string  `parquet:"dump"`
		LanguageScore float64 `parquet:"language_score"`
	} `parquet:"metadata"`
}

// finewebRow has FineWeb's flat layout, with a list and a binary column.
type finewebRow struct {
	Text       string   `parquet:"text"`
	ID         string   `parquet:"id"`
	URL        string   `parquet:"url"`
	Dump       string   `parquet:"dump"`
	TokenCount int64    `parquet:"token_count"`
	Score      float32  `parquet:"language_score"`
	Tags       []string `parquet:"tags,list"`
	Raw        []byte   `parquet:"raw"`
	Source     *string  `parquet:"source,optional"`
}

func TestParquetDatatrove(t *testing.T) {
	rows := make([]datatroveRow, 3)
	for i := range rows {
		rows[i].Text = []string{"first\ndoc", "second \"doc\"", "third"}[i]
		rows[i].ID = []string{"a", "b", "c"}[i]
		rows[i].Metadata.URL = "https://dt.example/" + rows[i].ID
		rows[i].Metadata.Dump = "CC-MAIN-2024-10"
		rows[i].Metadata.LanguageScore = 0.5
	}
	dir := t.TempDir()
	writeParquetInput(t, filepath.Join(dir, "part-0.parquet"), rows)
	res := readFiles(t, dir)

	if len(res.docs) != 3 {
		t.Fatalf("docs = %d, events %v", len(res.docs), res.events)
	}
	want := sourceDoc{
		ID: "b", Text: "second \"doc\"", URL: "https://dt.example/b",
		Metadata: `{"dump":"CC-MAIN-2024-10","language_score":0.5}`,
		Input:    "part-0.parquet", Offset: 1,
	}
	if res.docs[1] != want {
		t.Errorf("\n got %+v\nwant %+v", res.docs[1], want)
	}
	if res.docs[0].Text != "first\ndoc" {
		t.Errorf("text = %q", res.docs[0].Text)
	}
	in := res.inputs[0]
	if !in.Complete || in.Records != 3 || in.Format != FormatParquet || in.Size == 0 || in.BytesRead != in.Size {
		t.Errorf("input record = %+v", in)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "part-0.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	if sum := sha256.Sum256(raw); in.SHA256 != hex.EncodeToString(sum[:]) {
		t.Errorf("sha256 = %s, want the checksum of the file", in.SHA256)
	}
}

func TestParquetFlatColumns(t *testing.T) {
	src := "forum"
	rows := []finewebRow{
		{Text: "hello", ID: "f1", URL: "https://fw.example/", Dump: "d", TokenCount: 12, Score: 0.25, Tags: []string{"x", "y"}, Raw: []byte("raw"), Source: &src},
		{Text: "world", ID: "f2"},
	}
	dir := t.TempDir()
	writeParquetInput(t, filepath.Join(dir, "a.parquet"), rows)
	res := readFiles(t, dir)

	if len(res.docs) != 2 {
		t.Fatalf("docs = %d, events %v", len(res.docs), res.events)
	}
	d := res.docs[0]
	if d.ID != "f1" || d.URL != "https://fw.example/" || d.Source != "forum" {
		t.Errorf("doc = %+v", d)
	}
	want := `{"dump":"d","language_score":0.25,"raw":"raw","tags":["x","y"],"token_count":12}`
	if d.Metadata != want {
		t.Errorf("metadata = %s\nwant %s", d.Metadata, want)
	}
	// A null optional column fills nothing.
	if res.docs[1].Source != "" {
		t.Errorf("source = %q, want empty", res.docs[1].Source)
	}
}

func TestParquetMissingText(t *testing.T) {
	type row struct {
		Body string `parquet:"body"`
	}
	dir := t.TempDir()
	writeParquetInput(t, filepath.Join(dir, "a.parquet"), []row{{"x"}, {"y"}})
	res := readFiles(t, dir)

	if len(res.docs) != 0 || res.events[EventMissingText] != 2 {
		t.Errorf("docs = %d, events %v", len(res.docs), res.events)
	}
}

func TestParquetBadFiles(t *testing.T) {
	dir := t.TempDir()
	writeInputFile(t, filepath.Join(dir, "a.parquet"), []byte("this is not a parquet file at all, just text"))
	writeInputFile(t, filepath.Join(dir, "b.parquet"), nil)
	writeParquetInput(t, filepath.Join(dir, "c.parquet"), []datatroveRow{})
	writeParquetInput(t, filepath.Join(dir, "d.parquet"), []datatroveRow{{Text: "kept"}})
	res := readFiles(t, dir)

	if len(res.docs) != 1 || res.docs[0].Text != "kept" {
		t.Errorf("docs = %+v", res.docs)
	}
	if res.events[EventReadError] != 1 || res.events[EventEmptyFile] != 2 {
		t.Errorf("events = %v, want read_error 1 and empty_file 2", res.events)
	}
	if res.inputs[0].Complete || res.inputs[0].Error == "" || res.inputs[0].SHA256 == "" {
		t.Errorf("input record = %+v, want incomplete with error and checksum", res.inputs[0])
	}
}

func TestAppendJSONValue(t *testing.T) {
	cases := []struct {
		value any
		want  string
	}{
		{nil, `null`},
		{true, `true`},
		{int32(-3), `-3`},
		{uint64(7), `7`},
		{float32(0.1), `0.1`},
		{math.NaN(), `"NaN"`},
		{math.Inf(1), `"+Inf"`},
		{float32(math.Inf(-1)), `"-Inf"`},
		{[]byte("b\"in"), `"b\"in"`},
		{map[string]any{"z": []any{1.5, "s"}, "a": map[string]any{}}, `{"a":{},"z":[1.5,"s"]}`},
		{time.Date(2024, 5, 18, 1, 58, 10, 0, time.UTC), `"2024-05-18T01:58:10Z"`},
		{struct{ X chan int }{}, `"{<nil>}"`},
	}
	for _, c := range cases {
		if got := string(appendJSONValue(nil, c.value)); got != c.want {
			t.Errorf("appendJSONValue(%#v) = %s, want %s", c.value, got, c.want)
		}
	}
}

// writeDolmaParquet writes the Dolma sample as Parquet in the datatrove
// layout and returns the file's path and the text bytes it holds.
func writeDolmaParquet(b *testing.B) (string, int64) {
	raw := readDolmaLines(b)
	var rows []datatroveRow
	var textBytes int64
	for _, line := range bytes.Split(bytes.TrimSpace(raw), []byte("\n")) {
		var rec struct {
			ID, Text string
			Metadata struct{ URL string }
		}
		if err := json.Unmarshal(line, &rec); err != nil {
			b.Fatal(err)
		}
		var row datatroveRow
		row.ID, row.Text, row.Metadata.URL = rec.ID, rec.Text, rec.Metadata.URL
		rows = append(rows, row)
		textBytes += int64(len(rec.Text))
	}

	var buf bytes.Buffer
	w := parquet.NewGenericWriter[datatroveRow](&buf)
	if _, err := w.Write(rows); err != nil {
		b.Fatal(err)
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
	path := filepath.Join(b.TempDir(), "sample.parquet")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		b.Fatal(err)
	}
	return path, textBytes
}

// BenchmarkParquetSource reads the Dolma sample written as Parquet. The
// throughput counts text bytes, because Parquet has no decoded stream size.
func BenchmarkParquetSource(b *testing.B) {
	path, textBytes := writeDolmaParquet(b)
	src, err := NewFileSource(pipeline.InputConfig{Paths: []string{path}}, pipeline.Env{})
	if err != nil {
		b.Fatal(err)
	}

	b.SetBytes(textBytes)
	b.ReportAllocs()
	for b.Loop() {
		err := src.Run(context.Background(), func(bt *pipeline.Batch) error {
			bt.Release()
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

func TestParquetInvalidUTF8(t *testing.T) {
	type row struct {
		Text string `parquet:"text"`
		ID   string `parquet:"id"`
		URL  string `parquet:"url"`
		Note string `parquet:"note"`
	}
	rows := []row{
		{Text: "kept \xff", ID: "p\xff", URL: "https://x.example/\xfe", Note: "n\xc3"},
		{Text: "fine", ID: "ok", URL: "https://x.example/", Note: "n"},
	}
	dir := t.TempDir()
	writeParquetInput(t, filepath.Join(dir, "a.parquet"), rows)
	res := readFiles(t, dir)

	if len(res.docs) != 2 {
		t.Fatalf("docs = %d, events %v", len(res.docs), res.events)
	}
	d := res.docs[0]
	if d.ID != "p\uFFFD" || d.URL != "https://x.example/\uFFFD" || d.Metadata != "{\"note\":\"n\uFFFD\"}" {
		t.Errorf("id, url, metadata = %q, %q, %q, want U+FFFD for the invalid bytes", d.ID, d.URL, d.Metadata)
	}
	if d.Text != "kept \xff" {
		t.Errorf("text = %q, want the bytes unchanged", d.Text)
	}
	if res.events[EventInvalidUTF8] != 1 {
		t.Errorf("events = %v, want invalid_utf8 1", res.events)
	}
}

// nestedDocRow keeps its text and id inside a group, with a sibling field.
type nestedDocRow struct {
	Doc struct {
		Body string `parquet:"body"`
		UID  string `parquet:"uid"`
		Lang string `parquet:"lang"`
	} `parquet:"doc"`
	Added string `parquet:"added"`
}

// nestedOnlyRow keeps its text and id inside a group with nothing else.
type nestedOnlyRow struct {
	Doc struct {
		Body string `parquet:"body"`
		UID  string `parquet:"uid"`
	} `parquet:"doc"`
}

func TestParquetNestedColumnFields(t *testing.T) {
	dir := t.TempDir()
	withSibling := make([]nestedDocRow, 1)
	withSibling[0].Doc.Body = "write to jane@example.com"
	withSibling[0].Doc.UID = "u0"
	withSibling[0].Doc.Lang = "en"
	withSibling[0].Added = "2024"
	writeParquetInput(t, filepath.Join(dir, "a.parquet"), withSibling)
	alone := make([]nestedOnlyRow, 1)
	alone[0].Doc.Body = "write to john@example.com"
	alone[0].Doc.UID = "u1"
	writeParquetInput(t, filepath.Join(dir, "b.parquet"), alone)

	cfg := pipeline.InputConfig{Paths: []string{dir}, Fields: pipeline.FieldMap{Text: "doc.body", ID: "doc.uid"}}
	var logBuf bytes.Buffer
	res := runFileSource(t, newSourceForTest(t, cfg, &logBuf), &logBuf)

	if len(res.docs) != 2 {
		t.Fatalf("docs = %d, events %v", len(res.docs), res.events)
	}
	if d := res.docs[0]; d.ID != "u0" || d.Text != "write to jane@example.com" {
		t.Errorf("doc = %+v", d)
	}
	if got, want := res.docs[0].Metadata, `{"added":"2024","doc":{"lang":"en"}}`; got != want {
		t.Errorf("metadata = %s, want %s", got, want)
	}
	if got := res.docs[1].Metadata; got != "{}" {
		t.Errorf("metadata = %s, want {} once doc is empty", got)
	}
}
