package cli

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/winnow-data/winnow/internal/testutil"
	"github.com/winnow-data/winnow/pipeline"
)

// goodText is long enough to pass every default filter but langid's, which
// the bad-input runs leave out.
func goodText(id string) string {
	return fmt.Sprintf("Record %s is a short paragraph of plain English text that the pipeline should keep as it is.", id)
}

func jsonLine(id, text string) string {
	return fmt.Sprintf(`{"id":%q,"text":%q}`, id, text) + "\n"
}

func TestRunSurvivesBadInput(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte) {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	// a.jsonl: a malformed line, invalid UTF-8 and a lone surrogate
	// between good records. Every text is distinct, so exact_dedup keeps
	// them all.
	var a bytes.Buffer
	a.WriteString(jsonLine("a1", goodText("a1")))
	a.WriteString(`{"id":"a2","text":"unterminated` + "\n")
	a.WriteString(`{"id":"a3","text":"` + strings.Repeat(goodText("a3"), 3) + ` Two bad bytes ` + "\xff\xfe" + ` end it."}` + "\n")
	a.WriteString(`{"id":"a4","text":"` + goodText("a4") + ` A lone \ud800 surrogate ends it."}` + "\n")
	a.WriteString(jsonLine("a5", goodText("a5")))
	write("a.jsonl", a.Bytes())

	// b.jsonl: a 300 KB record between two short ones.
	var b bytes.Buffer
	b.WriteString(jsonLine("b1", goodText("b1")))
	b.WriteString(jsonLine("b2", strings.Repeat("long line ", 30_000)))
	b.WriteString(jsonLine("b3", goodText("b3")))
	write("b.jsonl", b.Bytes())

	// c.jsonl.gz: gzip with its last 20 bytes cut off.
	var c bytes.Buffer
	zw := gzip.NewWriter(&c)
	for i := range 200 {
		id := fmt.Sprintf("c%d", i)
		zw.Write([]byte(jsonLine(id, goodText(id))))
	}
	zw.Close()
	write("c.jsonl.gz", c.Bytes()[:c.Len()-20])

	write("d.jsonl", nil) // empty
	write("e.jsonl", []byte(jsonLine("e1", goodText("e1"))))

	root := t.TempDir()
	s := mustRun(t, "-o", root, "--only", "normalize,exact_dedup", dir)
	m := latestManifest(t, root)

	events := m.Stages[0].Events
	for reason, want := range map[string]int64{
		"malformed_json": 1, "invalid_utf8": 1, "lone_surrogate": 1, "truncated_file": 1, "empty_file": 1,
	} {
		if events[reason] != want {
			t.Errorf("source event %s = %d, want %d (all events: %v)", reason, events[reason], want, events)
		}
	}
	// normalize repairs the invalid bytes and the U+FFFD of the surrogate
	// is already valid, so one document is repaired.
	if n := stageRecord(t, m, "normalize").Events["invalid_utf8_repaired"]; n != 1 {
		t.Errorf("normalize repaired %d documents, want 1", n)
	}
	if n := s.Stages[0].Events["truncated_file"]; n != 1 {
		t.Errorf("the run summary counts %d truncated files", n)
	}

	rows := testutil.DuckDBQuery(t, fmt.Sprintf("SELECT id, length(text) AS n FROM read_parquet(%s)", shardList(root, m)))
	kept := map[string]float64{}
	for _, r := range rows {
		kept[r["id"].(string)] = r["n"].(float64)
	}
	for _, id := range []string{"a1", "a3", "a4", "a5", "b1", "b2", "b3", "e1"} {
		if _, ok := kept[id]; !ok {
			t.Errorf("record %s was lost", id)
		}
	}
	if kept["b2"] < 299_000 {
		t.Errorf("the 300 KB record came back with %v characters", kept["b2"])
	}
	if _, ok := kept["a2"]; ok {
		t.Error("the malformed record was kept")
	}
	// Every record of the truncated file that ended before the cut is kept:
	// at least the first 190 of its 200.
	cKept := 0
	for id := range kept {
		if strings.HasPrefix(id, "c") {
			cKept++
		}
	}
	if cKept < 190 || cKept >= 200 {
		t.Errorf("kept %d records of the truncated file, want its complete ones (190 to 199)", cKept)
	}

	complete := map[string]bool{}
	for _, in := range m.Inputs {
		complete[filepath.Base(in.URI)] = in.Complete
	}
	if complete["c.jsonl.gz"] || !complete["e.jsonl"] || len(m.Inputs) != 5 {
		t.Errorf("inputs in the manifest: %+v", m.Inputs)
	}
}

func TestRunMissingInputFailsAtStartup(t *testing.T) {
	root := t.TempDir()
	code, _, stderr := runCLI(t, "run", "-o", root, "--skip", "langid", samplePath, "no-such-file.jsonl")
	if code != exitUsage || !strings.Contains(stderr, "no-such-file.jsonl") {
		t.Fatalf("exit %d, stderr %q: want exit %d naming the missing file", code, stderr, exitUsage)
	}
	if entries, _ := os.ReadDir(filepath.Join(root, "versions")); len(entries) != 0 {
		t.Errorf("a failed start committed %d versions", len(entries))
	}
}

