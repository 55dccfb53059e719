package report

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"html"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/winnow-data/winnow/mixture"
	"github.com/winnow-data/winnow/pipeline"
	"github.com/winnow-data/winnow/stages"
)

// fullReport returns a report with every table filled: two versions,
// rejects with signals and near duplicates.
func fullReport() *Report {
	before := testManifest()
	before.ID = "v1"
	stats := NewRejectStats()
	for i := range 6 {
		stats.Add(&stages.RejectRow{
			ID: fmt.Sprint("d", i), Reason: reasonNearDuplicate, Stage: "near_dedup", Signal: "similarity",
			Value: float(0.7 + float64(i)/20), Threshold: float(0.7), Detail: fmt.Sprintf(`{"twin":"k%d"}`, i%4),
		})
		stats.Add(&stages.RejectRow{ID: fmt.Sprint("p", i), Reason: "pii_too_many", Stage: "pii", Signal: "pii_matches", Value: float(float64(6 + i)), Threshold: float(5)})
	}
	m := testManifest()
	m.Balance.Mixture = &pipeline.MixtureRecord{Alpha: 0.5, BudgetTokens: 15000, Weights: []mixture.Weight{
		{Name: "deu_Latn", Tokens: 1500, Natural: 0.1, Share: 0.17, Repeats: 1.7},
		{Name: "eng_Latn", Tokens: 9000, Natural: 0.6, Share: 0.5, Repeats: 0.83},
		{Name: "fra_Latn", Tokens: 4500, Natural: 0.3, Share: 0.33, Repeats: 1.1},
	}}
	return Build(m, before, stats)
}

func TestReportWriteJSONAndCSVAgree(t *testing.T) {
	r := fullReport()
	var buf bytes.Buffer
	if err := r.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Format  int                         `json:"format"`
		Version string                      `json:"version"`
		Against *string                     `json:"against"`
		Tables  map[string][]map[string]any `json:"tables"`
	}
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatalf("the JSON output does not parse: %v\n%s", err, buf.String())
	}
	if doc.Format != JSONFormat || doc.Version != "v2" || doc.Against == nil || *doc.Against != "v1" {
		t.Errorf("format %d, version %q, against %v; want %d, v2, v1", doc.Format, doc.Version, doc.Against, JSONFormat)
	}

	dir := t.TempDir()
	if err := r.WriteCSV(dir); err != nil {
		t.Fatal(err)
	}
	for _, table := range r.Tables() {
		if len(table.Rows) == 0 {
			t.Errorf("table %s is empty; the fixture should fill every table", table.Name)
		}
		rows, ok := doc.Tables[table.Name]
		if !ok || len(rows) != len(table.Rows) {
			t.Errorf("JSON table %s has %d rows, want %d", table.Name, len(rows), len(table.Rows))
		}
		records := readCSV(t, filepath.Join(dir, table.Name+".csv"))
		if len(records) != len(table.Rows)+1 {
			t.Errorf("CSV table %s has %d records, want a header and %d rows", table.Name, len(records), len(table.Rows))
			continue
		}
		for i, c := range table.Columns {
			if records[0][i] != c.Name {
				t.Errorf("CSV table %s: column %d is %q, want %q", table.Name, i, records[0][i], c.Name)
			}
			if got, want := records[1][i], jsonText(rows[0][c.Name]); got != want {
				t.Errorf("table %s, first row, column %s: CSV %q, JSON %q", table.Name, c.Name, got, want)
			}
		}
	}
}

// jsonText writes a decoded JSON value as the CSV writes it.
func jsonText(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case float64:
		return csvValue(v)
	}
	return fmt.Sprint(v)
}

func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	records, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return records
}

var (
	figurePattern = regexp.MustCompile(`(?s)<figure class="chart[^"]*" data-table="([^"]+)"(?: data-group="([^"]+)")?>(.*?)</figure>`)
	seriesPattern = regexp.MustCompile(`<rect data-mark=""(?: data-series="([^"]*)")?`)
)

func TestReportWriteHTMLMarksMatchRows(t *testing.T) {
	r := fullReport()
	var buf bytes.Buffer
	if err := r.WriteHTML(&buf); err != nil {
		t.Fatal(err)
	}
	rows := map[string]int{}
	for _, table := range r.Tables() {
		rows[table.Name] = len(table.Rows)
		if table.Name == TableHistograms {
			for _, row := range table.Rows {
				rows[table.Name+"|"+row[0].(string)+"/"+row[1].(string)]++
			}
		}
	}

	charted := map[string]bool{}
	for _, fig := range figurePattern.FindAllStringSubmatch(buf.String(), -1) {
		table, group, body := fig[1], fig[2], fig[3]
		charted[table] = true
		want := rows[table]
		if group != "" {
			want = rows[table+"|"+group]
		}
		marks := map[string]int{}
		for _, m := range seriesPattern.FindAllStringSubmatch(body, -1) {
			marks[m[1]]++
		}
		for series, n := range marks {
			if n != want {
				t.Errorf("chart of %s %s, series %q: %d marks, want %d", table, group, series, n, want)
			}
		}
		if len(marks) == 0 {
			t.Errorf("chart of %s %s has no marks", table, group)
		}
	}
	for _, table := range []string{TableLanguages, TableSources, TableLanguageSource, TableMixture, TableStages, TableDrops,
		TableHistograms, TableClusters, TableLanguageChange, TableSourceChange} {
		if !charted[table] {
			t.Errorf("no chart of table %s", table)
		}
	}
}

func TestReportWriteHTMLIsSelfContained(t *testing.T) {
	var buf bytes.Buffer
	if err := fullReport().WriteHTML(&buf); err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	for _, banned := range []string{"<script src", "<link rel=\"stylesheet\"", "@import", "url(", "<img", "<iframe"} {
		if strings.Contains(page, banned) {
			t.Errorf("the page contains %q", banned)
		}
	}
	// The only address is the SVG namespace, which names and loads nothing.
	for _, addr := range regexp.MustCompile(`https?://[^"' <)]+`).FindAllString(page, -1) {
		if addr != "http://www.w3.org/2000/svg" {
			t.Errorf("the page names the address %s", addr)
		}
	}
	// The policy's hashes must match the page's style and script, or a
	// browser would refuse to apply them.
	style := regexp.MustCompile(`(?s)<style>(.*?)</style>`).FindStringSubmatch(page)
	script := regexp.MustCompile(`(?s)<script>(.*?)</script>`).FindStringSubmatch(page)
	if style == nil || script == nil {
		t.Fatal("the page has no style or no script element")
	}
	policy := regexp.MustCompile(`http-equiv="Content-Security-Policy" content="([^"]+)"`).FindStringSubmatch(page)
	if policy == nil {
		t.Fatal("the page sets no Content-Security-Policy")
	}
	for _, body := range []string{style[1], script[1]} {
		if !strings.Contains(html.UnescapeString(policy[1]), "'"+cspHash(body)+"'") {
			t.Errorf("the Content-Security-Policy %q lacks %s", policy[1], cspHash(body))
		}
	}
}
