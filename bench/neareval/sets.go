package main

import (
	"fmt"
	"math"
	"slices"

	"github.com/winnow-data/winnow/dedup"
)

// shingleSets holds the distinct shingles of every document as token ids in
// ascending order. Token ids are ranks in (document frequency, hash) order,
// so the first ids of a set are its rarest shingles, whose posting lists
// are short: that keeps the prefix-filtered searches in search.go fast. Ids
// map one to one to the 64-bit shingle hashes, so Jaccard over ids is
// Jaccard over hashes.
type shingleSets struct {
	sets   [][]uint32
	tokens int // number of distinct shingles in the corpus
}

// buildShingleSets shingles every text with winnow's shingler at its
// default sizes.
func buildShingleSets(texts []string) (*shingleSets, error) {
	shingler, err := dedup.NewShingler(dedup.ShingleConfig{})
	if err != nil {
		return nil, err
	}

	// Distinct hashes of each document, concatenated; doc i owns
	// hashes[offsets[i]:offsets[i+1]].
	offsets := make([]int, 1, len(texts)+1)
	var hashes, buf []uint64
	for _, text := range texts {
		buf = shingler.AppendShingles(buf[:0], text)
		slices.Sort(buf)
		hashes = append(hashes, slices.Compact(buf)...)
		offsets = append(offsets, len(hashes))
	}
	if len(hashes) > math.MaxUint32 {
		return nil, fmt.Errorf("corpus has %d shingles: more than token ids can number", len(hashes))
	}

	// Distinct hashes of the corpus with their document frequencies.
	distinct := slices.Clone(hashes)
	slices.Sort(distinct)
	var freq []uint32
	w := 0
	for i, h := range distinct {
		if i > 0 && h == distinct[w-1] {
			freq[w-1]++
			continue
		}
		distinct[w] = h
		freq = append(freq, 1)
		w++
	}
	distinct = distinct[:w]

	// rank[i] is the token id of distinct[i]: rarer shingles get lower ids.
	order := make([]uint32, len(distinct))
	for i := range order {
		order[i] = uint32(i)
	}
	slices.SortFunc(order, func(a, b uint32) int {
		if freq[a] != freq[b] {
			return int(freq[a]) - int(freq[b])
		}
		return int(a) - int(b) // distinct is sorted by hash, so this breaks ties by hash
	})
	rank := make([]uint32, len(distinct))
	for r, i := range order {
		rank[i] = uint32(r)
	}

	ids := make([]uint32, len(hashes))
	for i, h := range hashes {
		pos, _ := slices.BinarySearch(distinct, h)
		ids[i] = rank[pos]
	}
	s := &shingleSets{sets: make([][]uint32, len(texts)), tokens: len(distinct)}
	for d := range texts {
		set := ids[offsets[d]:offsets[d+1]:offsets[d+1]]
		slices.Sort(set)
		s.sets[d] = set
	}
	return s, nil
}

// jaccard returns |a ∩ b| / |a ∪ b| of two ascending sets of token ids.
// Two empty sets have similarity 0, because winnow never matches documents
// without shingles.
func jaccard(a, b []uint32) float64 {
	inter := intersection(a, b)
	union := len(a) + len(b) - inter
	if union == 0 {
		return 0
	}
	return float64(inter) / float64(union)
}

// intersection counts the ids two ascending sets share.
func intersection(a, b []uint32) int {
	n, i, j := 0, 0, 0
	for i < len(a) && j < len(b) {
		switch {
		case a[i] < b[j]:
			i++
		case a[i] > b[j]:
			j++
		default:
			n++
			i++
			j++
		}
	}
	return n
}

// prefixLen returns how many of a set's first ids must be probed so that
// no partner of similarity >= t is missed. A pair with J >= t shares at
// least ceil(t*n) ids, so at most n-ceil(t*n) ids of the set lie outside
// the intersection and its first n-ceil(t*n)+1 ids hold a shared one. The
// epsilon can only lengthen the prefix, which keeps the search exact when
// t*n is an integer that floating point rounds up.
func prefixLen(n int, t float64) int {
	if n == 0 {
		return 0
	}
	p := n - int(math.Ceil(t*float64(n)-1e-9)) + 1
	return max(1, min(n, p))
}
