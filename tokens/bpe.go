package tokens

import "sync"

// scanMaxLen is the longest piece that countMerges merges with a linear
// scan over arrays on the stack, which is O(n²) but allocates nothing.
// Longer pieces take the O(n log n) heap of countMergesLong. On the
// benchmark's Chinese text, where such pieces are common, thresholds of
// 32 and 64 bytes gave the same speed.
const scanMaxLen = 64

// maxPooledPiece is the longest piece whose merge arrays go back to the
// pool, so that one huge piece does not pin megabytes.
const maxPooledPiece = 1 << 16

// countTokens returns the number of tokens byte-pair encoding turns piece
// into. Each step merges the pair of adjacent parts whose concatenation is
// the token of lowest rank, the leftmost such pair when several tie, and
// merging stops when no adjacent pair forms a token. This is tiktoken's
// rule, so the parts and their number are the same as the library's.
func (r *rankTable) countTokens(piece string) int {
	if len(piece) <= 1 {
		return len(piece)
	}
	if r.rank(piece) != noRank {
		return 1
	}
	if len(piece) <= scanMaxLen {
		return r.countMerges(piece)
	}
	return r.countMergesLong(piece)
}

// countMerges merges the parts of piece, at most scanMaxLen bytes long, by
// scanning for the lowest rank before each merge.
func (r *rankTable) countMerges(piece string) int {
	// Part k is piece[bounds[k]:bounds[k+1]], and pair[k] is the rank of
	// the token that part k and part k+1 would form.
	var bounds [scanMaxLen + 1]uint8
	var pair [scanMaxLen]uint32
	parts := len(piece)
	for k := range parts {
		bounds[k] = uint8(k)
	}
	bounds[parts] = uint8(parts)
	for k := range parts - 1 {
		pair[k] = r.rank(piece[k : k+2])
	}

	for parts > 1 {
		best, at := uint32(noRank), -1
		for k, rank := range pair[:parts-1] {
			if rank < best {
				best, at = rank, k
			}
		}
		if at < 0 {
			break
		}

		// Part at absorbs part at+1: drop bound at+1 and pair at+1.
		copy(bounds[at+1:parts], bounds[at+2:parts+1])
		copy(pair[at+1:parts-1], pair[at+2:parts])
		parts--
		if at+1 < parts {
			pair[at] = r.rank(piece[bounds[at]:bounds[at+2]])
		} else {
			pair[at] = noRank
		}
		if at > 0 {
			pair[at-1] = r.rank(piece[bounds[at-1]:bounds[at+1]])
		}
	}
	return parts
}

// mergeCandidate is a possible merge of the part that starts at byte
// offset start with the part after it.
type mergeCandidate struct {
	rank  uint32
	start int32
}

func (a mergeCandidate) before(b mergeCandidate) bool {
	return a.rank < b.rank || (a.rank == b.rank && a.start < b.start)
}

// countMergesLong merges the parts of piece with a min-heap of candidate
// merges, ordered by rank and then by offset. A merge changes the pairs of
// the merged part and of the part before it. Their new candidates are
// pushed, and candidates made stale by a merge are skipped when popped:
// a candidate is current when its part still starts a part and still has
// that rank with its current successor.
func (r *rankTable) countMergesLong(piece string) int {
	n := int32(len(piece))
	m := mergeScratchPool.Get().(*mergeScratch)
	m.grow(len(piece))
	// next[k] and prev[k] link the parts by start offset. pair[k] is the
	// rank of the part starting at k with its successor, or noRank when k
	// no longer starts a part.
	next, prev, pair, heap := m.next, m.prev, m.pair, m.heap[:0]
	for k := range n {
		next[k], prev[k] = k+1, k-1
		pair[k] = noRank
		if k+1 < n {
			pair[k] = r.rank(piece[k : k+2])
			if pair[k] != noRank {
				heap = append(heap, mergeCandidate{pair[k], k})
			}
		}
	}
	heap.init()

	rankAfter := func(k int32) uint32 {
		end := next[k]
		if end >= n {
			return noRank
		}
		return r.rank(piece[k:next[end]])
	}
	parts := int(n)
	for len(heap) > 0 {
		top := heap.pop()
		k := top.start
		if pair[k] != top.rank {
			continue
		}
		removed := next[k]
		next[k] = next[removed]
		if next[k] < n {
			prev[next[k]] = k
		}
		pair[removed] = noRank
		parts--

		pair[k] = rankAfter(k)
		if pair[k] != noRank {
			heap.push(mergeCandidate{pair[k], k})
		}
		if p := prev[k]; p >= 0 {
			pair[p] = rankAfter(p)
			if pair[p] != noRank {
				heap.push(mergeCandidate{pair[p], p})
			}
		}
	}
	if len(piece) <= maxPooledPiece {
		m.heap = heap
		mergeScratchPool.Put(m)
	}
	return parts
}

// mergeScratch holds the arrays of countMergesLong, which a pool keeps
// for the next call.
type mergeScratch struct {
	next, prev []int32
	pair       []uint32
	heap       candidateHeap
}

var mergeScratchPool = sync.Pool{New: func() any { return new(mergeScratch) }}

// grow makes the arrays at least n long.
func (m *mergeScratch) grow(n int) {
	if len(m.next) >= n {
		return
	}
	m.next = make([]int32, n)
	m.prev = make([]int32, n)
	m.pair = make([]uint32, n)
	m.heap = make(candidateHeap, 0, n)
}

// candidateHeap is a binary min-heap written out for mergeCandidate, so
// that pushes and pops neither allocate nor go through an interface.
type candidateHeap []mergeCandidate

func (h candidateHeap) init() {
	for i := len(h)/2 - 1; i >= 0; i-- {
		h.down(i)
	}
}

func (h *candidateHeap) push(c mergeCandidate) {
	*h = append(*h, c)
	s := *h
	for i := len(s) - 1; i > 0; {
		parent := (i - 1) / 2
		if !s[i].before(s[parent]) {
			break
		}
		s[i], s[parent] = s[parent], s[i]
		i = parent
	}
}

func (h *candidateHeap) pop() mergeCandidate {
	s := *h
	top := s[0]
	last := len(s) - 1
	s[0] = s[last]
	*h = s[:last]
	h.down(0)
	return top
}

func (h candidateHeap) down(i int) {
	for {
		least := i
		if l := 2*i + 1; l < len(h) && h[l].before(h[least]) {
			least = l
		}
		if r := 2*i + 2; r < len(h) && h[r].before(h[least]) {
			least = r
		}
		if least == i {
			return
		}
		h[i], h[least] = h[least], h[i]
		i = least
	}
}
