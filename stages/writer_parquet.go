package stages

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"log/slog"
	"math"
	"os"
	"path"
	"path/filepath"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow/array"
	kzstd "github.com/klauspost/compress/zstd"
	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress/zstd"

	"github.com/winnow-data/winnow/pipeline"
)

// shardNameHexLen is how many hex digits of a shard's SHA-256 its file name
// keeps: 128 bits, so two different shards never share a name in practice.
// The manifest records the full digest.
const shardNameHexLen = 32

// createdBy is the fixed created_by of every shard. It names no version, so
// the same rows give the same bytes whatever winnow build wrote them, as
// long as parquet-go encodes them the same way. parquet.CreatedBy would
// append " version ...(build ...)" even to empty values, hence the option
// type below.
const createdBy = "winnow"

// createdByOption sets the file's created_by to its value, verbatim.
type createdByOption string

func (o createdByOption) ConfigureWriter(c *parquet.WriterConfig) { c.CreatedBy = string(o) }

// rowOverheadBytes is the part of a row's uncompressed size that does not
// depend on its values: a 4-byte length before each of the 8 strings and
// the signature in PLAIN encoding, plus the float32, int32 and int64
// columns.
const rowOverheadBytes = 9*4 + 4 + 4 + 8

// shardRow is one row of a shard. Its fields follow pipeline.DocSchema in
// order, name and type. Every column is required, and strings carry the
// STRING logical type, so readers see plain non-null strings. Strings are
// PLAIN-encoded because every reader decodes that. parquet-go would
// otherwise pick DELTA_LENGTH_BYTE_ARRAY, which Spark's vectorized reader
// rejected until 2022 (apache/spark#37557). The low-cardinality columns
// are dictionary-encoded.
type shardRow struct {
	ID          string  `parquet:"id,plain"`
	Text        string  `parquet:"text,plain"`
	URL         string  `parquet:"url,plain"`
	Source      string  `parquet:"source,dict"`
	Lang        string  `parquet:"lang,dict"`
	LangScore   float32 `parquet:"lang_score"`
	TokenCount  int32   `parquet:"token_count"`
	Metadata    string  `parquet:"metadata,plain"`
	Input       string  `parquet:"input,dict"`
	InputOffset int64   `parquet:"input_offset"`
	Signature   []byte  `parquet:"signature,plain"`
	LangScript  string  `parquet:"lang_script,dict"`
}

// size returns the row's uncompressed size estimate, in bytes, as PLAIN
// encoding would store it.
func (r *shardRow) size() int64 {
	n := len(r.ID) + len(r.Text) + len(r.URL) + len(r.Source) + len(r.Lang) + len(r.Metadata) + len(r.Input) + len(r.Signature) + len(r.LangScript)
	return int64(n + rowOverheadBytes)
}

// ParquetSink writes the alive rows of each batch to Parquet shards under
// ROOT/shards, zstd-compressed, in the columns of pipeline.DocSchema.
//
// Row groups and shards are cut row by row, never at batch boundaries, so
// the same rows give byte-identical shards whatever the batch size. A row
// group ends before the row that would take its uncompressed estimate past
// OutputConfig.RowGroupMaxBytes; it always holds at least one row. A shard
// ends after the first row group that takes its file size to
// OutputConfig.ShardMaxBytes or beyond, so a shard can exceed the cap by up
// to one compressed row group plus the footer.
//
// Each shard is named shards/<h>.parquet, where h is the first 32 hex
// digits of the SHA-256 of its bytes. On a local root it is written under
// a temporary name in that folder, synced and renamed. On another store
// (NewStoreParquetSink) it is written to a local staging file, uploaded
// when it ends and the staging file deleted. At most one row group is
// buffered in memory.
//
// Arrow nulls are written as "" or 0, because every column is required.
// A ParquetSink is not safe for concurrent use: read Shards and the totals
// after Close, or from the goroutine that calls Write.
type ParquetSink struct {
	out     *outputDir
	cfg     pipeline.OutputConfig
	env     pipeline.Env
	logger  *slog.Logger
	options []parquet.WriterOption

	open    *shardFile // shard being written, nil between shards
	rgBytes int64      // uncompressed estimate of the open row group
	row     []shardRow // one-row buffer, reused for every Write call
	err     error      // first write error, returned by every later call

	shards   []pipeline.ShardRecord
	seal     SealPoint // state at the end of the last shard, for checkpoints
	batchRow int       // row of the batch being written, for seal
	batchSeq uint64    // sequence number of that batch
	totals   pipeline.Totals
	langs    map[string]pipeline.Totals
	sources  map[string]pipeline.Totals
}

