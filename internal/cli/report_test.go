package cli

import (
	"bytes"
	"cmp"
	"compress/gzip"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/winnow-data/winnow/internal/testutil"
	"github.com/winnow-data/winnow/pipeline"
)

// reportJSON is the JSON output of `winnow report --format json`.
type reportJSON struct {
	Format    int                         `json:"format"`
	Version   string                      `json:"version"`
	Against   *string                     `json:"against"`
	SourceKey string                      `json:"source_key"`
	Notes     map[string]string           `json:"notes"`
	Tables    map[string][]map[string]any `json:"tables"`
}

// writeReports runs `winnow report ROOT ARGS` once per format, into dir,
// and returns the paths of the HTML page and CSV folder and the decoded
// JSON.
func writeReports(t *testing.T, root, dir string, args ...string) (string, string, reportJSON) {
	t.Helper()
	htmlPath, jsonPath, csvDir := filepath.Join(dir, "report.html"), filepath.Join(dir, "report.json"), filepath.Join(dir, "report-csv")
	for _, out := range []struct{ format, path string }{{"html", htmlPath}, {"json", jsonPath}, {"csv", csvDir}} {
		full := append([]string{"report", root, "--format", out.format, "-o", out.path}, args...)
		code, stdout, stderr := runCLI(t, full...)
		if code != 0 {
			t.Fatalf("winnow %s: exit %d\nstderr:\n%s", strings.Join(full, " "), code, stderr)
		}
		if !strings.Contains(stdout, "written to "+out.path) {
			t.Errorf("winnow %s printed %q, want the output path", strings.Join(full, " "), stdout)
		}
	}
	raw, err := os.ReadFile(jsonPath)
	if err != nil {
		t.Fatal(err)
	}
	var doc reportJSON
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("decoding %s: %v", jsonPath, err)
	}
	return htmlPath, csvDir, doc
}

// checkCSVMatchesJSON checks that every JSON table has a CSV file with a
// header and the same number of rows.
func checkCSVMatchesJSON(t *testing.T, csvDir string, doc reportJSON) {
	t.Helper()
	for name, rows := range doc.Tables {
		f, err := os.Open(filepath.Join(csvDir, name+".csv"))
		if err != nil {
			t.Errorf("table %s: %v", name, err)
			continue
		}
		records, err := csv.NewReader(f).ReadAll()
		f.Close()
		if err != nil {
			t.Errorf("table %s: reading the CSV: %v", name, err)
			continue
		}
		if len(records) != len(rows)+1 {
			t.Errorf("table %s: %d CSV records, want a header and %d rows", name, len(records), len(rows))
		}
	}
}

// sumColumn adds up a numeric column of a JSON table.
func sumColumn(rows []map[string]any, column string) int64 {
	var n int64
	for _, r := range rows {
		if f, ok := r[column].(float64); ok {
			n += int64(f)
		}
	}
	return n
}

// demoConfig is the default chain with lang_filter and near_dedup added,
// and rejects on, so that every table of a report fills. lang_filter and
// pii record a measured signal with their drops; near_dedup runs before
// exact_dedup so that exact copies become near-duplicate clusters. langid
// scores 400 characters instead of 2,000, a third of the time under the
// race detector.
const demoConfig = `stages:
  - normalize
  - langid: {max_chars: 400}
  - lang_filter: {min_score: 0.9, keep_und: true}
  - gopher_quality
  - pii: {drop_above: 2}
  - near_dedup
  - exact_dedup
output: {rejects: true}
`

