package loader

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/tiktoken-go/tokenizer"

	"github.com/winnow-data/winnow/pipeline"
)

// Doc is one document of a batch.
type Doc struct {
	ID         string
	Text       string
	URL        string
	Source     string
	Lang       string // language label, empty when no langid stage ran
	TokenCount int32  // the shard's token_count
	// Position is the document's place in its epoch's global order, from
	// 0. With mixing, a document drawn twice has two positions.
	Position int64
}

// Batch is the documents a loader yields for one step.
type Batch struct {
	Epoch int
	Docs  []Doc
	// Tokens holds the token ids of each document's text when
	// Options.Tokenize is set, in the order of Docs.
	Tokens [][]uint32
	// State is the resume token after this batch: save it with the
	// checkpoint of the step that consumed the batch.
	State State
}

// TextBytes returns the bytes of text in the batch.
func (b *Batch) TextBytes() int64 {
	var n int64
	for i := range b.Docs {
		n += int64(len(b.Docs[i].Text))
	}
	return n
}

// Stats are counters of a loader's work so far.
type Stats struct {
	ShardFetches int64         // shards fetched and decoded
	BytesFetched int64         // file bytes of those shards
	CacheHits    int64         // batches that found a shard already held
	FetchTime    time.Duration // summed over parallel fetches
	MemoryBytes  int64         // bytes of shards held or reserved now
}

// Loader yields the batches of one consumer (a rank, or a worker of a
// rank) from a committed version, fetching and decoding shards ahead of
// the trainer. Next is not safe for concurrent use; the other methods
// are.
type Loader struct {
	opts     Options
	store    Storage
	manifest *pipeline.Manifest
	lay      *layout
	mix      *mixer
	sched    schedule
	start    State
	codec    tokenizer.Codec
	cache    *shardCache
	record   *recorder

	cancel context.CancelFunc
	wg     sync.WaitGroup
	plans  chan batchPlan
	out    chan *Batch

	planErr error // set by the planner before it closes plans
	endErr  error // set by the assembler before it closes out

	mu      sync.Mutex
	state   State // after the last batch Next returned
	batches int64 // batches Next returned
	err     error // sticky error of Next
	closed  bool
}

// batchPlan is a batch whose shards the planner has acquired.
type batchPlan struct {
	span
	refs    []docRef
	entries map[uint32]*cacheEntry
}

// OptionError is returned by Open for options, or a resume token, that
// do not fit the version: the caller must change them, not the data.
type OptionError struct{ Err error }

func (e *OptionError) Error() string { return e.Err.Error() }
func (e *OptionError) Unwrap() error { return e.Err }

// errClosed is returned by Next after Close.
var errClosed = errors.New("loader is closed")

// Open opens a version of the dataset in store and starts prefetching
// the batches of the consumer that opts describe. ctx bounds the
// loader's life: when it ends, prefetching stops and Next fails. Open
// checks that every shard is present with its recorded size. Each shard's
// SHA-256 is checked when it is fetched, before any of its documents is
// used.
func Open(ctx context.Context, store Storage, opts Options) (*Loader, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, &OptionError{err}
	}
	version := opts.Version
	if version == "" && opts.Resume != nil {
		version = opts.Resume.Version
	}
	m, err := ReadVersion(ctx, store, version)
	if err != nil {
		return nil, err
	}
	lay, err := newLayout(ctx, store, m)
	if err != nil {
		return nil, err
	}
	if lay.docs == 0 {
		return nil, fmt.Errorf("opening version %s: %w", m.ID, errEmptyVersion)
	}

	l := &Loader{opts: opts, store: store, manifest: m, lay: lay}
	l.sched = schedule{
		rank: opts.Rank, world: opts.WorldSize, worker: opts.Worker, workers: opts.NumWorkers,
		batch: opts.BatchSize, dropLast: opts.DropLast, stop: opts.Epochs,
	}
	if opts.Mix != nil {
		idx, err := buildIndex(ctx, store, lay, m.ID, opts.Prefetch)
		if err != nil {
			return nil, err
		}
		if l.mix, err = newMixer(lay, m, idx, opts); err != nil {
			return nil, &OptionError{err}
		}
	}
	if err := l.setStart(); err != nil {
		return nil, &OptionError{err}
	}
	if opts.Tokenize != "" {
		if l.codec, err = codecFor(opts.Tokenize); err != nil {
			return nil, err
		}
	}
	if opts.RunID != "" {
		if l.record, err = newRecorder(ctx, store, l.recordOf(), opts.RecordEvery, opts.Logger); err != nil {
			return nil, err
		}
	}
	l.run(ctx)
	return l, nil
}

