package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/winnow-data/winnow/objstore/s3test"
)

// s3Dataset is a dataset root copied to S3.
type s3Dataset struct {
	srv      *s3test.Server
	url      string    // s3://datasets/web/en
	local    string    // the local root it was copied from
	versions [2]string // oldest first
}

// newS3Dataset curates two versions into a local root, copies the root to
// s3://datasets/web/en with awscli and points the AWS environment
// variables at the server.
func newS3Dataset(t *testing.T) s3Dataset {
	t.Helper()
	local := t.TempDir()
	v1 := mustRun(t, "-o", local, "--only", "normalize", "-m", "first", filepath.Join("..", "..", "testdata", "redpajama-c4-refined.jsonl")).Version
	v2 := mustRun(t, "-o", local, "--only", "normalize", "--append", "-m", "second", c4ExcerptPath).Version

	srv := s3test.StartWithMetadata(t)
	srv.MakeBucket("datasets")
	srv.AWS("s3", "cp", "--recursive", "--only-show-errors", local, "s3://datasets/web/en")
	srv.SetEnv(t)
	return s3Dataset{srv: srv, url: "s3://datasets/web/en", local: local, versions: [2]string{v1, v2}}
}

// cliOnS3 runs the command line, checks its exit status and that neither
// output holds the S3 credentials, and returns stdout and stderr.
func cliOnS3(t *testing.T, want int, args ...string) (string, string) {
	t.Helper()
	code, stdout, stderr := runCLI(t, args...)
	if code != want {
		t.Fatalf("winnow %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, want, stdout, stderr)
	}
	assertNoCredentials(t, "the output of winnow "+args[0], stdout+stderr)
	return stdout, stderr
}

func TestS3RootReadCommands(t *testing.T) {
	ds := newS3Dataset(t)
	root, v := ds.url, ds.versions

	out, _ := cliOnS3(t, 0, "versions", root)
	if !strings.Contains(out, v[1]+" (latest)") || !strings.Contains(out, v[0]) {
		t.Errorf("versions lists neither both versions nor the latest:\n%s", out)
	}
	out, _ = cliOnS3(t, 0, "log", root)
	if !strings.Contains(out, "version "+v[1]+" (latest)") || !strings.Contains(out, "message   first") {
		t.Errorf("log of the S3 root:\n%s", out)
	}
	out, _ = cliOnS3(t, 0, "show", "--verify", root, v[0])
	if !strings.Contains(out, "version     "+v[0]) || !strings.Contains(out, "every shard verified") {
		t.Errorf("show --verify of the first version:\n%s", out)
	}
	out, _ = cliOnS3(t, 0, "verify", "--checksums", root)
	if !strings.Contains(out, "version "+v[1]) || !strings.Contains(out, "checksum matches the manifest") {
		t.Errorf("verify --checksums of the S3 root:\n%s", out)
	}

	// Evaluating a config's data tests reads the shards' signals.
	cfg := writeFile(t, "checks.yaml", "expectations:\n  min_docs: 1\n  signals:\n    - {signal: token_count, max_ks: 1}\n")
	out, _ = cliOnS3(t, 0, "verify", "-c", cfg, root)
	if !strings.Contains(out, "pass  signals.token_count.max_ks") {
		t.Errorf("verify -c on the S3 root does not pass the signal check:\n%s", out)
	}
}

func TestS3RootVerifyCatchesFlippedByte(t *testing.T) {
	ds := newS3Dataset(t)
	srv, root := ds.srv, ds.url
	shard := latestManifest(t, ds.local).Shards[0].Path

	p := filepath.Join(srv.Dir, "datasets", "web", "en", filepath.FromSlash(shard))
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)/3] ^= 0x20
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	_, stderr := cliOnS3(t, 1, "verify", "--checksums", root)
	if !strings.Contains(stderr, "checksum mismatch") || !strings.Contains(stderr, shard) {
		t.Errorf("verify of a changed shard: stderr %q, want a checksum mismatch naming %s", stderr, shard)
	}
}

func TestS3RootTagAndRollback(t *testing.T) {
	ds := newS3Dataset(t)
	srv, root, v := ds.srv, ds.url, ds.versions
	out, _ := cliOnS3(t, 0, "tag", root, v[0], "web-en-1")
	if !strings.Contains(out, "tag web-en-1 -> "+v[0]) {
		t.Errorf("tag output %q", out)
	}
	_, stderr := cliOnS3(t, exitUsage, "tag", root, v[1], "web-en-1")
	if !strings.Contains(stderr, "pass --force") {
		t.Errorf("moving a tag without --force: stderr %q", stderr)
	}
	out, _ = cliOnS3(t, 0, "tag", root)
	if !strings.Contains(out, "web-en-1  "+v[0]) {
		t.Errorf("tag list of the S3 root:\n%s", out)
	}
	out, _ = cliOnS3(t, 0, "show", root, "web-en-1")
	if !strings.Contains(out, "version     "+v[0]) {
		t.Errorf("show by tag:\n%s", out)
	}

	cliOnS3(t, 0, "rollback", root, v[0])
	out, _ = cliOnS3(t, 0, "versions", root)
	if !strings.Contains(out, v[0]+" (latest)") {
		t.Errorf("versions after rollback:\n%s", out)
	}

	// The commit lock is released: no lock object stays in the bucket.
	listing := srv.AWS("s3", "ls", "--recursive", "s3://datasets/web/en/refs/")
	if strings.Contains(listing, "lock") {
		t.Errorf("a commit lock object stayed behind:\n%s", listing)
	}
	if !strings.Contains(listing, "refs/tags/web-en-1") || !strings.Contains(listing, "refs/history.jsonl") {
		t.Errorf("refs/ of the S3 root misses the tag or the history:\n%s", listing)
	}
}

func TestS3RootLocalOnlyCommands(t *testing.T) {
	root := newS3Dataset(t).url
	for _, args := range [][]string{
		{"gc", root},
		{"serve", root},
		{"forget", root, "--id", "x", "--purge", "-m", "test"},
		{"tag", "--delete", root, "web-en-1"},
		{"report", root},
		{"diff", root, "latest", "latest"},
		{"lineage", root, "doc-1"},
		{"dedup", root},
		{"bench-loader", root},
	} {
		code, stdout, stderr := runCLI(t, args...)
		want := root + ": s3:// roots are not supported by this command yet"
		if code != exitUsage || !strings.Contains(stderr, want) {
			t.Errorf("winnow %s: exit %d, stderr %q; want %d and %q", strings.Join(args, " "), code, stderr, exitUsage, want)
		}
		assertNoCredentials(t, "the output of winnow "+args[0], stdout+stderr)
	}
}

func TestS3RootMissingBucket(t *testing.T) {
	srv := s3test.StartWithMetadata(t)
	srv.SetEnv(t)
	_, stderr := cliOnS3(t, 1, "versions", "s3://no-such-bucket/ds")
	if !strings.Contains(stderr, "s3://no-such-bucket/") || !strings.Contains(stderr, "does not exist") {
		t.Errorf("versions of a root in a missing bucket: stderr %q", stderr)
	}
}
