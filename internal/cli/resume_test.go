package cli

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/winnow-data/winnow/objstore/s3test"
	"github.com/winnow-data/winnow/pipeline"
	"github.com/winnow-data/winnow/stages"
)

// writeCrawl writes files*perFile documents made from the sample's texts
// as gzipped JSON lines under a new folder. Each gets a line of its own,
// so most are distinct. Every seventh is a copy of an earlier one for
// exact_dedup to drop, and the sample's short pages are for gopher_quality.
func writeCrawl(t *testing.T, files, perFile int) string {
	t.Helper()
	sample := readSample(t)
	dir := t.TempDir()
	var texts []string
	for f := range files {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		for i := range perFile {
			n := f*perFile + i
			text := fmt.Sprintf("%s\nThis copy is number %d of the crawl, kept in file %d.", sample[n%len(sample)].Text, n, f)
			if n%7 == 6 {
				text = texts[(n*31)%len(texts)]
			}
			texts = append(texts, text)
			line, _ := json.Marshal(map[string]string{"id": fmt.Sprintf("doc-%06d", n), "text": text, "url": fmt.Sprintf("https://site%d.example/page/%d", n%97, n)})
			zw.Write(line)
			zw.Write([]byte{'\n'})
		}
		zw.Close()
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("part-%02d.jsonl.gz", f)), buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// rootStore opens the dataset root of a test, a folder or an s3:// URL.
func rootStore(t *testing.T, root string) pipeline.Store {
	t.Helper()
	store, err := openStore(root, false)
	if err != nil {
		t.Fatal(err)
	}
	return store
}

// latestOf returns the latest version of store.
func latestOf(t *testing.T, store pipeline.Store) *pipeline.Manifest {
	t.Helper()
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

// keptIDList returns the ids of the latest version of store in shard
// order.
func keptIDList(t *testing.T, store pipeline.Store) []string {
	t.Helper()
	var ids []string
	err := stages.ReadStoreVersionDocs(context.Background(), store, latestOf(t, store), func(d pipeline.SeedDoc) error {
		ids = append(ids, d.ID)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

// crashSchedule returns n kill delays drawn from seed, each a fraction
// between lo and hi of a clean run's duration.
func crashSchedule(seed uint64, n int, clean time.Duration, lo, hi float64) []time.Duration {
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	out := make([]time.Duration, n)
	for i := range out {
		out[i] = time.Duration((lo + (hi-lo)*rng.Float64()) * float64(clean))
	}
	return out
}

// runUntilKilled starts the command and kills it with SIGKILL after
// delay. It reports whether the process was still running when killed.
func runUntilKilled(t *testing.T, cmd *exec.Cmd, delay time.Duration) bool {
	t.Helper()
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("attempt failed before its kill: %v\n%s", err, out.String())
		}
		return false
	case <-time.After(delay):
		cmd.Process.Kill()
		<-done
		return true
	}
}

// crashRun is one crash test: a chain, an input and a kill schedule.
type crashRun struct {
	chain    string        // the stages: list of the config
	input    string        // s3:// URL or folder
	root     func() string // a new dataset root: a folder or an s3:// URL
	env      []string
	kills    int
	seed     uint64
	lo, hi   float64 // kill delays as fractions of an uninterrupted run
	minKept  int
	replayed bool // the resumed attempts must replay instead of skip
}

// killAndResume runs c.input once without interruption, then again into a
// new root killed with SIGKILL c.kills times at moments drawn from a
// seeded schedule, each time restarted with --resume. The last version
// must hold the documents of the uninterrupted run, in the same shards.
func killAndResume(t *testing.T, c crashRun) {
	bin := winnowBinary(t)
	cfg := writeFile(t, "resume.yaml", fmt.Sprintf(`input: {batch_size: 64}
stages: %s
output:
  shard_max_bytes: 262144
  row_group_max_bytes: 65536
  commit_every: {docs: 1500}
`, c.chain))
	command := func(root string) *exec.Cmd {
		cmd := exec.Command(bin, "run", "--resume", "--progress", "never", "--log-level", "info", "--workers", "2", "-c", cfg, "-o", root, c.input)
		cmd.Env = append(os.Environ(), c.env...)
		return cmd
	}

	newRoot := c.root
	if newRoot == nil {
		newRoot = t.TempDir
	}
	clean := newRoot()
	start := time.Now()
	if out, err := command(clean).CombinedOutput(); err != nil {
		t.Fatalf("uninterrupted run: %v\n%s", err, out)
	}
	took := time.Since(start)
	cleanStore := rootStore(t, clean)
	want := keptIDList(t, cleanStore)
	if len(want) < c.minKept {
		t.Fatalf("the uninterrupted run kept %d documents; the test needs at least %d", len(want), c.minKept)
	}

	schedule := crashSchedule(c.seed, c.kills, took, c.lo, c.hi)
	t.Logf("uninterrupted run: %s; kill schedule (seed %d): %v", took.Round(time.Millisecond), c.seed, schedule)

	crashed := newRoot()
	for i, delay := range schedule {
		if !runUntilKilled(t, command(crashed), delay) {
			t.Fatalf("attempt %d finished before its kill at %s: the schedule is too slow for this input", i+1, delay)
		}
	}
	out, err := command(crashed).CombinedOutput()
	if err != nil {
		t.Fatalf("last attempt: %v\n%s", err, out)
	}
	if c.replayed && !strings.Contains(string(out), "replaying the documents before it") {
		t.Errorf("the last attempt did not replay the documents before its checkpoint:\n%s", out)
	}

	store := rootStore(t, crashed)
	got := keptIDList(t, store)
	seen := map[string]bool{}
	for _, id := range got {
		if seen[id] {
			t.Errorf("document %s is kept twice", id)
		}
		seen[id] = true
	}
	if !slices.Equal(got, want) {
		missing := 0
		for _, id := range want {
			if !seen[id] {
				missing++
			}
		}
		t.Fatalf("kept %d documents after the kills, %d without them; %d missing", len(got), len(want), missing)
	}
	m, w := latestOf(t, store), latestOf(t, cleanStore)
	if !slices.Equal(shardSums(m), shardSums(w)) {
		t.Errorf("the shards after the kills differ from the uninterrupted run's")
	}
	if m.Run == nil || m.Run.Attempts != c.kills+1 || m.Run.Checkpoint {
		t.Errorf("the last version's run record is %+v, want a finished run of %d attempts", m.Run, c.kills+1)
	}
	if m.Totals != w.Totals {
		t.Errorf("totals after the kills %+v, without them %+v", m.Totals, w.Totals)
	}
	t.Logf("%d attempts, resumed from %d checkpoints", m.Run.Attempts, len(m.Run.Resumed))

	// Nothing of the dead attempts is left: no pointer, no checkpoint, and
	// every shard file belongs to the version.
	if names, err := store.List(path.Join(RunsDir, m.Run.Key)); err != nil || len(names) > 0 {
		t.Errorf("the run's pointers are left: %v %v", names, err)
	}
	versions, _ := pipeline.ListVersions(store)
	for _, v := range versions {
		if v.Run != nil && v.Run.Checkpoint {
			t.Errorf("checkpoint %s is left after the run finished", v.ID)
		}
	}
	if names, _ := store.List(pipeline.ShardsDir); len(names) != len(m.Shards) {
		n := len(names)
		t.Errorf("shards/ holds %d shards, the version %d", n, len(m.Shards))
	}
}

// TestResumeAfterKillsOverS3 kills a run over 52,000 documents read from
// an S3 server ten times and resumes it each time.
func TestResumeAfterKillsOverS3(t *testing.T) {
	srv := s3test.Start(t)
	srv.MakeBucket("crawl")
	dir := writeCrawl(t, 16, 3250) // files under awscli's 8 MB multipart threshold
	srv.AWS("s3", "cp", "--recursive", "--only-show-errors", dir, "s3://crawl/web")
	killAndResume(t, crashRun{
		chain: "[normalize, gopher_quality, exact_dedup]",
		input: "s3://crawl/web", env: srv.Env(),
		kills: 10, seed: 20261205, lo: 0.04, hi: 0.16, minKept: 30000,
	})
}

// TestResumeOnS3Root writes the dataset root to an S3 server, so the
// checkpoints, the run's pointer and the files a resumed attempt deletes
// are objects, and kills the run three times.
func TestResumeOnS3Root(t *testing.T) {
	srv := s3test.StartWithMetadata(t)
	srv.MakeBucket("datasets")
	srv.SetEnv(t)
	roots := 0
	killAndResume(t, crashRun{
		chain: "[normalize, gopher_quality, exact_dedup]",
		input: writeCrawl(t, 6, 2500),
		root: func() string {
			roots++
			return fmt.Sprintf("s3://datasets/run-%d", roots)
		},
		env:   srv.Env(),
		kills: 3, seed: 11, lo: 0.25, hi: 0.45, minKept: 9000,
	})
}

// TestResumeReplaysWhenAFilterFollowsDedup puts a filter after
// exact_dedup, so the deduplication index holds documents the filter then
// drops: a resumed attempt must pass the consumed documents through the
// stages again rather than start the index from the checkpoint.
func TestResumeReplaysWhenAFilterFollowsDedup(t *testing.T) {
	killAndResume(t, crashRun{
		chain: "[normalize, exact_dedup, gopher_quality]",
		input: writeCrawl(t, 8, 3000),
		kills: 3, seed: 7, lo: 0.3, hi: 0.5, minKept: 14000, replayed: true,
	})
}