// shardFile is a shard being written.
type shardFile struct {
	file      *os.File
	out       *hashingWriter
	writer    *parquet.GenericWriter[shardRow]
	rows      int64
	rowGroups int
}

// NewParquetSink returns a sink that writes shards under the local folder
// root/shards, with the sizes and zstd level in cfg. It uses root, not
// cfg.Root.
func NewParquetSink(root string, cfg pipeline.OutputConfig, env pipeline.Env) (*ParquetSink, error) {
	if err := validateOutput(cfg); err != nil {
		return nil, err
	}
	out, err := localOutputDir(root, pipeline.ShardsDir)
	if err != nil {
		return nil, err
	}
	return newParquetSink(out, cfg, env), nil
}

// NewStoreParquetSink returns a sink that writes shards to store under
// shards/. On a LocalStore it writes in place, as NewParquetSink does. On
// another store it writes each shard to a file in the local folder
// staging (os.TempDir() when empty) and uploads it when the shard ends,
// with the store's UploadFile when it has one.
func NewStoreParquetSink(store pipeline.Store, staging string, cfg pipeline.OutputConfig, env pipeline.Env) (*ParquetSink, error) {
	if err := validateOutput(cfg); err != nil {
		return nil, err
	}
	out, err := storeOutputDir(store, staging, pipeline.ShardsDir)
	if err != nil {
		return nil, err
	}
	return newParquetSink(out, cfg, env), nil
}

func newParquetSink(out *outputDir, cfg pipeline.OutputConfig, env pipeline.Env) *ParquetSink {
	logger := env.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &ParquetSink{
		out:     out,
		cfg:     cfg,
		env:     env,
		logger:  logger,
		options: writerOptions(cfg.ZstdLevel),
		row:     make([]shardRow, 1),
		langs:   map[string]pipeline.Totals{},
		sources: map[string]pipeline.Totals{},
	}
}

func validateOutput(cfg pipeline.OutputConfig) error {
	if cfg.ShardMaxBytes < 1 {
		return fmt.Errorf("parquet sink: output.shard_max_bytes: invalid value %d: must be positive", cfg.ShardMaxBytes)
	}
	if cfg.RowGroupMaxBytes < 1 {
		return fmt.Errorf("parquet sink: output.row_group_max_bytes: invalid value %d: must be positive", cfg.RowGroupMaxBytes)
	}
	if cfg.ZstdLevel < 1 || cfg.ZstdLevel > 22 {
		return fmt.Errorf("parquet sink: output.zstd_level: invalid value %d: must be 1 to 22", cfg.ZstdLevel)
	}
	return nil
}

// writerOptions fixes everything that ends up in the file, so shard bytes
// depend on the rows alone.
func writerOptions(level int) []parquet.WriterOption {
	// klauspost/compress has four encoder levels, and EncoderLevelFromZstd
	// maps zstd levels 1-2, 3-5, 6-9 and 10-22 onto them.
	codec := &zstd.Codec{Level: kzstd.EncoderLevelFromZstd(level)}
	return []parquet.WriterOption{
		// parquet-go would name the root after the Go type. pyarrow names
		// it "schema".
		parquet.NewSchema("schema", parquet.SchemaOf(shardRow{})),
		parquet.Compression(codec),
		createdByOption(createdBy),
		// Version 1 data pages are what parquet-mr and pyarrow write by
		// default, so every reader decodes them.
		parquet.DataPageVersion(1),
		// Min and max of long texts are useless for pruning and would copy
		// whole documents into page headers and the footer.
		parquet.SkipPageBounds(pipeline.ColText),
		parquet.SkipPageBounds(pipeline.ColMetadata),
		parquet.SkipPageStatistics(pipeline.ColText),
		parquet.SkipPageStatistics(pipeline.ColMetadata),
	}
}

