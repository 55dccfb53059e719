package dedup

import (
	"bufio"
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// englishDocs cuts the RedPajama sample in testdata into documents of
// about size bytes, cut at spaces.
func englishDocs(tb testing.TB, size int) []string {
	tb.Helper()
	f, err := os.Open(filepath.Join("..", "testdata", "redpajama-cc-2023-06-refined.jsonl"))
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	var all strings.Builder
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var doc struct{ Text string }
		if err := json.Unmarshal(sc.Bytes(), &doc); err != nil {
			tb.Fatal(err)
		}
		all.WriteString(doc.Text)
		all.WriteString("\n")
	}
	text := all.String()
	var docs []string
	for len(text) > size {
		cut := size + strings.IndexByte(text[size:], ' ')
		if cut < size {
			break
		}
		docs = append(docs, text[:cut])
		text = text[cut+1:]
	}
	return docs
}

func benchmarkSignature(b *testing.B, cfg MinHashConfig) {
	docs := englishDocs(b, 3000)
	m := newTestMinHasher(b, cfg)
	var sig Signature
	b.SetBytes(3000)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		sig = m.AppendSignature(sig[:0], docs[i%len(docs)])
	}
}

// BenchmarkMinHashSignature measures normalising, shingling and MinHashing
// 3 KB English documents on one core.
func BenchmarkMinHashSignature(b *testing.B) {
	b.Run("scheme=one-permutation", func(b *testing.B) { benchmarkSignature(b, DefaultMinHashConfig()) })
	b.Run("scheme=permutations", func(b *testing.B) {
		cfg := DefaultMinHashConfig()
		cfg.Scheme = Permutations
		benchmarkSignature(b, cfg)
	})
	b.Run("scheme=datatrove", func(b *testing.B) { benchmarkSignature(b, DatatroveMinHashConfig()) })
}

// BenchmarkNormalize measures AppendNormalized on 3 KB English documents.
func BenchmarkNormalize(b *testing.B) {
	docs := englishDocs(b, 3000)
	var out []byte
	b.SetBytes(3000)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		out = AppendNormalized(out[:0], docs[i%len(docs)])
	}
}

// BenchmarkLSHInsertQuery measures one candidate query and one insert per
// document into a 14-band index that grows to b.N documents, and reports
// docs/s and the heap bytes per indexed document.
func BenchmarkLSHInsertQuery(b *testing.B) {
	x := newTestLSHIndex(b, DefaultBands)
	keys := make([]uint64, DefaultBands)
	var found []uint32
	b.ReportAllocs()
	doc := uint32(0)
	for b.Loop() {
		for i := range keys {
			if i == 3 && doc%4 == 0 {
				continue // every fourth document shares band 3 with the one before
			}
			keys[i] = mix64(uint64(doc)*DefaultBands + uint64(i))
		}
		found, _ = x.AppendCandidates(found[:0], doc, keys)
		_ = x.Insert(doc, keys)
		doc++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "docs/s")
	b.ReportMetric(float64(x.Bytes())/float64(x.Len()), "table-B/doc")
}

// BenchmarkSimHash measures shingling 3 KB English documents and computing
// their SimHash, then one index query and insert per document.
func BenchmarkSimHash(b *testing.B) {
	docs := englishDocs(b, 3000)
	b.Run("hash", func(b *testing.B) {
		s := newTestShingler(b, ShingleConfig{})
		var shingles []uint64
		b.SetBytes(3000)
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			shingles = s.AppendShingles(shingles[:0], docs[i%len(docs)])
			SimHash(shingles)
		}
	})
	b.Run("index", func(b *testing.B) {
		x, err := NewSimHashIndex(DefaultSimHashDistance)
		if err != nil {
			b.Fatal(err)
		}
		rng := rand.New(rand.NewPCG(3, 4))
		var found []uint32
		b.ReportAllocs()
		doc := uint32(0)
		for b.Loop() {
			h := rng.Uint64()
			found = x.AppendNear(found[:0], doc, h)
			x.Insert(doc, h)
			doc++
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "docs/s")
	})
}