// setStart sets the state the loader starts from and checks a resume
// token against the order the options give.
func (l *Loader) setStart() error {
	base := State{Format: StateFormat, Version: l.manifest.ID, Seed: l.opts.Seed, Shuffle: l.opts.Shuffle}
	if l.opts.Shuffle {
		base.Window = l.opts.Window
	}
	if l.mix != nil {
		base.Mix = l.mix.digest
	}
	l.start = base
	l.start.Epoch = l.opts.Epoch
	if r := l.opts.Resume; r != nil {
		if err := checkResume(*r, base); err != nil {
			return err
		}
		l.start.Epoch, l.start.Position = r.Epoch, r.Position
	}
	l.state = l.start
	return nil
}

func (l *Loader) recordOf() ConsumptionRecord {
	o := l.opts
	ro := RecordOptions{
		Rank: o.Rank, WorldSize: o.WorldSize, Worker: o.Worker, NumWorkers: o.NumWorkers,
		BatchSize: o.BatchSize, DropLast: o.DropLast, Shuffle: o.Shuffle, Seed: o.Seed,
		Epoch: o.Epoch, Epochs: o.Epochs, Mix: o.Mix, Tokenize: o.Tokenize, Resume: o.Resume,
	}
	if o.Shuffle {
		ro.Window = o.Window
	}
	now := time.Now().UTC().Format(time.RFC3339)
	return ConsumptionRecord{RunID: o.RunID, Version: l.manifest.ID, OpenedAt: now, Options: ro, LastState: l.start, UpdatedAt: now}
}

// run starts the planner, the assembler and the fetch workers.
func (l *Loader) run(parent context.Context) {
	ctx, cancel := context.WithCancel(parent)
	l.cancel = cancel
	l.cache = newShardCache(l.store, l.lay, l.manifest.ID, l.opts.Memory, l.opts.Logger)
	l.plans = make(chan batchPlan, planAhead)
	l.out = make(chan *Batch, readyBatches)
	for range l.opts.Prefetch {
		l.wg.Go(func() { l.cache.fetchLoop(ctx) })
	}
	l.wg.Go(func() { l.planErr = l.plan(ctx); close(l.plans) })
	l.wg.Go(func() { l.assemble(ctx) })
}

// planAhead caps the batches planned ahead of the assembler; the memory
// budget usually stops the planner first. readyBatches is the number of
// assembled batches waiting for Next.
const (
	planAhead    = 1024
	readyBatches = 4
)

// sequence returns the global order of epoch e.
func (l *Loader) sequence(e int) sequence {
	if l.mix != nil {
		return l.mix.plan(e).seq
	}
	return newShuffledOrder(l.lay, l.opts.Shuffle, l.opts.Window, l.opts.Seed, "epoch", int64(e))
}

// plan walks this consumer's batches in order, across epochs, acquires
// the shards of each and hands it to the assembler. It runs ahead of the
// trainer as far as the memory budget allows, so the first shards of the
// next epoch are fetched while the current one is still consumed.
func (l *Loader) plan(ctx context.Context) error {
	for e := l.start.Epoch; l.sched.stop == 0 || e < l.sched.stop; e++ {
		seq := l.sequence(e)
		from := int64(0)
		if e == l.start.Epoch {
			from = min(l.start.Position, seq.length())
		}
		planned := false
		var err error
		l.sched.epochSpans(e, from, seq.length(), l.start, func(sp span) bool {
			planned = true
			err = l.planBatch(ctx, seq, sp)
			return err == nil
		})
		if err != nil {
			return err
		}
		if !planned && from == 0 && l.sched.stop == 0 {
			return fmt.Errorf("epoch %d of version %s gives this loader no batch (%d documents, %d ranks of %d documents, worker %d of %d), so it would never yield one: use fewer workers, smaller batches or no DropLast",
				e, l.manifest.ID, seq.length(), l.opts.WorldSize, l.opts.BatchSize, l.opts.Worker, l.opts.NumWorkers)
		}
	}
	return nil
}

