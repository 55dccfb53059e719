package dedup

import (
	"math/bits"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

func TestSimHash(t *testing.T) {
	if _, ok := SimHash(nil); ok {
		t.Error("SimHash of no shingles returned ok")
	}
	shingle := uint64(0xdeadbeefcafef00d)
	if h, ok := SimHash([]uint64{shingle}); !ok || h != shingle {
		t.Errorf("SimHash of one shingle = %x, %v; want the shingle itself", h, ok)
	}
	// Bit 0 is set in two shingles of three, bit 1 in one, bit 2 in all.
	if h, _ := SimHash([]uint64{0b101, 0b111, 0b100}); h != 0b101 {
		t.Errorf("majority vote = %b, want 101", h)
	}
	// Repeated shingles count each time they occur: 300 copies outvote
	// 299 others, which needs the byte counters to be flushed correctly.
	many := append(slices.Repeat([]uint64{^uint64(0)}, 300), make([]uint64, 299)...)
	if h, _ := SimHash(many); h != ^uint64(0) {
		t.Errorf("weighted vote = %x, want all ones", h)
	}
}

func TestSimHashNearTexts(t *testing.T) {
	docs := englishDocs(t, 3000)
	s := newTestShingler(t, ShingleConfig{})
	hash := func(text string) uint64 {
		h, _ := SimHash(s.AppendShingles(nil, text))
		return h
	}
	total := 0
	for i, doc := range docs[:10] {
		// One word replaced in a 3 KB document changes 5 of about 500
		// shingles; with equal weights that flips about 3 of 64 bits.
		mid := len(doc) / 2
		mid += strings.IndexByte(doc[mid:], ' ') + 1
		near := doc[:mid] + "replaced" + doc[mid+strings.IndexByte(doc[mid:], ' '):]
		d := HammingDistance(hash(doc), hash(near))
		total += d
		if d > 8 {
			t.Errorf("doc %d: near copy at distance %d, want at most 8", i, d)
		}
		if d := HammingDistance(hash(doc), hash(docs[i+1])); d < 16 {
			t.Errorf("docs %d and %d at distance %d, want at least 16", i, i+1, d)
		}
	}
	if mean := float64(total) / 10; mean > 4 {
		t.Errorf("mean distance of near copies %.1f, want at most 4", mean)
	}
}

func TestSimHashIndexMatchesBruteForce(t *testing.T) {
	for _, k := range []int{0, 1, 3, 6} {
		rng := rand.New(rand.NewPCG(uint64(k), 11))
		x, err := NewSimHashIndex(k)
		if err != nil {
			t.Fatal(err)
		}
		hashes := make([]uint64, 0, 5000)
		for len(hashes) < cap(hashes) {
			h := rng.Uint64()
			if len(hashes) > 0 && rng.IntN(2) == 0 {
				// A near copy of an earlier hash, flipping up to k+2 bits.
				h = hashes[rng.IntN(len(hashes))]
				for range rng.IntN(k + 3) {
					h ^= 1 << rng.IntN(64)
				}
			}
			hashes = append(hashes, h)
		}

		var got []uint32
		for i, h := range hashes {
			doc := uint32(i)
			got = x.AppendNear(got[:0], doc, h)
			var want []uint32
			for j, other := range hashes[:i] {
				if bits.OnesCount64(h^other) <= k {
					want = append(want, uint32(j))
				}
			}
			if !slices.Equal(got, want) {
				t.Fatalf("k=%d doc %d: near %v, want %v", k, i, got, want)
			}
			x.Insert(doc, h)
		}
		if x.Len() != len(hashes) {
			t.Errorf("Len = %d, want %d", x.Len(), len(hashes))
		}
	}
}

func TestSimHashIndexNeverReturnsQueryDoc(t *testing.T) {
	x, err := NewSimHashIndex(DefaultSimHashDistance)
	if err != nil {
		t.Fatal(err)
	}
	x.Insert(1, 42)
	x.Insert(2, 42)
	if got := x.AppendNear(nil, 1, 42); !slices.Equal(got, []uint32{2}) {
		t.Errorf("near doc 1 = %v, want [2]", got)
	}
	if _, err := NewSimHashIndex(32); err == nil {
		t.Error("NewSimHashIndex(32) returned no error")
	}
}
