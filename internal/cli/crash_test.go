package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/winnow-data/winnow/pipeline"
)

// writeCopies writes the sample n times into one JSON lines file, each
// copy under new ids, so a run over it lasts long enough to be killed.
func writeCopies(t *testing.T, n int) string {
	t.Helper()
	docs := readSample(t)
	var b strings.Builder
	for c := range n {
		for _, d := range docs {
			line, _ := json.Marshal(map[string]string{"id": fmt.Sprintf("copy%d-%s", c, d.ID), "text": d.Text})
			b.Write(line)
			b.WriteByte('\n')
		}
	}
	return writeFile(t, "copies.jsonl", b.String())
}

// finishedShards returns the committed-looking shard names under root:
// files renamed to their content address, not temporary ones.
func finishedShards(root string) []string {
	entries, _ := os.ReadDir(filepath.Join(root, "shards"))
	var out []string
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), ".") {
			out = append(out, e.Name())
		}
	}
	return out
}

// TestLineageSurvivesCrashAndRerun kills a run after it wrote its first
// shards and runs it again to the end. A document's lineage in that root
// must match its lineage in a root that never crashed, and gc must remove
// what the crashed run left.
func TestLineageSurvivesCrashAndRerun(t *testing.T) {
	bin := winnowBinary(t)
	input := writeCopies(t, 8)
	cfg := writeFile(t, "small-shards.yaml", "stages: [normalize, exact_dedup]\noutput: {shard_max_bytes: 65536, row_group_max_bytes: 16384}\ninput: {batch_size: 16}\n")
	args := []string{"run", "--progress", "never", "--log-level", "warn", "--workers", "1", "-c", cfg}

	crashed := t.TempDir()
	cmd := exec.Command(bin, append(args, "-o", crashed, input)...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Minute)
	for len(finishedShards(crashed)) < 2 && time.Now().Before(deadline) {
		time.Sleep(2 * time.Millisecond)
	}
	cmd.Process.Kill()
	cmd.Wait()
	if n := len(finishedShards(crashed)); n < 2 {
		t.Fatalf("the run wrote %d shards before it was killed, want at least 2", n)
	}
	if entries, _ := os.ReadDir(filepath.Join(crashed, "versions")); len(entries) > 0 {
		t.Fatal("the run committed before it was killed; the input is too small to kill it mid-run")
	}
	leftover := finishedShards(crashed)

	// The dead run's lease does not protect its files: its process is gone.
	out := mustCLI(t, 0, "gc", "--min-age", "0", crashed)
	if !strings.Contains(out, fmt.Sprintf("would delete %d unreferenced files", len(leftover))) && !strings.Contains(out, fmt.Sprintf("would delete %d unreferenced files", len(leftover)+1)) {
		t.Errorf("gc after the crash does not list the %d shards left:\n%s", len(leftover), out)
	}

	// Running again resumes nothing, but gives the same shards: their names
	// are content addresses, so the finished ones are written again alike.
	if out, err := exec.Command(bin, append(args, "-o", crashed, input)...).CombinedOutput(); err != nil {
		t.Fatalf("second run: %v\n%s", err, out)
	}
	clean := t.TempDir()
	if out, err := exec.Command(bin, append(args, "-o", clean, input)...).CombinedOutput(); err != nil {
		t.Fatalf("run without a crash: %v\n%s", err, out)
	}
	m := latestManifest(t, crashed)
	if want := latestManifest(t, clean); m.ID == "" || !slices.Equal(shardSums(m), shardSums(want)) {
		t.Fatalf("shards after the crash and rerun differ from a clean run's")
	}
	for _, name := range leftover {
		if !strings.Contains(strings.Join(shardPaths(m), " "), name) {
			t.Errorf("shard %s of the crashed run is not one of the rerun's", name)
		}
	}

	// The first document, in the shards written before the crash, and the
	// last, written after it.
	docs := keptDocs(t, clean, latestManifest(t, clean))
	for _, id := range []string{docs[0].ID, docs[len(docs)-1].ID} {
		got, want := lineageJSON(t, crashed, id), lineageJSON(t, clean, id)
		if got.Origin == nil || want.Origin == nil {
			t.Fatalf("%s: no origin in one of the roots", id)
		}
		g, w := *got.Origin, *want.Origin
		g.Path, w.Path = "", ""
		if g != w {
			t.Errorf("%s: origin after crash and rerun %+v, in a clean run %+v", id, g, w)
		}
		if len(got.Versions) != 1 || got.Versions[0].Status != "present" || got.WrittenBy.Version != m.ID {
			t.Errorf("%s: versions %+v, written by %s; want only the rerun's version %s", id, got.Versions, got.WrittenBy.Version, m.ID)
		}
	}

	out = mustCLI(t, 0, "gc", "--min-age", "0", "--apply", crashed)
	if strings.Contains(out, "written while a run") {
		t.Errorf("gc keeps files of a run that is dead:\n%s", out)
	}
	mustCLI(t, 0, "show", "--verify", crashed)
}

func shardPaths(m *pipeline.Manifest) []string {
	var out []string
	for _, s := range m.Shards {
		out = append(out, s.Path)
	}
	return out
}