// planBatch acquires the shards of one batch and queues it.
func (l *Loader) planBatch(ctx context.Context, seq sequence, sp span) error {
	p := batchPlan{span: sp, refs: make([]docRef, sp.end-sp.start), entries: map[uint32]*cacheEntry{}}
	for i := range p.refs {
		p.refs[i] = seq.at(sp.start + int64(i))
	}
	for _, ref := range p.refs {
		if _, ok := p.entries[ref.shard]; ok {
			continue
		}
		e, err := l.cache.acquire(ctx, ref.shard)
		if err != nil {
			return err
		}
		p.entries[ref.shard] = e
	}
	l.cache.planned()
	select {
	case l.plans <- p:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// assemble turns each planned batch into a Batch once its shards are
// loaded. It records why it stopped in endErr, nil when the last epoch
// ended.
func (l *Loader) assemble(ctx context.Context) {
	defer close(l.out)
	for p := range l.plans {
		b, err := l.build(ctx, p)
		if err != nil {
			l.endErr = err
			l.cancel() // stop the planner and the fetches too
			return
		}
		select {
		case l.out <- b:
		case <-ctx.Done():
			l.endErr = ctx.Err()
			return
		}
	}
	l.endErr = l.planErr
}

// build waits for the shards of p, copies its documents and releases the
// shards.
func (l *Loader) build(ctx context.Context, p batchPlan) (*Batch, error) {
	defer l.cache.assembled()
	defer func() {
		for _, e := range p.entries {
			l.cache.release(e)
		}
	}()
	for _, e := range p.entries {
		select {
		case <-e.done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		if e.err != nil {
			return nil, e.err
		}
	}

	b := &Batch{Epoch: p.epoch, State: p.after, Docs: make([]Doc, len(p.refs))}
	for i, ref := range p.refs {
		d := p.entries[ref.shard].docs
		b.Docs[i] = Doc{
			ID: d.ids[ref.row], Text: d.texts[ref.row], URL: d.urls[ref.row],
			Source: d.sources[ref.row], Lang: d.langs[ref.row], TokenCount: d.tokenCounts[ref.row],
			Position: p.start + int64(i),
		}
	}
	if l.codec != nil {
		tokens, err := tokenizeDocs(l.codec, b.Docs)
		if err != nil {
			return nil, err
		}
		b.Tokens = tokens
	}
	return b, nil
}

// Next returns the next batch, or io.EOF after the last epoch. An error
// is final: every later call returns it.
func (l *Loader) Next(ctx context.Context) (*Batch, error) {
	l.mu.Lock()
	err := l.err
	if l.closed {
		err = errClosed
	}
	l.mu.Unlock()
	if err != nil {
		return nil, err
	}

	var b *Batch
	var ok bool
	select {
	case b, ok = <-l.out:
	case <-ctx.Done():
		return nil, ctx.Err()
	}

	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case l.closed:
		return nil, errClosed
	case !ok:
		l.err = io.EOF
		if l.endErr != nil {
			l.err = l.endErr
		}
		return nil, l.err
	}
	l.state = b.State
	l.batches++
	if l.record != nil {
		l.record.update(l.state, l.batches)
	}
	return b, nil
}

// State returns the state after the last batch Next returned, or the
// state the loader started from before the first.
func (l *Loader) State() State {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.state
}

// Manifest returns the manifest of the version being loaded.
func (l *Loader) Manifest() *pipeline.Manifest { return l.manifest }

// Docs returns the number of documents of the version, deletions left
// out.
func (l *Loader) Docs() int64 { return l.lay.docs }

// Mixture returns what mixing draws in epoch e, or nil without mixing.
func (l *Loader) Mixture(e int) *MixReport {
	if l.mix == nil {
		return nil
	}
	r := l.mix.plan(e).report
	return &r
}

// Stats returns the loader's counters.
func (l *Loader) Stats() Stats {
	c := l.cache
	return Stats{
		ShardFetches: c.fetches.Load(),
		BytesFetched: c.fetched.Load(),
		CacheHits:    c.hits.Load(),
		FetchTime:    time.Duration(c.fetchNanos.Load()),
		MemoryBytes:  c.usedBytes(),
	}
}

// Close stops prefetching and writes the consumption record with the
// last state, returning the first error writing it.
func (l *Loader) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	final := l.state
	l.mu.Unlock()

	l.cancel()
	l.wg.Wait()
	if l.record != nil {
		return l.record.close(final)
	}
	return nil
}
