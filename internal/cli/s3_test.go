package cli

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/winnow-data/winnow/objstore/s3test"
	"github.com/winnow-data/winnow/pipeline"
)

// s3InputTree writes a folder of inputs in several formats, a Parquet
// file and a hidden file included, and returns its path.
func s3InputTree(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "data")
	copyInto := func(src, rel string) {
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		dst := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	copyInto(samplePath, "cc/part-0.jsonl.gz")
	copyInto(filepath.Join("..", "..", "testdata", "c4-sample-excerpt.jsonl.gz"), "c4/part-0.jsonl.gz")
	copyInto(filepath.Join("..", "..", "testdata", "whirlwind.warc.wet.gz"), "wet/whirlwind.warc.wet.gz")
	copyInto(filepath.Join("..", "..", "testdata", "redpajama-c4-refined.jsonl"), "_hidden/skipped.jsonl")

	// A shard of a local run is a Parquet input with id, text and url.
	root := t.TempDir()
	mustRun(t, "-o", root, "--only", "normalize", filepath.Join("..", "..", "testdata", "redpajama-c4-refined.jsonl"))
	m := latestManifest(t, root)
	copyInto(filepath.Join(root, filepath.FromSlash(m.Shards[0].Path)), "pq/shard.parquet")
	return dir
}

// compareRuns checks that two versions kept the same documents in
// byte-identical shards and read inputs of the same sizes and checksums.
func compareRuns(t *testing.T, localRoot, s3Root, bucketURL string) *pipeline.Manifest {
	t.Helper()
	lm, sm := latestManifest(t, localRoot), latestManifest(t, s3Root)
	if !slices.Equal(shardSums(sm), shardSums(lm)) {
		t.Errorf("shard checksums from S3 %v, from local files %v", shardSums(sm), shardSums(lm))
	}
	if l, s := keptIDs(t, localRoot, lm), keptIDs(t, s3Root, sm); !slices.Equal(s, l) || len(l) == 0 {
		t.Errorf("kept %d ids from S3 and %d from local files, or their order differs", len(s), len(l))
	}
	if len(sm.Inputs) != len(lm.Inputs) {
		t.Fatalf("manifest lists %d inputs from S3, %d from local files", len(sm.Inputs), len(lm.Inputs))
	}
	for i, in := range sm.Inputs {
		want := lm.Inputs[i]
		if in.URI != want.URI || in.Size != want.Size || in.SHA256 != want.SHA256 || in.Records != want.Records || !in.Complete {
			t.Errorf("input %d from S3 = %+v, want name, size, sha256 and records of %+v", i, in, want)
		}
		if !strings.HasPrefix(in.Path, bucketURL) {
			t.Errorf("input %d path %q, want the s3:// URL under %s", i, in.Path, bucketURL)
		}
	}
	return sm
}

// assertNoCredentials fails when a secret or access key reaches text.
func assertNoCredentials(t *testing.T, what, text string) {
	t.Helper()
	if strings.Contains(text, s3test.SecretKey) || strings.Contains(text, s3test.AccessKey) {
		t.Errorf("%s contains the S3 credentials", what)
	}
}

func TestS3InputMatchesLocalFiles(t *testing.T) {
	srv := s3test.Start(t)
	srv.MakeBucket("corpus")
	dir := s3InputTree(t)
	srv.AWS("s3", "cp", "--recursive", "--only-show-errors", dir, "s3://corpus/crawl/data")

	localRoot := t.TempDir()
	mustRun(t, "-o", localRoot, "--skip", "langid", dir)

	srv.SetEnv(t)
	s3Root := t.TempDir()
	args := []string{"run", "--json", "--progress", "never", "--log-level", "debug", "--log-format", "json", "-o", s3Root, "--skip", "langid", "s3://corpus/crawl/data"}
	code, stdout, stderr := runCLI(t, args...)
	if code != 0 {
		t.Fatalf("winnow %s: exit %d\nstderr:\n%s", strings.Join(args, " "), code, stderr)
	}
	m := compareRuns(t, localRoot, s3Root, "s3://corpus/crawl/data/")
	if len(m.Inputs) != 4 {
		t.Errorf("read %d inputs, want 4 (the hidden folder skipped)", len(m.Inputs))
	}

	assertNoCredentials(t, "the run's logs", stderr+stdout)
	filepath.WalkDir(s3Root, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && filepath.Ext(p) == ".json" {
			b, _ := os.ReadFile(p)
			assertNoCredentials(t, p, string(b))
		}
		return nil
	})
}

