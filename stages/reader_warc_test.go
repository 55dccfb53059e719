package stages

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/winnow-data/winnow/pipeline"
)

// warcTestdata is the folder of the real WARC and ARC samples.
const warcTestdata = "../testdata/warc/"

func TestWARCSampleFiles(t *testing.T) {
	tests := []struct {
		file    string
		format  string
		docs    int
		records int64
		events  map[string]int64
	}{
		{"CC-MAIN-2020-34-excerpt__warcfile.warc.gz", FormatWARC, 16, 50, map[string]int64{
			EventWARCInfoSkipped: 1, EventWARCRequestSkipped: 17, EventWARCMetadataSkipped: 16}},
		{"example.warc.gz", FormatWARC, 1, 6, map[string]int64{
			EventWARCInfoSkipped: 2, EventWARCRequestSkipped: 2, EventWARCRevisitSkipped: 1}},
		{"example-iana.org-chunked.warc", FormatWARC, 1, 3, map[string]int64{
			EventWARCInfoSkipped: 1, EventWARCRequestSkipped: 1}},
		{"example-resource.warc.gz", FormatWARC, 1, 3, map[string]int64{
			EventWARCInfoSkipped: 2}},
		// POST responses with JSON bodies.
		{"post-test.warc.gz", FormatWARC, 0, 6, map[string]int64{
			EventWARCRequestSkipped: 3, EventNonHTMLSkipped: 3}},
		// wget's output: angle brackets around WARC-Target-URI, and text/plain
		// resource records with the crawl log.
		{"warc__sample-0000.warc.gz", FormatWARC, 22, 48, map[string]int64{
			EventWARCInfoSkipped: 1, EventWARCRequestSkipped: 22, EventWARCMetadataSkipped: 1, EventNonHTMLSkipped: 2}},
		{"whirlwind.warc.gz", FormatWARC, 1, 4, map[string]int64{
			EventWARCInfoSkipped: 1, EventWARCRequestSkipped: 1, EventWARCMetadataSkipped: 1}},
		{"whirlwind.warc.wat.gz", FormatWARC, 0, 2, map[string]int64{
			EventWARCInfoSkipped: 1, EventWARCMetadataSkipped: 1}},
		{"example.arc.gz", FormatARC, 1, 2, map[string]int64{
			EventWARCInfoSkipped: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			res := readFiles(t, warcTestdata+tt.file)

			if len(res.docs) != tt.docs {
				t.Errorf("docs = %d, want %d", len(res.docs), tt.docs)
			}
			if !maps.Equal(res.events, tt.events) {
				t.Errorf("events = %v, want %v", res.events, tt.events)
			}
			in := res.inputs[0]
			if !in.Complete || in.Records != tt.records || in.Format != tt.format {
				t.Errorf("input record = %+v, want complete, %d records, format %s", in, tt.records, tt.format)
			}
			for _, d := range res.docs {
				checkHTMLDoc(t, d)
			}
		})
	}
}

// checkHTMLDoc checks the columns that every document of a WARC or ARC
// file has.
func checkHTMLDoc(t *testing.T, d sourceDoc) {
	t.Helper()
	if !strings.HasPrefix(d.URL, "http") {
		t.Errorf("doc %s: url = %q", d.ID, d.URL)
	}
	if !utf8.ValidString(d.Text) || !strings.Contains(strings.ToLower(d.Text), "<html") {
		t.Errorf("doc %s: text is not HTML in valid UTF-8: %.80q", d.ID, d.Text)
	}
	var meta struct {
		Charset       string `json:"charset"`
		CharsetSource string `json:"charset_source"`
		ContentType   string `json:"content_type"`
		WARCDate      string `json:"warc_date"`
	}
	if err := json.Unmarshal([]byte(d.Metadata), &meta); err != nil {
		t.Fatalf("doc %s: metadata %s: %v", d.ID, d.Metadata, err)
	}
	if meta.Charset == "" || meta.CharsetSource == "" || meta.ContentType != "text/html" || len(meta.WARCDate) != len("2020-08-08T17:27:41Z") {
		t.Errorf("doc %s: metadata = %s", d.ID, d.Metadata)
	}
}