func TestReportDemoDataset(t *testing.T) {
	root := t.TempDir()
	mustRun(t, "-c", writeFile(t, "winnow.yaml", demoConfig), "-o", root, samplePath)
	m := latestManifest(t, root)
	htmlPath, csvDir, doc := writeReports(t, root, t.ArtifactDir())

	if doc.Version != m.ID || doc.Against != nil || doc.SourceKey != "url_domain" {
		t.Errorf("report of %s against %v by %s, want %s against none by url_domain", doc.Version, doc.Against, doc.SourceKey, m.ID)
	}
	if got := sumColumn(doc.Tables["languages"], "docs"); got != m.Totals.Docs {
		t.Errorf("languages add up to %d documents, the manifest keeps %d", got, m.Totals.Docs)
	}
	if got := len(doc.Tables["stages"]); got != len(m.Stages) {
		t.Errorf("%d funnel rows, the manifest has %d stages", got, len(m.Stages))
	}
	var dropped int64
	for _, s := range m.Stages {
		for _, n := range s.Dropped {
			dropped += n
		}
	}
	if got := sumColumn(doc.Tables["drops"], "docs"); got != dropped {
		t.Errorf("drops add up to %d, the manifest counts %d", got, dropped)
	}

	// Each cluster holds one kept document and its near duplicates.
	clusters := doc.Tables["near_duplicate_clusters"]
	nearDrops := stageRecord(t, m, "near_dedup").Dropped["near_duplicate"]
	if nearDrops == 0 || sumColumn(clusters, "docs")-sumColumn(clusters, "clusters") != nearDrops {
		t.Errorf("clusters %v, want their documents less their keepers to be the %d near duplicates", clusters, nearDrops)
	}
	signals := map[string]int64{}
	for _, row := range doc.Tables["signal_histograms"] {
		signals[fmt.Sprint(row["stage"], "/", row["signal"])] += int64(row["docs"].(float64))
	}
	if signals["near_dedup/similarity"] != nearDrops {
		t.Errorf("similarity histogram holds %d documents, want the %d near duplicates; histograms: %v", signals["near_dedup/similarity"], nearDrops, signals)
	}
	if low := stageRecord(t, m, "lang_filter").Dropped["lang_low_score"]; signals["lang_filter/lang_score"] != low {
		t.Errorf("lang_score histogram holds %d documents, want the %d lang_low_score drops", signals["lang_filter/lang_score"], low)
	}

	checkCSVMatchesJSON(t, csvDir, doc)
	checkInBrowser(t, htmlPath, doc)
}

// hpltDir holds excerpts of HPLT v2 in 14 languages, one file each.
var hpltDir = filepath.Join("..", "..", "testdata", "hplt")

