package langid

import (
	"fmt"
	"math"
	"math/bits"
)

// A posting packs a language and a quantised log-probability into 32
// bits: the language in the top 7 bits and -ln(p)·2^20, rounded, in the
// low 25. The step of 2^-20 keeps the error of a log-probability under
// 5e-7, the order of float32 rounding, and the range reaches p = e^-32,
// below the smallest probability in lingua's models (about 9e-9, or e^-18.5).
const (
	postingLangShift = 25
	postingScale     = 1 << 20
	postingMaxQ      = 1<<postingLangShift - 1
)

func makePosting(lang int, p float64) (uint32, error) {
	if !(p > 0 && p <= 1) {
		return 0, fmt.Errorf("invalid probability %v: must be in (0, 1]", p)
	}
	q := math.Round(-math.Log(p) * postingScale)
	if q > postingMaxQ {
		return 0, fmt.Errorf("invalid probability %v: below e^-32, the smallest a posting holds", p)
	}
	return uint32(lang)<<postingLangShift | uint32(q), nil
}

func postingLang(p uint32) int { return int(p >> postingLangShift) }

func postingLogProb(p uint32) float32 { return -float32(p&postingMaxQ) / postingScale }

// fibonacci is 2^64 divided by the golden ratio; multiplying by it spreads
// packed n-gram keys over the top bits.
const fibonacci = 0x9E3779B97F4A7C15

// ngramIndex maps n-gram keys to ordinals 0..len(keys)-1. The keys are
// grouped in buckets by the top bits of key·fibonacci, and dir[b] is the
// position of bucket b's first key, so a lookup reads one short run of
// keys, two or three of them on average.
type ngramIndex struct {
	shift uint
	dir   []uint32
	keys  []uint64
}

func (x *ngramIndex) find(key uint64) int {
	if len(x.keys) == 0 {
		return -1
	}
	b := (key * fibonacci) >> x.shift
	for i := x.dir[b]; i < x.dir[b+1]; i++ {
		if x.keys[i] == key {
			return int(i)
		}
	}
	return -1
}

// entries collects the (key, posting) pairs of one n-gram order while the
// models are read, in chunks, one per language, in language order.
type entries struct {
	chunks []chunk
}

type chunk struct {
	keys  []uint64
	posts []uint32
}

func (c *chunk) add(key uint64, post uint32) {
	c.keys = append(c.keys, key)
	c.posts = append(c.posts, post)
}

func (e *entries) len() int {
	n := 0
	for _, c := range e.chunks {
		n += len(c.keys)
	}
	return n
}

// postingTable is an ngramIndex with, for each key, its postings
// posts[offsets[i]:offsets[i+1]], one per language that has the n-gram.
type postingTable struct {
	index   ngramIndex
	offsets []uint32
	posts   []uint32
}

func (t *postingTable) postings(ordinal int) []uint32 {
	return t.posts[t.offsets[ordinal]:t.offsets[ordinal+1]]
}

// build turns the collected pairs into a postingTable. It sorts them by
// bucket with a counting sort, which keeps each key's postings in
// language order, then by key within each bucket, and releases e.
func (e *entries) build() postingTable {
	n := e.len()
	bucketBits := max(bits.Len(uint(n/8)), 4)
	shift := uint(64 - bucketBits)
	numBuckets := 1 << bucketBits

	// Counting sort by bucket.
	starts := make([]uint32, numBuckets+1)
	for _, c := range e.chunks {
		for _, k := range c.keys {
			starts[((k*fibonacci)>>shift)+1]++
		}
	}
	for b := 1; b <= numBuckets; b++ {
		starts[b] += starts[b-1]
	}
	keys := make([]uint64, n)
	posts := make([]uint32, n)
	next := make([]uint32, numBuckets)
	copy(next, starts[:numBuckets])
	for _, c := range e.chunks {
		for i, k := range c.keys {
			b := (k * fibonacci) >> shift
			keys[next[b]] = k
			posts[next[b]] = c.posts[i]
			next[b]++
		}
	}
	next = nil
	e.chunks = nil

	// Insertion sort inside each bucket, stable so postings of one key
	// stay in language order, then one entry per distinct key.
	dir := make([]uint32, numBuckets+1)
	offsets := make([]uint32, 0, n/2)
	distinct := 0
	for b := 0; b < numBuckets; b++ {
		lo, hi := int(starts[b]), int(starts[b+1])
		for i := lo + 1; i < hi; i++ {
			k, p := keys[i], posts[i]
			j := i
			for j > lo && keys[j-1] > k {
				keys[j], posts[j] = keys[j-1], posts[j-1]
				j--
			}
			keys[j], posts[j] = k, p
		}
		dir[b] = uint32(distinct)
		for i := lo; i < hi; i++ {
			if i == lo || keys[i] != keys[i-1] {
				keys[distinct] = keys[i]
				offsets = append(offsets, uint32(i))
				distinct++
			}
		}
	}
	dir[numBuckets] = uint32(distinct)
	offsets = append(offsets, uint32(n))

	return postingTable{
		index:   ngramIndex{shift: shift, dir: dir, keys: append([]uint64(nil), keys[:distinct]...)},
		offsets: offsets,
		posts:   posts,
	}
}
