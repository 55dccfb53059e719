package dedup

import (
	"fmt"
	"math/bits"
	"slices"
)

// DefaultSimHashDistance is the default Hamming distance within which two
// SimHashes count as near duplicates. On the RedPajama sample in testdata,
// 42 of 69 documents of 3 KB stayed within 3 bits after one word was
// replaced, and distinct documents were 16 or more bits apart.
const DefaultSimHashDistance = 3

// SimHash returns the 64-bit SimHash of a document's shingle hashes, as Shingler.AppendShingles returns them: bit i is set
// when more shingles have bit i set than clear. A shingle that occurs c
// times counts c times. ok is false, and the hash meaningless, when
// shingles is empty; such a document must not be inserted in a
// SimHashIndex.
func SimHash(shingles []uint64) (hash uint64, ok bool) {
	if len(shingles) == 0 {
		return 0, false
	}
	var ones [64]int
	// Eight byte-wide counters per word: lanes[j] counts bit 8i+j of every
	// shingle in byte i. They are flushed before a byte can overflow.
	var lanes [8]uint64
	flush := func() {
		for j, lane := range lanes {
			for i := range 8 {
				ones[8*i+j] += int(lane >> (8 * i) & 0xff)
			}
			lanes[j] = 0
		}
	}
	for n, h := range shingles {
		for j := range lanes {
			lanes[j] += h >> j & 0x0101010101010101
		}
		if n%255 == 254 {
			flush()
		}
	}
	flush()

	for i, c := range ones {
		if 2*c > len(shingles) {
			hash |= 1 << i
		}
	}
	return hash, true
}

// HammingDistance returns the number of bits in which a and b differ.
func HammingDistance(a, b uint64) int { return bits.OnesCount64(a ^ b) }

// SimHashIndex finds the inserted SimHashes within a Hamming distance k of
// a query without scanning them all. It splits the 64 bits into k+1 blocks
// and keeps one table per block. Two hashes within distance k agree on at
// least one whole block, so they meet in that block's table. This is the
// permuted-table technique for SimHash.
//
// A table is keyed by at most 16 bits of its block, so a query compares
// about k+1 times n/2^16 stored hashes for n documents when k is 3, and
// more when k is larger and the blocks are narrower. Each document costs
// (k+1) × 16 bytes plus slice growth. A SimHashIndex is not safe for
// concurrent use.
type SimHashIndex struct {
	k      int
	blocks []simBlock
	docs   int
}

type simBlock struct {
	shift   uint
	mask    uint64 // bucket bits, taken from the low end of the block
	buckets [][]simEntry
}

type simEntry struct {
	hash uint64
	doc  uint32
}

// NewSimHashIndex returns an empty index that matches hashes within
// Hamming distance k, 0 to 31.
func NewSimHashIndex(k int) (*SimHashIndex, error) {
	if k < 0 || k > 31 {
		return nil, fmt.Errorf("dedup: invalid SimHash distance %d: must be 0 to 31", k)
	}
	x := &SimHashIndex{k: k, blocks: make([]simBlock, k+1)}
	shift := uint(0)
	for i := range x.blocks {
		// The first 64 mod (k+1) blocks get one extra bit.
		width := uint(64 / (k + 1))
		if i < 64%(k+1) {
			width++
		}
		keyBits := min(width, 16)
		x.blocks[i] = simBlock{
			shift:   shift,
			mask:    1<<keyBits - 1,
			buckets: make([][]simEntry, 1<<keyBits),
		}
		shift += width
	}
	return x, nil
}

// Insert adds doc with SimHash hash.
func (x *SimHashIndex) Insert(doc uint32, hash uint64) {
	for i := range x.blocks {
		b := &x.blocks[i]
		key := hash >> b.shift & b.mask
		b.buckets[key] = append(b.buckets[key], simEntry{hash: hash, doc: doc})
	}
	x.docs++
}

// AppendNear appends to dst, in ascending order and without repeats, every
// inserted document whose hash is within distance k of hash, except doc
// itself, and returns the extended slice. The results are exact, not
// candidates.
func (x *SimHashIndex) AppendNear(dst []uint32, doc uint32, hash uint64) []uint32 {
	start := len(dst)
	for i := range x.blocks {
		b := &x.blocks[i]
		for _, e := range b.buckets[hash>>b.shift&b.mask] {
			if e.doc != doc && bits.OnesCount64(e.hash^hash) <= x.k {
				dst = append(dst, e.doc)
			}
		}
	}
	found := dst[start:]
	slices.Sort(found)
	return dst[:start+len(slices.Compact(found))]
}

// Len returns the number of documents inserted.
func (x *SimHashIndex) Len() int { return x.docs }