// hpltToJSONL converts the first counts[lang] rows of each language's HPLT
// excerpt (TSV with quoted multi-line cells, text in text_show) to JSON
// lines {id, text, source}, source naming the HPLT label, and returns the
// file's path.
func hpltToJSONL(t *testing.T, name string, counts map[string]int) string {
	t.Helper()
	var out bytes.Buffer
	for _, lang := range pipeline.SortedKeys(counts) {
		rows := readHPLT(t, filepath.Join(hpltDir, lang+".tsv.gz"))
		if len(rows) < counts[lang] {
			t.Fatalf("%s has %d rows, want at least %d", lang, len(rows), counts[lang])
		}
		for _, r := range rows[:counts[lang]] {
			line, _ := json.Marshal(map[string]string{"id": r["id"], "text": r["text_show"], "source": "hplt2/" + lang})
			out.Write(append(line, '\n'))
		}
	}
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, out.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// readHPLT reads a gzipped HPLT TSV file into rows keyed by column name.
func readHPLT(t *testing.T, path string) []map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	r := csv.NewReader(zr)
	r.Comma = '\t'
	header, err := r.Read()
	if err != nil {
		t.Fatalf("%s: reading the header: %v", path, err)
	}
	var rows []map[string]string
	for {
		record, err := r.Read()
		if errors.Is(err, io.EOF) {
			return rows
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		row := map[string]string{}
		for i, h := range header {
			row[h] = record[i]
		}
		rows = append(rows, row)
	}
}

// The HPLT versions: the second loses Hebrew and Thai, gains Swedish,
// Hungarian, Georgian, Indonesian and Nepali, and shifts the rest.
var (
	hpltFirst = map[string]int{
		"fra_Latn": 10, "ita_Latn": 8, "por_Latn": 6, "jpn_Jpan": 10, "kor_Hang": 4,
		"ukr_Cyrl": 6, "heb_Hebr": 8, "tha_Thai": 6, "vie_Latn": 4,
	}
	hpltSecond = map[string]int{
		"fra_Latn": 12, "ita_Latn": 4, "por_Latn": 8, "jpn_Jpan": 6, "kor_Hang": 10, "ukr_Cyrl": 6,
		"vie_Latn": 8, "swe_Latn": 8, "hun_Latn": 6, "kat_Geor": 6, "ind_Latn": 6, "npi_Deva": 12,
	}
)

// hpltConfig names sources by the source field, which holds the HPLT
// label, so the heat map shows how langid's labels agree with HPLT's.
// lingua has no Nepali model, so npi_Deva documents get other Devanagari
// labels. langid scores 400 characters, as in demoConfig.
const hpltConfig = `stages:
  - normalize
  - langid: {max_chars: 400}
  - lang_filter: {min_score: 0.9}
  - pii: {drop_above: 2}
  - near_dedup
  - exact_dedup
balance:
  source: source
  mixture: {alpha: 0.5, max_repeats: 4}
`

// TestReportMultilingualAgainst reports on a second version, made of the
// second HPLT set and the bundled sample with rejects, against a first
// one of the first HPLT set alone. The sample brings near duplicates and
// dropped documents with signals, so every chart of the page has data.
func TestReportMultilingualAgainst(t *testing.T) {
	root := t.TempDir()
	cfg := writeFile(t, "winnow.yaml", hpltConfig)
	mustRun(t, "-c", cfg, "-o", root, hpltToJSONL(t, "first.jsonl", hpltFirst))
	first := latestManifest(t, root)
	mustRun(t, "-c", cfg, "-o", root, "--rejects", hpltToJSONL(t, "second.jsonl", hpltSecond), samplePath)
	second := latestManifest(t, root)
	htmlPath, csvDir, doc := writeReports(t, root, t.ArtifactDir(), "--against", "parent")

	if doc.Against == nil || *doc.Against != first.ID || doc.SourceKey != "source" {
		t.Fatalf("report against %v by %s, want against %s by source", doc.Against, doc.SourceKey, first.ID)
	}
	status := map[string]string{}
	for _, row := range doc.Tables["language_changes"] {
		status[row["lang"].(string)] = row["status"].(string)
	}
	for lang := range second.Languages {
		if _, before := first.Languages[lang]; !before && status[lang] != "new" {
			t.Errorf("%s is %q, want new", lang, status[lang])
		}
	}
	for lang := range first.Languages {
		if _, now := second.Languages[lang]; !now && status[lang] != "lost" {
			t.Errorf("%s is %q, want lost", lang, status[lang])
		}
	}
	if status["kat_Geor"] != "new" || status["fra_Latn"] != "common" {
		t.Errorf("kat_Geor is %q and fra_Latn %q, want new and common", status["kat_Geor"], status["fra_Latn"])
	}
	for _, row := range doc.Tables["divergence"] {
		if d := row["js_divergence_bits"].(float64); !(d > 0 && d < 1) {
			t.Errorf("divergence by %v is %v, want between 0 and 1 for two mixes that share some languages", row["measure"], d)
		}
	}
	sources := map[string]bool{}
	for _, row := range doc.Tables["language_source"] {
		sources[row["source"].(string)] = true
	}
	if !sources["hplt2/kat_Geor"] || !sources["test_gz"] {
		t.Errorf("the heat map has sources %v, want the HPLT labels and the sample's test_gz", sources)
	}
	for _, name := range chartedTables {
		if len(doc.Tables[name]) == 0 {
			t.Errorf("table %s is empty, so the page lacks its chart", name)
		}
	}
	checkCSVMatchesJSON(t, csvDir, doc)
	checkInBrowser(t, htmlPath, doc)

	// The first version has no rejects output, and its report notes that.
	_, _, old := writeReports(t, root, t.TempDir(), "--version", first.ID)
	if len(old.Tables["signal_histograms"]) != 0 || !strings.Contains(old.Notes["signal_histograms"], "no rejects") {
		t.Errorf("without rejects: %d histogram rows, note %q; want none and a note", len(old.Tables["signal_histograms"]), old.Notes["signal_histograms"])
	}
}

func TestReportCommandErrors(t *testing.T) {
	root := t.TempDir()
	mustRun(t, "-o", root, "--only", "normalize", writeFile(t, "docs.jsonl", `{"id":"a","text":"one document"}`+"\n"))
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"unknown format", []string{"report", root, "--format", "xml"}, exitUsage, `--format: invalid value "xml"`},
		{"csv to stdout", []string{"report", root, "--format", "csv", "-o", "-"}, exitUsage, "needs a folder name"},
		{"two roots", []string{"report", root, root}, exitUsage, "report takes one ROOT"},
		{"no parent", []string{"report", root, "--against", "parent", "-o", "-"}, 1, "has no parent"},
		{"missing version", []string{"report", root, "--version", "0123456789abcdef", "-o", "-"}, 1, "0123456789abcdef"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := runCLI(t, tc.args...)
			if code != tc.code || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit %d, stderr %q; want exit %d and %q", code, stderr, tc.code, tc.want)
			}
		})
	}

	code, stdout, stderr := runCLI(t, "report", root, "-o", "-")
	if code != 0 || !strings.HasPrefix(stdout, "<!DOCTYPE html>") {
		t.Errorf("-o -: exit %d, stdout starts %.40q, stderr %q; want the page on stdout", code, stdout, stderr)
	}
}

