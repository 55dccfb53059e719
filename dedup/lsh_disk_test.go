package dedup

import (
	"math/rand/v2"
	"os"
	"slices"
	"testing"
)

func newTestDiskLSHIndex(t testing.TB, bands, memoryBytes int) *DiskLSHIndex {
	t.Helper()
	x, err := NewDiskLSHIndex(t.TempDir(), bands, memoryBytes)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := x.Close(); err != nil {
			t.Error(err)
		}
	})
	return x
}

// TestDiskLSHMatchesInMemory runs the same inserts and queries on a disk
// index and an LSHIndex. The disk index has the smallest buffer, 48
// documents, so it writes many runs and merges them often. Band 0 often
// takes one hot key, whose entries then cross block boundaries.
func TestDiskLSHMatchesInMemory(t *testing.T) {
	const bands = 4
	const docs = 12000
	rng := rand.New(rand.NewPCG(7, 8))
	pool := make([]uint64, 3000)
	for i := range pool {
		pool[i] = rng.Uint64()
	}
	disk := newTestDiskLSHIndex(t, bands, 1)
	mem := newTestLSHIndex(t, bands)

	keys := make([]uint64, bands)
	var got, want []uint32
	maxRunCount := 0
	for i := range docs {
		doc := uint32(i)
		for b := range keys {
			keys[b] = pool[rng.IntN(len(pool))]
		}
		if rng.IntN(8) == 0 {
			keys[0] = pool[0]
		}
		query := keys
		if rng.IntN(50) == 0 {
			query = nil
		}

		var err error
		if got, err = disk.AppendCandidates(got[:0], doc, query); err != nil {
			t.Fatal(err)
		}
		if want, err = mem.AppendCandidates(want[:0], doc, query); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("doc %d: disk candidates %v, in-memory %v", doc, got, want)
		}
		if err := disk.Insert(doc, query); err != nil {
			t.Fatal(err)
		}
		if err := mem.Insert(doc, query); err != nil {
			t.Fatal(err)
		}
		maxRunCount = max(maxRunCount, len(disk.runs))
	}

	// Query again with inserted documents' own numbers: each is left out.
	for range 200 {
		doc := uint32(rng.IntN(docs))
		for b := range keys {
			keys[b] = pool[rng.IntN(len(pool))]
		}
		got, _ = disk.AppendCandidates(got[:0], doc, keys)
		want, _ = mem.AppendCandidates(want[:0], doc, keys)
		if !slices.Equal(got, want) {
			t.Fatalf("requery of doc %d: disk candidates %v, in-memory %v", doc, got, want)
		}
		if slices.Contains(got, doc) {
			t.Fatalf("requery of doc %d returned the doc itself", doc)
		}
		if !isStrictlyAscending(got) {
			t.Fatalf("requery of doc %d: candidates %v not ascending and unique", doc, got)
		}
	}

	if disk.Len() != mem.Len() {
		t.Errorf("Len = %d, in-memory Len = %d", disk.Len(), mem.Len())
	}
	if maxRunCount > maxRuns {
		t.Errorf("index held %d runs, want at most %d", maxRunCount, maxRuns)
	}
	if disk.nextRun < 10*maxRuns {
		t.Errorf("index wrote %d run files, want enough to merge often", disk.nextRun)
	}
}

func isStrictlyAscending(s []uint32) bool {
	for i := 1; i < len(s); i++ {
		if s[i-1] >= s[i] {
			return false
		}
	}
	return true
}

// TestDiskLSHHotKey inserts more documents with one key than a block
// holds, so the key's entries in each run span several blocks.
func TestDiskLSHHotKey(t *testing.T) {
	const docs = 3 * runBlockEntries
	x := newTestDiskLSHIndex(t, 2, 1<<14)
	keys := []uint64{42 << 32, 0}
	for doc := range uint32(docs) {
		keys[1] = uint64(doc) << 32
		if err := x.Insert(doc, keys); err != nil {
			t.Fatal(err)
		}
	}
	if n := x.runs[0].entries(); n/2 <= runBlockEntries {
		t.Fatalf("oldest run contains %d entries, too few for the hot key's %d to span blocks", n, n/2)
	}
	got, err := x.AppendCandidates(nil, docs, []uint64{42 << 32, 7})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != docs || got[0] != 0 || got[docs-1] != docs-1 {
		t.Errorf("hot key: %d candidates from %d to %d, want all %d", len(got), got[0], got[len(got)-1], docs)
	}
}

