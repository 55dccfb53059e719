package main

// invertedIndex maps each token id to the member documents containing it,
// in compressed sparse row form: the members holding token t are
// docs[offsets[t]:offsets[t+1]], in ascending document order.
type invertedIndex struct {
	sets    *shingleSets
	offsets []int32
	docs    []int32

	// Scratch for one query: seen[d] == stamp marks d as collected, and
	// overlap[d] counts shared ids in best.
	seen    []uint32
	stamp   uint32
	overlap []int32
	touched []int32
}

// newInvertedIndex indexes every shingle of the given member documents,
// which must be in ascending order.
func newInvertedIndex(s *shingleSets, members []int32) *invertedIndex {
	x := &invertedIndex{
		sets:    s,
		offsets: make([]int32, s.tokens+1),
		seen:    make([]uint32, len(s.sets)),
		overlap: make([]int32, len(s.sets)),
	}
	for _, d := range members {
		for _, t := range s.sets[d] {
			x.offsets[t+1]++
		}
	}
	for t := range s.tokens {
		x.offsets[t+1] += x.offsets[t]
	}
	x.docs = make([]int32, x.offsets[s.tokens])
	fill := make([]int32, s.tokens)
	copy(fill, x.offsets[:s.tokens])
	for _, d := range members {
		for _, t := range s.sets[d] {
			x.docs[fill[t]] = d
			fill[t]++
		}
	}
	return x
}

// match is a document and its true Jaccard similarity to a query.
type match struct {
	doc int32
	sim float64
}

// appendAtLeast appends every member other than q whose similarity to
// document q is at least t, in the order found. skip, when not nil, rules
// out members before their similarity is computed.
func (x *invertedIndex) appendAtLeast(dst []match, q int32, t float64, skip func(int32) bool) []match {
	set := x.sets.sets[q]
	x.nextStamp()
	for _, tok := range set[:prefixLen(len(set), t)] {
		for _, d := range x.docs[x.offsets[tok]:x.offsets[tok+1]] {
			if d == q || x.seen[d] == x.stamp || (skip != nil && skip(d)) {
				continue
			}
			x.seen[d] = x.stamp
			// The length filter: |y| < t|x| or |x| < t|y| rules out J >= t.
			other := x.sets.sets[d]
			if float64(len(other)) < t*float64(len(set))-1e-9 || float64(len(set)) < t*float64(len(other))-1e-9 {
				continue
			}
			if sim := jaccard(set, other); sim >= t {
				dst = append(dst, match{doc: d, sim: sim})
			}
		}
	}
	return dst
}

// best returns the member other than q most similar to document q, by
// counting shared ids over every posting list of q's shingles. It returns
// doc -1 when no member shares a shingle with q.
func (x *invertedIndex) best(q int32) match {
	set := x.sets.sets[q]
	x.touched = x.touched[:0]
	for _, tok := range set {
		for _, d := range x.docs[x.offsets[tok]:x.offsets[tok+1]] {
			if d == q {
				continue
			}
			if x.overlap[d] == 0 {
				x.touched = append(x.touched, d)
			}
			x.overlap[d]++
		}
	}
	top := match{doc: -1}
	for _, d := range x.touched {
		inter := int(x.overlap[d])
		x.overlap[d] = 0
		sim := float64(inter) / float64(len(set)+len(x.sets.sets[d])-inter)
		if sim > top.sim || (sim == top.sim && d < top.doc) {
			top = match{doc: d, sim: sim}
		}
	}
	return top
}

func (x *invertedIndex) nextStamp() {
	x.stamp++
	if x.stamp == 0 {
		clear(x.seen)
		x.stamp = 1
	}
}

// allPairs returns every pair of documents (a < b) with similarity at least
// t, exactly: the prefix filter only skips pairs that cannot reach t, and
// every candidate is verified.
func allPairs(s *shingleSets, t float64) []pair {
	members := make([]int32, len(s.sets))
	for i := range members {
		members[i] = int32(i)
	}
	x := newInvertedIndex(s, members)
	var out []pair
	var found []match
	for a := range members {
		q := int32(a)
		found = x.appendAtLeast(found[:0], q, t, func(d int32) bool { return d < q })
		for _, m := range found {
			out = append(out, pair{a: q, b: m.doc, sim: m.sim})
		}
	}
	return out
}
