package stages

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// Input formats, as in pipeline.InputConfig.Format and InputRecord.Format.
const (
	FormatAuto    = "auto"
	FormatJSONL   = "jsonl"
	FormatParquet = "parquet"
	FormatWET     = "wet"
	FormatWARC    = "warc" // WARC files, and WAT files read as WARC
	FormatARC     = "arc"  // the Internet Archive's ARC files, which preceded WARC
)

// HasArchiveInput reports whether any input is a WARC or ARC file, whose
// documents are HTML until the extract stage turns them into text.
func HasArchiveInput(inputs []Input) bool {
	for _, in := range inputs {
		if in.Format == FormatWARC || in.Format == FormatARC {
			return true
		}
	}
	return false
}

// Compressions of an input file, chosen by its name.
const (
	compressionNone = ""
	compressionGzip = "gzip"
	compressionZstd = "zstd"
)

// Input is one file that the file source reads.
type Input struct {
	// Name identifies the input in batches, positions and derived ids: the
	// path relative to the folder or glob base it was found under, with
	// forward slashes, or the base name of a file named on its own. Names
	// are unique within a run. They fill a string column, so each run of
	// bytes that are not valid UTF-8 becomes U+FFFD; Path keeps the bytes.
	Name        string
	Path        string // path to open, as the user's argument leads to it
	Format      string // FormatJSONL, FormatParquet, FormatWET, FormatWARC or FormatARC
	Compression string // "", "gzip" or "zstd"

	nameRepaired bool // Name had invalid UTF-8, so each record of the input counts as EventInvalidUTF8
}

// ResolveInputs expands paths into the files to read, sorted by name in
// byte order. A path is a file, a folder (walked recursively) or a glob
// pattern, in which "**" matches any number of folders. Walks skip hidden
// entries, whose names start with "." or "_" (such as Spark's _SUCCESS).
// In auto format they also skip files whose name gives no format.
//
// It returns an error for a path or pattern that matches no file or no
// file of a known format, for a file of unknown format named on its own,
// and for two files with the same name. A file reached twice is read once.
func ResolveInputs(paths []string, format string) ([]Input, error) {
	if len(paths) == 0 {
		return nil, errors.New("no input paths: give files, folders or glob patterns")
	}
	var out []Input
	seen := map[string]bool{}
	for _, p := range paths {
		found, err := resolvePath(p, format)
		if err != nil {
			return nil, err
		}
		for _, in := range found {
			abs, err := filepath.Abs(in.Path)
			if err != nil {
				return nil, fmt.Errorf("resolving input %s: %w", in.Path, err)
			}
			if !seen[abs] {
				seen[abs] = true
				out = append(out, in)
			}
		}
	}
	slices.SortFunc(out, func(a, b Input) int { return cmp.Compare(a.Name, b.Name) })
	for i := 1; i < len(out); i++ {
		if out[i].Name == out[i-1].Name {
			return nil, fmt.Errorf("inputs %s and %s both have the name %s: pass their common parent folder or a glob over it so that names differ", out[i-1].Path, out[i].Path, out[i].Name)
		}
	}
	return out, nil
}

// resolvePath expands one path argument.
func resolvePath(p, format string) ([]Input, error) {
	if hasGlobMeta(p) {
		return resolveGlob(p, format)
	}
	info, err := os.Stat(p)
	if err != nil {
		return nil, fmt.Errorf("opening input %s: %w", p, err)
	}
	if info.IsDir() {
		return walkFolder(p, nil, format, p)
	}
	in, ok := newInput(p, filepath.Base(p), format)
	if !ok {
		return nil, fmt.Errorf("input %s: unknown format: name it .jsonl, .json, .ndjson, .parquet, .wet, .warc, .wat or .arc (optionally .gz or .zst), or set input.format", p)
	}
	return []Input{in}, nil
}

