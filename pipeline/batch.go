package pipeline

import (
	"fmt"
	"math"
	"strconv"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// Position is the stretch of one input that a batch covers: records
// [FirstRecord, EndRecord) and the input's bytes up to EndOffset. Positions
// travel with the batches so the commit step can tell how far each input
// has been consumed.
type Position struct {
	Input       string // input name, as in the column ColInput
	FirstRecord int64  // index of the first record covered
	EndRecord   int64  // index one past the last record covered
	EndOffset   int64  // byte offset in the decoded stream after the last record
}

// Batch is the unit that flows between stages: an Arrow record with the
// DocSchema columns, a drop reason per row (empty while the row is alive),
// and the input positions the rows came from.
//
// A batch is owned by exactly one goroutine at a time: the stage that
// received it may change it freely and gives it up by passing it on.
type Batch struct {
	Seq     uint64 // order of the batch in the run, from 0; workers restore this order
	Rec     arrow.RecordBatch
	Dropped []string // drop reason per row; "" means the row is alive
	// Details holds an optional note per dropped row for the rejects
	// output, such as the kept twin of a near duplicate. It is nil until a
	// stage sets one.
	Details   []string
	Positions []Position
	// Replay marks a batch of documents that an earlier attempt of a
	// resumed run already committed. Stages process it as usual, so their
	// state is what it was, and the sink discards it.
	Replay bool
}

// Len returns the number of rows, alive or dropped.
func (b *Batch) Len() int { return len(b.Dropped) }

// Alive reports whether row i has not been dropped.
func (b *Batch) Alive(i int) bool { return b.Dropped[i] == "" }

// Drop marks row i as dropped for reason, a snake_case reason code. A row
// that is already dropped keeps its first reason.
func (b *Batch) Drop(i int, reason string) {
	if b.Dropped[i] == "" {
		b.Dropped[i] = reason
	}
}

// DropWithDetail drops row i for reason, as Drop does, and records detail,
// a short JSON object, for the rejects output. It does nothing when the row
// is already dropped.
func (b *Batch) DropWithDetail(i int, reason, detail string) {
	if b.Dropped[i] != "" {
		return
	}
	b.Dropped[i] = reason
	if b.Details == nil {
		b.Details = make([]string, len(b.Dropped))
	}
	b.Details[i] = detail
}

// DropSignal drops row i for reason, as Drop does, and records the rule's
// measured value and its threshold as the row's detail, as
// {"signal":"words","value":37,"threshold":50}. The rejects output turns
// those into columns, so drops can be counted by how far they missed.
// Values that are not finite are written as null.
func (b *Batch) DropSignal(i int, reason, signal string, value, threshold float64) {
	if b.Dropped[i] != "" {
		return
	}
	b.DropWithDetail(i, reason, SignalDetail(signal, value, threshold))
}

// SignalDetail formats the detail DropSignal records.
func SignalDetail(signal string, value, threshold float64) string {
	buf := make([]byte, 0, 64)
	buf = append(buf, `{"signal":`...)
	buf = strconv.AppendQuote(buf, signal)
	buf = append(buf, `,"value":`...)
	buf = appendJSONFloat(buf, value)
	buf = append(buf, `,"threshold":`...)
	buf = appendJSONFloat(buf, threshold)
	return string(append(buf, '}'))
}

func appendJSONFloat(buf []byte, v float64) []byte {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return append(buf, "null"...)
	}
	return strconv.AppendFloat(buf, v, 'g', -1, 64)
}

// Detail returns the detail recorded for row i, or "".
func (b *Batch) Detail(i int) string {
	if b.Details == nil {
		return ""
	}
	return b.Details[i]
}

// LiveCount returns the number of rows still alive.
func (b *Batch) LiveCount() int {
	n := 0
	for _, r := range b.Dropped {
		if r == "" {
			n++
		}
	}
	return n
}

// LiveTextBytes returns the UTF-8 bytes of text in the rows still alive.
func (b *Batch) LiveTextBytes() int64 {
	texts := b.Strings(ColText)
	var n int64
	for i, r := range b.Dropped {
		if r == "" {
			n += int64(texts.ValueLen(i))
		}
	}
	return n
}

// Strings returns the string column named col. It panics when col is not a
// string column of DocSchema, which is a programming error.
func (b *Batch) Strings(col string) *array.String {
	return b.Rec.Column(mustIndex(col)).(*array.String)
}

// Column returns the column named col.
func (b *Batch) Column(col string) arrow.Array {
	return b.Rec.Column(mustIndex(col))
}

// SetColumn replaces the column named col with arr, which must have the
// column's type and the batch's row count.
func (b *Batch) SetColumn(col string, arr arrow.Array) {
	i := mustIndex(col)
	if int(arr.Len()) != b.Len() {
		panic(fmt.Sprintf("pipeline: column %s has %d rows, batch has %d", col, arr.Len(), b.Len()))
	}
	cols := make([]arrow.Array, DocSchema.NumFields())
	copy(cols, b.Rec.Columns())
	cols[i] = arr
	rec := array.NewRecordBatch(DocSchema, cols, int64(b.Len()))
	b.Rec.Release()
	b.Rec = rec
}

