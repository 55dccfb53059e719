package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/winnow-data/winnow/stages"
)

// splitSampleFiles splits the bundled sample into count JSONL files of about
// equal size in one folder and returns the folder.
func splitSampleFiles(t *testing.T, count int) string {
	t.Helper()
	_, all := splitSample(t, 1)
	raw, err := os.ReadFile(all)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(strings.TrimSuffix(string(raw), "\n"), "\n")
	dir := t.TempDir()
	per := (len(lines) + count - 1) / count
	for i := range count {
		part := lines[min(i*per, len(lines)):min((i+1)*per, len(lines))]
		name := filepath.Join(dir, fmt.Sprintf("part-%02d.jsonl", i))
		if err := os.WriteFile(name, []byte(strings.Join(part, "")), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestClusterWorkersMatchSingleRun(t *testing.T) {
	const workers = 3
	dir := splitSampleFiles(t, 9)
	// Without a dedup stage every document's fate depends on itself alone,
	// so the workers' union must equal one run over every input.
	cfg := writeFile(t, "winnow.yaml", "stages: [normalize]\n")

	single := t.TempDir()
	mustRun(t, "-c", cfg, "-o", single, dir)
	want := keptIDSet(t, single)
	wantInputs := inputURIs(t, single)

	root := t.TempDir()
	committed := 0
	for i := range workers {
		args := []string{"run", "--progress", "never", "--log-level", "warn", "-c", cfg, "-o", root,
			"--worker", strconv.Itoa(i), "--workers", strconv.Itoa(workers), dir}
		code, _, stderr := runCLI(t, args...)
		if code != 0 {
			t.Fatalf("worker %d: exit %d\nstderr:\n%s", i, code, stderr)
		}
		if !strings.Contains(stderr, "no input falls to this worker") {
			committed++
		}
	}
	if committed < 2 {
		t.Fatalf("only %d of %d workers had inputs; the split was not exercised", committed, workers)
	}

	got := keptIDSet(t, root)
	if len(got) != len(want) {
		t.Errorf("workers kept %d documents, a single run %d", len(got), len(want))
	}
	if !slices.Equal(got, want) {
		t.Errorf("the workers' kept ids differ from a single run's")
	}

	gotInputs := inputURIs(t, root)
	if !slices.Equal(gotInputs, wantInputs) {
		t.Errorf("inputs of the last version = %v, want each of %v once", gotInputs, wantInputs)
	}
}

// inputURIs returns the sorted input URIs recorded in root's latest
// manifest, one entry per time an input was read.
func inputURIs(t *testing.T, root string) []string {
	t.Helper()
	var uris []string
	for _, in := range latestManifest(t, root).Inputs {
		uris = append(uris, in.URI)
	}
	slices.Sort(uris)
	return uris
}

func TestWorkerShareIgnoresArgumentOrder(t *testing.T) {
	dir := splitSampleFiles(t, 6)
	var paths []string
	for i := range 6 {
		paths = append(paths, filepath.Join(dir, fmt.Sprintf("part-%02d.jsonl", i)))
	}
	forward, err := stages.ResolveInputs(paths, stages.FormatAuto)
	if err != nil {
		t.Fatal(err)
	}
	slices.Reverse(paths)
	backward, err := stages.ResolveInputs(paths, stages.FormatAuto)
	if err != nil {
		t.Fatal(err)
	}

	seen := map[string]int{}
	for worker := range 3 {
		a := stages.WorkerShare(forward, worker, 3)
		b := stages.WorkerShare(backward, worker, 3)
		if !slices.EqualFunc(a, b, func(x, y stages.Input) bool { return x.Name == y.Name }) {
			t.Errorf("worker %d: share depends on the argument order", worker)
		}
		for _, in := range a {
			seen[in.Name]++
		}
	}
	for _, in := range forward {
		if seen[in.Name] != 1 {
			t.Errorf("input %s falls to %d workers, want 1", in.Name, seen[in.Name])
		}
	}
}

func TestWorkerFlagsInvalid(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--worker", "3", "--workers", "3"}, "--worker: invalid value 3: must be from 0 to 2"},
		{[]string{"--worker", "-1", "--workers", "3"}, "--worker: invalid value -1"},
		{[]string{"--worker", "0", "--workers", "0"}, "--workers: invalid value 0"},
		{[]string{"--worker", "1"}, "--worker 1: missing --workers"},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			args := append([]string{"run", "-o", t.TempDir()}, c.args...)
			code, _, stderr := runCLI(t, append(args, samplePath)...)
			if code != 2 {
				t.Errorf("exit %d, want 2", code)
			}
			if !strings.Contains(stderr, c.want) {
				t.Errorf("stderr = %q, want it to contain %q", stderr, c.want)
			}
		})
	}
}
