package cli

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/winnow-data/winnow/loader"
	"github.com/winnow-data/winnow/pipeline"
)

// writeConsumer writes a consumption record as the loader lays it out:
// ROOT/consumers/<version id>/<run id>.json.
func writeConsumer(t *testing.T, root, version, run string, opened time.Time, options, state any) {
	t.Helper()
	dir := filepath.Join(root, "consumers", version)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	data, err := json.Marshal(map[string]any{
		"run_id": run, "version": version, "opened_at": opened, "options": options,
		"last_state": state, "updated_at": opened.Add(time.Hour),
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, run+".json"), data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestConsumersAndTrainingLineage(t *testing.T) {
	root := t.TempDir()
	input := writeFile(t, "docs.jsonl", `{"id":"a","text":"first document"}`+"\n"+`{"id":"b","text":"second document"}`+"\n")
	v1 := mustRun(t, "-o", root, "--only", "normalize", input).Version
	more := writeFile(t, "more.jsonl", `{"id":"c","text":"third document"}`+"\n")
	v2 := mustRun(t, "-o", root, "--only", "normalize", "--append", more).Version

	opened := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	writeConsumer(t, root, v1, "pretrain-7b-run3", opened, map[string]any{"seed": 17, "world_size": 8}, map[string]any{"epoch": 1, "step": 1200})
	writeConsumer(t, root, v2, "ablation-42", opened.Add(24*time.Hour), map[string]any{"seed": 3}, nil)

	out := mustCLI(t, 0, "consumers", root)
	for _, want := range []string{v1 + "  pretrain-7b-run3  2026-12-01 08:00:00Z", `{"seed":17,"world_size":8}`, `{"epoch":1,"step":1200}`, v2 + "  ablation-42"} {
		if !strings.Contains(out, want) {
			t.Errorf("consumers lacks %q:\n%s", want, out)
		}
	}
	out = mustCLI(t, 0, "consumers", "--json", root, v1)
	var records []pipeline.ConsumerRecord
	if err := json.Unmarshal([]byte(out), &records); err != nil {
		t.Fatal(err)
	}
	if len(records) != 1 || records[0].RunID != "pretrain-7b-run3" || !records[0].OpenedAt.Equal(opened) || compactJSON(records[0].LastState) != `{"epoch":1,"step":1200}` {
		t.Errorf("consumers --json of v1: %+v", records)
	}

	// Document a is in both versions, so both runs read it; c only in v2.
	l := lineageJSON(t, root, "a")
	if len(l.Consumers) != 2 || l.Consumers[0].RunID != "pretrain-7b-run3" || l.Consumers[1].RunID != "ablation-42" {
		t.Errorf("lineage of a names runs %+v, want both", l.Consumers)
	}
	l = lineageJSON(t, root, "c")
	if len(l.Consumers) != 1 || l.Consumers[0].RunID != "ablation-42" {
		t.Errorf("lineage of c names runs %+v, want ablation-42 alone", l.Consumers)
	}
	if out := mustCLI(t, 0, "lineage", root, "a"); !strings.Contains(out, "run pretrain-7b-run3 read version "+v1) {
		t.Errorf("lineage output does not name the training run:\n%s", out)
	}

	// A record the loader itself writes lists the same way.
	store, err := loader.OpenLocalDir(root)
	if err != nil {
		t.Fatal(err)
	}
	l2, err := loader.Open(context.Background(), store, loader.Options{Version: v2, BatchSize: 2, Epochs: 1, RunID: "loader-run"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l2.Next(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := l2.Close(); err != nil {
		t.Fatal(err)
	}
	out = mustCLI(t, 0, "consumers", root, v2)
	if !strings.Contains(out, v2+"  loader-run") || !strings.Contains(out, `"version":"`+v2+`"`) {
		t.Errorf("consumers does not list the loader's own record:\n%s", out)
	}

	// A record the loader left half-written is an error naming the file.
	bad := filepath.Join(root, "consumers", v2, "broken.json")
	if err := os.WriteFile(bad, []byte(`{"run_id": "bro`), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := runCLI(t, "consumers", root, v2)
	if code != 1 || !strings.Contains(stderr, "broken.json") {
		t.Errorf("consumers with a broken record: exit %d, stderr %q", code, stderr)
	}
}

func TestGCKeepsFilesOfUnfinishedRun(t *testing.T) {
	root := t.TempDir()
	mustRun(t, "-o", root, "--only", "normalize", samplePath)
	store, err := pipeline.OpenLocalStore(root)
	if err != nil {
		t.Fatal(err)
	}
	lease, err := store.TakeLease("run")
	if err != nil {
		t.Fatal(err)
	}
	// A shard the running run finished but has not committed yet.
	pending := filepath.Join(root, "shards", strings.Repeat("1", 32)+".parquet")
	if err := os.WriteFile(pending, []byte("uncommitted shard"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := mustCLI(t, 0, "gc", "--min-age", "0", "--apply", root)
	if !strings.Contains(out, "written while a run that has not committed was active") {
		t.Errorf("gc does not say why it keeps the pending shard:\n%s", out)
	}
	if _, err := os.Stat(pending); err != nil {
		t.Fatalf("gc deleted a shard of an unfinished run: %v", err)
	}
	lease.Release()
	out = mustCLI(t, 0, "gc", "--min-age", "0", "--apply", root)
	if _, err := os.Stat(pending); !os.IsNotExist(err) {
		t.Errorf("gc keeps the shard after the run ended:\n%s", out)
	}
}

// TestTwentyConcurrentRunProcesses commits 20 versions to one root from
// 20 processes at once. Each commit must succeed, and every manifest and
// ref must be whole afterwards.
func TestTwentyConcurrentRunProcesses(t *testing.T) {
	bin := winnowBinary(t)
	root := t.TempDir()
	const runs = 20
	var wg sync.WaitGroup
	for i := range runs {
		input := writeFile(t, "in.jsonl", `{"id":"doc","text":"run `+strings.Repeat("x", i+1)+`"}`+"\n")
		wg.Add(1)
		go func() {
			defer wg.Done()
			out, err := execCommand(bin, "run", "--progress", "never", "--only", "normalize", "-o", root, input)
			if err != nil {
				t.Errorf("run %d: %v\n%s", i, err, out)
			}
		}()
	}
	wg.Wait()

	store, err := pipeline.OpenLocalStore(root)
	if err != nil {
		t.Fatal(err)
	}
	list, err := pipeline.ListVersions(store) // checks every manifest's content hash
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != runs {
		t.Fatalf("%d versions, want %d", len(list), runs)
	}
	children := map[string]int{}
	for _, m := range list {
		children[m.Parent]++
	}
	for parent, n := range children {
		if n != 1 {
			t.Errorf("version %q is the parent of %d versions; want one chain", parent, n)
		}
	}
	raw, err := os.ReadFile(filepath.Join(root, "refs", "latest"))
	if err != nil {
		t.Fatal(err)
	}
	latest := strings.TrimSuffix(string(raw), "\n")
	if len(raw) != pipeline.VersionIDLen+1 || children[latest] != 0 {
		t.Errorf("refs/latest = %q: want the id of the version that has no child", raw)
	}
	mustCLI(t, 0, "show", "--verify", root)
	entries, _ := os.ReadDir(filepath.Join(root, "refs"))
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			t.Errorf("refs/%s left behind", e.Name())
		}
	}
	if leases, _ := pipeline.ReadLeases(store); len(leases) != 0 {
		t.Errorf("%d leases left after every run ended", len(leases))
	}
}

func execCommand(bin string, args ...string) ([]byte, error) {
	return exec.Command(bin, args...).CombinedOutput()
}
