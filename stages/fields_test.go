package stages

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/winnow-data/winnow/pipeline"
)

func TestLayouts(t *testing.T) {
	cases := []struct {
		name string
		line string
		want sourceDoc
	}{
		{
			name: "dolma",
			line: `{"id":"d1","text":"hello","source":"common-crawl","added":"2023-04-07","metadata":{"url":"http://a.example/","warc_url":"http://a.example/x"}}`,
			want: sourceDoc{ID: "d1", Text: "hello", URL: "http://a.example/", Source: "common-crawl",
				Metadata: `{"added":"2023-04-07","warc_url":"http://a.example/x"}`},
		},
		{
			name: "c4",
			line: `{"text":"hello","url":"https://c4.example/","timestamp":"2019-04-21T18:54:04Z"}`,
			want: sourceDoc{ID: "a.jsonl:0", Text: "hello", URL: "https://c4.example/",
				Metadata: `{"timestamp":"2019-04-21T18:54:04Z"}`},
		},
		{
			name: "redpajama v1",
			line: `{"text":"hello","meta":{"url":"https://rp.example/","source":"c4","language":"en","timestamp":"2019"}}`,
			want: sourceDoc{ID: "a.jsonl:0", Text: "hello", URL: "https://rp.example/", Source: "c4",
				Metadata: `{"language":"en","timestamp":"2019"}`},
		},
		{
			name: "redpajama v2",
			line: `{"raw_content":"hello","doc_id":"rp2/0","meta":"{\"url\": \"x\"}"}`,
			want: sourceDoc{ID: "rp2/0", Text: "hello", Metadata: `{"meta":"{\"url\": \"x\"}"}`},
		},
		{
			name: "datatrove",
			line: `{"text":"hello","id":"<urn:uuid:1>","metadata":{"dump":"CC-MAIN-2024-10","url":"https://dt.example/","language_score":0.93}}`,
			want: sourceDoc{ID: "<urn:uuid:1>", Text: "hello", URL: "https://dt.example/",
				Metadata: `{"dump":"CC-MAIN-2024-10","language_score":0.93}`},
		},
		{
			name: "escaped fields",
			line: `{"id":"a\"b","text":"line\none","url":"http:\/\/x.example\/","source":"\u00e9"}`,
			want: sourceDoc{ID: `a"b`, Text: "line\none", URL: "http://x.example/", Source: "é", Metadata: "{}"},
		},
		{
			name: "content field",
			line: `{"content":"hello","url":7}`,
			want: sourceDoc{ID: "a.jsonl:0", Text: "hello", URL: "7", Metadata: `{}`},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			path := writeInputFile(t, filepath.Join(dir, "a.jsonl"), []byte(c.line+"\n"))
			res := readFiles(t, path)
			if len(res.docs) != 1 {
				t.Fatalf("docs = %d, events %v", len(res.docs), res.events)
			}
			got := res.docs[0]
			c.want.Input, got.Offset = "a.jsonl", 0
			if got != c.want {
				t.Errorf("\n got %+v\nwant %+v", got, c.want)
			}
		})
	}
}

func TestLayoutRedPajamaSample(t *testing.T) {
	res := readFiles(t, "../testdata/redpajama-c4-refined.jsonl")

	if len(res.docs) != 10 {
		t.Fatalf("docs = %d, want 10", len(res.docs))
	}
	for i, d := range res.docs {
		if d.Text == "" || d.Metadata != "{}" {
			t.Errorf("doc %d: %d text bytes, metadata %s", i, len(d.Text), d.Metadata)
		}
	}
	if res.docs[9].ID != "redpajama-c4-refined.jsonl:9" {
		t.Errorf("derived id = %q", res.docs[9].ID)
	}
}

