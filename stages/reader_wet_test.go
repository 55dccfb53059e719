package stages

import (
	"bytes"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/winnow-data/winnow/pipeline"
)

func TestWETSample(t *testing.T) {
	res := readFiles(t, "../testdata/whirlwind.warc.wet.gz")

	if len(res.docs) != 1 {
		t.Fatalf("docs = %d, want 1; events %v", len(res.docs), res.events)
	}
	d := res.docs[0]
	want := sourceDoc{
		ID:       "urn:uuid:ba729a40-ff84-4085-8d48-0a5b2ee0c42d",
		URL:      "https://an.wikipedia.org/wiki/Escopete",
		Metadata: `{"content_language":"spa","warc_date":"2024-05-18T01:58:10Z"}`,
		Input:    "whirlwind.warc.wet.gz",
		Offset:   1, // record 0 is the warcinfo record
	}
	text := d.Text
	d.Text = ""
	if d != want {
		t.Errorf("\n got %+v\nwant %+v", d, want)
	}
	if len(text) != 4456 || !strings.HasPrefix(text, "Escopete - Biquipedia") {
		t.Errorf("text has %d bytes and starts %q", len(text), text[:20])
	}
	in := res.inputs[0]
	if !in.Complete || in.Records != 2 || in.Format != FormatWET {
		t.Errorf("input record = %+v", in)
	}
	if len(res.events) != 0 {
		t.Errorf("events = %v, want none", res.events)
	}
}

// testWARCRecord returns one WARC record with the given headers and body.
func testWARCRecord(headers map[string]string, body string) string {
	var b strings.Builder
	b.WriteString("WARC/1.0\r\n")
	for _, k := range []string{"WARC-Type", "WARC-Target-URI", "WARC-Date", "WARC-Record-ID", "WARC-Identified-Content-Language"} {
		if v, ok := headers[k]; ok {
			fmt.Fprintf(&b, "%s: %s\r\n", k, v)
		}
	}
	if v, ok := headers["Content-Length"]; ok {
		fmt.Fprintf(&b, "Content-Length: %s\r\n", v)
	} else {
		fmt.Fprintf(&b, "Content-Length: %d\r\n", len(body))
	}
	b.WriteString("\r\n" + body + "\r\n\r\n")
	return b.String()
}

func testConversion(n int, lang string) string {
	h := map[string]string{
		"WARC-Type":       "conversion",
		"WARC-Target-URI": fmt.Sprintf("https://example.com/%d", n),
		"WARC-Date":       "2024-05-18T01:58:10Z",
		"WARC-Record-ID":  fmt.Sprintf("<urn:uuid:%d>", n),
	}
	if lang != "" {
		h["WARC-Identified-Content-Language"] = lang
	}
	return testWARCRecord(h, fmt.Sprintf("page %d\nsecond line\n", n))
}

func TestWETRecords(t *testing.T) {
	records := []string{
		testWARCRecord(map[string]string{"WARC-Type": "warcinfo"}, "isPartOf: test\r\n"),
		testConversion(1, "eng"),
		testWARCRecord(map[string]string{"WARC-Type": "conversion", "Content-Length": "many"}, "bad length\n"),
		testConversion(2, ""),
		"garbage between records\r\n",
		testConversion(3, "deu,eng"),
	}
	// Common Crawl compresses each record as its own gzip member.
	var file []byte
	for _, r := range records {
		file = append(file, gzipForTest(t, []byte(r))...)
	}
	dir := t.TempDir()
	writeInputFile(t, filepath.Join(dir, "a.warc.wet.gz"), file)
	res := readFiles(t, dir)

	var ids, langs []string
	for _, d := range res.docs {
		ids = append(ids, d.ID)
		langs = append(langs, d.Metadata)
	}
	if got := strings.Join(ids, " "); got != "urn:uuid:1 urn:uuid:2 urn:uuid:3" {
		t.Errorf("ids = %s", got)
	}
	if res.docs[0].Text != "page 1\nsecond line\n" {
		t.Errorf("text = %q", res.docs[0].Text)
	}
	if res.docs[1].Metadata != `{"warc_date":"2024-05-18T01:58:10Z"}` {
		t.Errorf("metadata without language = %s", res.docs[1].Metadata)
	}
	if res.docs[2].Metadata != `{"content_language":"deu,eng","warc_date":"2024-05-18T01:58:10Z"}` {
		t.Errorf("metadata = %s", res.docs[2].Metadata)
	}
	// The bad Content-Length and the garbage line each count once.
	if res.events[EventMalformedWARC] != 2 {
		t.Errorf("events = %v, want malformed_warc 2", res.events)
	}
	if logs := res.logsWith(EventMalformedWARC); len(logs) != 2 || logs[0]["offset"] == nil {
		t.Errorf("logs = %v", logs)
	}
	if !res.inputs[0].Complete {
		t.Errorf("input record = %+v", res.inputs[0])
	}
}

