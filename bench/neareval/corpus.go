package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/parquet-go/parquet-go"
)

// corpus is the documents of a JSON lines file, in file order.
type corpus struct {
	ids   []string
	texts []string
	index map[string]int32 // position of each id
}

// openMaybeGzip opens path, decompressing it when its name ends in .gz.
func openMaybeGzip(path string) (io.ReadCloser, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	if !strings.HasSuffix(path, ".gz") {
		return f, nil
	}
	zr, err := gzip.NewReader(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	return struct {
		io.Reader
		io.Closer
	}{zr, f}, nil
}

// readCorpus reads a JSON lines file (gzip-compressed when named *.gz) of
// {"id": ..., "text": ...} objects. Other fields are ignored. Ids must be
// present and unique, because the evaluation matches documents by id.
func readCorpus(path string) (*corpus, error) {
	rc, err := openMaybeGzip(path)
	if err != nil {
		return nil, fmt.Errorf("opening corpus: %w", err)
	}
	defer rc.Close()

	c := &corpus{index: map[string]int32{}}
	r := bufio.NewReaderSize(rc, 1<<20)
	for line := 1; ; line++ {
		raw, err := r.ReadBytes('\n')
		if len(bytes.TrimSpace(raw)) > 0 {
			var rec struct {
				ID   *string `json:"id"`
				Text string  `json:"text"`
			}
			if jerr := json.Unmarshal(raw, &rec); jerr != nil {
				return nil, fmt.Errorf("%s:%d: invalid JSON: %w", path, line, jerr)
			}
			if rec.ID == nil {
				return nil, fmt.Errorf("%s:%d: missing id field", path, line)
			}
			if _, dup := c.index[*rec.ID]; dup {
				return nil, fmt.Errorf("%s:%d: duplicate id %q", path, line, *rec.ID)
			}
			c.index[*rec.ID] = int32(len(c.ids))
			c.ids = append(c.ids, *rec.ID)
			c.texts = append(c.texts, rec.Text)
		}
		if errors.Is(err, io.EOF) {
			return c, nil
		}
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", path, err)
		}
	}
}

// dataset is the kept ids and stage drops of a winnow dataset's latest
// version.
type dataset struct {
	version string
	ids     []string         // ids of the kept documents, in shard order
	drops   map[string]int64 // documents dropped by each stage, from the manifest
}

// readDataset reads the latest version of the winnow dataset at root: the
// version named by refs/latest, whose manifest versions/<id>.json lists
// the Parquet shards and the drops of each stage.
func readDataset(root string) (*dataset, error) {
	ref, err := os.ReadFile(filepath.Join(root, "refs", "latest"))
	if err != nil {
		return nil, fmt.Errorf("reading latest version of dataset %s: %w", root, err)
	}
	ds := &dataset{version: strings.TrimSpace(string(ref)), drops: map[string]int64{}}
	raw, err := os.ReadFile(filepath.Join(root, "versions", ds.version+".json"))
	if err != nil {
		return nil, fmt.Errorf("reading manifest of version %s: %w", ds.version, err)
	}
	var manifest struct {
		Shards []struct {
			Path string `json:"path"`
			Rows int64  `json:"rows"`
		} `json:"shards"`
		Stages []struct {
			Name    string           `json:"name"`
			Dropped map[string]int64 `json:"dropped"`
		} `json:"stages"`
	}
	if err := json.Unmarshal(raw, &manifest); err != nil {
		return nil, fmt.Errorf("decoding manifest of version %s: %w", ds.version, err)
	}
	for _, st := range manifest.Stages {
		for _, n := range st.Dropped {
			ds.drops[st.Name] += n
		}
	}
	for _, shard := range manifest.Shards {
		before := len(ds.ids)
		ds.ids, err = appendShardIDs(ds.ids, filepath.Join(root, filepath.FromSlash(shard.Path)))
		if err != nil {
			return nil, err
		}
		if got := int64(len(ds.ids) - before); got != shard.Rows {
			return nil, fmt.Errorf("shard %s: read %d ids, manifest lists %d rows", shard.Path, got, shard.Rows)
		}
	}
	return ds, nil
}

// appendShardIDs appends the values of the id column of one Parquet shard,
// reading that column's pages only.
func appendShardIDs(dst []string, path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	file, err := parquet.OpenFile(f, st.Size())
	if err != nil {
		return nil, fmt.Errorf("opening shard %s: %w", path, err)
	}
	leaf, ok := file.Schema().Lookup("id")
	if !ok {
		return nil, fmt.Errorf("shard %s has no id column", path)
	}

	values := make([]parquet.Value, 1024)
	for _, rg := range file.RowGroups() {
		pages := rg.ColumnChunks()[leaf.ColumnIndex].Pages()
		for {
			page, err := pages.ReadPage()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				pages.Close()
				return nil, fmt.Errorf("reading id column of shard %s: %w", path, err)
			}
			dst, err = appendPageStrings(dst, page, values)
			parquet.Release(page)
			if err != nil {
				pages.Close()
				return nil, fmt.Errorf("reading id column of shard %s: %w", path, err)
			}
		}
		pages.Close()
	}
	return dst, nil
}

func appendPageStrings(dst []string, page parquet.Page, buf []parquet.Value) ([]string, error) {
	r := page.Values()
	for {
		n, err := r.ReadValues(buf)
		for _, v := range buf[:n] {
			dst = append(dst, string(v.ByteArray()))
		}
		if errors.Is(err, io.EOF) {
			return dst, nil
		}
		if err != nil {
			return dst, err
		}
	}
}