func TestConfiguredFields(t *testing.T) {
	dir := t.TempDir()
	path := writeInputFile(t, filepath.Join(dir, "a.jsonl"), []byte(
		`{"body":"hello","text":"not this","doc":{"key":"k1","where":{"link":"https://x.example/"}},"origin":"forum"}`+"\n"))
	cfg := pipeline.InputConfig{Paths: []string{path}, Fields: pipeline.FieldMap{
		ID: "doc.key", Text: "body", URL: "doc.where.link", Source: "origin",
	}}
	var logBuf bytes.Buffer
	res := runFileSource(t, newSourceForTest(t, cfg, &logBuf), &logBuf)

	d := res.docs[0]
	if d.ID != "k1" || d.Text != "hello" || d.URL != "https://x.example/" || d.Source != "forum" {
		t.Errorf("doc = %+v", d)
	}
	// Removing the mapped leaves empties doc.where and then doc, so both
	// are left out.
	want := `{"text":"not this"}`
	if d.Metadata != want {
		t.Errorf("metadata = %s\nwant %s", d.Metadata, want)
	}
}

func TestNestedColumnFields(t *testing.T) {
	bodyAndUID := pipeline.FieldMap{Text: "doc.body", ID: "doc.uid"}
	cases := []struct {
		name   string
		fields pipeline.FieldMap
		line   string
		want   string
	}{
		{"parent emptied", bodyAndUID,
			`{"doc":{"body":"write to jane@example.com","uid":"u0"},"lang":"en"}`, `{"lang":"en"}`},
		{"siblings kept", bodyAndUID,
			`{"doc":{"body":"b","uid":"u0","tags":["x"],"extra":{}}}`, `{"doc":{"tags":["x"],"extra":{}}}`},
		{"duplicate keys all removed", bodyAndUID,
			`{"doc":{"body":"old copy","uid":"u0","body":"b"},"k":1}`, `{"k":1}`},
		{"escaped key", bodyAndUID,
			`{"doc":{"b\u006fdy":"b","uid":"u0"}}`, `{}`},
		{"three levels", pipeline.FieldMap{Text: "a.b.c"},
			`{"a":{"b":{"c":"t"},"d":1},"z":1}`, `{"a":{"d":1},"z":1}`},
		{"inside a merged object", pipeline.FieldMap{URL: "metadata.page.link"},
			`{"text":"t","metadata":{"page":{"link":"https://x.example/","title":"T"},"dump":"d"}}`, `{"dump":"d","page":{"title":"T"}}`},
		// An emptied key still wins over the same key of a lower rank, as
		// it did before its nested field was removed.
		{"emptied key keeps its rank", pipeline.FieldMap{URL: "metadata.x.y"},
			`{"text":"t","metadata":{"x":{"y":"https://x.example/"}},"meta":{"x":"other"}}`, `{}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			path := writeInputFile(t, filepath.Join(dir, "a.jsonl"), []byte(c.line+"\n"))
			cfg := pipeline.InputConfig{Paths: []string{path}, Fields: c.fields}
			var logBuf bytes.Buffer
			res := runFileSource(t, newSourceForTest(t, cfg, &logBuf), &logBuf)
			if len(res.docs) != 1 {
				t.Fatalf("docs = %d, events %v", len(res.docs), res.events)
			}
			if got := res.docs[0].Metadata; got != c.want {
				t.Errorf("metadata = %s, want %s", got, c.want)
			}
			if !json.Valid([]byte(res.docs[0].Metadata)) {
				t.Errorf("metadata is not valid JSON")
			}
		})
	}
}

func TestMetadataMerge(t *testing.T) {
	cases := []struct {
		name, line, want string
	}{
		{"sorted keys", `{"text":"t","b":1,"a":[1,2],"c":null}`, `{"a":[1,2],"b":1,"c":null}`},
		{"top level wins over metadata", `{"text":"t","lang":"top","metadata":{"lang":"nested","x":1}}`, `{"lang":"top","x":1}`},
		{"metadata wins over meta", `{"text":"t","meta":{"k":"meta"},"metadata":{"k":"metadata"}}`, `{"k":"metadata"}`},
		{"last duplicate wins", `{"text":"t","k":1,"k":2}`, `{"k":2}`},
		{"metadata that is not an object", `{"text":"t","metadata":"plain"}`, `{"metadata":"plain"}`},
		{"escaped key", `{"text":"t","\u0062":1,"a":2}`, `{"a":2,"\u0062":1}`},
		{"nested values kept as written", `{"text":"t","o":{"z":1,"a":{"b":[true,false]}}}`, `{"o":{"z":1,"a":{"b":[true,false]}}}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			path := writeInputFile(t, filepath.Join(dir, "a.jsonl"), []byte(c.line+"\n"))
			res := readFiles(t, path)
			if len(res.docs) != 1 {
				t.Fatalf("docs = %d, events %v", len(res.docs), res.events)
			}
			if got := res.docs[0].Metadata; got != c.want {
				t.Errorf("metadata = %s, want %s", got, c.want)
			}
			if !json.Valid([]byte(res.docs[0].Metadata)) {
				t.Errorf("metadata is not valid JSON")
			}
		})
	}
}

