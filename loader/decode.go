package loader

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"unsafe"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/encoding"

	"github.com/winnow-data/winnow/pipeline"
)

// shardDocs is the decoded columns of one shard, indexed by row. Columns
// the decoder was not asked for are nil.
type shardDocs struct {
	ids, texts, urls, sources, langs []string
	tokenCounts                      []int32
	size                             int64 // bytes held: string data plus slice entries
}

// columns is a set of shard columns to decode.
type columns uint8

const (
	colID columns = 1 << iota
	colText
	colURL
	colSource
	colLang
	colTokenCount
)

// docColumns are the columns a batch carries; indexColumns are those that
// mixing reads from every shard when the loader opens.
const (
	docColumns   = colID | colText | colURL | colSource | colLang | colTokenCount
	indexColumns = colLang | colTokenCount
)

// columnNames maps each column of a set to its name in the shard schema.
var columnNames = []struct {
	col  columns
	name string
}{
	{colID, pipeline.ColID},
	{colText, pipeline.ColText},
	{colURL, pipeline.ColURL},
	{colSource, pipeline.ColSource},
	{colLang, pipeline.ColLang},
	{colTokenCount, pipeline.ColTokenCount},
}

// decodeShard decodes the columns want of the Parquet file in data, which
// must hold rows rows. It reads column chunks page by page and keeps each
// page's strings as substrings of one copy of the page's values, which is
// several times faster than decoding rows into structs. The id and text
// columns are required, the others read as empty when the shard lacks
// them, and nulls read as "" or 0.
func decodeShard(data []byte, rows int64, want columns) (*shardDocs, error) {
	f, err := parquet.OpenFile(bytes.NewReader(data), int64(len(data)), parquet.SkipPageIndex(true), parquet.SkipBloomFilters(true))
	if err != nil {
		return nil, fmt.Errorf("opening Parquet file: %w", err)
	}
	if f.NumRows() != rows {
		return nil, fmt.Errorf("file has %d rows, the manifest records %d", f.NumRows(), rows)
	}
	d := &shardDocs{}
	for _, c := range columnNames {
		if want&c.col == 0 {
			continue
		}
		col := f.Root().Column(c.name)
		if col == nil || !col.Leaf() || col.MaxRepetitionLevel() > 0 {
			if c.col&(colID|colText) != 0 {
				return nil, fmt.Errorf("file has no %s column of strings", c.name)
			}
			d.setEmpty(c.col, int(rows))
			continue
		}
		if err := d.decodeColumn(f, col, c.col, int(rows)); err != nil {
			return nil, fmt.Errorf("decoding column %s: %w", c.name, err)
		}
	}
	return d, nil
}

// setEmpty fills column c with zero values.
func (d *shardDocs) setEmpty(c columns, rows int) {
	if c == colTokenCount {
		d.tokenCounts = make([]int32, rows)
		d.size += int64(4 * rows)
		return
	}
	*d.strings(c) = make([]string, rows)
	d.size += int64(rows) * int64(unsafe.Sizeof(""))
}

func (d *shardDocs) strings(c columns) *[]string {
	switch c {
	case colID:
		return &d.ids
	case colText:
		return &d.texts
	case colURL:
		return &d.urls
	case colSource:
		return &d.sources
	}
	return &d.langs
}

// decodeColumn decodes every page of column col, across row groups.
func (d *shardDocs) decodeColumn(f *parquet.File, col *parquet.Column, c columns, rows int) error {
	kind := col.Type().Kind()
	isInt := c == colTokenCount
	if isInt && kind != parquet.Int32 && kind != parquet.Int64 {
		return fmt.Errorf("type is %s, want an integer", col.Type())
	}
	if !isInt && kind != parquet.ByteArray {
		return fmt.Errorf("type is %s, want strings", col.Type())
	}

	var strs []string
	var ints []int32
	if isInt {
		ints = make([]int32, 0, rows)
	} else {
		strs = make([]string, 0, rows)
	}
	pd := &pageDecoder{maxDef: byte(col.MaxDefinitionLevel())}
	for _, rg := range f.RowGroups() {
		pages := rg.ColumnChunks()[col.Index()].Pages()
		err := eachPage(pages, func(p parquet.Page) error {
			var err error
			if isInt {
				ints, err = pd.appendInts(ints, p)
			} else {
				strs, err = pd.appendStrings(strs, p)
			}
			return err
		})
		pages.Close()
		if err != nil {
			return err
		}
	}

	n := len(strs)
	if isInt {
		n = len(ints)
	}
	if n != rows {
		return fmt.Errorf("column has %d values, the file %d rows", n, rows)
	}
	if isInt {
		d.tokenCounts = ints
		d.size += int64(4 * rows)
		return nil
	}
	*d.strings(c) = strs
	d.size += int64(rows) * int64(unsafe.Sizeof(""))
	for _, s := range strs {
		d.size += int64(len(s))
	}
	return nil
}

