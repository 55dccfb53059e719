package cli

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/winnow-data/winnow/internal/testutil"
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
		{"inputs: [a.jsonl]", "field inputs not found"},
	} {
		cfg := writeFile(t, "winnow.yaml", tc.config)
		code, _, stderr := runCLI(t, "run", "-c", cfg, "-o", t.TempDir(), samplePath)
		if code != exitUsage || !strings.Contains(stderr, tc.want) {
			t.Errorf("config %q: exit %d, stderr %q; want exit %d and %q", tc.config, code, stderr, exitUsage, tc.want)
		}
	}
	for _, args := range [][]string{
		{"--only", "nope"}, {"--skip", "pii", "--only", "normalize"}, {"--workers", "0"}, {"--log-level", "loud"},
	} {
		code, _, stderr := runCLI(t, append(append([]string{"run", "-o", t.TempDir()}, args...), samplePath)...)
		if code != exitUsage || stderr == "" {
			t.Errorf("flags %v: exit %d, stderr %q; want exit %d with a message", args, code, stderr, exitUsage)
		}
	}
}