func TestRunConfigErrorsNameTheField(t *testing.T) {
	for _, tc := range []struct{ config, want string }{
		{"input: {format: xml}", `input.format: invalid value "xml"`},
		{"stages: [normalize, gopher_qualty]", `unknown stage "gopher_qualty"`},
		{"stages: [gopher_quality: {min_words: -5}]", "min_words"},
		{"stages: [langid: {min_score: 3}]", "min_score"},
		{"output: {zstd_level: 0.5}", "output.zstd_level: invalid value 0.5"},
		{"inputs: [a.jsonl]", `line 1: unknown field "inputs"`},
		{"stages:\n  - gopher_quality:\n      max_wrods: 3", `line 3: unknown field "max_wrods"`},
		{"stages:\n  - normalize\n  - langidd", `line 3: stages[1]: unknown stage "langidd"`},
		{"stages:\n  - gopher_quality: {min_alpha_word_fraction: 1.5}", "line 2: stage gopher_quality: invalid min_alpha_word_fraction 1.5"},
		{"workers: 1.5", "line 1: workers: invalid value 1.5: must be a whole number"},
	} {
		cfg := writeFile(t, "winnow.yaml", tc.config)
		code, _, stderr := runCLI(t, "run", "-c", cfg, "-o", t.TempDir(), samplePath)
		if code != exitUsage || !strings.Contains(stderr, tc.want) || !strings.Contains(stderr, cfg) {
			t.Errorf("config %q: exit %d, stderr %q; want exit %d, the file and %q", tc.config, code, stderr, exitUsage, tc.want)
		}
	}
	for _, args := range [][]string{
		{"--progress", "sometimes"},
		{"--only", "nope"}, {"--skip", "pii", "--only", "normalize"}, {"--workers", "0"}, {"--log-level", "loud"},
		{"--frobnicate"},
	} {
		code, _, stderr := runCLI(t, append(append([]string{"run", "-o", t.TempDir()}, args...), samplePath)...)
		if code != exitUsage || stderr == "" {
			t.Errorf("flags %v: exit %d, stderr %q; want exit %d with a message", args, code, stderr, exitUsage)
		}
	}
}

func TestRunRepairsInvalidUTF8InEveryColumn(t *testing.T) {
	dir := t.TempDir()
	line := `{"id":"a` + "\xff" + `1","url":"http://x/` + "\xfe" + `","extra":"` + "\xff" + `","text":"` + goodText("u1") + " \xff" + `"}` + "\n"
	if err := os.WriteFile(filepath.Join(dir, "bad.jsonl"), []byte(line), 0o644); err != nil {
		t.Fatal(err)
	}
	// Without normalize, only the source and the sink can repair it.
	root := t.TempDir()
	mustRun(t, "-o", root, "--only", "exact_dedup", dir)
	m := latestManifest(t, root)
	rows := testutil.DuckDBQuery(t, fmt.Sprintf("SELECT id, url, text, metadata FROM read_parquet(%s)", shardList(root, m)))
	if len(rows) != 1 {
		t.Fatalf("read %d rows, want 1", len(rows))
	}
	if id := rows[0]["id"].(string); id != "a\uFFFD1" {
		t.Errorf("id read back as %q", id)
	}
	if text := rows[0]["text"].(string); !strings.HasSuffix(text, " \uFFFD") {
		t.Errorf("text read back as %q", text)
	}
}

func TestRunWithNoDocumentsFails(t *testing.T) {
	path := writeFile(t, "array.json", `[{"text": "a JSON array, not JSON lines"}]`)
	root := t.TempDir()
	code, _, stderr := runCLI(t, "run", "-o", root, "--skip", "langid", path)
	if code != 1 || !strings.Contains(stderr, "no documents read from 1 inputs") || !strings.Contains(stderr, "malformed_json=1") {
		t.Errorf("exit %d, stderr %q; want exit 1 and the reason counts", code, stderr)
	}
	if entries, _ := os.ReadDir(filepath.Join(root, "versions")); len(entries) != 0 {
		t.Errorf("a run that read nothing committed %d versions", len(entries))
	}
}

func TestConcurrentRunsChainVersions(t *testing.T) {
	root := t.TempDir()
	var wg sync.WaitGroup
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// runCLI, not mustRun: t.Fatal must not run off the test's goroutine.
			if code, _, stderr := runCLI(t, "run", "--progress", "never", "-o", root, "--only", "normalize", samplePath); code != 0 {
				t.Errorf("run: exit %d: %s", code, stderr)
			}
		}()
	}
	wg.Wait()

	store, err := pipeline.OpenLocalStore(root)
	if err != nil {
		t.Fatal(err)
	}
	list, err := pipeline.ListVersions(store)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 3 {
		t.Fatalf("%d versions, want 3", len(list))
	}
	parents := map[string]int{}
	for _, m := range list {
		parents[m.Parent]++
	}
	if parents[""] != 1 || len(parents) != 3 {
		t.Errorf("parents %v: want one first version and a chain, no fork", parents)
	}
	latest, _ := pipeline.LatestVersion(store)
	hasChild := map[string]bool{}
	for _, m := range list {
		hasChild[m.Parent] = true
	}
	if hasChild[latest] {
		t.Errorf("latest version %s has a child", latest)
	}
}
