package stages

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"os"

	kzstd "github.com/klauspost/compress/zstd"
	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress/zstd"

	"github.com/winnow-data/winnow/pipeline"
)

// RejectsDir is the folder of the rejects output under the dataset root.
const RejectsDir = "rejects"

// RejectRow is one row of a rejects file: a dropped document, the stage and
// rule that dropped it, and the rule's measured value next to its
// threshold. An auditor can then query DuckDB for the drops that missed by
// little. Signal, Value and Threshold are empty for rules that measure
// nothing numeric, such as a blocklisted URL. Detail keeps every note the
// stage gave, as a JSON object.
type RejectRow struct {
	ID          string   `parquet:"id,plain" json:"id"`
	Reason      string   `parquet:"reason,dict" json:"reason"`
	Stage       string   `parquet:"stage,dict" json:"stage"`
	Signal      string   `parquet:"signal,dict" json:"signal,omitempty"`
	Value       *float64 `parquet:"value,optional" json:"value,omitempty"`
	Threshold   *float64 `parquet:"threshold,optional" json:"threshold,omitempty"`
	Detail      string   `parquet:"detail,plain" json:"-"`
	Input       string   `parquet:"input,dict" json:"input"`
	InputOffset int64    `parquet:"input_offset" json:"input_offset"`
	URL         string   `parquet:"url,plain" json:"url,omitempty"`
	Source      string   `parquet:"source,dict" json:"source,omitempty"`
	Lang        string   `parquet:"lang,dict" json:"lang,omitempty"`
	Text        string   `parquet:"text,plain" json:"text"`
}

// MarshalJSON writes the row with Detail as a JSON object rather than a
// string holding one.
func (r RejectRow) MarshalJSON() ([]byte, error) {
	type plain RejectRow
	out := struct {
		plain
		Detail json.RawMessage `json:"detail,omitempty"`
	}{plain: plain(r)}
	if r.Detail != "" && json.Valid([]byte(r.Detail)) {
		out.Detail = json.RawMessage(r.Detail)
	}
	return json.Marshal(out)
}

// size returns the row's uncompressed size estimate in bytes.
func (r *RejectRow) size() int64 {
	return int64(len(r.ID) + len(r.Reason) + len(r.Stage) + len(r.Signal) + len(r.Detail) +
		len(r.Input) + len(r.URL) + len(r.Source) + len(r.Lang) + len(r.Text) + 10*4 + 3*8)
}

// RejectsWriter writes the dropped rows of each batch to Parquet files
// under ROOT/rejects, zstd-compressed, for people to audit what a run
// removed. Files are named by the SHA-256 of their bytes like shards, and
// cut after the row that takes their uncompressed estimate to maxBytes, so
// the same rows give the same files whatever the batch size. Rows go to
// parquet-go one at a time for the same reason (see ParquetSink.writeRow).
// Each file is one row group, buffered in memory until the file ends.
//
// Rows dropped by the source itself (malformed records) never become rows,
// so they are counted, not written.
type RejectsWriter struct {
	out      *outputDir
	maxBytes int64
	options  []parquet.WriterOption

	open  *rejectsFile // nil between files
	row   []RejectRow  // one-row buffer
	files []pipeline.ShardRecord
}

type rejectsFile struct {
	file   *os.File
	out    *hashingWriter
	writer *parquet.GenericWriter[RejectRow]
	rows   int64
	bytes  int64 // uncompressed estimate
}

// NewRejectsWriter returns a writer of rejects files under the local
// folder root/rejects, each holding about maxBytes of uncompressed rows.
func NewRejectsWriter(root string, maxBytes int64, zstdLevel int) (*RejectsWriter, error) {
	out, err := localOutputDir(root, RejectsDir)
	if err != nil {
		return nil, err
	}
	return newRejectsWriter(out, maxBytes, zstdLevel), nil
}

// NewStoreRejectsWriter returns a writer of rejects files to store under
// rejects/. Like NewStoreParquetSink, it writes in place on a LocalStore,
// and stages each file in the local folder staging (os.TempDir() when
// empty) for upload on another store.
func NewStoreRejectsWriter(store pipeline.Store, staging string, maxBytes int64, zstdLevel int) (*RejectsWriter, error) {
	out, err := storeOutputDir(store, staging, RejectsDir)
	if err != nil {
		return nil, err
	}
	return newRejectsWriter(out, maxBytes, zstdLevel), nil
}

