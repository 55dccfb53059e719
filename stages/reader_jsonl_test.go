package stages

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/winnow-data/winnow/pipeline"
)

// sourceSamplePath is a real Dolma shard of 697 documents.
const sourceSamplePath = "../testdata/cc-2019-30-00140.dolma.jsonl.gz"

// readDolmaLines returns the decompressed Dolma sample.
func readDolmaLines(tb testing.TB) []byte {
	tb.Helper()
	f, err := os.Open(sourceSamplePath)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		tb.Fatal(err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		tb.Fatal(err)
	}
	return raw
}

func BenchmarkJSONLSource(b *testing.B) {
	raw := readDolmaLines(b)
	dir := b.TempDir()
	plain := filepath.Join(dir, "sample.jsonl")
	if err := os.WriteFile(plain, bytes.Repeat(raw, 4), 0o644); err != nil {
		b.Fatal(err)
	}
	cases := []struct {
		name  string
		path  string
		bytes int64
	}{
		{"plain", plain, int64(4 * len(raw))},
		{"gzip", sourceSamplePath, int64(len(raw))},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			src, err := NewFileSource(pipeline.InputConfig{Paths: []string{c.path}}, pipeline.Env{Events: pipeline.NewCounters()})
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(c.bytes)
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
		})
	}
}

// BenchmarkJSONScanner measures validating and mapping records alone,
// without reading lines or building batches.
func BenchmarkJSONScanner(b *testing.B) {
	raw := readDolmaLines(b)
	lines := bytes.Split(bytes.TrimSpace(raw), []byte("\n"))
	paths, err := newColumnPaths(pipeline.FieldMap{})
	if err != nil {
		b.Fatal(err)
	}
	m := jsonMapper{paths: paths}
	var members []jsonMember
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		for _, line := range lines {
			var d pipeline.Doc
			members, err = m.scan.record(line, members[:0])
			if err != nil {
				b.Fatal(err)
			}
			if !m.fill(&d, members) {
				b.Fatal("missing text")
			}
		}
	}
}

// BenchmarkJSONStdlib is the baseline of BenchmarkJSONScanner: the same
// work with encoding/json.
func BenchmarkJSONStdlib(b *testing.B) {
	raw := readDolmaLines(b)
	lines := bytes.Split(bytes.TrimSpace(raw), []byte("\n"))
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		for _, line := range lines {
			var m map[string]json.RawMessage
			if err := json.Unmarshal(line, &m); err != nil {
				b.Fatal(err)
			}
			var text string
			if err := json.Unmarshal(m["text"], &text); err != nil {
				b.Fatal(err)
			}
		}
	}
}

func TestJSONLMalformedLine(t *testing.T) {
	dir := t.TempDir()
	path := writeInputFile(t, filepath.Join(dir, "a.jsonl"), []byte(`{"text":"one"}
{"text":"two",
{"text":"three"}
`))
	res := readFiles(t, path)

	if got := docTexts(res.docs); got != "[one three]" {
		t.Errorf("texts = %s, want [one three]", got)
	}
	if res.events[EventMalformedJSON] != 1 {
		t.Errorf("events = %v, want malformed_json 1", res.events)
	}
	logs := res.logsWith(EventMalformedJSON)
	if len(logs) != 1 {
		t.Fatalf("malformed_json logs = %d, want 1", len(logs))
	}
	if logs[0]["path"] != path || logs[0]["line"] != 2.0 || logs[0]["err"] == nil {
		t.Errorf("log = %v, want path, line 2 and err", logs[0])
	}
	if !res.inputs[0].Complete || res.inputs[0].Records != 3 {
		t.Errorf("input record = %+v", res.inputs[0])
	}
}