func TestS3InputGlobMatchesLocalGlob(t *testing.T) {
	srv := s3test.Start(t)
	srv.MakeBucket("corpus")
	dir := s3InputTree(t)
	srv.AWS("s3", "cp", "--recursive", "--only-show-errors", dir, "s3://corpus/data")

	localRoot := t.TempDir()
	mustRun(t, "-o", localRoot, "--skip", "langid", filepath.Join(dir, "*", "*.jsonl.gz"))
	srv.SetEnv(t)
	s3Root := t.TempDir()
	mustRun(t, "-o", s3Root, "--skip", "langid", "s3://corpus/data/*/*.jsonl.gz")
	m := compareRuns(t, localRoot, s3Root, "s3://corpus/data/")
	if len(m.Inputs) != 2 {
		t.Errorf("glob read %d inputs, want 2", len(m.Inputs))
	}

	// One object named on its own reads under its base name.
	oneRoot := t.TempDir()
	mustRun(t, "-o", oneRoot, "--skip", "langid", "s3://corpus/data/cc/part-0.jsonl.gz")
	if in := latestManifest(t, oneRoot).Inputs; len(in) != 1 || in[0].URI != "part-0.jsonl.gz" {
		t.Errorf("single object inputs %+v, want one named part-0.jsonl.gz", in)
	}
}

func TestS3InputMissingIsStartupError(t *testing.T) {
	srv := s3test.Start(t)
	srv.MakeBucket("corpus")
	srv.SetEnv(t)
	code, _, stderr := runCLI(t, "run", "-o", t.TempDir(), "s3://corpus/nothing-here")
	if code != 2 || !strings.Contains(stderr, "s3://corpus/nothing-here") {
		t.Errorf("exit %d, stderr %q; want 2 naming the URL", code, stderr)
	}
}

func TestS3InputRetriesTransientErrors(t *testing.T) {
	srv := s3test.Start(t)
	srv.MakeBucket("corpus")
	dir := s3InputTree(t)
	srv.AWS("s3", "cp", "--recursive", "--only-show-errors", dir, "s3://corpus/data")

	proxy := srv.FailFirst(http.MethodGet)

	localRoot := t.TempDir()
	mustRun(t, "-o", localRoot, "--skip", "langid", dir)
	srv.SetEnv(t)
	t.Setenv("AWS_ENDPOINT_URL", proxy.URL)
	s3Root := t.TempDir()
	args := []string{"run", "--json", "--progress", "never", "--log-format", "json", "-o", s3Root, "--skip", "langid", "s3://corpus/data"}
	code, stdout, stderr := runCLI(t, args...)
	if code != 0 {
		t.Fatalf("winnow %s: exit %d\nstderr:\n%s", strings.Join(args, " "), code, stderr)
	}
	compareRuns(t, localRoot, s3Root, "s3://corpus/data/")

	for _, key := range []string{"cc/part-0.jsonl.gz", "c4/part-0.jsonl.gz", "wet/whirlwind.warc.wet.gz", "pq/shard.parquet"} {
		if !strings.Contains(stderr, `"url":"s3://corpus/data/`+key+`"`) {
			t.Errorf("no retry logged for s3://corpus/data/%s; stderr:\n%s", key, stderr)
		}
	}
	assertNoCredentials(t, "the run's logs", stderr+stdout)
}

// BenchmarkS3Input runs the default chain without langid over 8 copies of
// the sample, from local files and from versitygw on loopback. MB/s is
// compressed input bytes per second of whole runs, commit included.
func BenchmarkS3Input(b *testing.B) {
	dir := filepath.Join(b.TempDir(), "data")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.Fatal(err)
	}
	sample, err := os.ReadFile(samplePath)
	if err != nil {
		b.Fatal(err)
	}
	const copies = 8
	for i := range copies {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("part-%d.jsonl.gz", i)), sample, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	srv := s3test.Start(b)
	srv.MakeBucket("bench")
	srv.AWS("s3", "cp", "--recursive", "--only-show-errors", dir, "s3://bench/data")
	srv.SetEnv(b)

	for _, c := range []struct{ name, input string }{{"local", dir}, {"s3", "s3://bench/data"}} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(copies * len(sample)))
			for b.Loop() {
				root := b.TempDir()
				var stderr bytes.Buffer
				code := Main([]string{"run", "--progress", "never", "--log-level", "warn", "--workers", "2", "--skip", "langid", "-o", root, c.input}, io.Discard, &stderr)
				if code != 0 {
					b.Fatalf("run from %s: exit %d\n%s", c.input, code, stderr.String())
				}
			}
		})
	}
}