// browserResult is what tools/browser/check.mjs prints.
type browserResult struct {
	Console  []string `json:"console"`
	Requests []string `json:"requests"`
	Figures  []struct {
		Table string         `json:"table"`
		Group string         `json:"group"`
		Marks map[string]int `json:"marks"`
	} `json:"figures"`
	Tables []struct {
		Name string `json:"name"`
		Rows int    `json:"rows"`
	} `json:"tables"`
	Theme struct {
		Light      string `json:"light"`
		PreferDark string `json:"preferDark"`
		Toggled    string `json:"toggled"`
		DataTheme  string `json:"dataTheme"`
	} `json:"theme"`
	Sort *struct {
		Table      string `json:"table"`
		Ascending  bool   `json:"ascending"`
		Descending bool   `json:"descending"`
	} `json:"sort"`
	Print struct {
		Background        string `json:"background"`
		ToggleHidden      bool   `json:"toggleHidden"`
		ClosedTablesShown bool   `json:"closedTablesShown"`
	} `json:"print"`
}

// loadInBrowser opens the page at path in headless Chromium through
// tools/browser/check.mjs, which saves screenshots and a PDF to the
// test's artifact folder, beside the reports (go test -artifacts keeps
// them).
func loadInBrowser(t *testing.T, path string) browserResult {
	t.Helper()
	repo, err := testutil.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(repo, "tools", "browser", "check.mjs")
	if _, err := os.Stat(filepath.Join(repo, "tools", "browser", "node_modules", "playwright-core")); err != nil {
		t.Fatalf("browser harness: playwright-core is missing; run `make test-deps` (it runs `npm ci` in tools/browser): %v", err)
	}
	chromium := cmp.Or(os.Getenv("CHROMIUM"), "/usr/bin/chromium")
	if _, err := os.Stat(chromium); err != nil {
		t.Fatalf("browser harness: %s is missing; run `make test-deps` (it installs Debian's chromium): %v", chromium, err)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		t.Fatal(err)
	}
	page := (&url.URL{Scheme: "file", Path: abs}).String()

	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", script, page, t.ArtifactDir())
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("browser harness: node %s: %v\n%s", script, err, stderr.String())
	}
	var res browserResult
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
		t.Fatalf("browser harness: decoding its output: %v\n%s", err, stdout.String())
	}
	return res
}

// chartedTables are the tables that the page draws a chart of when they
// have rows.
var chartedTables = []string{
	"languages", "sources", "language_source", "mixture", "stages", "drops",
	"signal_histograms", "near_duplicate_clusters", "language_changes", "source_changes",
}

// checkInBrowser loads the page and checks what a reader gets: no console
// errors, no network requests, one mark per row of each chart's table,
// every table, a working theme toggle, sorting and print style.
func checkInBrowser(t *testing.T, htmlPath string, doc reportJSON) {
	t.Helper()
	res := loadInBrowser(t, htmlPath)
	for _, msg := range res.Console {
		t.Errorf("browser console: %s", msg)
	}
	for _, req := range res.Requests {
		t.Errorf("the page requested %s; it should load nothing", req)
	}

	charted := map[string]bool{}
	for _, fig := range res.Figures {
		charted[fig.Table] = true
		rows := doc.Tables[fig.Table]
		want := len(rows)
		if fig.Group != "" {
			want = 0
			for _, r := range rows {
				if fmt.Sprint(r["stage"], "/", r["signal"]) == fig.Group {
					want++
				}
			}
		}
		if len(fig.Marks) == 0 {
			t.Errorf("chart of %s %s has no marks", fig.Table, fig.Group)
		}
		for series, n := range fig.Marks {
			if n != want {
				t.Errorf("chart of %s %s, series %q: %d marks, want one per row, %d", fig.Table, fig.Group, series, n, want)
			}
		}
	}
	for _, name := range chartedTables {
		if len(doc.Tables[name]) > 0 && !charted[name] {
			t.Errorf("table %s has %d rows but no chart", name, len(doc.Tables[name]))
		}
	}
	for _, table := range res.Tables {
		if table.Rows != len(doc.Tables[table.Name]) {
			t.Errorf("page table %s has %d rows, the JSON %d", table.Name, table.Rows, len(doc.Tables[table.Name]))
		}
	}

	if res.Theme.Light == res.Theme.PreferDark || res.Theme.Toggled != res.Theme.PreferDark || res.Theme.DataTheme != "dark" {
		t.Errorf("theme %+v: want a dark background under prefers-color-scheme: dark and after the toggle", res.Theme)
	}
	if res.Sort == nil || !res.Sort.Ascending || !res.Sort.Descending {
		t.Errorf("sorting a numeric column: %+v, want ascending then descending", res.Sort)
	}
	if res.Print.Background != res.Theme.Light || !res.Print.ToggleHidden || !res.Print.ClosedTablesShown {
		t.Errorf("print style %+v: want the light background (%s), no theme toggle and every table, even in dark mode", res.Print, res.Theme.Light)
	}
}
