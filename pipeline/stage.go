package pipeline

import (
	"context"
	"log/slog"
	"sort"
	"sync"
)

// Stage transforms or filters batches. Process may drop rows (Batch.Drop),
// replace columns (Batch.SetColumn, Batch.MapStrings) and count events on
// its Env, and must not keep the batch after it returns. A stage whose Spec
// is Concurrent may have Process called from several goroutines at once, on
// different batches, and the engine then restores batch order behind it.
// Other stages see batches one at a time, in Seq order.
type Stage interface {
	Process(ctx context.Context, b *Batch) error
}

// Preparer is implemented by stages that are not Concurrent but have a
// costly part that is, such as near-duplicate removal: computing a batch's
// signatures needs no shared state, matching them against the index does.
// The engine calls Prepare on several batches at once, in a worker pool,
// then Process on each batch one at a time in Seq order. Prepare must not
// drop rows; it typically stores its results in the stage for Process, keyed
// by the batch's Seq.
type Preparer interface {
	Prepare(ctx context.Context, b *Batch) error
}

// Seeder is implemented by stages whose state can start from the documents
// of an earlier version, such as deduplication indexes: `winnow run
// --dedup-against VERSION` calls Seed once per document of that version,
// before the run starts, so new documents that duplicate it are dropped.
type Seeder interface {
	Seed(doc SeedDoc) error
}

// SeedDoc is a document of an earlier version, as a Seeder receives it.
// Its fields are valid only during the Seed call.
type SeedDoc struct {
	ID        string
	Text      string
	Signature []byte // the signature column, as near_dedup wrote it
}

// Closer is implemented by stages that hold resources or state to flush
// when the run ends. Close is called once, after the last Process call.
type Closer interface {
	Close(ctx context.Context) error
}

// Source produces batches. Run calls emit for each batch, with Seq numbers
// 0, 1, 2, ... in input order, and returns when the input is exhausted, ctx
// is done, or emit returns an error (which Run returns).
type Source interface {
	Run(ctx context.Context, emit func(*Batch) error) error
}

// Sink consumes the alive rows of each batch, in Seq order.
type Sink interface {
	Write(ctx context.Context, b *Batch) error
	// Close flushes what is buffered. It is called once, after the last
	// Write, and only when the run succeeded.
	Close(ctx context.Context) error
}

// Env is the environment the engine gives a component when it is built: a
// logger with the component's name, and counters for events that are not
// drops.
type Env struct {
	Logger *slog.Logger
	Events *Counters
}

// NewEnv returns an Env for the component called name.
func NewEnv(logger *slog.Logger, name string) Env {
	return Env{Logger: logger.With("stage", name), Events: NewCounters()}
}

// Counters is a set of named counts, safe for concurrent use. Names are
// snake_case reason codes such as "invalid_utf8_repaired".
type Counters struct {
	mu sync.Mutex
	m  map[string]int64
}

// NewCounters returns an empty set.
func NewCounters() *Counters { return &Counters{m: map[string]int64{}} }

// Add adds n to the count of name.
func (c *Counters) Add(name string, n int64) {
	if c == nil || n == 0 {
		return
	}
	c.mu.Lock()
	c.m[name] += n
	c.mu.Unlock()
}

// Snapshot returns a copy of the counts.
func (c *Counters) Snapshot() map[string]int64 {
	if c == nil {
		return map[string]int64{}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]int64, len(c.m))
	for k, v := range c.m {
		out[k] = v
	}
	return out
}

// SortedKeys returns the keys of m in ascending order.
func SortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
