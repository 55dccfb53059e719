package cli

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/winnow-data/winnow/internal/testutil"
	"github.com/winnow-data/winnow/pipeline"
	"github.com/winnow-data/winnow/stages"
)

// splitSample writes the sample's first n lines to head.jsonl and all of it
// to all.jsonl, in a temporary folder each, and returns the two paths.
func splitSample(t *testing.T, n int) (head, all string) {
	t.Helper()
	raw, err := os.ReadFile(samplePath)
	if err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(zr); err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(buf.String(), "\n")
	head = filepath.Join(t.TempDir(), "sample.jsonl")
	all = filepath.Join(t.TempDir(), "sample.jsonl")
	if err := os.WriteFile(head, []byte(strings.Join(lines[:n], "")), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(all, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return head, all
}

func keptIDSet(t *testing.T, root string) []string {
	t.Helper()
	m := latestManifest(t, root)
	rows := testutil.DuckDBQuery(t, fmt.Sprintf("SELECT id FROM read_parquet(%s) ORDER BY id", shardList(root, m)))
	var ids []string
	for _, r := range rows {
		ids = append(ids, r["id"].(string))
	}
	return ids
}

func TestDedupAgainstEarlierVersion(t *testing.T) {
	head, all := splitSample(t, 300)
	for _, method := range []string{"minhash", "simhash"} {
		t.Run(method, func(t *testing.T) {
			cfg := writeFile(t, "winnow.yaml", "stages:\n  - normalize\n  - near_dedup: {method: "+method+"}\n  - exact_dedup\n")

			single := t.TempDir()
			mustRun(t, "-c", cfg, "-o", single, all)
			want := keptIDSet(t, single)

			root := t.TempDir()
			mustRun(t, "-c", cfg, "-o", root, head)
			first := keptIDSet(t, root)
			mustRun(t, "-c", cfg, "-o", root, "--dedup-against", "latest", all)
			second := keptIDSet(t, root)

			for _, id := range second {
				if _, found := slices.BinarySearch(first, id); found {
					t.Errorf("document %s of the first version was kept again", id)
				}
			}
			union := append(slices.Clone(first), second...)
			slices.Sort(union)
			if !slices.Equal(union, want) {
				t.Errorf("two incremental runs kept %d documents, one run over everything %d", len(union), len(want))
			}
			if m := latestManifest(t, root); !strings.Contains(fmt.Sprint(m.Config), "dedup_against") {
				t.Errorf("the manifest's config does not record dedup_against: %v", m.Config)
			}
		})
	}
}

func TestDedupAgainstOtherOptions(t *testing.T) {
	head, all := splitSample(t, 100)
	for _, tc := range []struct{ name, first, second string }{
		{"other bands", "stages: [normalize, near_dedup]\n", "stages: [normalize, near_dedup: {bands: 20}]\n"},
		{"other threshold", "stages: [normalize, near_dedup]\n", "stages: [normalize, near_dedup: {threshold: 0.8}]\n"},
		{"no signatures stored", "stages: [normalize]\n", "stages: [normalize, near_dedup]\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			mustRun(t, "-c", writeFile(t, "a.yaml", tc.first), "-o", root, head)
			first := keptIDSet(t, root)
			mustRun(t, "-c", writeFile(t, "b.yaml", tc.second), "-o", root, "--dedup-against", "latest", all)
			for _, id := range keptIDSet(t, root) {
				if _, found := slices.BinarySearch(first, id); found {
					t.Errorf("document %s of the first version was kept again", id)
				}
			}
		})
	}
	root := t.TempDir()
	mustRun(t, "-o", root, "--only", "normalize", head)
	code, _, stderr := runCLI(t, "run", "-o", root, "--only", "normalize", "--dedup-against", "latest", all)
	if code != exitUsage || !strings.Contains(stderr, "no exact_dedup or near_dedup stage") {
		t.Errorf("exit %d, stderr %q; want a chain without dedup rejected", code, stderr)
	}
}

func TestRejectsNameTheKeptTwin(t *testing.T) {
	cfg := writeFile(t, "winnow.yaml", "stages: [normalize, gopher_quality, near_dedup, exact_dedup]\noutput: {rejects: true}\n")
	root := t.TempDir()
	mustRun(t, "-c", cfg, "-o", root, samplePath)
	m := latestManifest(t, root)
	if len(m.Rejects) == 0 {
		t.Fatal("the manifest lists no rejects file")
	}

	kept := map[string]bool{}
	for _, id := range keptIDSet(t, root) {
		kept[id] = true
	}
	reasons := map[string]int64{}
	for _, f := range m.Rejects {
		err := stages.ReadRejects(t.Context(), filepath.Join(root, f.Path), func(row *stages.RejectRow) error {
			r := struct {
				ID, Reason string
				Detail     *struct {
					Twin       string  `json:"twin"`
					Similarity float64 `json:"similarity"`
				}
			}{ID: row.ID, Reason: row.Reason}
			if row.Detail != "" {
				if err := json.Unmarshal([]byte(row.Detail), &r.Detail); err != nil {
					t.Errorf("detail %q of %s: %v", row.Detail, row.ID, err)
				}
			}
			reasons[r.Reason]++
			if kept[r.ID] {
				t.Errorf("%s is both kept and rejected", r.ID)
			}
			if r.Reason == "near_duplicate" {
				if r.Detail == nil || !kept[r.Detail.Twin] || r.Detail.Similarity < 0.7 {
					t.Errorf("near duplicate %s: detail %+v, want a kept twin with similarity at least 0.7", r.ID, r.Detail)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatalf("rejects file %s: %v", f.Path, err)
		}
	}
	var dropped int64
	for _, s := range m.Stages[1 : len(m.Stages)-1] {
		for reason, n := range s.Dropped {
			dropped += n
			if reasons[reason] != n {
				t.Errorf("reason %s: %d rejects lines, %d drops in the manifest", reason, reasons[reason], n)
			}
		}
	}
	if reasons["near_duplicate"] == 0 || dropped == 0 {
		t.Errorf("rejects by reason %v: want near duplicates among them", reasons)
	}

	// Another reader sees the same rows, each with the stage that wrote
	// its reason.
	var files []string
	for _, f := range m.Rejects {
		abs, _ := filepath.Abs(filepath.Join(root, f.Path))
		files = append(files, sqlString(abs))
	}
	rows := testutil.DuckDBQuery(t, "SELECT reason, stage, count(*) AS n, count(DISTINCT id) AS ids FROM read_parquet(["+
		strings.Join(files, ", ")+"]) GROUP BY reason, stage ORDER BY reason")
	for _, r := range rows {
		reason, stage := r["reason"].(string), r["stage"].(string)
		if n := fmt.Sprint(r["n"]); n != fmt.Sprint(reasons[reason]) || n != fmt.Sprint(r["ids"]) {
			t.Errorf("DuckDB: reason %s has %v rows and %v ids, want %d", reason, r["n"], r["ids"], reasons[reason])
		}
		if want, _ := pipeline.ReasonOwner(reason); stage != want {
			t.Errorf("DuckDB: reason %s written by stage %q, want %q", reason, stage, want)
		}
	}
	if len(rows) != len(reasons) {
		t.Errorf("DuckDB sees %d reasons, the Go reader %d", len(rows), len(reasons))
	}
}

func TestRejectsCommandSamples(t *testing.T) {
	cfg := writeFile(t, "winnow.yaml", "stages: [normalize, gopher_quality, exact_dedup]\noutput: {rejects: true}\n")
	root := t.TempDir()
	mustRun(t, "-c", cfg, "-o", root, samplePath)

	code, out, stderr := runCLI(t, "rejects", "--reason", "gopher_short_doc", "--sample", "5", root)
	if code != 0 {
		t.Fatalf("rejects: exit %d: %s", code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 5 {
		t.Fatalf("rejects --sample 5 printed %d lines", len(lines))
	}
	for _, line := range lines {
		var r struct{ Reason string }
		if err := json.Unmarshal([]byte(line), &r); err != nil || r.Reason != "gopher_short_doc" {
			t.Errorf("line %q: reason %q, err %v", line, r.Reason, err)
		}
	}
	if _, again, _ := runCLI(t, "rejects", "--reason", "gopher_short_doc", "--sample", "5", root); again != out {
		t.Error("the same sample did not come back twice")
	}

	code, _, stderr = runCLI(t, "rejects", "--reason", "c4_lorem_ipsum", root)
	if code == 0 || !strings.Contains(stderr, "reasons present: ") || !strings.Contains(stderr, "gopher_short_doc=") {
		t.Errorf("reason absent from the version: exit %d, stderr %q", code, stderr)
	}
	code, _, stderr = runCLI(t, "rejects", "--reason", "gopher_short_docs", root)
	if code != exitUsage || !strings.Contains(stderr, `unknown reason code "gopher_short_docs"`) || !strings.Contains(stderr, "did you mean gopher_short_doc?") {
		t.Errorf("misspelt reason: exit %d, stderr %q; want a usage error suggesting gopher_short_doc", code, stderr)
	}
	code, _, stderr = runCLI(t, "rejects", "--reason", "malformed_json", root)
	if code != exitUsage || !strings.Contains(stderr, "never written to rejects") {
		t.Errorf("source reason: exit %d, stderr %q", code, stderr)
	}
	plain := t.TempDir()
	mustRun(t, "-o", plain, "--only", "normalize", samplePath)
	if code, _, stderr := runCLI(t, "rejects", plain); code == 0 || !strings.Contains(stderr, "output.rejects: true") {
		t.Errorf("version without rejects: exit %d, stderr %q", code, stderr)
	}
}