func TestJSONLInvalidUTF8(t *testing.T) {
	dir := t.TempDir()
	path := writeInputFile(t, filepath.Join(dir, "a.jsonl"), []byte("{\"text\":\"bad \xff\xfe bytes\"}\n{\"text\":\"caf\xc3\xa9\"}\n"))
	res := readFiles(t, path)

	if len(res.docs) != 2 {
		t.Fatalf("docs = %d, want 2", len(res.docs))
	}
	if res.docs[0].Text != "bad \xff\xfe bytes" {
		t.Errorf("text = %q, want the bytes unchanged", res.docs[0].Text)
	}
	if res.events[EventInvalidUTF8] != 1 {
		t.Errorf("events = %v, want invalid_utf8 1", res.events)
	}
	if logs := res.logsWith(EventInvalidUTF8); len(logs) != 1 || logs[0]["line"] != 1.0 {
		t.Errorf("logs = %v", logs)
	}
}

func TestJSONLLoneSurrogate(t *testing.T) {
	dir := t.TempDir()
	path := writeInputFile(t, filepath.Join(dir, "a.jsonl"), []byte(`{"text":"lone \ud800 high"}
{"text":"pair \ud83d\ude00 ok"}
{"text":"lone \udc00 low","meta":{"k":"\ud801x"}}
`))
	res := readFiles(t, path)

	want := []string{"lone \uFFFD high", "pair \U0001F600 ok", "lone \uFFFD low"}
	for i, d := range res.docs {
		if d.Text != want[i] {
			t.Errorf("doc %d text = %q, want %q", i, d.Text, want[i])
		}
	}
	if res.events[EventLoneSurrogate] != 2 {
		t.Errorf("events = %v, want lone_surrogate 2", res.events)
	}
	// The decoding matches encoding/json.
	var std struct{ Text string }
	if err := json.Unmarshal([]byte(`{"text":"lone \ud800 high"}`), &std); err != nil || std.Text != want[0] {
		t.Errorf("encoding/json decodes %q, %v", std.Text, err)
	}
}

func TestJSONLLongLine(t *testing.T) {
	dir := t.TempDir()
	long := strings.Repeat("0123456789", 30_000)
	lines := `{"text":"short one"}` + "\n" + `{"text":"` + long + `"}` + "\n" + `{"text":"short two"}` + "\n"
	path := writeInputFile(t, filepath.Join(dir, "a.jsonl"), []byte(lines))
	res := readFiles(t, path)

	if len(res.docs) != 3 {
		t.Fatalf("docs = %d, want 3", len(res.docs))
	}
	if res.docs[1].Text != long || res.docs[2].Text != "short two" {
		t.Errorf("long text has %d bytes, last text %q", len(res.docs[1].Text), res.docs[2].Text)
	}
	if len(res.events) != 0 {
		t.Errorf("events = %v, want none", res.events)
	}
}

func TestJSONLOversizedRecord(t *testing.T) {
	dir := t.TempDir()
	// One line fits the read buffer, the other spans several.
	mid := `{"text":"` + strings.Repeat("x", 5000) + `"}`
	huge := `{"text":"` + strings.Repeat("y", 3*readBufferSize) + `"}`
	path := writeInputFile(t, filepath.Join(dir, "a.jsonl"), []byte("{\"text\":\"a\"}\n"+mid+"\n"+huge+"\n{\"text\":\"b\"}"))
	var logBuf bytes.Buffer
	src := newSourceForTest(t, pipeline.InputConfig{Paths: []string{path}}, &logBuf)
	src.maxRecord = 4000
	res := runFileSource(t, src, &logBuf)

	if got := docTexts(res.docs); got != "[a b]" {
		t.Errorf("texts = %s, want [a b]", got)
	}
	if res.events[EventOversizedRecord] != 2 {
		t.Errorf("events = %v, want oversized_record 2", res.events)
	}
	if res.docs[1].Offset != 3 {
		t.Errorf("offset of b = %d, want 3", res.docs[1].Offset)
	}
}

