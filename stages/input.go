package stages

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"hash/fnv"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"

	"github.com/winnow-data/winnow/objstore"
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

	// store is the client of an object, whose Path is its s3:// URL. It is
	// nil for a file. size is the object's size from the listing.
	store *objstore.Client
	size  int64
}

// ResolveInputs expands paths into the files to read, sorted by name in
// byte order. A path is a file, a folder (walked recursively) or a glob
// pattern, in which "**" matches any number of folders. An s3://bucket/key
// path is an object, or a prefix that works as a folder, and a glob over
// the key works as over a path (see resolveObjects). Walks skip hidden
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
			abs := in.Path
			if in.store == nil {
				abs, err = filepath.Abs(in.Path)
			}
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
	if objstore.IsURL(p) {
		return resolveObjects(p, format)
	}
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

// resolveObjects expands an s3:// URL as resolvePath expands a path. A key
// that is empty or ends in "/" is a prefix. Another key is a prefix when
// objects exist under key + "/", else an object. A glob lists the objects
// under its base, the leading segments without pattern characters, and
// matches the rest of each key. Names are relative to the prefix or base,
// as under a folder, and keys with a segment that starts with "." or "_"
// are skipped, as hidden files are.
func resolveObjects(arg, format string) ([]Input, error) {
	bucket, key, err := objstore.ParseURL(arg)
	if err != nil {
		return nil, err
	}
	cfg, err := objstore.ConfigFromEnv()
	if err != nil {
		return nil, err
	}
	store, err := objstore.New(cfg, slog.Default())
	if err != nil {
		return nil, err
	}
	// NOTE: ResolveInputs takes no context, so listing cannot be cancelled
	// before its retries run out.
	ctx := context.Background()

	var base string
	var pattern []string
	switch {
	case hasGlobMeta(key):
		segs := strings.Split(key, "/")
		n := 0
		for n < len(segs)-1 && !hasGlobMeta(segs[n]) {
			n++
		}
		for _, s := range segs[n:] {
			if _, err := path.Match(s, ""); err != nil {
				return nil, fmt.Errorf("input %s: invalid glob pattern: %w", arg, err)
			}
		}
		base, pattern = strings.Join(segs[:n], "/"), segs[n:]
	case key == "" || strings.HasSuffix(key, "/"):
		base = strings.TrimSuffix(key, "/")
	default:
		base = key
	}
	prefix := base
	if prefix != "" {
		prefix += "/"
	}
	objects, err := store.List(ctx, bucket, prefix)
	if err != nil {
		return nil, fmt.Errorf("input %s: %w", arg, err)
	}

	// A key without a slash at the end and nothing under it names one object.
	if len(objects) == 0 && pattern == nil && key != "" && !strings.HasSuffix(key, "/") {
		obj, err := store.Stat(ctx, bucket, key)
		if err != nil {
			return nil, fmt.Errorf("opening input %s: %w", arg, err)
		}
		in, ok := newInput(arg, path.Base(key), format)
		if !ok {
			return nil, fmt.Errorf("input %s: unknown format: name it .jsonl, .json, .ndjson, .parquet, .wet, .warc, .wat or .arc (optionally .gz or .zst), or set input.format", arg)
		}
		in.store, in.size = store, obj.Size
		return []Input{in}, nil
	}

	var out []Input
	matched := 0
	for _, obj := range objects {
		rel := strings.TrimPrefix(obj.Key, prefix)
		segs := strings.Split(rel, "/")
		if strings.HasSuffix(rel, "/") || slices.ContainsFunc(segs, isHiddenName) {
			continue // folder markers and hidden keys
		}
		if pattern != nil && !matchPath(pattern, segs) {
			continue
		}
		matched++
		if in, ok := newInput(objstore.URL(bucket, obj.Key), rel, format); ok {
			in.store, in.size = store, obj.Size
			out = append(out, in)
		}
	}
	switch {
	case matched == 0:
		return nil, fmt.Errorf("input %s: matches no objects", arg)
	case len(out) == 0:
		return nil, fmt.Errorf("input %s: no objects of a known format (.jsonl, .json, .ndjson, .parquet, .wet, .warc, .wat, .arc, optionally .gz or .zst); set input.format to read other names", arg)
	}
	return out, nil
}

func isHiddenName(s string) bool { return strings.HasPrefix(s, ".") || strings.HasPrefix(s, "_") }

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
	name    string // path or URL, for errors
	body    io.ReadCloser
	at      io.ReaderAt // random access for Parquet; nil for a streamed object
	size    int64
	hash    hash.Hash
	tee     io.Reader // the file's bytes, hashed as they are read
	cleanup func()    // run after closing body; nil when there is nothing to clean up
}

// openInput opens a local file or an object.
func openInput(ctx context.Context, in Input, logger *slog.Logger) (*rawFile, error) {
	if in.store == nil {
		return openRaw(in.Path)
	}
	bucket, key, err := objstore.ParseURL(in.Path)
	if err != nil {
		return nil, err
	}
	store := in.store.WithLogger(logger)
	if in.Format == FormatParquet {
		return spoolObject(ctx, store, bucket, key, in.Path)
	}
	body := store.Open(ctx, bucket, key)
	h := sha256.New()
	return &rawFile{name: in.Path, body: body, size: in.size, hash: h, tee: io.TeeReader(body, h)}, nil
}

// spoolObject copies an object into a temporary file, because the Parquet
// reader needs random access to the footer and the column chunks.
func spoolObject(ctx context.Context, store *objstore.Client, bucket, key, objectURL string) (*rawFile, error) {
	tmp, err := os.CreateTemp("", "winnow-object-*.parquet")
	if err != nil {
		return nil, fmt.Errorf("spooling %s: %w", objectURL, err)
	}
	remove := func() { os.Remove(tmp.Name()) }
	body := store.Open(ctx, bucket, key)
	_, err = io.Copy(tmp, body)
	body.Close()
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		remove()
		return nil, fmt.Errorf("spooling %s: %w", objectURL, err)
	}
	raw, err := openRaw(tmp.Name())
	if err != nil {
		remove()
		return nil, err
	}
	raw.name, raw.cleanup = objectURL, remove
	return raw, nil
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
	return &rawFile{name: p, body: f, at: f, size: info.Size(), hash: h, tee: io.TeeReader(f, h)}, nil
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
	defer func() {
		r.body.Close()
		if r.cleanup != nil {
			r.cleanup()
		}
	}()
	if !drain {
		return "", nil
	}
	if _, err := io.Copy(io.Discard, r.tee); err != nil {
		return "", fmt.Errorf("hashing %s: %w", r.name, err)
	}
	return hex.EncodeToString(r.hash.Sum(nil)), nil
}

// WorkerShare returns the inputs that worker reads when workers processes
// split one input list: those whose Name hashes (64-bit FNV-1a) to worker
// modulo workers, in their original order. An input's owner depends on its
// name alone, so workers that list a folder or prefix at different moments
// never both read a file they both see. Hashing balances the split only on
// average, and a worker's share can be empty when there are few inputs.
func WorkerShare(inputs []Input, worker, workers int) []Input {
	var share []Input
	for _, in := range inputs {
		h := fnv.New64a()
		h.Write([]byte(in.Name))
		if h.Sum64()%uint64(workers) == uint64(worker) {
			share = append(share, in)
		}
	}
	return share
}
