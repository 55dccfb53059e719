package cli

import (
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/winnow-data/winnow/internal/testutil"
	"github.com/winnow-data/winnow/pipeline"
)

// warcDir holds the real WARC and ARC samples, relative to this package.
var warcDir = filepath.Join("..", "..", "testdata", "warc")

// stageNames returns the names of a manifest's stages, source and sink
// included.
func stageNames(m *pipeline.Manifest) []string {
	var names []string
	for _, s := range m.Stages {
		names = append(names, s.Name)
	}
	return names
}

// TestRunWARCDefaultChain runs the default chain on 16 real Common Crawl
// responses in gb2312, gbk, windows-1251, iso-8859-1 and utf-8, and reads
// the shards back with DuckDB.
func TestRunWARCDefaultChain(t *testing.T) {
	root := t.TempDir()
	mustRun(t, "-o", root, filepath.Join(warcDir, "CC-MAIN-2020-34-excerpt__warcfile.warc.gz"))
	m := latestManifest(t, root)

	names := stageNames(m)
	if len(names) < 2 || names[1] != "extract" || !slices.Contains(names, "langid") {
		t.Errorf("stages = %v, want extract first, then the default chain", names)
	}
	source := m.Stages[0].Events
	for reason, want := range map[string]int64{
		"warc_warcinfo_skipped": 1, "warc_request_skipped": 17, "warc_metadata_skipped": 16,
	} {
		if source[reason] != want {
			t.Errorf("source event %s = %d, want %d (all events: %v)", reason, source[reason], want, source)
		}
	}
	if extract := stageRecord(t, m, "extract"); extract.DocsIn != 16 {
		t.Errorf("extract read %d documents, want the 16 responses", extract.DocsIn)
	}

	rows := testutil.DuckDBQuery(t, fmt.Sprintf(
		"SELECT url, text, lang, json_extract_string(metadata, '$.title') AS title, "+
			"json_extract_string(metadata, '$.charset') AS charset FROM read_parquet(%s) ORDER BY url", shardList(root, m)))
	if int64(len(rows)) != m.Totals.Docs || len(rows) == 0 {
		t.Fatalf("DuckDB read %d rows, the manifest lists %d", len(rows), m.Totals.Docs)
	}
	byURL := map[string]map[string]any{}
	for _, r := range rows {
		url := r["url"].(string)
		byURL[url] = r
		text := r["text"].(string)
		if strings.Contains(text, "<div") || strings.Contains(text, "<p>") || strings.Contains(strings.ToLower(text), "<html") {
			t.Errorf("%s: text still holds HTML tags: %.100q", url, text)
		}
		if strings.Contains(text, "\uFFFD") {
			t.Errorf("%s: text holds U+FFFD, a sign of a wrong charset", url)
		}
		if r["title"] == nil || r["title"] == "" {
			t.Errorf("%s: metadata has no title", url)
		}
	}

	// Only a correct charset conversion yields these words. A gb2312 or
	// windows-1251 page read as UTF-8 or windows-1252 turns them into
	// mojibake.
	for _, tt := range []struct {
		url, charset, title string
		words               []string
	}{
		{"http://0760.jxtdw.com/area/sanxiang/", "gbk", "三乡招聘|三乡人才市场|中山英才网(0760.jxtdw.com)", []string{"职位名称", "中山市"}},
		{"http://01spb.ru/company/", "windows-1251", "О компании - Стратегия пожарной безопасности", []string{"О компании", "пожарной безопасности"}},
	} {
		r, ok := byURL[tt.url]
		if !ok {
			t.Errorf("%s: not kept; kept urls %v", tt.url, slices.Sorted(maps.Keys(byURL)))
			continue
		}
		if r["charset"] != tt.charset || r["title"] != tt.title {
			t.Errorf("%s: charset %v, title %v, want %s, %s", tt.url, r["charset"], r["title"], tt.charset, tt.title)
		}
		for _, w := range tt.words {
			if !strings.Contains(r["text"].(string), w) {
				t.Errorf("%s: text lacks %q", tt.url, w)
			}
		}
	}
}

// TestRunWARCEveryFile reads every sample, the legacy ARC file and the WAT
// file included, and checks that each HTML response became readable text.
func TestRunWARCEveryFile(t *testing.T) {
	root := t.TempDir()
	s := mustRun(t, "-o", root, "--only", "extract,normalize", warcDir)
	m := latestManifest(t, root)

	if len(s.Inputs) != 9 {
		t.Errorf("read %d inputs, want the 9 samples", len(s.Inputs))
	}
	for _, in := range s.Inputs {
		if !in.Complete {
			t.Errorf("input %s not read to its end: %s", in.URI, in.Error)
		}
	}
	// 16 Common Crawl responses, 22 wget responses and one page in each of
	// example.warc.gz, example-iana.org-chunked.warc, example-resource.warc.gz,
	// example.arc.gz and whirlwind.warc.gz.
	if extract := stageRecord(t, m, "extract"); extract.DocsIn != 43 {
		t.Errorf("extract read %d documents, want 43", extract.DocsIn)
	}
	source := m.Stages[0].Events
	for reason, want := range map[string]int64{
		"warc_revisit_skipped": 1, "warc_non_html_skipped": 5,
		"warc_metadata_skipped": 16 + 1 + 1 + 1, "warc_request_skipped": 17 + 2 + 1 + 3 + 22 + 1,
	} {
		if source[reason] != want {
			t.Errorf("source event %s = %d, want %d (all events: %v)", reason, source[reason], want, source)
		}
	}

	rows := testutil.DuckDBQuery(t, fmt.Sprintf(
		"SELECT input, text, json_extract_string(metadata, '$.title') AS title FROM read_parquet(%s) "+
			"WHERE input IN ('example.arc.gz', 'example-iana.org-chunked.warc') ORDER BY input", shardList(root, m)))
	if len(rows) != 2 {
		t.Fatalf("rows of the ARC and the chunked sample = %d, want 2", len(rows))
	}
	if text := rows[0]["text"].(string); !strings.HasPrefix(text, "Domain Names\nManagement of the DNS Root Zone") {
		t.Errorf("chunked page text: %.200q", text)
	}
	if title := rows[1]["title"]; title != "Example Domain" {
		t.Errorf("ARC page title = %v, want Example Domain", title)
	}
}

// TestRunWARCConfiguredChain checks that a config that lists its stages
// gets no extract stage: the list is the user's.
func TestRunWARCConfiguredChain(t *testing.T) {
	cfg := writeFile(t, "winnow.yaml", "stages: [normalize]\n")
	root := t.TempDir()
	mustRun(t, "-c", cfg, "-o", root, filepath.Join(warcDir, "example.warc.gz"))
	m := latestManifest(t, root)

	if names := stageNames(m); slices.Contains(names, "extract") {
		t.Errorf("stages = %v, want no extract", names)
	}
	rows := testutil.DuckDBQuery(t, fmt.Sprintf("SELECT text FROM read_parquet(%s)", shardList(root, m)))
	if len(rows) != 1 || !strings.Contains(rows[0]["text"].(string), "<title>Example Domain</title>") {
		t.Errorf("rows = %v, want the page's HTML", rows)
	}
}
