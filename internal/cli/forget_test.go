package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	kzstd "github.com/klauspost/compress/zstd"
	"github.com/parquet-go/parquet-go"

	"github.com/winnow-data/winnow/loader"
	"github.com/winnow-data/winnow/pipeline"
)

// zstdMagic starts every zstd frame; Parquet's ZSTD codec writes one frame
// per page.
var zstdMagic = []byte{0x28, 0xb5, 0x2f, 0xfd}

// filesContaining returns the files under root whose bytes contain
// needle, either as stored or inside any zstd frame they hold, so text in
// compressed Parquet pages is found too.
func filesContaining(t *testing.T, root string, needle []byte) []string {
	t.Helper()
	dec, err := kzstd.NewReader(nil, kzstd.WithDecoderConcurrency(1))
	if err != nil {
		t.Fatal(err)
	}
	defer dec.Close()
	var out []string
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		found := bytes.Contains(data, needle)
		for off := 0; !found; {
			i := bytes.Index(data[off:], zstdMagic)
			if i < 0 {
				break
			}
			off += i
			if err := dec.Reset(bytes.NewReader(data[off:])); err == nil {
				plain, _ := io.ReadAll(dec) // up to the first bytes that are not a frame
				found = bytes.Contains(plain, needle)
			}
			off++
		}
		if found {
			rel, _ := filepath.Rel(root, p)
			out = append(out, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// loaderIDs returns the ids that the loader yields for one epoch of
// version, sorted.
func loaderIDs(t *testing.T, root, version string) []string {
	t.Helper()
	store, err := loader.OpenLocalDir(root)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	l, err := loader.Open(ctx, store, loader.Options{Version: version, BatchSize: 64, Epochs: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var ids []string
	for {
		b, err := l.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range b.Docs {
			ids = append(ids, d.ID)
		}
	}
	slices.Sort(ids)
	return ids
}

// parquetSchema returns the schema of a Parquet file as text.
func parquetSchema(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	pf, err := parquet.OpenFile(f, st.Size())
	if err != nil {
		t.Fatal(err)
	}
	return pf.Schema().String()
}

// snippet returns 60 bytes from the middle of a text, to search for.
func snippet(text string) []byte {
	mid := len(text) / 2
	return []byte(text[mid : mid+60])
}

// TestForgetThreeIDs forgets three documents from a root of three
// versions and checks that no reader finds them, then purges them and
// checks that no file holds their text.
func TestForgetThreeIDs(t *testing.T) {
	root := t.TempDir()
	v1 := mustRun(t, "-o", root, "--rejects", "-m", "demo sample", samplePath).Version
	v2 := mustRun(t, "-o", root, "--rejects", "--append", "-m", "add c4 sample", c4ExcerptPath).Version
	stricter := writeFile(t, "stricter.yaml", "stages: [normalize, langid, {gopher_quality: {min_words: 100}}, pii, exact_dedup]\n")
	v3 := mustRun(t, "-c", stricter, "-o", root, "--rejects", "-m", "min_words 100", samplePath).Version
	versions := []string{v1, v2, v3}

	// Three documents without PII tags: one kept by every version, one
	// kept by v1 and v2 but dropped by v3 (so v3's rejects hold its text),
	// and one C4 document of v2.
	m1, m2, m3 := readManifest(t, root, v1), readManifest(t, root, v2), readManifest(t, root, v3)
	ids3 := versionIDs(t, root, m3)
	texts := map[string]string{}
	var everywhere, droppedLater, c4 string
	for _, d := range keptDocs(t, root, m1) {
		if strings.Contains(d.Text, "|||") || len(d.Text) < 200 {
			continue
		}
		_, inV3 := slices.BinarySearch(ids3, d.ID)
		switch {
		case inV3 && everywhere == "":
			everywhere = d.ID
		case !inV3 && droppedLater == "":
			droppedLater = d.ID
		default:
			continue
		}
		texts[d.ID] = d.Text
	}
	for _, d := range keptDocs(t, root, m2) {
		if strings.HasPrefix(d.ID, "c4-sample-excerpt") && !strings.Contains(d.Text, "|||") && len(d.Text) > 200 {
			c4, texts[d.ID] = d.ID, d.Text
			break
		}
	}
	forgotten := []string{everywhere, droppedLater, c4}
	if slices.Contains(forgotten, "") {
		t.Fatalf("no document for every role: %q", forgotten)
	}
	for _, id := range forgotten {
		if files := filesContaining(t, root, snippet(texts[id])); len(files) == 0 {
			t.Fatalf("the byte search does not find the text of %s before forget, so it proves nothing", id)
		}
	}
	before := map[string][]string{}
	totalsBefore := map[string]int64{}
	for _, v := range versions {
		m := readManifest(t, root, v)
		before[v] = versionIDs(t, root, m)
		totalsBefore[v] = m.Totals.Docs
	}

	idsFile := writeFile(t, "ids.txt", "# erasure request 118\n"+c4+"\n\n")
	out := mustCLI(t, 0, "forget", root, "--id", everywhere, "--id", droppedLater, "--ids-file", idsFile, "-m", "erasure request 118")
	if !strings.Contains(out, "forget again with --purge") {
		t.Errorf("forget without --purge does not say the bytes stay:\n%s", out)
	}

	checkForgotten := func(t *testing.T) {
		for _, v := range versions {
			m := readManifest(t, root, v)
			var want []string
			for _, id := range before[v] {
				if !slices.Contains(forgotten, id) {
					want = append(want, id)
				}
			}
			removed := int64(len(before[v]) - len(want))
			if got := versionIDs(t, root, m); !slices.Equal(got, want) {
				t.Errorf("version %s through DuckDB minus deletions: %d ids, want %d", v, len(got), len(want))
			}
			if got := loaderIDs(t, root, v); !slices.Equal(got, want) {
				t.Errorf("version %s through the loader: %d ids, want %d", v, len(got), len(want))
			}
			for _, d := range keptDocs(t, root, m) {
				if slices.Contains(forgotten, d.ID) {
					t.Errorf("version %s: winnow's reader still returns %s", v, d.ID)
				}
			}
			show := mustCLI(t, 0, "show", "--json", root, v)
			var shown pipeline.Manifest
			if err := json.Unmarshal([]byte(show), &shown); err != nil {
				t.Fatal(err)
			}
			if shown.Totals.Docs != totalsBefore[v]-removed {
				t.Errorf("show %s: %d docs, want %d - %d", v, shown.Totals.Docs, totalsBefore[v], removed)
			}
			for _, id := range forgotten {
				if strings.Contains(show, id) {
					t.Errorf("show --json %s names forgotten id %s", v, id)
				}
			}
			// The loader honours Manifest.Deletions: the forgotten rows
			// must be ordinary deletion entries there.
			n := 0
			for _, d := range m.Deletions {
				if d.Reason == pipeline.ReasonForgotten {
					n += len(d.Rows)
				}
			}
			if int64(n) != removed {
				t.Errorf("version %s lists %d forgotten rows in its deletions, want %d", v, n, removed)
			}
		}
	}
	t.Run("without purge", checkForgotten)

	l := lineageJSON(t, root, everywhere)
	if len(l.Forgotten) != 1 || l.Versions[0].Status != "deleted" || l.Versions[0].Reason != pipeline.ReasonForgotten {
		t.Errorf("lineage of a forgotten document: forgotten %+v, versions %+v", l.Forgotten, l.Versions)
	}

	oldSchema := parquetSchema(t, filepath.Join(root, filepath.FromSlash(m1.Shards[0].Path)))
	rejectRows := m3.Rejects[0].Rows
	out = mustCLI(t, 0, "forget", "--purge", root, "--id", everywhere, "--id", droppedLater, "--id", c4, "-m", "erasure request 118")
	if !strings.Contains(out, "purged: ") {
		t.Errorf("forget --purge output:\n%s", out)
	}
	t.Run("after purge", checkForgotten)

	for _, id := range forgotten {
		if files := filesContaining(t, root, snippet(texts[id])); len(files) > 0 {
			t.Errorf("text of %s is still in %v after --purge", id, files)
		}
		if files := filesContaining(t, root, []byte(id)); len(files) > 0 {
			t.Errorf("id %s is still in %v after --purge", id, files)
		}
	}
	for _, v := range versions {
		mustCLI(t, 0, "show", "--verify", root, v)
	}
	m1, m3 = readManifest(t, root, v1), readManifest(t, root, v3)
	if got := parquetSchema(t, filepath.Join(root, filepath.FromSlash(m1.Shards[0].Path))); got != oldSchema {
		t.Errorf("purged shard schema differs from the sink's:\n%s\nwant:\n%s", got, oldSchema)
	}
	if m3.Rejects[0].Rows != rejectRows-1 {
		t.Errorf("v3 rejects file has %d rows after purge, want %d", m3.Rejects[0].Rows, rejectRows-1)
	}
}
