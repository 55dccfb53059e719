package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/winnow-data/winnow/internal/testutil"
	"github.com/winnow-data/winnow/pipeline"
)

// writeWorkerInputs splits the sample into three files in one folder and
// adds, to the second and third, edited copies of documents of the first,
// so there are near duplicates across the files.
func writeWorkerInputs(t *testing.T) (dir string, files []string) {
	t.Helper()
	docs := readSample(t)
	dir = t.TempDir()
	parts := make([][]string, 3)
	for i, d := range docs {
		line, _ := json.Marshal(map[string]string{"id": d.ID, "text": d.Text})
		parts[i*3/len(docs)] = append(parts[i*3/len(docs)], string(line))
	}
	for i, d := range docs[:len(docs)/3] {
		words := strings.Fields(d.Text)
		if len(words) < 200 {
			continue
		}
		words[len(words)/2] = "edited"
		words = append(words, "footer")
		line, _ := json.Marshal(map[string]string{"id": fmt.Sprintf("copy-%d", i), "text": strings.Join(words, " ")})
		parts[1+i%2] = append(parts[1+i%2], string(line))
	}
	for i, lines := range parts {
		path := filepath.Join(dir, fmt.Sprintf("part-%c.jsonl", 'a'+i))
		if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, path)
	}
	return dir, files
}

// versionIDs reads the ids of a version with DuckDB, leaving out the rows
// its deletion list names, as any reader must.
func versionIDs(t *testing.T, root string, m *pipeline.Manifest) []string {
	t.Helper()
	rows := testutil.DuckDBQuery(t, fmt.Sprintf(
		"SELECT id, filename, file_row_number AS row FROM read_parquet(%s, filename = true, file_row_number = true)", shardList(root, m)))
	deleted := m.DeletedRows()
	var ids []string
	for _, r := range rows {
		rel, err := filepath.Rel(root, r["filename"].(string))
		if err != nil {
			t.Fatal(err)
		}
		if deleted[filepath.ToSlash(rel)][int64(r["row"].(float64))] {
			continue
		}
		ids = append(ids, r["id"].(string))
	}
	slices.Sort(ids)
	return ids
}

func TestGlobalDedupMatchesSingleRun(t *testing.T) {
	dir, files := writeWorkerInputs(t)
	cfg := writeFile(t, "winnow.yaml", "stages: [normalize, near_dedup]\n")

	single := t.TempDir()
	mustRun(t, "-c", cfg, "-o", single, dir)
	want := versionIDs(t, single, latestManifest(t, single))

	// Three worker processes append their part to one dataset at the same
	// time, then three dedup worker processes split the bands of the result.
	bin := winnowBinary(t)
	root := t.TempDir()
	var wg sync.WaitGroup
	for _, f := range files {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out, err := exec.Command(bin, "run", "--progress", "never", "--append", "--only", "normalize", "-c", cfg, "-o", root, f).CombinedOutput()
			if err != nil {
				t.Errorf("winnow run %s: %v\n%s", f, err, out)
			}
		}()
	}
	wg.Wait()
	base := latestManifest(t, root)
	if len(base.Shards) != 3 || base.Totals.Docs <= int64(len(want)) {
		t.Fatalf("appended version: %d shards, %d docs; want 3 shards and more docs than the %d kept", len(base.Shards), base.Totals.Docs, len(want))
	}

	for w := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out, err := exec.Command(bin, "dedup", "-c", cfg, "--worker", fmt.Sprint(w), "--workers", "3", root).CombinedOutput()
			if err != nil {
				t.Errorf("winnow dedup worker %d: %v\n%s", w, err, out)
			}
		}()
	}
	wg.Wait()

	m := latestManifest(t, root)
	if m.DedupOf != base.ID || len(m.Deletions) == 0 {
		t.Fatalf("latest version: dedup_of %q, %d deletions; want a dedup of %s", m.DedupOf, len(m.Deletions), base.ID)
	}
	got := versionIDs(t, root, m)
	t.Logf("appended version: %d docs; one run kept %d; the global pass kept %d", base.Totals.Docs, len(want), len(got))
	if !slices.Equal(got, want) {
		t.Errorf("global pass kept %d documents, one run over every input %d", len(got), len(want))
	}
	if m.Totals.Docs != int64(len(got)) {
		t.Errorf("manifest totals %d docs, readers see %d", m.Totals.Docs, len(got))
	}
	if code, _, stderr := runCLI(t, "dedup", "-c", cfg, "--version", base.Parent, root); code != exitUsage || !strings.Contains(stderr, "the latest version is") {
		t.Errorf("dedup of an older version: exit %d, stderr %q", code, stderr)
	}
	if code, _, stderr := runCLI(t, "show", "--verify", root); code != 0 {
		t.Errorf("show --verify: exit %d: %s", code, stderr)
	}

	// A new run can deduplicate against the pass's version: the first
	// part again adds nothing.
	again := mustRun(t, "-c", cfg, "-o", root, "--append", "--dedup-against", "latest", files[0])
	if again.DocsKept != m.Totals.Docs {
		t.Errorf("after appending part-a again against the deduplicated version: %d docs, want %d", again.DocsKept, m.Totals.Docs)
	}

	// A second pass over the deduplicated version removes nothing more.
	if code, out, stderr := runCLI(t, "dedup", "-c", cfg, root); code != 0 || !strings.Contains(out, "0 of") {
		t.Errorf("second pass: exit %d, out %q, stderr %s", code, out, stderr)
	}
}