func TestWARCResponseColumns(t *testing.T) {
	res := readFiles(t, warcTestdata+"whirlwind.warc.gz")

	d := res.docs[0]
	want := sourceDoc{
		ID:       "urn:uuid:2aabeff2-67f5-4608-8466-e87c6296e2b6",
		URL:      "https://an.wikipedia.org/wiki/Escopete",
		Metadata: `{"charset":"utf-8","charset_source":"http_header","content_type":"text/html","http_status":200,"warc_date":"2024-05-18T01:58:10Z"}`,
		Input:    "whirlwind.warc.gz",
		Offset:   2,
	}
	text := d.Text
	d.Text = ""
	if d != want {
		t.Errorf("\n got %+v\nwant %+v", d, want)
	}
	if !strings.HasPrefix(text, "<!DOCTYPE html>") || !strings.Contains(text, "<title>Escopete - Biquipedia, a enciclopedia libre</title>") {
		t.Errorf("text starts %.80q", text)
	}
}

func TestWARCTargetURIAngleBrackets(t *testing.T) {
	res := readFiles(t, warcTestdata+"warc__sample-0000.warc.gz")

	if got := res.docs[0].URL; got != "https://www.semanticscholar.org/research/research-team" {
		t.Errorf("url = %q, want it without angle brackets", got)
	}
}

func TestWARCChunkedTransferEncoding(t *testing.T) {
	res := readFiles(t, warcTestdata+"example-iana.org-chunked.warc")

	text := res.docs[0].Text
	if !strings.HasPrefix(text, "<!doctype html>") || !strings.HasSuffix(strings.TrimSpace(text), "</html>") {
		t.Errorf("text is not the whole page: starts %.40q, ends %q", text, text[max(0, len(text)-40):])
	}
	// A chunk-size line left in the text would show as a hex number on
	// its own line.
	for _, line := range strings.Split(text, "\n") {
		if line = strings.TrimSpace(line); line != "" && isHexNumber(line) {
			t.Errorf("text contains chunk-size line %q", line)
		}
	}
}

func isHexNumber(s string) bool {
	for _, c := range s {
		if !strings.ContainsRune("0123456789abcdefABCDEF", c) {
			return false
		}
	}
	return true
}

func TestWARCContentEncodingGzip(t *testing.T) {
	// The response of example.warc.gz has "Content-Encoding: gzip" and a
	// gzip body, as the server sent it.
	res := readFiles(t, warcTestdata+"example.warc.gz")

	if text := res.docs[0].Text; !strings.Contains(text, "<title>Example Domain</title>") {
		t.Errorf("text = %.80q, want the decompressed page", text)
	}
}

func TestWARCResourceRecord(t *testing.T) {
	res := readFiles(t, warcTestdata+"example-resource.warc.gz")

	d := res.docs[0]
	want := `{"charset":"utf-8","charset_source":"http_header","content_type":"text/html","warc_date":"2017-04-29T01:30:30Z"}`
	if d.Metadata != want {
		t.Errorf("metadata = %s, want %s: a resource record has no HTTP status", d.Metadata, want)
	}
	if !strings.HasPrefix(d.Text, "<!DOCTYPE html>") {
		t.Errorf("text starts %.40q", d.Text)
	}
}