// resolveGlob expands a pattern by walking its base, the longest leading
// folder without pattern characters.
func resolveGlob(pattern, format string) ([]Input, error) {
	segs := strings.Split(filepath.ToSlash(filepath.Clean(pattern)), "/")
	n := 0
	for n < len(segs)-1 && !hasGlobMeta(segs[n]) {
		n++
	}
	base := strings.Join(segs[:n], "/")
	if base == "" && n > 0 {
		base = "/"
	}
	if n == 0 {
		base = "."
	}
	for _, s := range segs[n:] {
		if _, err := path.Match(s, ""); err != nil {
			return nil, fmt.Errorf("input %s: invalid glob pattern: %w", pattern, err)
		}
	}
	info, err := os.Stat(base)
	if err != nil {
		return nil, fmt.Errorf("input %s: opening its base folder: %w", pattern, err)
	}
	if !info.IsDir() {
		return nil, fmt.Errorf("input %s: base %s is not a folder", pattern, base)
	}
	return walkFolder(filepath.FromSlash(base), segs[n:], format, pattern)
}

// walkFolder lists the files under root, in lexical order, that match
// pattern (segments relative to root; nil matches every file). It is an
// error, naming arg, when none matches or none has a known format.
func walkFolder(root string, pattern []string, format, arg string) ([]Input, error) {
	var out []Input
	matched := 0
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("walking %s: %w", p, err)
		}
		if p == root {
			return nil
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return fmt.Errorf("walking %s: %w", p, err)
		}
		rel = filepath.ToSlash(rel)
		hidden := strings.HasPrefix(d.Name(), ".") || strings.HasPrefix(d.Name(), "_")
		if d.IsDir() {
			if hidden || (pattern != nil && !matchPrefix(pattern, strings.Split(rel, "/"))) {
				return filepath.SkipDir
			}
			return nil
		}
		if hidden || !isRegularFile(p, d) {
			return nil
		}
		if pattern != nil && !matchPath(pattern, strings.Split(rel, "/")) {
			return nil
		}
		matched++
		if in, ok := newInput(p, rel, format); ok {
			out = append(out, in)
		}
		return nil
	})
	switch {
	case err != nil:
		return nil, err
	case matched == 0:
		return nil, fmt.Errorf("input %s: matches no files", arg)
	case len(out) == 0:
		return nil, fmt.Errorf("input %s: no files of a known format (.jsonl, .json, .ndjson, .parquet, .wet, .warc, .wat, .arc, optionally .gz or .zst); set input.format to read other names", arg)
	}
	return out, nil
}

// isRegularFile reports whether the entry is a regular file or a symbolic
// link to one.
func isRegularFile(p string, d fs.DirEntry) bool {
	if d.Type()&fs.ModeSymlink == 0 {
		return d.Type().IsRegular()
	}
	info, err := os.Stat(p)
	return err == nil && info.Mode().IsRegular()
}

func hasGlobMeta(s string) bool { return strings.ContainsAny(s, "*?[") }

// matchPath reports whether the path segments match the pattern segments,
// where a "**" segment matches zero or more path segments.
func matchPath(pattern, segs []string) bool {
	if len(pattern) == 0 {
		return len(segs) == 0
	}
	if pattern[0] == "**" {
		for i := 0; i <= len(segs); i++ {
			if matchPath(pattern[1:], segs[i:]) {
				return true
			}
		}
		return false
	}
	if len(segs) == 0 {
		return false
	}
	ok, _ := path.Match(pattern[0], segs[0])
	return ok && matchPath(pattern[1:], segs[1:])
}

// matchPrefix reports whether a folder with the path segments dir may hold
// files that match pattern, so a walk can skip folders that cannot.
func matchPrefix(pattern, dir []string) bool {
	if len(dir) == 0 {
		return len(pattern) > 0
	}
	if len(pattern) == 0 {
		return false
	}
	if pattern[0] == "**" {
		return true
	}
	ok, _ := path.Match(pattern[0], dir[0])
	return ok && matchPrefix(pattern[1:], dir[1:])
}