// eachPage calls fn with every page of pages, releasing each page's
// buffers after fn returns.
func eachPage(pages parquet.Pages, fn func(parquet.Page) error) error {
	for {
		p, err := pages.ReadPage()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		err = fn(p)
		parquet.Release(p)
		if err != nil {
			return err
		}
	}
}

// pageDecoder turns pages of one column into values. It keeps the
// strings of the last dictionary it converted, because every page of a
// column chunk shares one dictionary.
type pageDecoder struct {
	dict     parquet.Dictionary
	dictStrs []string
	dictInts []int32
	maxDef   byte
}

// appendStrings appends the values of a page of strings to dst. The
// strings of a plain page share one copy of its data, and those of a
// dictionary page share one copy of the dictionary.
func (pd *pageDecoder) appendStrings(dst []string, p parquet.Page) ([]string, error) {
	data := p.Data()
	var values []string
	if dict := p.Dictionary(); dict != nil {
		if dict != pd.dict {
			dictData := dict.Page().Data()
			if dictData.Kind() != encoding.ByteArray {
				return dst, fmt.Errorf("dictionary has %s values, expected byte arrays", dictData.Kind())
			}
			pd.dict, pd.dictStrs = dict, splitByteArray(dictData.ByteArray())
		}
		if data.Kind() != encoding.Int32 {
			return dst, fmt.Errorf("dictionary page has %s indexes, expected int32", data.Kind())
		}
		indexes := data.Int32()
		values = make([]string, len(indexes))
		for k, i := range indexes {
			if i < 0 || int(i) >= len(pd.dictStrs) {
				return dst, fmt.Errorf("dictionary index %d out of range 0 to %d", i, len(pd.dictStrs)-1)
			}
			values[k] = pd.dictStrs[i]
		}
	} else {
		if data.Kind() != encoding.ByteArray {
			return dst, fmt.Errorf("page has %s values, expected byte arrays", data.Kind())
		}
		values = splitByteArray(data.ByteArray())
	}
	return appendDefined(dst, values, pd.levels(p), pd.maxDef), nil
}

// appendInts appends the values of a page of integers to dst, with values
// past the int32 range clamped to it.
func (pd *pageDecoder) appendInts(dst []int32, p parquet.Page) ([]int32, error) {
	data := p.Data()
	var values []int32
	if dict := p.Dictionary(); dict != nil {
		if dict != pd.dict {
			ints, err := toInt32s(dict.Page().Data())
			if err != nil {
				return dst, fmt.Errorf("dictionary: %w", err)
			}
			pd.dict, pd.dictInts = dict, ints
		}
		if data.Kind() != encoding.Int32 {
			return dst, fmt.Errorf("dictionary page has %s indexes, expected int32", data.Kind())
		}
		indexes := data.Int32()
		values = make([]int32, len(indexes))
		for k, i := range indexes {
			if i < 0 || int(i) >= len(pd.dictInts) {
				return dst, fmt.Errorf("dictionary index %d out of range 0 to %d", i, len(pd.dictInts)-1)
			}
			values[k] = pd.dictInts[i]
		}
	} else {
		var err error
		if values, err = toInt32s(data); err != nil {
			return dst, err
		}
	}
	return appendDefined(dst, values, pd.levels(p), pd.maxDef), nil
}

// levels returns the page's definition levels when the column is
// optional, else nil.
func (pd *pageDecoder) levels(p parquet.Page) []byte {
	if pd.maxDef == 0 {
		return nil
	}
	return p.DefinitionLevels()
}

// toInt32s returns the int32 or int64 values of data as int32s.
func toInt32s(data encoding.Values) ([]int32, error) {
	switch data.Kind() {
	case encoding.Int32:
		return data.Int32(), nil
	case encoding.Int64:
		wide := data.Int64()
		out := make([]int32, len(wide))
		for i, v := range wide {
			out[i] = int32(max(min(v, math.MaxInt32), math.MinInt32))
		}
		return out, nil
	}
	return nil, fmt.Errorf("page has %s values, expected integers", data.Kind())
}

// appendDefined appends values to dst. With definition levels, as an
// optional column has, a value is present where the level is maxDef and
// the zero value is appended for the nulls elsewhere.
func appendDefined[T any](dst, values []T, defs []byte, maxDef byte) []T {
	if defs == nil {
		return append(dst, values...)
	}
	var zero T
	next := 0
	for _, level := range defs {
		if level == maxDef && next < len(values) {
			dst = append(dst, values[next])
			next++
		} else {
			dst = append(dst, zero)
		}
	}
	return dst
}

// splitByteArray returns the values of a byte array page as substrings of
// one string copied from data, since the page's buffers are reused once
// it is released.
func splitByteArray(data []byte, offsets []uint32) []string {
	if len(offsets) == 0 {
		return nil
	}
	all := string(data)
	out := make([]string, len(offsets)-1)
	for i := range out {
		out[i] = all[offsets[i]:offsets[i+1]]
	}
	return out
}