func TestARCRecords(t *testing.T) {
	res := readFiles(t, warcTestdata+"example.arc.gz")

	d := res.docs[0]
	if d.ID != "example.arc.gz:1" || d.URL != "http://example.com/" {
		t.Errorf("id, url = %q, %q", d.ID, d.URL)
	}
	want := `{"charset":"utf-8","charset_source":"html_meta","content_type":"text/html","http_status":200,"warc_date":"2014-02-16T05:02:21Z"}`
	if d.Metadata != want {
		t.Errorf("metadata = %s, want %s", d.Metadata, want)
	}
	if !strings.HasPrefix(d.Text, "<!doctype html>") || strings.Contains(d.Text, "HTTP/1.1") {
		t.Errorf("text starts %.60q, want the page without HTTP headers", d.Text)
	}
}

func TestARCMalformedHeader(t *testing.T) {
	page := "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n<html><title>t</title></html>"
	record := func(url string) string {
		return fmt.Sprintf("%s 127.0.0.1 20140216050221 text/html %d\n%s\n", url, len(page), page)
	}
	file := "filedesc://x.arc 0.0.0.0 20140216050221 text/plain 4\n1 0\n\n" +
		record("http://a.example/") +
		"not an ARC header\ngarbage\n" +
		record("http://b.example/")
	dir := t.TempDir()
	writeInputFile(t, filepath.Join(dir, "x.arc"), []byte(file))
	res := readFiles(t, dir)

	if len(res.docs) != 2 || res.docs[1].URL != "http://b.example/" {
		t.Errorf("docs = %+v", res.docs)
	}
	if res.events[EventMalformedARC] != 1 || res.events[EventWARCInfoSkipped] != 1 {
		t.Errorf("events = %v, want malformed_arc 1 and warc_warcinfo_skipped 1", res.events)
	}
}

// ccExcerptDocs reads the Common Crawl excerpt and returns its documents
// by url.
func ccExcerptDocs(t *testing.T) map[string]sourceDoc {
	t.Helper()
	res := readFiles(t, warcTestdata+"CC-MAIN-2020-34-excerpt__warcfile.warc.gz")
	byURL := map[string]sourceDoc{}
	for _, d := range res.docs {
		byURL[d.URL] = d
	}
	return byURL
}

func TestWARCCharsets(t *testing.T) {
	docs := ccExcerptDocs(t)
	tests := []struct {
		url, charset, source string
		words                []string
	}{
		// gb2312 in the HTTP header and a <meta> tag, decoded as GBK, its
		// WHATWG superset.
		{"http://0760.jxtdw.com/area/sanxiang/", "gbk", charsetFromHTTP, []string{"三乡招聘", "人才市场", "中山英才网"}},
		// gbk only in a <meta> tag.
		{"http://041696.com/15477/list_6_4.html", "gbk", charsetFromMeta, []string{"主页"}},
		{"http://01spb.ru/company/", "windows-1251", charsetFromHTTP, []string{"О компании", "пожарной безопасности"}},
		// iso-8859-1 in a <meta> tag is windows-1252 in WHATWG terms.
		{"http://06.live-radsport.ch/fahrerstatistik_801/Anthony_Ravard.html", "windows-1252", charsetFromMeta, []string{"Fahrerstatistik"}},
		// No charset in the HTTP header, and <meta charset="utf-8">.
		{"http://003338.cn/l41/481397.html", "utf-8", charsetFromMeta, []string{"我国卫生与健康领域"}},
		{"http://05925.net/index.php/vod/type/id/53.html", "utf-8", charsetFromBOM, nil},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			d, ok := docs[tt.url]
			if !ok {
				t.Fatalf("no document for %s", tt.url)
			}
			charset := jsonField(t, d.Metadata, "charset")
			source := jsonField(t, d.Metadata, "charset_source")
			if charset != tt.charset || source != tt.source {
				t.Errorf("charset = %s from %s, want %s from %s", charset, source, tt.charset, tt.source)
			}
			for _, w := range tt.words {
				if !strings.Contains(d.Text, w) {
					t.Errorf("text lacks %q", w)
				}
			}
			if n := strings.Count(d.Text, "\uFFFD"); n > 0 {
				t.Errorf("text has %d U+FFFD", n)
			}
			if strings.HasPrefix(d.Text, "\uFEFF") {
				t.Errorf("text keeps its byte order mark")
			}
		})
	}
}