func TestDiskLSHCloseRemovesFiles(t *testing.T) {
	dir := t.TempDir()
	x, err := NewDiskLSHIndex(dir, 3, 1)
	if err != nil {
		t.Fatal(err)
	}
	keys := make([]uint64, 3)
	for doc := range uint32(500) {
		keys[0], keys[1], keys[2] = uint64(doc), uint64(doc)<<32, uint64(doc)<<33
		if err := x.Insert(doc, keys); err != nil {
			t.Fatal(err)
		}
	}
	files, err := os.ReadDir(x.dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != len(x.runs) || len(files) == 0 {
		t.Errorf("index directory has %d files for %d runs", len(files), len(x.runs))
	}

	if err := x.Close(); err != nil {
		t.Fatal(err)
	}
	if left, err := os.ReadDir(dir); err != nil || len(left) != 0 {
		t.Errorf("after Close, %s holds %d entries (err %v), want none", dir, len(left), err)
	}
	if err := x.Insert(1, keys); err == nil {
		t.Error("Insert after Close returned no error")
	}
	if _, err := x.AppendCandidates(nil, 1, keys); err == nil {
		t.Error("AppendCandidates after Close returned no error")
	}
	if err := x.Close(); err != nil {
		t.Errorf("second Close returned %v", err)
	}
}

func TestDiskLSHRejectsBadInput(t *testing.T) {
	x := newTestDiskLSHIndex(t, 4, 1<<16)
	if err := x.Insert(1, make([]uint64, 3)); err == nil {
		t.Error("Insert with 3 keys for 4 bands returned no error")
	}
	if _, err := x.AppendCandidates(nil, 1, make([]uint64, 5)); err == nil {
		t.Error("AppendCandidates with 5 keys for 4 bands returned no error")
	}
	if err := x.Insert(1<<32-1, make([]uint64, 4)); err != ErrReservedDoc {
		t.Errorf("Insert of doc 2^32-1 returned %v, want ErrReservedDoc", err)
	}
	if _, err := NewDiskLSHIndex(t.TempDir(), 0, 1<<16); err == nil {
		t.Error("NewDiskLSHIndex with 0 bands returned no error")
	}
	if _, err := NewDiskLSHIndex(t.TempDir(), 4, 0); err == nil {
		t.Error("NewDiskLSHIndex with 0 memory bytes returned no error")
	}
	if _, err := NewDiskLSHIndex(t.TempDir()+"/missing", 4, 1<<16); err == nil {
		t.Error("NewDiskLSHIndex in a missing directory returned no error")
	}
}

func TestMergeStart(t *testing.T) {
	for _, tc := range []struct {
		sizes []int64
		want  int
	}{
		{[]int64{1, 1, 1, 1, 1, 1, 1, 1, 1}, 0},
		{[]int64{9, 1, 1, 1, 1, 1, 1, 1, 1}, 1},
		{[]int64{24, 8, 7, 1, 1, 1, 1, 1, 1}, 1},
		{[]int64{40, 21, 1, 1, 1, 1, 1, 1, 1}, 2},
		{[]int64{256, 128, 64, 32, 16, 8, 4, 2, 1}, 7},
	} {
		runs := make([]*lshRun, len(tc.sizes))
		for i, n := range tc.sizes {
			runs[i] = &lshRun{bandStart: []int64{0, n}}
		}
		if got := mergeStart(runs); got != tc.want {
			t.Errorf("mergeStart(%v) = %d, want %d", tc.sizes, got, tc.want)
		}
	}
}

// BenchmarkDiskLSHInsertQuery measures one candidate query and one insert
// per document into a 14-band disk index with a 16 MiB buffer, which
// grows to b.N documents. It reports docs/s, the heap bytes per indexed
// document (Bytes), and how often each entry was written to disk.
func BenchmarkDiskLSHInsertQuery(b *testing.B) {
	x := newTestDiskLSHIndex(b, DefaultBands, 16<<20)
	keys := make([]uint64, DefaultBands)
	var found []uint32
	var err error
	b.ReportAllocs()
	doc := uint32(0)
	for b.Loop() {
		for i := range keys {
			if i == 3 && doc%4 == 0 {
				continue // every fourth document shares band 3 with the one before
			}
			keys[i] = mix64(uint64(doc)*DefaultBands + uint64(i))
		}
		if found, err = x.AppendCandidates(found[:0], doc, keys); err != nil {
			b.Fatal(err)
		}
		if err = x.Insert(doc, keys); err != nil {
			b.Fatal(err)
		}
		doc++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "docs/s")
	b.ReportMetric(float64(x.Bytes())/float64(x.Len()), "heap-B/doc")
	b.ReportMetric(float64(x.written)/float64(x.Len()*DefaultBands), "writes/entry")
	b.ReportMetric(float64(len(x.runs)), "runs")
}
