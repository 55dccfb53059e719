package cli

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/winnow-data/winnow/pipeline"
)

// samplePath is the bundled real sample, relative to this package.
var samplePath = filepath.Join("..", "..", "testdata", "cc-2019-30-00140.dolma.jsonl.gz")

// runCLI runs the winnow command line and returns its exit status, stdout
// and stderr.
func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := Main(args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// mustRun runs `winnow run --json ARGS` and returns the summary; any exit
// status but 0 fails the test.
func mustRun(t *testing.T, args ...string) summary {
	t.Helper()
	full := append([]string{"run", "--json", "--progress", "never", "--log-level", "warn"}, args...)
	code, stdout, stderr := runCLI(t, full...)
	if code != 0 {
		t.Fatalf("winnow %s: exit %d\nstderr:\n%s", strings.Join(full, " "), code, stderr)
	}
	var s summary
	if err := json.Unmarshal([]byte(stdout), &s); err != nil {
		t.Fatalf("decoding the run summary: %v\n%s", err, stdout)
	}
	return s
}

// latestManifest reads the latest version of root.
func latestManifest(t *testing.T, root string) *pipeline.Manifest {
	t.Helper()
	store, err := pipeline.OpenLocalStore(root)
	if err != nil {
		t.Fatal(err)
	}
	id, err := pipeline.LatestVersion(store)
	if err != nil {
		t.Fatal(err)
	}
	m, err := pipeline.ReadManifest(store, id)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// inputDoc is a record of the sample as the test decodes it, independently
// of winnow's readers.
type inputDoc struct {
	ID   string `json:"id"`
	Text string `json:"text"`
}

func readSample(t testing.TB) []inputDoc {
	t.Helper()
	f, err := os.Open(samplePath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	var docs []inputDoc
	sc := bufio.NewScanner(zr)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		var d inputDoc
		if err := json.Unmarshal(sc.Bytes(), &d); err != nil {
			t.Fatalf("sample line %d: %v", len(docs)+1, err)
		}
		docs = append(docs, d)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return docs
}

// shardSums returns the sha256 of every shard of a manifest, in order.
func shardSums(m *pipeline.Manifest) []string {
	var out []string
	for _, s := range m.Shards {
		out = append(out, s.SHA256)
	}
	return out
}

// stageRecord returns the manifest record of the named stage.
func stageRecord(t *testing.T, m *pipeline.Manifest, name string) pipeline.StageRecord {
	t.Helper()
	for _, s := range m.Stages {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("manifest has no stage %q", name)
	return pipeline.StageRecord{}
}

// sqlString quotes s as a SQL string literal.
func sqlString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// shardList returns the manifest's shard paths, joined to root, as a DuckDB
// list literal.
func shardList(root string, m *pipeline.Manifest) string {
	var paths []string
	for _, s := range m.Shards {
		abs, _ := filepath.Abs(filepath.Join(root, filepath.FromSlash(s.Path)))
		paths = append(paths, sqlString(abs))
	}
	return "[" + strings.Join(paths, ", ") + "]"
}

// writeFile writes content to name in a temporary folder and returns its path.
func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// makeSharedTemp makes a folder for results shared by several tests; it
// lives until the test binary exits and is removed by TestMain.
func makeSharedTemp() (string, error) {
	dir, err := os.MkdirTemp("", "winnow-cli-test-")
	if err == nil {
		sharedTemps = append(sharedTemps, dir)
	}
	return dir, err
}

var sharedTemps []string

func TestMain(m *testing.M) {
	code := m.Run()
	for _, d := range sharedTemps {
		os.RemoveAll(d)
	}
	os.Exit(code)
}
