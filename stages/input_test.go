package stages

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/winnow-data/winnow/pipeline"
)

func TestDetectFormat(t *testing.T) {
	cases := []struct {
		name, format, compression string
	}{
		{"a.jsonl", FormatJSONL, ""},
		{"a.json", FormatJSONL, ""},
		{"a.ndjson", FormatJSONL, ""},
		{"a.jsonl.gz", FormatJSONL, compressionGzip},
		{"A.JSONL.ZST", FormatJSONL, compressionZstd},
		{"a.json.zstd", FormatJSONL, compressionZstd},
		{"a.parquet", FormatParquet, ""},
		{"a.parquet.gz", "", compressionGzip},
		{"CC-MAIN-x.warc.wet.gz", FormatWET, compressionGzip},
		{"a.wet.gz", FormatWET, compressionGzip},
		{"a.wet", FormatWET, ""},
		{"a.warc.gz", FormatWARC, compressionGzip},
		{"a.warc", FormatWARC, ""},
		{"CC-MAIN-x.warc.wat.gz", FormatWARC, compressionGzip},
		{"a.arc.gz", FormatARC, compressionGzip},
		{"a.warc.zst", FormatWARC, compressionZstd},
		{"README.md", "", ""},
	}
	for _, c := range cases {
		format, compression := detectFormat(c.name)
		if format != c.format || compression != c.compression {
			t.Errorf("detectFormat(%q) = %q, %q; want %q, %q", c.name, format, compression, c.format, c.compression)
		}
	}
}

// makeInputTree writes empty files at the given slash-separated paths under a
// new folder and returns the folder.
func makeInputTree(t *testing.T, paths ...string) string {
	t.Helper()
	dir := t.TempDir()
	for _, p := range paths {
		writeInputFile(t, filepath.Join(dir, filepath.FromSlash(p)), nil)
	}
	return dir
}

func resolvedNames(ins []Input) string {
	var names []string
	for _, in := range ins {
		names = append(names, in.Name)
	}
	return strings.Join(names, " ")
}

func TestResolveInputs(t *testing.T) {
	dir := makeInputTree(t,
		"b.jsonl", "a.jsonl.gz", "README.md", ".hidden.jsonl", "_SUCCESS",
		"sub/c.parquet", "sub/deep/d.warc.wet.gz", ".git/e.jsonl", "_tmp/f.jsonl",
	)
	cases := []struct {
		name   string
		paths  []string
		format string
		want   string
	}{
		{"folder", []string{dir}, "auto", "a.jsonl.gz b.jsonl sub/c.parquet sub/deep/d.warc.wet.gz"},
		{"single file", []string{filepath.Join(dir, "sub", "c.parquet")}, "auto", "c.parquet"},
		{"glob", []string{filepath.Join(dir, "*.jsonl*")}, "auto", "a.jsonl.gz b.jsonl"},
		{"glob in a folder", []string{filepath.Join(dir, "sub", "*")}, "auto", "c.parquet"},
		{"double star", []string{filepath.Join(dir, "**", "*.gz")}, "auto", "a.jsonl.gz sub/deep/d.warc.wet.gz"},
		{"double star in the middle", []string{filepath.Join(dir, "sub", "**", "*.gz")}, "auto", "deep/d.warc.wet.gz"},
		{"duplicates read once", []string{filepath.Join(dir, "b.jsonl"), dir}, "auto", "a.jsonl.gz b.jsonl sub/c.parquet sub/deep/d.warc.wet.gz"},
		{"format override reads every name", []string{dir}, "jsonl", "README.md a.jsonl.gz b.jsonl sub/c.parquet sub/deep/d.warc.wet.gz"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ins, err := ResolveInputs(c.paths, c.format)
			if err != nil {
				t.Fatal(err)
			}
			if got := resolvedNames(ins); got != c.want {
				t.Errorf("names = %s\n want %s", got, c.want)
			}
		})
	}
}

func TestResolveInputsSymlinks(t *testing.T) {
	dir := makeInputTree(t, "data/a.jsonl", "elsewhere/b.jsonl", "elsewhere/sub/c.jsonl")
	if err := os.Symlink(filepath.Join(dir, "elsewhere", "b.jsonl"), filepath.Join(dir, "data", "b.jsonl")); err != nil {
		t.Skip("no symbolic links here:", err)
	}
	if err := os.Symlink(filepath.Join(dir, "elsewhere", "sub"), filepath.Join(dir, "data", "sub")); err != nil {
		t.Fatal(err)
	}
	ins, err := ResolveInputs([]string{filepath.Join(dir, "data")}, "auto")
	if err != nil {
		t.Fatal(err)
	}
	// A link to a file is read, a link to a folder is not followed.
	if got := resolvedNames(ins); got != "a.jsonl b.jsonl" {
		t.Errorf("names = %s, want a.jsonl b.jsonl", got)
	}
}

