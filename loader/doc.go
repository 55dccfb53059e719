// Package loader feeds a trainer the documents of a committed winnow
// version: in batches, fetched and decoded ahead, in a deterministic order
// that can be resumed exactly, at any number of ranks.
//
// # Storage and checks
//
// A Loader reads through a Storage: LocalDir for a dataset root on disk,
// Latency to add a fixed time to every request, as an object store would,
// and later an object-store implementation. Open lists each shard folder
// once and fails, naming the shard, when a shard is missing or its size
// differs from the manifest. Each shard is then fetched whole and its
// SHA-256 checked before anything of it is decoded, so a corrupt shard is
// an error naming it, never a silent skip. Rows the manifest deletes are
// never yielded.
//
// # Order
//
// Each epoch has one global order of the version's documents, which
// depends on the version, Seed, Shuffle and Window (and Mix) only. With
// Shuffle, the shards are permuted by (seed, epoch), their rows
// concatenated, and the result cut into windows of Window documents, each
// permuted by (seed, epoch, window). A document thus moves at most a
// window, and the document at any position is found without reading
// those before it, which makes resuming immediate. Without Shuffle the
// order is the manifest's, the same every epoch. The generator is the
// package's own SplitMix64, so an order is the same on every machine and
// Go release.
//
// # Ranks, workers and resume
//
// The order is cut into rounds of WorldSize*BatchSize positions. In each
// round rank r takes the r-th BatchSize positions, and the rank's t-th
// batch goes to its worker t mod NumWorkers. Batches count documents, not
// bytes, so that after every rank has taken t batches exactly the first
// t*WorldSize*BatchSize positions are consumed. That prefix, with the
// epoch and the options that fix the order, is the State token a batch
// carries. Every rank at the same step holds the same State, and resuming
// from it at another world size or worker count gives exactly the
// positions not yet consumed. The last round of an epoch is split evenly,
// so each rank gets the same number of batches per epoch, the last ones
// shorter or even empty; DropLast skips that round instead.
//
// # Prefetching
//
// A planner goroutine walks this loader's batches in order, across epochs,
// and holds the shards each needs. Shards not cached are queued for
// Prefetch fetch goroutines in the order they are needed. The planner
// stops while the shards held, fetched or decoded would pass Memory,
// evicting the least recently used shards no batch holds. Since it plans
// past the end of an epoch, the next epoch's first shards are fetched
// while the trainer still consumes the current one. An assembler copies
// each batch's documents out of its shards, tokenizes them when asked,
// and keeps a few batches ready for Next.
//
// Every rank reads every shard, because the documents of one window go
// to all ranks: this is the cost of an order that does not depend on the
// number of ranks. At world size W the storage serves the version W times
// per epoch.
//
// # Mixing
//
// With Options.Mix, the epoch's order draws a language per position, by
// the manifest's mixture weights or given ones, until a token budget is
// met, and takes that language's next document; a language's documents
// are cycled, in a new order per cycle when Shuffle is set, up to a
// repeat cap. Mixing reads the lang and token_count columns of every
// shard at Open, and keeps in memory an index of about 20 bytes per
// document and the epoch's order, 8 bytes per position. Loader.Mixture
// reports the documents, tokens and repeats drawn per language.
//
// # Consumption record
//
// With Options.RunID, the loader writes consumers/<version>/<run id>.json
// under the dataset root: the run id, the version, the options, the last
// State and when the run opened and last updated it. It is rewritten
// atomically every RecordEvery batches and on Close, so the dataset
// records which data a model was trained on.
package loader
