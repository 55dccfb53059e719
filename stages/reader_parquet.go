package stages

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strconv"

	"github.com/parquet-go/parquet-go"

	"github.com/winnow-data/winnow/pipeline"
)

// parquetReader reads Parquet files row by row. It rebuilds each row as a
// Go map, in which groups become objects, lists arrays and binary columns
// strings. It then writes the map as a JSON object and maps it with the
// code that maps a JSON line. So both formats follow the same field paths
// and metadata rules: nested columns such as metadata.url are found by
// path, and unmapped columns go into the metadata.
//
// NOTE: rebuilding rows through reflection and JSON costs more per byte
// than the JSON lines path. The checksum of a Parquet file also takes a
// second, sequential read, because the decoder reads the footer first.
type parquetReader struct {
	reader  *parquet.Reader // nil for a file with no bytes
	mapper  jsonMapper
	events  *inputEvents
	row     map[string]any
	buf     []byte
	members []jsonMember
	records int64
}

func newParquetReader(f io.ReaderAt, size int64, paths columnPaths, events *inputEvents) (r *parquetReader, err error) {
	r = &parquetReader{mapper: jsonMapper{paths: paths}, events: events, row: map[string]any{}}
	if size == 0 {
		return r, nil
	}
	// A damaged footer can make the decoder panic. The file then counts as
	// unreadable instead of stopping the run.
	defer func() {
		if p := recover(); p != nil {
			r, err = nil, fmt.Errorf("opening parquet file: decoder panic: %v", p)
		}
	}()
	file, err := parquet.OpenFile(f, size)
	if err != nil {
		return nil, fmt.Errorf("opening parquet file: %w", err)
	}
	r.reader = parquet.NewReader(file)
	return r, nil
}

func (r *parquetReader) progress() (records, offset int64) { return r.records, r.records }

func (r *parquetReader) read(d *pipeline.Doc) (ok bool, err error) {
	if r.reader == nil {
		return false, nil
	}
	defer func() {
		if p := recover(); p != nil {
			ok, err = false, fmt.Errorf("reading parquet row %d: decoder panic: %v", r.records, p)
		}
	}()
	for {
		clear(r.row)
		err := r.reader.Read(&r.row)
		if errors.Is(err, io.EOF) {
			return false, nil
		}
		if err != nil {
			return false, fmt.Errorf("reading parquet row %d: %w", r.records, err)
		}
		index := r.records
		r.records++
		if r.decode(index, d) {
			return true, nil
		}
	}
}

// decode fills d from the row in r.row and reports whether it holds a
// document.
func (r *parquetReader) decode(index int64, d *pipeline.Doc) bool {
	r.buf = appendJSONValue(r.buf[:0], r.row)
	var err error
	r.members, err = r.mapper.scan.record(r.buf, r.members[:0])
	if err != nil {
		// The encoder above writes valid JSON, so this is a bug in it.
		r.events.add(EventMalformedJSON, "offset", index, fmt.Errorf("encoding parquet row as JSON: %w", err))
		return false
	}
	if !r.mapper.fill(d, r.members) {
		r.events.add(EventMissingText, "offset", index, errMissingText)
		return false
	}
	r.events.repairUTF8(d, "offset", index)
	d.InputOffset = index
	return true
}

// appendJSONValue appends v, a value that parquet-go rebuilt into a Go
// any, to dst as JSON. Map keys come out sorted. Strings pass through
// byte for byte; NaN and infinities, which JSON cannot hold, become the
// strings "NaN", "+Inf" and "-Inf".
func appendJSONValue(dst []byte, v any) []byte {
	switch x := v.(type) {
	case nil:
		return append(dst, "null"...)
	case string:
		return appendJSONString(dst, x)
	case []byte:
		return appendJSONString(dst, string(x))
	case bool:
		return strconv.AppendBool(dst, x)
	case int32:
		return strconv.AppendInt(dst, int64(x), 10)
	case int64:
		return strconv.AppendInt(dst, x, 10)
	case uint32:
		return strconv.AppendUint(dst, uint64(x), 10)
	case uint64:
		return strconv.AppendUint(dst, x, 10)
	case float32:
		return appendJSONFloat(dst, float64(x), 32)
	case float64:
		return appendJSONFloat(dst, x, 64)
	case []any:
		dst = append(dst, '[')
		for i, e := range x {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendJSONValue(dst, e)
		}
		return append(dst, ']')
	case map[string]any:
		dst = append(dst, '{')
		for i, k := range slices.Sorted(maps.Keys(x)) {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendJSONString(dst, k)
			dst = append(dst, ':')
			dst = appendJSONValue(dst, x[k])
		}
		return append(dst, '}')
	}
	// Other types, such as time.Time for timestamp columns, take their
	// encoding/json form, or their printed form if they have none.
	if b, err := json.Marshal(v); err == nil {
		return append(dst, b...)
	}
	return appendJSONString(dst, fmt.Sprint(v))
}

func appendJSONFloat(dst []byte, f float64, bits int) []byte {
	switch {
	case math.IsNaN(f):
		return append(dst, `"NaN"`...)
	case math.IsInf(f, 1):
		return append(dst, `"+Inf"`...)
	case math.IsInf(f, -1):
		return append(dst, `"-Inf"`...)
	}
	return strconv.AppendFloat(dst, f, 'g', -1, bits)
}