func TestJSONLMissingText(t *testing.T) {
	dir := t.TempDir()
	path := writeInputFile(t, filepath.Join(dir, "a.jsonl"), []byte(`{"id":"x"}
{"text":null}
{"text":{"nested":true}}
{"text":"ok"}
`))
	res := readFiles(t, path)

	if got := docTexts(res.docs); got != "[ok]" {
		t.Errorf("texts = %s, want [ok]", got)
	}
	if res.events[EventMissingText] != 3 {
		t.Errorf("events = %v, want missing_text 3", res.events)
	}
}

func TestJSONLTruncatedGzip(t *testing.T) {
	dir := t.TempDir()
	full := gzipForTest(t, numberedJSONLines(2000))
	cut := writeInputFile(t, filepath.Join(dir, "a.jsonl.gz"), full[:len(full)-20])
	writeInputFile(t, filepath.Join(dir, "b.jsonl"), numberedJSONLines(3))
	res := readFiles(t, dir)

	var fromA []sourceDoc
	for _, d := range res.docs {
		if d.Input == "a.jsonl.gz" {
			fromA = append(fromA, d)
		}
	}
	// The cut removes the gzip trailer and the last few compressed bytes,
	// so only the last records may be lost.
	if len(fromA) < 1900 || len(fromA) >= 2000 {
		t.Errorf("docs from the truncated file = %d, want most of 2000", len(fromA))
	}
	for i, d := range fromA {
		if d.ID != fmt.Sprintf("d%d", i) || d.Offset != int64(i) {
			t.Fatalf("doc %d = %q at %d: records must be complete and in order", i, d.ID, d.Offset)
		}
	}
	if n := len(res.docs) - len(fromA); n != 3 {
		t.Errorf("docs from the next file = %d, want 3", n)
	}
	a := res.inputs[0]
	if a.Complete || a.Error == "" || a.Size != int64(len(full)-20) {
		t.Errorf("input record = %+v, want incomplete with error and size", a)
	}
	if sum := sha256.Sum256(full[:len(full)-20]); a.SHA256 != hex.EncodeToString(sum[:]) {
		t.Errorf("sha256 = %s, want the checksum of the whole cut file", a.SHA256)
	}
	if !res.inputs[1].Complete {
		t.Errorf("next input record = %+v, want complete", res.inputs[1])
	}
	if res.events[EventTruncatedFile] != 1 {
		t.Errorf("events = %v, want truncated_file 1", res.events)
	}
	logs := res.logsWith(EventTruncatedFile)
	if len(logs) != 1 || logs[0]["path"] != cut || logs[0]["offset"] == nil || logs[0]["err"] == nil {
		t.Errorf("logs = %v, want path, offset and err", logs)
	}
}

func TestJSONLTruncatedZstd(t *testing.T) {
	dir := t.TempDir()
	full := zstdForTest(t, numberedJSONLines(2000))
	writeInputFile(t, filepath.Join(dir, "a.jsonl.zst"), full[:len(full)-20])
	res := readFiles(t, dir)

	if res.inputs[0].Complete {
		t.Errorf("input record = %+v, want incomplete", res.inputs[0])
	}
	if res.events[EventTruncatedFile] != 1 {
		t.Errorf("events = %v, want truncated_file 1", res.events)
	}
}

func TestJSONLCompressed(t *testing.T) {
	dir := t.TempDir()
	lines := numberedJSONLines(50)
	// Two gzip members in one file, as parallel compressors write them.
	multi := append(gzipForTest(t, lines[:len(lines)/2]), gzipForTest(t, lines[len(lines)/2:])...)
	writeInputFile(t, filepath.Join(dir, "a.jsonl.gz"), multi)
	writeInputFile(t, filepath.Join(dir, "b.ndjson.zst"), zstdForTest(t, lines))
	writeInputFile(t, filepath.Join(dir, "c.json"), lines)
	res := readFiles(t, dir)

	if len(res.docs) != 150 {
		t.Errorf("docs = %d, want 150", len(res.docs))
	}
	for _, in := range res.inputs {
		if !in.Complete || in.Records != 50 || in.BytesRead != int64(len(lines)) {
			t.Errorf("input record = %+v", in)
		}
	}
}