func TestWETTruncated(t *testing.T) {
	var file bytes.Buffer
	for n := range 50 {
		file.WriteString(testConversion(n, "eng"))
	}
	full := gzipForTest(t, file.Bytes())
	dir := t.TempDir()
	writeInputFile(t, filepath.Join(dir, "a.wet.gz"), full[:len(full)-20])
	res := readFiles(t, dir)

	if n := len(res.docs); n < 45 || n >= 50 {
		t.Errorf("docs = %d, want most of 50", n)
	}
	for i, d := range res.docs {
		if d.Text != fmt.Sprintf("page %d\nsecond line\n", i) {
			t.Errorf("doc %d text = %q: records must be complete", i, d.Text)
		}
	}
	if res.inputs[0].Complete || res.events[EventTruncatedFile] != 1 {
		t.Errorf("input record = %+v, events %v", res.inputs[0], res.events)
	}
}

func TestWETOversized(t *testing.T) {
	dir := t.TempDir()
	big := testWARCRecord(map[string]string{"WARC-Type": "conversion"}, strings.Repeat("x", 5000))
	path := writeInputFile(t, filepath.Join(dir, "a.wet"), []byte(testConversion(1, "")+big+testConversion(2, "")))
	src := newSourceForTest(t, sourceConfigFor(path), &bytes.Buffer{})
	src.maxRecord = 1000
	res := runFileSource(t, src, &bytes.Buffer{})

	if len(res.docs) != 2 || res.docs[1].ID != "urn:uuid:2" {
		t.Errorf("docs = %+v", res.docs)
	}
	if res.events[EventOversizedRecord] != 1 {
		t.Errorf("events = %v, want oversized_record 1", res.events)
	}
}

// FuzzWETReader checks that no input makes the WET reader panic or loop,
// and that every document comes from a counted record.
func FuzzWETReader(f *testing.F) {
	f.Add([]byte(testConversion(1, "eng") + testConversion(2, "")))
	f.Add([]byte(testWARCRecord(map[string]string{"WARC-Type": "conversion", "Content-Length": "-1"}, "x")))
	f.Add([]byte("WARC/1.0\r\nContent-Length: 99\r\n\r\nshort"))
	f.Add([]byte("WARC/1.0\r\nno colon\r\n\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		events := &inputEvents{env: discardEnv(), counts: map[string]int64{}}
		r := newWETReader(bytes.NewReader(data), 1<<20, events)
		docs := int64(0)
		for {
			var d pipeline.Doc
			ok, err := r.read(&d)
			if !ok {
				_ = err
				break
			}
			docs++
			if d.InputOffset >= r.records {
				t.Fatalf("document at record %d, only %d records read", d.InputOffset, r.records)
			}
		}
		if records, off := r.progress(); docs > records || off > int64(len(data)) {
			t.Fatalf("docs %d, records %d, offset %d of %d bytes", docs, records, off, len(data))
		}
	})
}

func TestWETInvalidUTF8Header(t *testing.T) {
	bad := testWARCRecord(map[string]string{
		"WARC-Type":                        "conversion",
		"WARC-Target-URI":                  "https://example.com/caf\xe9",
		"WARC-Date":                        "2024-05-18T01:58:10Z",
		"WARC-Record-ID":                   "<urn:uuid:\xff>",
		"WARC-Identified-Content-Language": "e\xffg",
	}, "body \xfe kept\n")
	dir := t.TempDir()
	writeInputFile(t, filepath.Join(dir, "a.warc.wet"), []byte(bad+testConversion(2, "")))
	res := readFiles(t, dir)

	if len(res.docs) != 2 {
		t.Fatalf("docs = %d, events %v", len(res.docs), res.events)
	}
	d := res.docs[0]
	if d.URL != "https://example.com/caf\uFFFD" || d.ID != "urn:uuid:\uFFFD" {
		t.Errorf("url, id = %q, %q, want U+FFFD for the invalid bytes", d.URL, d.ID)
	}
	if want := "{\"content_language\":\"e\uFFFDg\",\"warc_date\":\"2024-05-18T01:58:10Z\"}"; d.Metadata != want {
		t.Errorf("metadata = %q, want %q", d.Metadata, want)
	}
	if d.Text != "body \xfe kept\n" {
		t.Errorf("text = %q, want the bytes unchanged", d.Text)
	}
	if res.events[EventInvalidUTF8] != 1 {
		t.Errorf("events = %v, want invalid_utf8 1", res.events)
	}
}