// newInput describes the file at p named name. With format auto it reports
// false when the name gives no format.
func newInput(p, name, format string) (Input, bool) {
	detected, compression := detectFormat(name)
	if format != "" && format != FormatAuto {
		detected = format
	}
	if detected == "" {
		return Input{}, false
	}
	name, repaired := validUTF8(name)
	return Input{Name: name, Path: p, Format: detected, Compression: compression, nameRepaired: repaired}, true
}

// detectFormat returns the format and compression a file name gives: .gz
// or .zst (or .zstd) for the compression, then .jsonl, .json or .ndjson for
// jsonl, .parquet for parquet, .wet (as in .warc.wet.gz) for wet, .warc and
// .wat (as in .warc.wat.gz) for warc, and .arc for arc. The format is ""
// when the name gives none.
func detectFormat(name string) (format, compression string) {
	lower := strings.ToLower(name)
	switch {
	case strings.HasSuffix(lower, ".gz"):
		compression, lower = compressionGzip, strings.TrimSuffix(lower, ".gz")
	case strings.HasSuffix(lower, ".zst"):
		compression, lower = compressionZstd, strings.TrimSuffix(lower, ".zst")
	case strings.HasSuffix(lower, ".zstd"):
		compression, lower = compressionZstd, strings.TrimSuffix(lower, ".zstd")
	}
	switch path.Ext(lower) {
	case ".jsonl", ".json", ".ndjson":
		return FormatJSONL, compression
	case ".parquet":
		if compression == compressionNone {
			return FormatParquet, compression
		}
	case ".wet":
		return FormatWET, compression
	case ".warc", ".wat":
		return FormatWARC, compression
	case ".arc":
		return FormatARC, compression
	}
	return "", compression
}

// rawFile is an open input whose raw bytes pass through a SHA-256 hash on
// their way to the decompressor, so the checksum needs no second read.
type rawFile struct {
	f    *os.File
	size int64
	hash hash.Hash
	tee  io.Reader // the file's bytes, hashed as they are read
}

func openRaw(p string) (*rawFile, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", p, err)
	}
	info, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("opening %s: %w", p, err)
	}
	h := sha256.New()
	return &rawFile{f: f, size: info.Size(), hash: h, tee: io.TeeReader(f, h)}, nil
}

// decoder returns the decompressed stream of the file and a function that
// releases the decompressor. An empty gzip file decodes as empty.
func (r *rawFile) decoder(compression string) (io.Reader, func(), error) {
	switch compression {
	case compressionGzip:
		zr, err := gzip.NewReader(r.tee)
		if errors.Is(err, io.EOF) {
			return strings.NewReader(""), func() {}, nil
		}
		if err != nil {
			return nil, func() {}, fmt.Errorf("reading gzip header: %w", err)
		}
		return zr, func() { zr.Close() }, nil
	case compressionZstd:
		// One decoder goroutine: the run reads one file at a time and the
		// stages need the other cores.
		zr, err := zstd.NewReader(r.tee, zstd.WithDecoderConcurrency(1))
		if err != nil {
			return nil, func() {}, fmt.Errorf("opening zstd stream: %w", err)
		}
		return zr, zr.Close, nil
	}
	return r.tee, func() {}, nil
}

// finish hashes the rest of the file, unless drain is false, and closes it.
// It returns the hex SHA-256 of the whole file, or "" when not drained.
func (r *rawFile) finish(drain bool) (string, error) {
	defer r.f.Close()
	if !drain {
		return "", nil
	}
	if _, err := io.Copy(io.Discard, r.tee); err != nil {
		return "", fmt.Errorf("hashing %s: %w", r.f.Name(), err)
	}
	return hex.EncodeToString(r.hash.Sum(nil)), nil
}