func TestResolveInputsFormats(t *testing.T) {
	dir := makeInputTree(t, "a.jsonl.gz", "b.parquet", "c.warc.wet.gz")
	ins, err := ResolveInputs([]string{dir}, "auto")
	if err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprintln(ins[0].Format, ins[0].Compression, ins[1].Format, ins[2].Format, ins[2].Compression)
	if got != "jsonl gzip parquet wet gzip\n" {
		t.Errorf("formats = %s", got)
	}
	if ins[0].Path != filepath.Join(dir, "a.jsonl.gz") {
		t.Errorf("path = %s", ins[0].Path)
	}
}

func TestResolveInputsRelativeGlob(t *testing.T) {
	dir := makeInputTree(t, "data/x.jsonl", "data/y.jsonl")
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chdir(dir); err != nil {
		t.Fatal(err)
	}
	defer os.Chdir(wd)

	ins, err := ResolveInputs([]string{"data/*.jsonl"}, "auto")
	if err != nil {
		t.Fatal(err)
	}
	if got := resolvedNames(ins); got != "x.jsonl y.jsonl" {
		t.Errorf("names = %s", got)
	}
	ins, err = ResolveInputs([]string{"*/x.jsonl"}, "auto")
	if err != nil {
		t.Fatal(err)
	}
	if got := resolvedNames(ins); got != "data/x.jsonl" {
		t.Errorf("names = %s", got)
	}
}

func TestResolveInputsErrors(t *testing.T) {
	dir := makeInputTree(t, "a/x.jsonl", "b/x.jsonl", "notes.txt", "empty/README.md")
	if err := os.Mkdir(filepath.Join(dir, "nothing"), 0o755); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name  string
		paths []string
		want  string
	}{
		{"missing file", []string{filepath.Join(dir, "nope.jsonl")}, "nope.jsonl"},
		{"missing glob base", []string{filepath.Join(dir, "nope", "*.jsonl")}, "nope"},
		{"glob without match", []string{filepath.Join(dir, "*.parquet")}, "*.parquet: matches no files"},
		{"glob without known format", []string{filepath.Join(dir, "*.txt")}, "*.txt: no files of a known format"},
		{"empty folder", []string{filepath.Join(dir, "nothing")}, "nothing: matches no files"},
		{"folder without inputs", []string{filepath.Join(dir, "empty")}, "empty: no files of a known format"},
		{"unknown format", []string{filepath.Join(dir, "notes.txt")}, "notes.txt: unknown format"},
		{"bad pattern", []string{filepath.Join(dir, "[*.jsonl")}, "invalid glob pattern"},
		{"name clash", []string{filepath.Join(dir, "a"), filepath.Join(dir, "b")}, "both have the name x.jsonl"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ResolveInputs(c.paths, "auto")
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q does not contain %q", err, c.want)
			}
		})
	}
}

func TestResolveInputsInvalidUTF8Names(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"caf\xe9.jsonl", "caf\xe8.jsonl"} {
		if err := os.WriteFile(filepath.Join(dir, name), nil, 0o644); err != nil {
			t.Skip("file system rejects names that are not UTF-8:", err)
		}
	}
	ins, err := ResolveInputs([]string{filepath.Join(dir, "caf\xe9.jsonl")}, "auto")
	if err != nil {
		t.Fatal(err)
	}
	if ins[0].Name != "caf\uFFFD.jsonl" || ins[0].Path != filepath.Join(dir, "caf\xe9.jsonl") {
		t.Errorf("name, path = %q, %q, want the name repaired and the path unchanged", ins[0].Name, ins[0].Path)
	}
	// Both names repair to the same string, which would repeat derived ids.
	_, err = ResolveInputs([]string{dir}, "auto")
	if err == nil || !strings.Contains(err.Error(), "both have the name caf\uFFFD.jsonl") {
		t.Errorf("error = %v, want a name clash", err)
	}
}

func TestFileSourceUnreadableFile(t *testing.T) {
	dir := t.TempDir()
	vanished := writeInputFile(t, filepath.Join(dir, "a.jsonl"), numberedJSONLines(2))
	writeInputFile(t, filepath.Join(dir, "b.jsonl"), numberedJSONLines(2))
	var logBuf bytes.Buffer
	src := newSourceForTest(t, pipeline.InputConfig{Paths: []string{dir}}, &logBuf)
	// The file vanishes between startup and reading.
	if err := os.Remove(vanished); err != nil {
		t.Fatal(err)
	}
	res := runFileSource(t, src, &logBuf)

	if len(res.docs) != 2 {
		t.Errorf("docs = %d, want the 2 of b.jsonl", len(res.docs))
	}
	if res.inputs[0].Complete || !strings.Contains(res.inputs[0].Error, "a.jsonl") {
		t.Errorf("input record = %+v", res.inputs[0])
	}
	if res.events[EventReadError] != 1 {
		t.Errorf("events = %v, want read_error 1", res.events)
	}
}