// jsonField returns the string field key of the JSON object s.
func jsonField(t *testing.T, s, key string) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatalf("metadata %s: %v", s, err)
	}
	v, _ := m[key].(string)
	return v
}

// testResponse returns a WARC response record of an HTTP response with
// status 200 and the given headers and body.
func testResponse(n int, headers, body string) string {
	return testResponseStatus(n, "200 OK", headers, body)
}

// testResponseStatus is testResponse with another status, such as "404
// Not Found".
func testResponseStatus(n int, status, headers, body string) string {
	block := "HTTP/1.1 " + status + "\r\n" + headers + "\r\n" + body
	return testWARCRecord(map[string]string{
		"WARC-Type":       "response",
		"WARC-Target-URI": fmt.Sprintf("https://example.com/%d", n),
		"WARC-Date":       "2024-05-18T01:58:10Z",
		"WARC-Record-ID":  fmt.Sprintf("<urn:uuid:%d>", n),
	}, block)
}

func TestWARCUndeclaredCharset(t *testing.T) {
	records := testResponse(1, "Content-Type: text/html\r\n", "<html><body><p>Grüße aus Köln</p></body></html>") +
		testResponse(2, "Content-Type: text/html\r\n", "<html><body><p>Caf\xe9 cr\xe8me \x80 5</p></body></html>") +
		testResponse(3, "", "<!DOCTYPE html><html><body><p>no content type</p></body></html>")
	dir := t.TempDir()
	writeInputFile(t, filepath.Join(dir, "a.warc"), []byte(records))
	res := readFiles(t, dir)

	if len(res.docs) != 3 {
		t.Fatalf("docs = %d, events %v", len(res.docs), res.events)
	}
	if d := res.docs[0]; !strings.Contains(d.Text, "Grüße aus Köln") || jsonField(t, d.Metadata, "charset_source") != charsetFromUTF8 {
		t.Errorf("valid UTF-8 page: text %q, metadata %s", d.Text, d.Metadata)
	}
	if d := res.docs[1]; !strings.Contains(d.Text, "Café crème € 5") || jsonField(t, d.Metadata, "charset") != "windows-1252" {
		t.Errorf("invalid UTF-8 page: text %q, metadata %s", d.Text, d.Metadata)
	}
	if d := res.docs[2]; jsonField(t, d.Metadata, "content_type") != "text/html" {
		t.Errorf("page without Content-Type: metadata %s, want it sniffed as text/html", d.Metadata)
	}
}

func TestWARCSkipsByStatusAndType(t *testing.T) {
	records := testResponse(1, "Content-Type: image/png\r\n", "\x89PNG") +
		testResponseStatus(2, "301 Moved Permanently", "Content-Type: text/html\r\n", "<html>moved</html>") +
		testResponse(3, "Content-Type: application/octet-stream\r\n", "%PDF-1.4 binary") +
		testResponse(4, "Content-Type: text/html\r\nContent-Encoding: compress\r\n", "\x1f\x9d...") +
		testWARCRecord(map[string]string{"WARC-Type": "response"}, "not HTTP at all\r\n\r\n") +
		testWARCRecord(map[string]string{"WARC-Type": "continuation"}, "x") +
		testResponse(5, "Content-Type: text/html\r\n", "<html>kept</html>")
	dir := t.TempDir()
	writeInputFile(t, filepath.Join(dir, "a.warc"), []byte(records))
	res := readFiles(t, dir)

	if len(res.docs) != 1 || res.docs[0].ID != "urn:uuid:5" {
		t.Errorf("docs = %+v, want urn:uuid:5 only", res.docs)
	}
	// The response that is not HTTP counts as non-HTML: without a WARC
	// Content-Type, its block does not sniff as HTML.
	want := map[string]int64{
		EventNonHTMLSkipped:      3,
		EventHTTPStatusSkipped:   1,
		EventUnsupportedEncoding: 1,
		EventWARCOtherSkipped:    1,
	}
	if !maps.Equal(res.events, want) {
		t.Errorf("events = %v, want %v", res.events, want)
	}
	if logs := res.logsWith(EventUnsupportedEncoding); len(logs) != 1 || logs[0]["offset"] == nil {
		t.Errorf("unsupported_content_encoding logs = %v, want one with an offset", logs)
	}
}