func TestJSONLByteOrderMark(t *testing.T) {
	dir := t.TempDir()
	path := writeInputFile(t, filepath.Join(dir, "a.jsonl"), []byte("\xef\xbb\xbf{\"text\":\"one\"}\r\n{\"text\":\"two\"}\r\n"))
	res := readFiles(t, path)

	if got := docTexts(res.docs); got != "[one two]" {
		t.Errorf("texts = %s, want [one two]", got)
	}
	if len(res.events) != 0 {
		t.Errorf("events = %v, want none", res.events)
	}
}

func TestJSONLEmptyFile(t *testing.T) {
	dir := t.TempDir()
	writeInputFile(t, filepath.Join(dir, "a.jsonl"), nil)
	writeInputFile(t, filepath.Join(dir, "b.jsonl.gz"), nil)
	writeInputFile(t, filepath.Join(dir, "c.jsonl.gz"), gzipForTest(t, nil))
	writeInputFile(t, filepath.Join(dir, "d.jsonl"), numberedJSONLines(2))
	res := readFiles(t, dir)

	if len(res.docs) != 2 {
		t.Errorf("docs = %d, want 2", len(res.docs))
	}
	if res.events[EventEmptyFile] != 3 {
		t.Errorf("events = %v, want empty_file 3", res.events)
	}
	for _, in := range res.inputs {
		if !in.Complete {
			t.Errorf("input record = %+v, want complete", in)
		}
	}
	if logs := res.logsWith(EventEmptyFile); len(logs) != 3 || logs[0]["path"] == nil {
		t.Errorf("logs = %v", logs)
	}
}

func TestJSONLLogLimit(t *testing.T) {
	dir := t.TempDir()
	path := writeInputFile(t, filepath.Join(dir, "a.jsonl"), bytes.Repeat([]byte("not json\n"), 25))
	res := readFiles(t, path)

	if res.events[EventMalformedJSON] != 25 {
		t.Errorf("events = %v, want malformed_json 25", res.events)
	}
	if n := len(res.logsWith(EventMalformedJSON)); n != maxLoggedEvents+1 {
		t.Errorf("malformed_json logs = %d, want %d and a summary", n, maxLoggedEvents+1)
	}
}

func docTexts(docs []sourceDoc) string {
	var out []string
	for _, d := range docs {
		out = append(out, d.Text)
	}
	return fmt.Sprint(out)
}

