package loader

// schedule splits the positions of each epoch's sequence between
// consumers. The sequence is cut into rounds of WorldSize*BatchSize
// positions, counted from the position the loader starts at. In each
// round, rank r takes the r-th run of BatchSize positions, so after every
// rank has taken t batches the positions consumed are exactly a prefix of
// the sequence. That prefix is what a State records, and why a State
// resumes at any world size. The rank's t-th batch (from 0) is served by
// its worker t mod NumWorkers, the order in which PyTorch's DataLoader
// takes batches from its workers.
//
// When fewer than a round's positions remain, they are split between the
// ranks as evenly as they go, so every rank gets the same number of
// batches per epoch, the last ones shorter and some possibly empty. With
// DropLast that short round is skipped instead.
type schedule struct {
	rank, world     int
	worker, workers int
	batch           int
	dropLast        bool
	stop            int // end before this epoch; 0 for never
}

// span is the positions [start, end) of one batch, and the state after it.
type span struct {
	epoch      int
	start, end int64
	after      State
}

// epochSpans calls fn with each batch of this consumer in the epoch,
// starting at position from of a sequence of n positions, and stops early
// when fn returns false. base is the state after a batch, with Epoch and
// Position to be filled in. It returns false when fn stopped it.
func (sc *schedule) epochSpans(epoch int, from, n int64, base State, fn func(span) bool) bool {
	round := int64(sc.world) * int64(sc.batch)
	end := n
	if sc.dropLast {
		end = from + (n-from)/round*round
	}
	for t := int64(0); ; t++ {
		start := from + t*round
		if start >= end {
			return true
		}
		if t%int64(sc.workers) != int64(sc.worker) {
			continue
		}
		size := min(round, end-start)
		lo, hi := rankSlice(start, size, sc.rank, sc.world)
		after := base
		after.Epoch, after.Position = epoch, start+round
		if after.Position >= end {
			after.Epoch, after.Position = epoch+1, 0
		}
		if !fn(span{epoch: epoch, start: lo, end: hi, after: after}) {
			return false
		}
	}
}

// rankSlice returns rank's part of the round of size positions that
// starts at start: equal parts, the first size%world ranks one longer.
func rankSlice(start, size int64, rank, world int) (int64, int64) {
	q, rem := size/int64(world), size%int64(world)
	r := int64(rank)
	lo := start + r*q + min(r, rem)
	n := q
	if r < rem {
		n++
	}
	return lo, lo + n
}