func newRejectsWriter(out *outputDir, maxBytes int64, zstdLevel int) *RejectsWriter {
	return &RejectsWriter{
		out:      out,
		maxBytes: maxBytes,
		row:      make([]RejectRow, 1),
		options: []parquet.WriterOption{
			parquet.NewSchema("schema", parquet.SchemaOf(RejectRow{})),
			parquet.Compression(&zstd.Codec{Level: kzstd.EncoderLevelFromZstd(zstdLevel)}),
			createdByOption(createdBy),
			parquet.DataPageVersion(1),
			parquet.SkipPageBounds("text"),
			parquet.SkipPageBounds("detail"),
			parquet.SkipPageStatistics("text"),
			parquet.SkipPageStatistics("detail"),
		},
	}
}

// Write appends the dropped rows of b.
func (w *RejectsWriter) Write(_ context.Context, b *pipeline.Batch) error {
	ids, texts := b.Strings(pipeline.ColID), b.Strings(pipeline.ColText)
	urls, sources, langs := b.Strings(pipeline.ColURL), b.Strings(pipeline.ColSource), b.Strings(pipeline.ColLang)
	inputs := b.Strings(pipeline.ColInput)
	offsets := b.Column(pipeline.ColInputOffset).(interface{ Value(int) int64 })
	for i := range b.Len() {
		if b.Alive(i) {
			continue
		}
		r := &w.row[0]
		*r = RejectRow{
			ID: ids.Value(i), Reason: b.Dropped[i], Detail: b.Detail(i),
			Input: inputs.Value(i), InputOffset: offsets.Value(i),
			URL: urls.Value(i), Source: sources.Value(i), Lang: langs.Value(i), Text: texts.Value(i),
		}
		r.Stage, _ = pipeline.ReasonOwner(r.Reason)
		r.Signal, r.Value, r.Threshold = parseSignal(r.Detail)
		repairUTF8Strings(&r.ID, &r.Text, &r.URL, &r.Source, &r.Lang, &r.Input)
		if err := w.writeRow(r); err != nil {
			w.abort()
			return err
		}
	}
	return nil
}

// parseSignal reads the signal, value and threshold keys of a detail
// written by pipeline.Batch.DropSignal, or by a stage that adds them to
// a detail of its own.
func parseSignal(detail string) (string, *float64, *float64) {
	if detail == "" {
		return "", nil, nil
	}
	var d struct {
		Signal    string   `json:"signal"`
		Value     *float64 `json:"value"`
		Threshold *float64 `json:"threshold"`
	}
	if json.Unmarshal([]byte(detail), &d) != nil {
		return "", nil, nil
	}
	return d.Signal, d.Value, d.Threshold
}

func (w *RejectsWriter) writeRow(r *RejectRow) error {
	if w.open == nil {
		if err := w.startFile(); err != nil {
			return err
		}
	}
	if _, err := w.open.writer.Write(w.row); err != nil {
		return fmt.Errorf("writing rejected row %s: %w", r.ID, err)
	}
	w.open.rows++
	w.open.bytes += r.size()
	if w.open.bytes >= w.maxBytes {
		return w.endFile()
	}
	return nil
}

func (w *RejectsWriter) startFile() error {
	f, err := w.out.create()
	if err != nil {
		return fmt.Errorf("creating rejects file: %w", err)
	}
	out := &hashingWriter{w: f, h: sha256.New()}
	w.open = &rejectsFile{file: f, out: out, writer: parquet.NewGenericWriter[RejectRow](out, w.options...)}
	return nil
}

// endFile writes the footer and publishes the file under its content
// address.
func (w *RejectsWriter) endFile() error {
	rf := w.open
	rel, sum, err := sealFile(rf.writer, rf.file, rf.out, w.out)
	if err != nil {
		w.abort()
		return fmt.Errorf("finishing rejects file: %w", err)
	}
	w.open = nil
	w.files = append(w.files, pipeline.ShardRecord{Path: rel, Rows: rf.rows, Bytes: rf.out.n, SHA256: sum, RowGroups: 1})
	return nil
}

// abort removes the file being written.
func (w *RejectsWriter) abort() {
	if w.open == nil {
		return
	}
	w.open.file.Close()
	os.Remove(w.open.file.Name())
	w.open = nil
}

// Close writes the last file.
func (w *RejectsWriter) Close(context.Context) error {
	if w.open == nil {
		return nil
	}
	return w.endFile()
}

// Files returns the rejects files written, with paths relative to the root.
func (w *RejectsWriter) Files() []pipeline.ShardRecord { return w.files }

// ReadRejects calls fn with every row of the rejects file at path, in file
// order.
func ReadRejects(ctx context.Context, path string, fn func(r *RejectRow) error) error {
	return ReadParquetRows(ctx, path, func(_ int64, r *RejectRow) error { return fn(r) })
}