// Write appends the alive rows of b to the open shard, cutting row groups
// and shards as the rows go. After an error the shard being written is
// removed, and every later Write or Close returns the same error, because
// the totals already count rows that no shard holds.
func (s *ParquetSink) Write(ctx context.Context, b *pipeline.Batch) error {
	if s.err != nil {
		return s.err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	cols := batchColumns(b)
	s.batchSeq = b.Seq
	for i := 0; i < b.Len(); i++ {
		if !b.Alive(i) {
			continue
		}
		s.batchRow = i
		cols.fill(&s.row[0], i)
		if repairUTF8(&s.row[0]) {
			s.env.Events.Add("invalid_utf8_repaired", 1)
		}
		if err := s.writeRow(&s.row[0]); err != nil {
			s.fail(err)
			return err
		}
	}
	return nil
}

// writeRow writes one row, ending the open row group first when the row
// would take it past its cap. Rows go to parquet-go one at a time because
// its writer cuts pages after each Write call: bigger calls would make page
// boundaries, and so the bytes, depend on the batch size.
func (s *ParquetSink) writeRow(r *shardRow) error {
	size := r.size()
	if s.open != nil && s.rgBytes > 0 && s.rgBytes+size > s.cfg.RowGroupMaxBytes {
		if err := s.endRowGroup(); err != nil {
			return err
		}
	}
	if s.open == nil {
		if err := s.startShard(); err != nil {
			return err
		}
	}
	if _, err := s.open.writer.Write(s.row); err != nil {
		return fmt.Errorf("writing row %s to shard: %w", r.ID, err)
	}
	s.rgBytes += size
	s.open.rows++
	s.count(r)
	return nil
}

// endRowGroup flushes the open row group to the file, then ends the shard
// when the file has reached its cap or holds as many row groups as the
// format allows.
func (s *ParquetSink) endRowGroup() error {
	if err := s.open.writer.Flush(); err != nil {
		return fmt.Errorf("flushing row group of shard %s: %w", s.open.file.Name(), err)
	}
	s.open.rowGroups++
	s.rgBytes = 0
	s.env.Events.Add("row_groups_written", 1)
	if s.open.writer.Size() >= s.cfg.ShardMaxBytes || s.open.rowGroups >= parquet.MaxRowGroups {
		return s.endShard()
	}
	return nil
}

func (s *ParquetSink) startShard() error {
	f, err := s.out.create()
	if err != nil {
		return fmt.Errorf("creating shard: %w", err)
	}
	out := &hashingWriter{w: f, h: sha256.New()}
	s.open = &shardFile{
		file:   f,
		out:    out,
		writer: parquet.NewGenericWriter[shardRow](out, s.options...),
	}
	s.rgBytes = 0
	return nil
}

// endShard writes the footer and publishes the file under its content
// address.
func (s *ParquetSink) endShard() error {
	sh := s.open
	if s.rgBytes > 0 {
		sh.rowGroups++
		s.env.Events.Add("row_groups_written", 1)
	}
	rel, sum, err := sealFile(sh.writer, sh.file, sh.out, s.out)
	if err != nil {
		s.abort()
		return fmt.Errorf("finishing shard: %w", err)
	}
	s.open = nil
	s.rgBytes = 0

	rec := pipeline.ShardRecord{Path: rel, Rows: sh.rows, Bytes: sh.out.n, SHA256: sum, RowGroups: sh.rowGroups}
	s.shards = append(s.shards, rec)
	s.markSeal()
	s.env.Events.Add("shards_written", 1)
	s.logger.Info("shard written", "shard", rel, "docs", rec.Rows, "bytes", rec.Bytes, "row_groups", rec.RowGroups)
	return nil
}

// abort drops the shard being written, removing its temporary file, so a
// failed run leaves no partial shard behind.
func (s *ParquetSink) abort() {
	if s.open == nil {
		return
	}
	s.open.file.Close()
	os.Remove(s.open.file.Name())
	s.open = nil
	s.rgBytes = 0
}

// fail records err as the sink's error and drops the shard being written.
func (s *ParquetSink) fail(err error) {
	s.err = err
	s.abort()
}

// Close ends the last shard. Shards and totals are complete once it
// returns.
func (s *ParquetSink) Close(ctx context.Context) error {
	if s.err != nil {
		return s.err
	}
	if s.open == nil {
		return nil
	}
	if err := s.endShard(); err != nil {
		s.fail(err)
		return err
	}
	return nil
}

// count adds r to the totals.
func (s *ParquetSink) count(r *shardRow) {
	t := pipeline.Totals{Docs: 1, Bytes: int64(len(r.Text)), Tokens: int64(r.TokenCount)}
	addTotals(&s.totals, t)

	lang := r.Lang
	if lang == "" {
		lang = "und"
	}
	lt := s.langs[lang]
	addTotals(&lt, t)
	s.langs[lang] = lt

	source := r.Source
	if source == "" {
		source = "unknown"
	}
	st := s.sources[source]
	addTotals(&st, t)
	s.sources[source] = st
}

func addTotals(dst *pipeline.Totals, t pipeline.Totals) {
	dst.Docs += t.Docs
	dst.Bytes += t.Bytes
	dst.Tokens += t.Tokens
}

// Shards returns the records of the shards written so far, in write order.
func (s *ParquetSink) Shards() []pipeline.ShardRecord {
	return append([]pipeline.ShardRecord(nil), s.shards...)
}

// Totals returns the documents, text bytes and tokens of the rows written.
func (s *ParquetSink) Totals() pipeline.Totals { return s.totals }

// Languages returns the totals of the rows written by lang. Rows with an
// empty lang count as "und" (undetermined, as in ISO 639).
func (s *ParquetSink) Languages() map[string]pipeline.Totals { return cloneTotals(s.langs) }

// Sources returns the totals of the rows written by source. Rows with an
// empty source count as "unknown".
func (s *ParquetSink) Sources() map[string]pipeline.Totals { return cloneTotals(s.sources) }

func cloneTotals(m map[string]pipeline.Totals) map[string]pipeline.Totals {
	out := make(map[string]pipeline.Totals, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// docColumns holds the typed columns of one batch.
type docColumns struct {
	id, text, url, source, lang, metadata, input *array.String
	langScript                                   *array.String
	langScore                                    *array.Float32
	tokenCount                                   *array.Int32
	inputOffset                                  *array.Int64
	signature                                    *array.Binary
}

func batchColumns(b *pipeline.Batch) docColumns {
	return docColumns{
		id:          b.Strings(pipeline.ColID),
		text:        b.Strings(pipeline.ColText),
		url:         b.Strings(pipeline.ColURL),
		source:      b.Strings(pipeline.ColSource),
		lang:        b.Strings(pipeline.ColLang),
		metadata:    b.Strings(pipeline.ColMetadata),
		input:       b.Strings(pipeline.ColInput),
		langScore:   b.Column(pipeline.ColLangScore).(*array.Float32),
		tokenCount:  b.Column(pipeline.ColTokenCount).(*array.Int32),
		inputOffset: b.Column(pipeline.ColInputOffset).(*array.Int64),
		signature:   b.Column(pipeline.ColSignature).(*array.Binary),
		langScript:  b.Strings(pipeline.ColLangScript),
	}
}

// fill copies row i into r. The strings point into the batch's buffers,
// and parquet-go copies them before Write returns.
func (c *docColumns) fill(r *shardRow, i int) {
	*r = shardRow{
		ID:          valueAt(c.id, i),
		Text:        valueAt(c.text, i),
		URL:         valueAt(c.url, i),
		Source:      valueAt(c.source, i),
		Lang:        valueAt(c.lang, i),
		Metadata:    valueAt(c.metadata, i),
		Input:       valueAt(c.input, i),
		LangScore:   valueAt(c.langScore, i),
		TokenCount:  valueAt(c.tokenCount, i),
		InputOffset: valueAt(c.inputOffset, i),
		Signature:   c.signature.Value(i),
		LangScript:  valueAt(c.langScript, i),
	}
	if r.TokenCount == 0 {
		r.TokenCount = int32(min(CountWhitespaceTokens(r.Text), math.MaxInt32))
	}
}

// CountWhitespaceTokens returns the number of maximal runs of non-space
// characters in text, spaces being what unicode.IsSpace accepts. The sink
// writes it as token_count for rows that no stage gave a token count.
func CountWhitespaceTokens(text string) int {
	n := 0
	inToken := false
	for i := 0; i < len(text); {
		c := text[i]
		var space bool
		if c < utf8.RuneSelf {
			space = c == ' ' || (c >= '\t' && c <= '\r')
			i++
		} else {
			r, size := utf8.DecodeRuneInString(text[i:])
			space = unicode.IsSpace(r)
			i += size
		}
		if !space && !inToken {
			n++
		}
		inToken = !space
	}
	return n
}

// valueAt returns value i of a column, or the zero value when it is null.
func valueAt[T string | float32 | int32 | int64](a interface {
	IsNull(int) bool
	Value(int) T
}, i int) T {
	var zero T
	if a.IsNull(i) {
		return zero
	}
	return a.Value(i)
}

// sealFile closes w, which writes the Parquet footer to f through out,
// and publishes f as dir/<h>.parquet, where h is the start of the SHA-256
// of its bytes. It returns the new path relative to the root and the full
// digest. On error f may be left closed under its temporary name for the
// caller to remove.
func sealFile(w io.Closer, f *os.File, out *hashingWriter, dir *outputDir) (rel, sum string, err error) {
	if err := w.Close(); err != nil {
		return "", "", fmt.Errorf("closing %s: %w", f.Name(), err)
	}
	// A staging file needs no sync: the upload is what makes it durable.
	if dir.store == nil {
		if err := f.Sync(); err != nil {
			return "", "", fmt.Errorf("syncing %s: %w", f.Name(), err)
		}
	}
	if err := f.Close(); err != nil {
		return "", "", fmt.Errorf("closing %s: %w", f.Name(), err)
	}
	sum = hex.EncodeToString(out.h.Sum(nil))
	rel = dir.rel + "/" + sum[:shardNameHexLen] + ".parquet"
	if err := dir.publish(f.Name(), rel); err != nil {
		return "", "", err
	}
	return rel, sum, nil
}

// outputDir is the folder of a dataset root, such as shards/, that a
// writer seals its files into. On a local root the files are written in
// that folder under temporary names, which List skips, and renamed into
// place. On another store they are written to a local staging folder and
// uploaded when they are sealed.
type outputDir struct {
	rel     string         // the folder, relative to the root
	root    string         // the local root; "" when store is set
	store   pipeline.Store // the root when it is not a local folder
	staging string         // the local folder of the files being written
}

// localOutputDir returns the folder rel of the local root, creating it.
func localOutputDir(root, rel string) (*outputDir, error) {
	dir := filepath.Join(root, filepath.FromSlash(rel))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("creating folder %s: %w", dir, err)
	}
	return &outputDir{rel: rel, root: root, staging: dir}, nil
}

// storeOutputDir returns the folder rel of store, staging its files in
// the local folder staging, or os.TempDir() when staging is empty. A
// LocalStore gets a local folder with no staging.
func storeOutputDir(store pipeline.Store, staging, rel string) (*outputDir, error) {
	if local, ok := store.(*pipeline.LocalStore); ok {
		return localOutputDir(local.Root(), rel)
	}
	if staging == "" {
		staging = os.TempDir()
	}
	if err := os.MkdirAll(staging, 0o755); err != nil {
		return nil, fmt.Errorf("creating staging folder %s: %w", staging, err)
	}
	return &outputDir{rel: rel, store: store, staging: staging}, nil
}

// create creates a new file to write, in the staging folder.
func (d *outputDir) create() (*os.File, error) {
	pattern := ".tmp-*.parquet"
	if d.store != nil {
		pattern = "winnow-" + path.Base(d.rel) + "-*.parquet"
	}
	f, err := os.CreateTemp(d.staging, pattern)
	if err != nil {
		return nil, fmt.Errorf("creating a file in %s: %w", d.staging, err)
	}
	// CreateTemp makes the file 0600; shards are read by other users' jobs.
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, fmt.Errorf("creating a file in %s: %w", d.staging, err)
	}
	return f, nil
}

// publish gives the sealed file at tmp its name rel in the root. On a
// local root it renames the file and syncs the folder, so the new name
// survives a power loss. On another store it uploads the file and then
// deletes it, whether the upload succeeded or not.
func (d *outputDir) publish(tmp, rel string) error {
	if d.store == nil {
		if err := os.Rename(tmp, filepath.Join(d.root, filepath.FromSlash(rel))); err != nil {
			return fmt.Errorf("renaming %s to %s: %w", tmp, rel, err)
		}
		if err := pipeline.SyncDir(d.staging); err != nil {
			return fmt.Errorf("syncing %s: %w", rel, err)
		}
		return nil
	}
	defer os.Remove(tmp)
	var err error
	if up, ok := d.store.(pipeline.FileUploader); ok {
		err = up.UploadFile(rel, tmp)
	} else {
		var data []byte
		if data, err = os.ReadFile(tmp); err == nil {
			err = d.store.WriteFile(rel, data)
		}
	}
	if err != nil {
		return fmt.Errorf("uploading %s to %s: %w", rel, d.store, err)
	}
	return nil
}

// hashingWriter counts and hashes the bytes on their way to w, so a shard's
// checksum costs no second read.
type hashingWriter struct {
	w io.Writer
	h hash.Hash
	n int64
}

func (hw *hashingWriter) Write(p []byte) (int, error) {
	n, err := hw.w.Write(p)
	hw.h.Write(p[:n])
	hw.n += int64(n)
	if err == nil && n < len(p) {
		err = io.ErrShortWrite
	}
	return n, err
}

var _ pipeline.Sink = (*ParquetSink)(nil)

// repairUTF8 replaces invalid UTF-8 in the row's strings with U+FFFD and
// reports whether it changed any. Parquet readers reject string columns
// with invalid UTF-8, so the sink repairs what no stage did, for example
// text in a chain without normalize.
func repairUTF8(r *shardRow) bool {
	return repairUTF8Strings(&r.ID, &r.Text, &r.URL, &r.Source, &r.Lang, &r.Metadata, &r.Input, &r.LangScript)
}

// repairUTF8Strings replaces invalid UTF-8 in each string with U+FFFD and
// reports whether it changed any.
func repairUTF8Strings(strs ...*string) bool {
	repaired := false
	for _, s := range strs {
		if !utf8.ValidString(*s) {
			*s = strings.ToValidUTF8(*s, "\uFFFD")
			repaired = true
		}
	}
	return repaired
}

// Discard removes the shard being written, after a run that failed or was
// stopped, so no partial file stays under shards/. Finished shards stay:
// they are content-addressed, and a later run that writes the same rows
// reuses their names.
func (s *ParquetSink) Discard() {
	if s.open != nil {
		s.abort()
	}
}