func TestAppendUnescaped(t *testing.T) {
	cases := []string{
		`plain`,
		`tab\there \"quoted\" back\\slash \/ \b\f\n\r`,
		`\u00e9\u4e2d\ud83d\ude00`,
		`lone \ud800 then \ud800\u0041 and \udc00`,
		`high then high \ud800\ud800\udc00`,
	}
	for _, raw := range cases {
		var want string
		if err := json.Unmarshal([]byte(`"`+raw+`"`), &want); err != nil {
			t.Fatal(err)
		}
		if got := string(appendUnescaped(nil, []byte(raw))); got != want {
			t.Errorf("appendUnescaped(%s) = %q, want %q as encoding/json", raw, got, want)
		}
	}
}

func TestAppendJSONString(t *testing.T) {
	for _, s := range []string{"", "plain", "quote \" back \\ nl \n cr \r tab \t nul \x00 unit \x1f", "é中😀"} {
		enc := appendJSONString(nil, s)
		var got string
		if err := json.Unmarshal(enc, &got); err != nil || got != s {
			t.Errorf("appendJSONString(%q) = %s, decodes to %q, %v", s, enc, got, err)
		}
	}
}

// FuzzJSONMapper checks that the columns other than text come out as valid
// UTF-8, that the metadata is a JSON object, and that it never holds a
// field that filled a column.
func FuzzJSONMapper(f *testing.F) {
	for _, seed := range []string{
		`{"doc":{"body":"t","uid":"u"},"k":1}`,
		`{"doc":{"body":"t","body":"u","x":{}},"doc":{"uid":1}}`,
		`{"doc":{"b\u006fdy":"t"},"metadata":{"doc":{"body":"m"}},"meta":{"url":"x"}}`,
		"{\"doc\":{\"body\":\"t\xff\",\"uid\":\"\xfe\"},\"k\xff\":[\"\xc3\"]}",
	} {
		f.Add([]byte(seed))
	}
	paths, err := newColumnPaths(pipeline.FieldMap{Text: "doc.body", ID: "doc.uid"})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		m := jsonMapper{paths: paths}
		members, err := m.scan.record(line, nil)
		if err != nil {
			return
		}
		var d pipeline.Doc
		if !m.fill(&d, members) {
			return
		}
		repairColumns(&d)
		for name, col := range map[string]string{"id": d.ID, "url": d.URL, "source": d.Source, "metadata": d.Metadata} {
			if !utf8.ValidString(col) {
				t.Fatalf("%s %q is not valid UTF-8", name, col)
			}
		}
		if d.Metadata == "" {
			return
		}
		// UseNumber, because JSON numbers may exceed a float64.
		dec := json.NewDecoder(strings.NewReader(d.Metadata))
		dec.UseNumber()
		var meta map[string]any
		if err := dec.Decode(&meta); err != nil {
			t.Fatalf("metadata %s is not a JSON object: %v", d.Metadata, err)
		}
		doc, _ := meta["doc"].(map[string]any)
		if _, ok := doc["body"]; ok {
			t.Fatalf("metadata %s holds doc.body", d.Metadata)
		}
		if _, ok := doc["uid"]; ok {
			t.Fatalf("metadata %s holds doc.uid", d.Metadata)
		}
	})
}
