package dedup

import (
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"
)

func newTestLSHIndex(t testing.TB, bands int) *LSHIndex {
	t.Helper()
	x, err := NewLSHIndex(bands)
	if err != nil {
		t.Fatal(err)
	}
	return x
}

func TestLSHIndexNeverReturnsQueryDoc(t *testing.T) {
	m := newTestMinHasher(t, MinHashConfig{})
	x := newTestLSHIndex(t, DefaultBands)
	keys := m.AppendBandKeys(nil, m.AppendSignature(nil, testArticle))
	for doc := uint32(0); doc < 3; doc++ {
		if err := x.Insert(doc, keys); err != nil {
			t.Fatal(err)
		}
	}
	for doc := uint32(0); doc < 4; doc++ {
		got, err := x.AppendCandidates(nil, doc, keys)
		if err != nil {
			t.Fatal(err)
		}
		var want []uint32
		for other := uint32(0); other < 3; other++ {
			if other != doc {
				want = append(want, other)
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("candidates for doc %d = %v, want %v", doc, got, want)
		}
	}
}

func TestLSHIndexEmptyKeys(t *testing.T) {
	x := newTestLSHIndex(t, DefaultBands)
	if err := x.Insert(1, nil); err != nil {
		t.Fatal(err)
	}
	got, err := x.AppendCandidates(nil, 2, nil)
	if err != nil || len(got) != 0 || x.Len() != 0 {
		t.Errorf("empty keys: candidates %v, err %v, Len %d; want none, nil, 0", got, err, x.Len())
	}
}

func TestLSHIndexRejectsBadInput(t *testing.T) {
	x := newTestLSHIndex(t, 4)
	if err := x.Insert(1, make([]uint64, 3)); err == nil {
		t.Error("Insert with 3 keys for 4 bands returned no error")
	}
	if _, err := x.AppendCandidates(nil, 1, make([]uint64, 5)); err == nil {
		t.Error("AppendCandidates with 5 keys for 4 bands returned no error")
	}
	if err := x.Insert(1<<32-1, make([]uint64, 4)); err != ErrReservedDoc {
		t.Errorf("Insert of doc 2^32-1 returned %v, want ErrReservedDoc", err)
	}
	if _, err := NewLSHIndex(0); err == nil {
		t.Error("NewLSHIndex(0) returned no error")
	}
}

// lshModel is a brute-force LSH index: band, key, documents.
type lshModel []map[uint64][]uint32

func (m lshModel) candidates(doc uint32, keys []uint64) []uint32 {
	var out []uint32
	for band, key := range keys {
		out = append(out, m[band][key]...)
	}
	slices.Sort(out)
	out = slices.Compact(out)
	return slices.DeleteFunc(out, func(d uint32) bool { return d == doc })
}

func TestLSHIndexMatchesBruteForce(t *testing.T) {
	const bands, docs = 4, 40000
	rng := rand.New(rand.NewPCG(3, 4))
	pool := make([]uint64, 6000) // few distinct keys, so most docs share some
	for i := range pool {
		pool[i] = rng.Uint64()
	}
	x := newTestLSHIndex(t, bands)
	model := make(lshModel, bands)
	for i := range model {
		model[i] = map[uint64][]uint32{}
	}

	keys := make([]uint64, bands)
	var got []uint32
	for i := range docs {
		// Document numbers jump past 2^24 halfway, so the index widens them.
		doc := uint32(i)
		if i >= docs/2 {
			doc += 1<<24 - docs/4
		}
		for b := range keys {
			keys[b] = pool[rng.IntN(len(pool))]
		}
		var err error
		got, err = x.AppendCandidates(got[:0], doc, keys)
		if err != nil {
			t.Fatal(err)
		}
		if want := model.candidates(doc, keys); !slices.Equal(got, want) {
			t.Fatalf("doc %d: candidates %v, want %v", doc, got, want)
		}
		if err := x.Insert(doc, keys); err != nil {
			t.Fatal(err)
		}
		for b, key := range keys {
			model[b][key] = append(model[b][key], doc)
		}
	}
	if x.Len() != docs {
		t.Errorf("Len = %d, want %d", x.Len(), docs)
	}
}

func TestLSHBandRegroup(t *testing.T) {
	var b lshBand
	rng := rand.New(rand.NewPCG(5, 6))
	fps := make([]uint32, 20000)
	check := func(n int) {
		t.Helper()
		for i, fp := range fps[:n] {
			var p lshProbe
			b.locate(&p, fp)
			if !slices.Contains(b.appendMatches(nil, &p), uint32(i)) {
				t.Fatalf("q=%d width=%d: entry %d not found", b.q, b.width, i)
			}
		}
	}
	for i := range fps {
		fps[i] = rng.Uint32()
		b.insert(fps[i], uint32(i))
		if i == 10000 {
			b.merge()
			b.regroup(18, 4) // as an index past 2^22 entries and 2^24 docs does
			check(i + 1)
		}
	}
	// Later merges regroup back to the sizes that fit 20,000 entries.
	check(len(fps))
}

func TestLSHIndexMemory(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("inserts 1.5 million documents")
	}
	const docs = 1_500_000
	perDoc, tables := lshBytesPerDoc(t, docs)
	t.Logf("%d docs, 14 bands: %.1f heap bytes per doc, %.1f in tables", docs, perDoc, tables)
	if perDoc > 100 {
		t.Errorf("%.1f heap bytes per document, want at most 100", perDoc)
	}
}

// lshBytesPerDoc inserts docs random signatures' keys into a 14-band index
// and returns the live heap it adds per document, and Bytes per document.
func lshBytesPerDoc(t testing.TB, docs int) (heap, tables float64) {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	x := newTestLSHIndex(t, DefaultBands)
	rng := rand.New(rand.NewPCG(1, 1))
	keys := make([]uint64, DefaultBands)
	for doc := range uint32(docs) {
		for b := range keys {
			keys[b] = rng.Uint64()
		}
		if err := x.Insert(doc, keys); err != nil {
			t.Fatal(err)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(x)
	return float64(after.HeapAlloc-before.HeapAlloc) / float64(docs), float64(x.Bytes()) / float64(docs)
}