// FuzzJSONScanner checks the scanner against encoding/json: it accepts the
// same objects, and strings decode to the same text when the input is
// valid UTF-8 (encoding/json replaces invalid bytes, the scanner keeps them).
func FuzzJSONScanner(f *testing.F) {
	for _, seed := range []string{
		`{"text":"a\nb","id":1}`,
		`{"a":[1,-2.5e+3,true,false,null,{"b":"\u00e9\ud83d\ude00"}]}`,
		`{"lone":"\ud800"}`,
		` { } `,
		`{"a":01}`,
		`{"a":"unterminated}`,
		`{"a":1,}`,
		`[1,2]`,
		"{\"ctl\":\"\x01\"}",
		`{"k":"\x"}`,
		`{"n":-}`,
		`{"n":1.}`,
		`{"n":1e}`,
		`{"a":tru}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		var s jsonScanner
		members, err := s.record(line, nil)
		trimmed := bytes.TrimLeft(line, " \t\r\n")
		want := json.Valid(line) && len(trimmed) > 0 && trimmed[0] == '{'
		if (err == nil) != want {
			t.Fatalf("record(%q) error = %v, encoding/json valid object = %v", line, err, want)
		}
		if err != nil || !utf8.Valid(line) {
			return
		}
		var std map[string]any
		if err := json.Unmarshal(line, &std); err != nil {
			t.Fatal(err)
		}
		for _, m := range members {
			key := string(m.key())
			if m.val[0] != '"' {
				continue
			}
			got := string(appendUnescaped(nil, m.val[1:len(m.val)-1]))
			if v, _ := findMember(members, key); !bytes.Equal(v, m.val) {
				continue // a later duplicate key wins in encoding/json
			}
			if std[key] != got {
				t.Fatalf("member %q decodes to %q, encoding/json to %q", key, got, std[key])
			}
		}
	})
}

func TestSkipPlainWords(t *testing.T) {
	// Every byte value at every position of a word: the skip must stop
	// before each quote, backslash or control byte and pass other bytes.
	for pos := range 8 {
		for c := range 256 {
			b := bytes.Repeat([]byte("a"), 24)
			b[8+pos] = byte(c)
			got := skipPlainWords(b, 0)
			want := 24
			if stringStop[c] {
				want = 8
			}
			if got != want {
				t.Errorf("byte %#x at %d: skipped to %d, want %d", c, 8+pos, got, want)
			}
		}
	}
}

func TestJSONLInvalidUTF8Columns(t *testing.T) {
	dir := t.TempDir()
	lines := "{\"id\":\"i\xff\",\"text\":\"kept \xfe\",\"url\":\"https://x.example/\xff\",\"source\":\"s\xc3\",\"extra\":\"e\xff\",\"meta\":{\"k\":[\"m\xff\"]}}\n" +
		"{\"id\":\"ok\",\"text\":\"valid\"}\n" +
		"{\"id\":\"j\xff\",\"text\":\"valid\"}\n"
	path := writeInputFile(t, filepath.Join(dir, "a.jsonl"), []byte(lines))
	res := readFiles(t, path)

	if len(res.docs) != 3 {
		t.Fatalf("docs = %d, want 3", len(res.docs))
	}
	want := sourceDoc{
		ID: "i\uFFFD", Text: "kept \xfe", URL: "https://x.example/\uFFFD", Source: "s\uFFFD",
		Metadata: "{\"extra\":\"e\uFFFD\",\"k\":[\"m\uFFFD\"]}", Input: "a.jsonl",
	}
	if res.docs[0] != want {
		t.Errorf("\n got %#v\nwant %#v", res.docs[0], want)
	}
	if res.docs[2].ID != "j\uFFFD" {
		t.Errorf("id = %q, want j\uFFFD", res.docs[2].ID)
	}
	if !json.Valid([]byte(res.docs[0].Metadata)) {
		t.Errorf("metadata %q is not valid JSON", res.docs[0].Metadata)
	}
	// One event per record, however many of its columns held invalid bytes.
	if res.events[EventInvalidUTF8] != 2 {
		t.Errorf("events = %v, want invalid_utf8 2", res.events)
	}
	logs := res.logsWith(EventInvalidUTF8)
	if len(logs) != 2 || logs[0]["line"] != 1.0 || logs[1]["line"] != 3.0 {
		t.Errorf("logs = %v, want lines 1 and 3", logs)
	}
}

func TestJSONLBlankLines(t *testing.T) {
	dir := t.TempDir()
	lines := "\n{\"text\":\"one\"}\n   \n\t\r\n{\"text\":\"two\"}\n"
	path := writeInputFile(t, filepath.Join(dir, "a.jsonl"), []byte(lines))
	res := readFiles(t, path)

	if got := docTexts(res.docs); got != "[one two]" {
		t.Errorf("texts = %s, want [one two]", got)
	}
	if res.docs[0].Offset != 1 || res.docs[1].Offset != 4 {
		t.Errorf("offsets = %d, %d, want 1, 4", res.docs[0].Offset, res.docs[1].Offset)
	}
	if res.events[EventBlankLine] != 3 {
		t.Errorf("events = %v, want blank_line 3", res.events)
	}
	if logs := res.logsWith(EventBlankLine); len(logs) != 0 {
		t.Errorf("blank_line logs = %v, want none", logs)
	}
	if in := res.inputs[0]; !in.Complete || in.Records != 5 {
		t.Errorf("input record = %+v, want complete with 5 records", in)
	}
}
