package cli

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"slices"

	kzstd "github.com/klauspost/compress/zstd"
	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress/zstd"
	"github.com/parquet-go/parquet-go/format"

	"github.com/winnow-data/winnow/pipeline"
	"github.com/winnow-data/winnow/stages"
)

// createdByWinnow sets the file's created_by to "winnow", as the sink
// does, so a file's bytes depend on its rows alone.
type createdByWinnow struct{}

func (createdByWinnow) ConfigureWriter(c *parquet.WriterConfig) { c.CreatedBy = "winnow" }

// purgeWriterOptions are the sink's writer options for rows of type row,
// whose long text columns get no page bounds or statistics.
func purgeWriterOptions(row any, level int, longColumns ...string) []parquet.WriterOption {
	opts := []parquet.WriterOption{
		parquet.NewSchema("schema", parquet.SchemaOf(row)),
		parquet.Compression(&zstd.Codec{Level: kzstd.EncoderLevelFromZstd(level)}),
		createdByWinnow{},
		parquet.DataPageVersion(1),
	}
	for _, c := range longColumns {
		opts = append(opts, parquet.SkipPageBounds(c), parquet.SkipPageStatistics(c))
	}
	return opts
}

// purgeShard rewrites the shard sh with every column of the rows in
// forgotten emptied, and returns the new file's record. Rows keep their
// numbers and row groups keep their sizes, so every deletion list of every
// version stays valid. The rows are copied in a struct type built from the
// shard's own columns, so the new file has the same schema and encodings
// whatever columns the winnow build that wrote it had.
func purgeShard(ctx context.Context, root string, sh pipeline.ShardRecord, forgotten []int64, level int) (pipeline.ShardRecord, error) {
	rec, err := rewriteShard(ctx, root, sh, forgotten, level)
	if err != nil {
		return pipeline.ShardRecord{}, fmt.Errorf("purging shard %s: %w", sh.Path, err)
	}
	return rec, nil
}

func rewriteShard(ctx context.Context, root string, sh pipeline.ShardRecord, forgotten []int64, level int) (pipeline.ShardRecord, error) {
	in, err := os.Open(shardFile(root, sh.Path))
	if err != nil {
		return pipeline.ShardRecord{}, err
	}
	defer in.Close()
	st, err := in.Stat()
	if err != nil {
		return pipeline.ShardRecord{}, err
	}
	pf, err := parquet.OpenFile(in, st.Size())
	if err != nil {
		return pipeline.ShardRecord{}, err
	}
	rowType, err := rowTypeOf(pf)
	if err != nil {
		return pipeline.ShardRecord{}, err
	}
	var groups []int64
	for _, rg := range pf.RowGroups() {
		groups = append(groups, rg.NumRows())
	}

	out, err := newSealedFile(root, pipeline.ShardsDir)
	if err != nil {
		return pipeline.ShardRecord{}, err
	}
	defer out.abort()
	row := reflect.New(rowType)
	w := parquet.NewWriter(out, purgeWriterOptions(row.Elem().Interface(), level, pipeline.ColText, pipeline.ColMetadata)...)
	r := parquet.NewReader(in)
	defer r.Close()
	group, inGroup := 0, int64(0)
	for n := int64(0); ; n++ {
		if n%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return pipeline.ShardRecord{}, err
			}
		}
		row.Elem().SetZero()
		err := r.Read(row.Interface())
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return pipeline.ShardRecord{}, fmt.Errorf("reading row %d: %w", n, err)
		}
		if _, found := slices.BinarySearch(forgotten, n); found {
			row.Elem().SetZero()
		}
		if err := w.Write(row.Interface()); err != nil {
			return pipeline.ShardRecord{}, err
		}
		if inGroup++; group < len(groups) && inGroup == groups[group] {
			group, inGroup = group+1, 0
			if err := w.Flush(); err != nil {
				return pipeline.ShardRecord{}, err
			}
		}
	}
	if err := w.Close(); err != nil {
		return pipeline.ShardRecord{}, err
	}
	rec, err := out.seal(root, pipeline.ShardsDir)
	if err != nil {
		return pipeline.ShardRecord{}, err
	}
	rec.Rows, rec.RowGroups = sh.Rows, len(groups)
	return rec, nil
}

