package loader

import (
	"sort"
)

// sequence is the global order of one epoch: the document at each
// position, for positions 0 to length()-1. It depends only on the
// version and the order options, never on ranks or workers. A sequence
// is not safe for concurrent use.
type sequence interface {
	length() int64
	at(pos int64) docRef
}

// shuffledOrder is the order of an epoch without mixing. With shuffling
// it permutes the shards, concatenates their live rows, cuts that run
// into windows of a fixed number of documents and permutes each window.
// Every permutation is seeded by the seed, the epoch and the window
// number. Without shuffling it is the shards in manifest order and their
// rows in order. Because the windows are fixed, the document at any
// position is computed without reading the documents before it, which is
// what lets a resume start at once.
type shuffledOrder struct {
	lay     *layout
	shuffle bool
	window  int64
	seed    int64
	purpose string  // "epoch" or, for mixing pools, "pool"
	keys    []int64 // epoch, and the cycle for mixing pools

	shardOrder []int   // manifest index of the k-th shard of the run
	starts     []int64 // live documents before the k-th shard of the run; one more entry holds the total

	cached [2]windowPerm // most recently used window permutations
	next   int           // slot of cached to fill next
}

// windowPerm is the permutation of one window.
type windowPerm struct {
	index int64 // window number, -1 when the slot is empty
	perm  []uint32
}

// newShuffledOrder returns the order keyed by seed, purpose and keys.
func newShuffledOrder(lay *layout, shuffle bool, window int, seed int64, purpose string, keys ...int64) *shuffledOrder {
	o := &shuffledOrder{lay: lay, shuffle: shuffle, window: int64(window), seed: seed, purpose: purpose, keys: keys}
	o.cached[0].index, o.cached[1].index = -1, -1

	n := len(lay.shards)
	o.shardOrder = make([]int, n)
	if shuffle {
		for k, v := range newRNG(seed, purpose+"/shards", keys...).permutation(n) {
			o.shardOrder[k] = int(v)
		}
	} else {
		for k := range o.shardOrder {
			o.shardOrder[k] = k
		}
	}
	o.starts = make([]int64, n+1)
	for k, i := range o.shardOrder {
		o.starts[k+1] = o.starts[k] + lay.shards[i].live
	}
	return o
}

func (o *shuffledOrder) length() int64 { return o.starts[len(o.starts)-1] }

// at returns the document at pos, 0 <= pos < length().
func (o *shuffledOrder) at(pos int64) docRef {
	run := pos
	if o.shuffle {
		w := pos / o.window
		run = w*o.window + int64(o.permOf(w)[pos%o.window])
	}
	// The last shard of the run whose start is at or before run.
	k := sort.Search(len(o.shardOrder), func(k int) bool { return o.starts[k+1] > run })
	i := o.shardOrder[k]
	s := &o.lay.shards[i]
	return docRef{shard: uint32(i), row: s.row(run - o.starts[k])}
}

// permOf returns the permutation of window w, which is shorter than the
// others when it is the last.
func (o *shuffledOrder) permOf(w int64) []uint32 {
	for _, c := range o.cached {
		if c.index == w {
			return c.perm
		}
	}
	size := min(o.window, o.length()-w*o.window)
	keys := append(append([]int64(nil), o.keys...), w)
	perm := newRNG(o.seed, o.purpose+"/window", keys...).permutation(int(size))
	o.cached[o.next] = windowPerm{index: w, perm: perm}
	o.next = 1 - o.next
	return perm
}

// refSequence is a sequence held in memory, as mixing builds it.
type refSequence []docRef

func (s refSequence) length() int64       { return int64(len(s)) }
func (s refSequence) at(pos int64) docRef { return s[pos] }