func TestWARCMalformedHTTP(t *testing.T) {
	bad := testWARCRecord(map[string]string{"WARC-Type": "response", "Content-Type": "application/http; msgtype=response"},
		"HTTP/1.1 abc OK\r\n\r\n<html></html>")
	headerCut := testWARCRecord(map[string]string{"WARC-Type": "response"}, "HTTP/1.1 200 OK\r\nContent-Type: text/html")
	dir := t.TempDir()
	writeInputFile(t, filepath.Join(dir, "a.warc"), []byte(bad+headerCut+testResponse(1, "Content-Type: text/html\r\n", "<p>x</p>")))
	res := readFiles(t, dir)

	if len(res.docs) != 1 {
		t.Errorf("docs = %d, want 1", len(res.docs))
	}
	if res.events[EventMalformedHTTP] != 2 {
		t.Errorf("events = %v, want malformed_http 2", res.events)
	}
}

func TestWARCGzipMemberPerRecord(t *testing.T) {
	// Common Crawl compresses each record as its own gzip member.
	var file []byte
	for n := range 5 {
		file = append(file, gzipForTest(t, []byte(testResponse(n, "Content-Type: text/html; charset=utf-8\r\n", fmt.Sprintf("<p>page %d</p>", n))))...)
	}
	dir := t.TempDir()
	writeInputFile(t, filepath.Join(dir, "a.warc.gz"), file)
	res := readFiles(t, dir)

	if len(res.docs) != 5 || res.docs[4].Text != "<p>page 4</p>" {
		t.Errorf("docs = %+v", res.docs)
	}
	if !res.inputs[0].Complete || res.inputs[0].Records != 5 {
		t.Errorf("input record = %+v", res.inputs[0])
	}
}

func TestWARCTruncatedFile(t *testing.T) {
	full, err := os.ReadFile(warcTestdata + "CC-MAIN-2020-34-excerpt__warcfile.warc.gz")
	if err != nil {
		t.Fatal(err)
	}
	complete := ccExcerptDocs(t)
	dir := t.TempDir()
	writeInputFile(t, filepath.Join(dir, "cut.warc.gz"), full[:len(full)/2])
	res := readFiles(t, dir)

	if n := len(res.docs); n == 0 || n >= 16 {
		t.Errorf("docs = %d, want some of 16", n)
	}
	for _, d := range res.docs {
		if d.Text != complete[d.URL].Text {
			t.Errorf("doc %s differs from the same record of the whole file", d.URL)
		}
	}
	if res.inputs[0].Complete || res.events[EventTruncatedFile] != 1 {
		t.Errorf("input record = %+v, events %v", res.inputs[0], res.events)
	}
}