// rowTypeOf returns a struct type with one field per column of pf, in
// order, whose parquet tags give the column's name, optionality and
// encoding, so that parquet.SchemaOf of it is pf's schema. It supports the
// flat columns of shards: strings, byte arrays and numbers.
func rowTypeOf(pf *parquet.File) (reflect.Type, error) {
	var fields []reflect.StructField
	for i, col := range pf.Schema().Fields() {
		if !col.Leaf() || col.Repeated() {
			return nil, fmt.Errorf("column %s is nested or repeated, which shards never are", col.Name())
		}
		var typ reflect.Type
		switch col.Type().Kind() {
		case parquet.ByteArray:
			typ = reflect.TypeFor[[]byte]()
			if lt := col.Type().LogicalType(); lt != nil {
				if _, ok := lt.Value.(*format.StringType); ok {
					typ = reflect.TypeFor[string]()
				}
			}
		case parquet.Boolean:
			typ = reflect.TypeFor[bool]()
		case parquet.Int32:
			typ = reflect.TypeFor[int32]()
		case parquet.Int64:
			typ = reflect.TypeFor[int64]()
		case parquet.Float:
			typ = reflect.TypeFor[float32]()
		case parquet.Double:
			typ = reflect.TypeFor[float64]()
		default:
			return nil, fmt.Errorf("column %s has type %s, which shards never have", col.Name(), col.Type())
		}
		tag := col.Name()
		switch {
		case dictionaryEncoded(pf, i):
			tag += ",dict"
		case col.Type().Kind() == parquet.ByteArray:
			tag += ",plain"
		}
		if col.Optional() {
			typ = reflect.PointerTo(typ)
			tag += ",optional"
		}
		fields = append(fields, reflect.StructField{Name: fmt.Sprintf("Column%d", i), Type: typ, Tag: reflect.StructTag(`parquet:"` + tag + `"`)})
	}
	return reflect.StructOf(fields), nil
}

// dictionaryEncoded reports whether column i of pf's first row group is
// dictionary-encoded.
func dictionaryEncoded(pf *parquet.File, i int) bool {
	groups := pf.Metadata().RowGroups
	if len(groups) == 0 || i >= len(groups[0].Columns) {
		return false
	}
	for _, e := range groups[0].Columns[i].MetaData.Encoding {
		if e == format.PlainDictionary || e == format.RLEDictionary {
			return true
		}
	}
	return false
}

// purgeRejects rewrites a rejects file without the rows that sel matches.
func purgeRejects(ctx context.Context, root string, f pipeline.ShardRecord, sel *forgetSelection, level int) (pipeline.ShardRecord, error) {
	out, err := newSealedFile(root, stages.RejectsDir)
	if err != nil {
		return pipeline.ShardRecord{}, fmt.Errorf("purging rejects file %s: %w", f.Path, err)
	}
	defer out.abort()
	w := parquet.NewGenericWriter[stages.RejectRow](out, purgeWriterOptions(stages.RejectRow{}, level, "text", "detail")...)
	kept := int64(0)
	buf := make([]stages.RejectRow, 1)
	err = stages.ReadParquetRows(ctx, shardFile(root, f.Path), func(_ int64, r *stages.RejectRow) error {
		if sel.matches(r.ID, r.URL) {
			return nil
		}
		buf[0] = *r
		kept++
		_, err := w.Write(buf)
		return err
	})
	if err == nil {
		err = w.Close()
	}
	if err != nil {
		return pipeline.ShardRecord{}, fmt.Errorf("purging rejects file %s: %w", f.Path, err)
	}
	rec, err := out.seal(root, stages.RejectsDir)
	if err != nil {
		return pipeline.ShardRecord{}, fmt.Errorf("purging rejects file %s: %w", f.Path, err)
	}
	rec.Rows, rec.RowGroups = kept, 1
	return rec, nil
}

// sealedFile is a file being written under a temporary name, hashed on
// the way, and renamed to its content address when complete, as the sink
// names its shards.
type sealedFile struct {
	f *os.File
	h hash.Hash
	n int64
}

func newSealedFile(root, dir string) (*sealedFile, error) {
	f, err := os.CreateTemp(filepath.Join(root, filepath.FromSlash(dir)), ".tmp-*.parquet")
	if err != nil {
		return nil, err
	}
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, err
	}
	return &sealedFile{f: f, h: sha256.New()}, nil
}

func (s *sealedFile) Write(p []byte) (int, error) {
	n, err := s.f.Write(p)
	s.h.Write(p[:n])
	s.n += int64(n)
	if err == nil && n < len(p) {
		err = io.ErrShortWrite
	}
	return n, err
}

// seal syncs the file and renames it to dir/<first 32 hex digits of its
// SHA-256>.parquet, the sink's naming.
func (s *sealedFile) seal(root, dir string) (pipeline.ShardRecord, error) {
	if err := s.f.Sync(); err != nil {
		return pipeline.ShardRecord{}, err
	}
	if err := s.f.Close(); err != nil {
		return pipeline.ShardRecord{}, err
	}
	sum := hex.EncodeToString(s.h.Sum(nil))
	rel := path.Join(dir, sum[:32]+".parquet")
	if err := os.Rename(s.f.Name(), filepath.Join(root, filepath.FromSlash(rel))); err != nil {
		return pipeline.ShardRecord{}, err
	}
	if err := pipeline.SyncDir(filepath.Join(root, filepath.FromSlash(dir))); err != nil {
		return pipeline.ShardRecord{}, err
	}
	s.f = nil
	return pipeline.ShardRecord{Path: rel, Bytes: s.n, SHA256: sum}, nil
}

// abort removes the temporary file unless seal renamed it.
func (s *sealedFile) abort() {
	if s.f != nil {
		s.f.Close()
		os.Remove(s.f.Name())
	}
}
