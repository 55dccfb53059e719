package stages

import (
	"context"

	"github.com/winnow-data/winnow/dedup"
	"github.com/winnow-data/winnow/pipeline"
)

// exactDedupReason is the drop reason of every copy after the first.
const exactDedupReason = "exact_duplicate"

const exactDedupDoc = "Drops every document whose text is byte-for-byte equal to an earlier document's, " +
	"keeping the first in input order (exact_duplicate). Texts are compared by their 128-bit XXH3 hash, " +
	"as they reach the stage, so run normalize first to make NFC/NFD and CRLF/LF copies equal."

func init() {
	pipeline.Register("exact_dedup", exactDedupDoc, false, ExactDedupOptions{}, newExactDedup)
}

// ExactDedupOptions configures exact_dedup, which has no options: it always
// hashes the text column. The stage keeps one hash per distinct document in
// memory for the whole run, 20 to 40 bytes each (see dedup.ExactSet), so
// 100 million distinct documents take 2 to 4 GB.
type ExactDedupOptions struct{}

// exactDedup is the exact_dedup stage. It is registered as not concurrent,
// so the engine calls Process on one batch at a time in Seq order. That
// makes the first occurrence in input order the one kept, whatever the
// worker count of the other stages.
type exactDedup struct {
	seen *dedup.ExactSet
	env  pipeline.Env
}

func newExactDedup(_ ExactDedupOptions, env pipeline.Env) (pipeline.Stage, error) {
	return &exactDedup{seen: dedup.NewExactSet(0), env: env}, nil
}

// Process drops the alive rows whose text was seen before. Rows an earlier
// stage dropped are not added, so they never make a later copy a duplicate.
// With --dedup-against, Seed has filled the set from an earlier version.
func (d *exactDedup) Process(_ context.Context, b *pipeline.Batch) error {
	texts := b.Strings(pipeline.ColText)
	for i := range b.Len() {
		if !b.Alive(i) {
			continue
		}
		if !d.seen.Add(dedup.ExactHash(texts.Value(i))) {
			b.Drop(i, exactDedupReason)
		}
	}
	return nil
}

// Close logs the size of the hash set, so a run's log shows how much memory
// the stage held.
func (d *exactDedup) Close(context.Context) error {
	d.env.Logger.Info("exact dedup finished", "docs", d.seen.Len())
	return nil
}

// Seed adds a document of an earlier version to the set, so a copy of it in
// this run is dropped. The hash is recomputed from the stored text, which
// is the text as it left this stage's chain.
func (d *exactDedup) Seed(doc pipeline.SeedDoc) error {
	d.seen.Add(dedup.ExactHash(doc.Text))
	return nil
}