func TestGlobalDedupKeeperRules(t *testing.T) {
	long := strings.Repeat("alpha beta gamma delta epsilon zeta eta theta iota kappa ", 30)
	docs := []string{
		`{"id":"b-short","text":` + mustJSON(long) + `}`,
		`{"id":"a-long","text":` + mustJSON(long+" lambda") + `}`,
		`{"id":"c-other","text":` + mustJSON(strings.Repeat("one two three four five six seven eight nine ten ", 30)) + `}`,
	}
	input := writeFile(t, "in.jsonl", strings.Join(docs, "\n")+"\n")
	for keep, want := range map[string][]string{
		"first":   {"b-short", "c-other"},
		"longest": {"a-long", "c-other"},
	} {
		root := t.TempDir()
		mustRun(t, "-o", root, "--only", "normalize", input)
		if code, _, stderr := runCLI(t, "dedup", "--keep", keep, root); code != 0 {
			t.Fatalf("dedup --keep %s: exit %d: %s", keep, code, stderr)
		}
		if got := versionIDs(t, root, latestManifest(t, root)); !slices.Equal(got, want) {
			t.Errorf("--keep %s kept %v, want %v", keep, got, want)
		}
	}
	code, _, stderr := runCLI(t, "dedup", "--keep", "shortest", t.TempDir())
	if code != exitUsage {
		t.Errorf("--keep shortest: exit %d, stderr %q", code, stderr)
	}
}

func mustJSON(s string) string {
	raw, _ := json.Marshal(s)
	return string(raw)
}

// winnowBinary builds cmd/winnow once per test binary, for tests that need
// separate processes, and returns its path.
func winnowBinary(t *testing.T) string {
	t.Helper()
	binaryOnce.Do(func() {
		dir, err := makeSharedTemp()
		if err != nil {
			binaryErr = err
			return
		}
		binaryPath = filepath.Join(dir, "winnow")
		out, err := exec.Command("go", "build", "-o", binaryPath, "../../cmd/winnow").CombinedOutput()
		if err != nil {
			binaryErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binaryErr != nil {
		t.Fatal(binaryErr)
	}
	return binaryPath
}

var (
	binaryOnce sync.Once
	binaryPath string
	binaryErr  error
)
