package stages

import "github.com/winnow-data/winnow/pipeline"

// SealPoint is the state of a ParquetSink when it finished a shard: the
// shards sealed so far and the totals of the rows they hold. A checkpoint
// taken at a seal point covers exactly the rows in sealed shards, so a run
// that resumes from it starts a new shard where an uninterrupted run would
// have, and writes the same shards.
type SealPoint struct {
	// Batch and Row locate the seal in the Write calls: Row is the index,
	// in the batch with sequence number Batch, of the first row that is not
	// in a sealed shard. Rows before it are in sealed shards or dropped.
	Batch   uint64
	Row     int
	Shards  int // number of sealed shards
	Totals  pipeline.Totals
	Langs   map[string]pipeline.Totals
	Sources map[string]pipeline.Totals
	valid   bool
}

// Valid reports whether a shard has been sealed.
func (p SealPoint) Valid() bool { return p.valid }

// LastSeal returns the state of the sink when it last finished a shard.
// Shards()[:p.Shards] are the shards it covers.
func (s *ParquetSink) LastSeal() SealPoint { return s.seal }

// markSeal records the seal point after a shard was added. A shard ends
// either while Write handles a row, before that row is written, or in
// Close after every row of the run.
func (s *ParquetSink) markSeal() {
	s.seal = SealPoint{
		Batch:   s.batchSeq,
		Row:     s.batchRow,
		Shards:  len(s.shards),
		Totals:  s.totals,
		Langs:   cloneTotals(s.langs),
		Sources: cloneTotals(s.sources),
		valid:   true,
	}
}