// MapStrings replaces the string column col with fn applied to every alive
// row; dropped rows keep their value. fn returns the new value and whether it
// changed, so an unchanged column is not rebuilt.
func (b *Batch) MapStrings(col string, fn func(i int, s string) (string, bool)) {
	old := b.Strings(col)
	var out []string
	for i := 0; i < b.Len(); i++ {
		if !b.Alive(i) {
			continue
		}
		s, changed := fn(i, old.Value(i))
		if !changed {
			continue
		}
		if out == nil {
			out = make([]string, b.Len())
			for j := range out {
				out[j] = old.Value(j)
			}
		}
		out[i] = s
	}
	if out == nil {
		return
	}
	bld := array.NewStringBuilder(memory.DefaultAllocator)
	defer bld.Release()
	bld.AppendValues(out, nil)
	arr := bld.NewArray()
	defer arr.Release()
	b.SetColumn(col, arr)
}

// Release frees the batch's Arrow memory.
func (b *Batch) Release() {
	if b.Rec != nil {
		b.Rec.Release()
		b.Rec = nil
	}
}

func mustIndex(col string) int {
	i, ok := colIndex[col]
	if !ok {
		panic("pipeline: unknown column " + col)
	}
	return i
}

// Doc is one input document as a source decodes it.
type Doc struct {
	ID          string
	Text        string
	URL         string
	Source      string
	Lang        string  // language label given by the input, if any
	LangScore   float32 // confidence of Lang, 0 when unknown
	Metadata    string  // JSON object, "" for none
	Input       string
	InputOffset int64
}

// BatchBuilder collects Docs into batches for a source.
type BatchBuilder struct {
	cols      [8]*array.StringBuilder
	score     *array.Float32Builder
	tokens    *array.Int32Builder
	offset    *array.Int64Builder
	signature *array.BinaryBuilder
	n         int
	positions []Position
}

// builder slots of the string columns, in DocSchema order without the
// numeric columns.
const (
	sID = iota
	sText
	sURL
	sSource
	sLang
	sMetadata
	sInput
	sLangScript
)

// NewBatchBuilder returns an empty builder.
func NewBatchBuilder() *BatchBuilder {
	bb := &BatchBuilder{
		score:     array.NewFloat32Builder(memory.DefaultAllocator),
		tokens:    array.NewInt32Builder(memory.DefaultAllocator),
		offset:    array.NewInt64Builder(memory.DefaultAllocator),
		signature: array.NewBinaryBuilder(memory.DefaultAllocator, arrow.BinaryTypes.Binary),
	}
	for i := range bb.cols {
		bb.cols[i] = array.NewStringBuilder(memory.DefaultAllocator)
	}
	return bb
}

// Append adds d as the next row.
func (bb *BatchBuilder) Append(d *Doc) {
	bb.cols[sID].Append(d.ID)
	bb.cols[sText].Append(d.Text)
	bb.cols[sURL].Append(d.URL)
	bb.cols[sSource].Append(d.Source)
	bb.cols[sLang].Append(d.Lang)
	bb.score.Append(d.LangScore)
	bb.tokens.Append(0)
	meta := d.Metadata
	if meta == "" {
		meta = "{}"
	}
	bb.cols[sMetadata].Append(meta)
	bb.cols[sInput].Append(d.Input)
	bb.offset.Append(d.InputOffset)
	bb.signature.Append(nil)
	bb.cols[sLangScript].Append("")
	bb.n++
}

// AddPosition records that the batch being built covers p.
func (bb *BatchBuilder) AddPosition(p Position) {
	if n := len(bb.positions); n > 0 && bb.positions[n-1].Input == p.Input && bb.positions[n-1].EndRecord == p.FirstRecord {
		bb.positions[n-1].EndRecord = p.EndRecord
		bb.positions[n-1].EndOffset = p.EndOffset
		return
	}
	bb.positions = append(bb.positions, p)
}

// Len returns the number of rows appended since the last Build.
func (bb *BatchBuilder) Len() int { return bb.n }

// TextBytes returns the text bytes appended since the last Build.
func (bb *BatchBuilder) TextBytes() int { return bb.cols[sText].DataLen() }

// Build returns the rows appended so far as a batch with sequence number seq
// and resets the builder.
func (bb *BatchBuilder) Build(seq uint64) *Batch {
	cols := []arrow.Array{
		bb.cols[sID].NewArray(),
		bb.cols[sText].NewArray(),
		bb.cols[sURL].NewArray(),
		bb.cols[sSource].NewArray(),
		bb.cols[sLang].NewArray(),
		bb.score.NewArray(),
		bb.tokens.NewArray(),
		bb.cols[sMetadata].NewArray(),
		bb.cols[sInput].NewArray(),
		bb.offset.NewArray(),
		bb.signature.NewArray(),
		bb.cols[sLangScript].NewArray(),
	}
	rec := array.NewRecordBatch(DocSchema, cols, int64(bb.n))
	for _, c := range cols {
		c.Release()
	}
	b := &Batch{Seq: seq, Rec: rec, Dropped: make([]string, bb.n), Positions: bb.positions}
	bb.n = 0
	bb.positions = nil
	return b
}

// Slice returns a view of rows [lo, hi) of b, for a sink that must see part
// of a batch before a checkpoint and the rest after it. The view shares b's
// buffers and has no positions; release it with Release. b stays valid.
func (b *Batch) Slice(lo, hi int) *Batch {
	s := &Batch{Seq: b.Seq, Rec: b.Rec.NewSlice(int64(lo), int64(hi)), Dropped: b.Dropped[lo:hi]}
	if b.Details != nil {
		s.Details = b.Details[lo:hi]
	}
	return s
}