func TestWARCTruncatedRecord(t *testing.T) {
	// A crawler that stops reading a response at its size limit marks the
	// record with WARC-Truncated; the gzip body breaks off mid-stream.
	page := "<html><body>" + strings.Repeat("<p>paragraph of text</p>", 500) + "</body></html>"
	gz := gzipForTest(t, []byte(page))
	block := "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Encoding: gzip\r\n\r\n" + string(gz[:len(gz)/2])
	record := fmt.Sprintf("WARC/1.0\r\nWARC-Type: response\r\nWARC-Target-URI: https://example.com/big\r\n"+
		"WARC-Date: 2024-05-18T01:58:10Z\r\nWARC-Truncated: length\r\nContent-Length: %d\r\n\r\n%s\r\n\r\n", len(block), block)
	dir := t.TempDir()
	writeInputFile(t, filepath.Join(dir, "a.warc"), []byte(record))
	res := readFiles(t, dir)

	if len(res.docs) != 1 {
		t.Fatalf("docs = %d, events %v", len(res.docs), res.events)
	}
	d := res.docs[0]
	if len(d.Text) == 0 || !strings.HasPrefix(page, d.Text) {
		t.Errorf("text has %d bytes, want a non-empty prefix of the page", len(d.Text))
	}
	if got := jsonField(t, d.Metadata, "warc_truncated"); got != "length" {
		t.Errorf("warc_truncated = %q, want length", got)
	}
}

func TestWARCExplicitFormat(t *testing.T) {
	dir := t.TempDir()
	path := writeInputFile(t, filepath.Join(dir, "crawl.bin"), []byte(testResponse(1, "Content-Type: text/html\r\n", "<p>x</p>")))
	var logBuf bytes.Buffer
	src := newSourceForTest(t, pipeline.InputConfig{Paths: []string{path}, Format: FormatWARC}, &logBuf)
	res := runFileSource(t, src, &logBuf)

	if len(res.docs) != 1 || res.inputs[0].Format != FormatWARC {
		t.Errorf("docs = %+v, input %+v", res.docs, res.inputs[0])
	}
}

// FuzzWARCReader checks that no input makes the WARC reader panic or
// loop, and that every document comes from a counted record.
func FuzzWARCReader(f *testing.F) {
	f.Add([]byte(testResponse(1, "Content-Type: text/html\r\nTransfer-Encoding: chunked\r\n", "5\r\n<p>x<\r\n0\r\n\r\n")))
	f.Add([]byte(testResponse(2, "Content-Encoding: gzip\r\n", "\x1f\x8b\x08\x00garbage")))
	f.Add([]byte(testResponse(3, "Content-Type: text/html; charset=\"\r\n", "<meta charset=utf-16><p>x</p>")))
	f.Add([]byte(testWARCRecord(map[string]string{"WARC-Type": "resource", "Content-Type": "text/html"}, "\xfe\xff\x00<")))
	f.Fuzz(func(t *testing.T, data []byte) {
		events := &inputEvents{env: discardEnv(), counts: map[string]int64{}}
		r := newWARCReader(bytes.NewReader(data), 1<<20, events)
		fuzzDocReader(t, r, len(data))
	})
}

// FuzzARCReader is FuzzWARCReader for ARC files.
func FuzzARCReader(f *testing.F) {
	f.Add([]byte("http://a.example/ 1.2.3.4 20140216050221 text/html 44\nHTTP/1.1 200 OK\r\n\r\n<html><p>x</p></html>\n"))
	f.Add([]byte("garbage\nhttp://a.example/ 1.2.3.4 20140216050221 text/html 99\nshort"))
	f.Fuzz(func(t *testing.T, data []byte) {
		events := &inputEvents{env: discardEnv(), counts: map[string]int64{}}
		r := newARCReader(bytes.NewReader(data), 1<<20, events)
		fuzzDocReader(t, r, len(data))
	})
}

// fuzzDocReader reads r to its end and checks that it read no more
// documents than records and no more bytes than size.
func fuzzDocReader(t *testing.T, r docReader, size int) {
	docs := int64(0)
	for {
		var d pipeline.Doc
		ok, _ := r.read(&d)
		if !ok {
			break
		}
		docs++
		if records, _ := r.progress(); d.InputOffset >= records {
			t.Fatalf("document at record %d, only %d records read", d.InputOffset, records)
		}
	}
	if records, off := r.progress(); docs > records || off > int64(size) {
		t.Fatalf("docs %d, records %d, offset %d of %d bytes", docs, records, off, size)
	}
}
