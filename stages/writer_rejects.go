package stages

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	kzstd "github.com/klauspost/compress/zstd"

	"github.com/winnow-data/winnow/pipeline"
)

// RejectsDir is the folder of the rejects output under the dataset root.
const RejectsDir = "rejects"

// rejectRecord is one line of the rejects output.
type rejectRecord struct {
	ID          string          `json:"id"`
	Reason      string          `json:"reason"`
	Detail      json.RawMessage `json:"detail,omitempty"`
	Input       string          `json:"input"`
	InputOffset int64           `json:"input_offset"`
	URL         string          `json:"url,omitempty"`
	Source      string          `json:"source,omitempty"`
	Lang        string          `json:"lang,omitempty"`
	Text        string          `json:"text"`
}

// RejectsWriter writes the dropped rows of each batch, with their reason
// and detail, as zstd-compressed JSON lines under ROOT/rejects, for people
// to audit what a run removed. Files are named by the SHA-256 of their
// bytes like shards, and cut after the line that takes one past maxBytes
// of JSON, so the same rows give the same files whatever the batch size.
// Rows dropped by the source itself (malformed records) never become rows,
// so they are counted, not written.
type RejectsWriter struct {
	dir      string
	maxBytes int64
	level    kzstd.EncoderLevel

	buf   []byte // JSON lines of the open file
	rows  int64
	files []pipeline.ShardRecord
}

// NewRejectsWriter returns a writer of rejects files under root/rejects,
// each holding about maxBytes of JSON before compression.
func NewRejectsWriter(root string, maxBytes int64, zstdLevel int) (*RejectsWriter, error) {
	dir := filepath.Join(root, RejectsDir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("creating rejects folder %s: %w", dir, err)
	}
	return &RejectsWriter{dir: dir, maxBytes: maxBytes, level: kzstd.EncoderLevelFromZstd(zstdLevel)}, nil
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
		rec := rejectRecord{
			ID: ids.Value(i), Reason: b.Dropped[i], Input: inputs.Value(i), InputOffset: offsets.Value(i),
			URL: urls.Value(i), Source: sources.Value(i), Lang: langs.Value(i), Text: texts.Value(i),
		}
		if d := b.Detail(i); d != "" {
			rec.Detail = json.RawMessage(d)
		}
		line, err := json.Marshal(rec)
		if err != nil {
			return fmt.Errorf("encoding rejected row %s: %w", rec.ID, err)
		}
		w.buf = append(append(w.buf, line...), '\n')
		w.rows++
		if int64(len(w.buf)) >= w.maxBytes {
			if err := w.flush(); err != nil {
				return err
			}
		}
	}
	return nil
}

// Close writes the last file.
func (w *RejectsWriter) Close(context.Context) error {
	return w.flush()
}

// Files returns the rejects files written, with paths relative to the root.
func (w *RejectsWriter) Files() []pipeline.ShardRecord { return w.files }

func (w *RejectsWriter) flush() error {
	if w.rows == 0 {
		return nil
	}
	enc, err := kzstd.NewWriter(nil, kzstd.WithEncoderLevel(w.level), kzstd.WithEncoderConcurrency(1))
	if err != nil {
		return err
	}
	data := enc.EncodeAll(w.buf, nil)
	enc.Close()
	sum := sha256.Sum256(data)
	hexSum := hex.EncodeToString(sum[:])
	rel := RejectsDir + "/" + hexSum[:shardNameHexLen] + ".jsonl.zst"
	if err := writeFileAtomic(filepath.Join(w.dir, filepath.Base(rel)), data); err != nil {
		return fmt.Errorf("writing rejects file %s: %w", rel, err)
	}
	w.files = append(w.files, pipeline.ShardRecord{Path: rel, Rows: w.rows, Bytes: int64(len(data)), SHA256: hexSum})
	w.buf = w.buf[:0]
	w.rows = 0
	return nil
}

// writeFileAtomic writes data to a temporary file beside path, syncs it and
// renames it to path, with mode 0644.
func writeFileAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	_, werr := f.Write(data)
	if werr == nil {
		werr = f.Chmod(0o644)
	}
	if werr == nil {
		werr = f.Sync()
	}
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		os.Remove(f.Name())
		return werr
	}
	if err := os.Rename(f.Name(), path); err != nil {
		os.Remove(f.Name())
		return err
	}
	return pipeline.SyncDir(filepath.Dir(path))
}
