package loader

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/winnow-data/winnow/pipeline"
)

// fetchShard reads shard s from store whole, checks its size and SHA-256
// against the manifest, and decodes the columns want. Nothing of a shard
// is decoded before its checksum matches.
func fetchShard(ctx context.Context, store Storage, s *shardInfo, want columns) (*shardDocs, int64, error) {
	rc, err := store.Open(ctx, s.Path)
	if err != nil {
		return nil, 0, err
	}
	buf := bytes.NewBuffer(make([]byte, 0, s.Bytes+bytes.MinRead))
	_, err = buf.ReadFrom(rc)
	rc.Close()
	if err != nil {
		return nil, 0, fmt.Errorf("reading: %w", err)
	}
	data := buf.Bytes()
	if int64(len(data)) != s.Bytes {
		return nil, 0, fmt.Errorf("file has %d bytes, the manifest records %d: %w", len(data), s.Bytes, pipeline.ErrChecksumMismatch)
	}
	sum := sha256.Sum256(data)
	if got := hex.EncodeToString(sum[:]); got != s.SHA256 {
		return nil, 0, fmt.Errorf("sha256 is %s, the manifest records %s: %w", got, s.SHA256, pipeline.ErrChecksumMismatch)
	}
	docs, err := decodeShard(data, s.Rows, want)
	return docs, int64(len(data)), err
}

// shardCache holds fetched and decoded shards within a memory budget. The
// planner acquires the shards of each batch in the order the batches will
// be consumed. A shard that is not cached is queued for the fetch workers
// once the budget has room for it. The assembler releases a batch's
// shards after copying its documents. Shards no batch holds stay cached
// until their memory is needed, the least recently used first.
type shardCache struct {
	store   Storage
	lay     *layout
	version string
	budget  int64
	logger  *slog.Logger
	queue   chan *cacheEntry // entries to fetch, in the order of need

	mu      sync.Mutex
	changed chan struct{} // closed, and replaced, when memory is freed
	entries map[uint32]*cacheEntry
	used    int64  // bytes reserved by entries
	pending int    // batches planned and not yet assembled
	clock   uint64 // use counter for least-recently-used eviction
	// fileBytes and decodedBytes total the shards decoded so far; their
	// ratio estimates the memory of the next shard from its file size.
	fileBytes, decodedBytes int64

	fetches, hits, fetched atomic.Int64
	fetchNanos             atomic.Int64
}

// cacheEntry is one shard in the cache.
type cacheEntry struct {
	shard    uint32
	refs     int    // batches planned that use it
	reserved int64  // bytes counted against the budget
	lastUse  uint64 // clock value of the last acquire or release
	done     chan struct{}
	docs     *shardDocs // set before done is closed, nil on error
	err      error
}

func newShardCache(store Storage, lay *layout, version string, budget int64, logger *slog.Logger) *shardCache {
	return &shardCache{
		store: store, lay: lay, version: version, budget: budget, logger: logger,
		queue:   make(chan *cacheEntry, len(lay.shards)),
		changed: make(chan struct{}),
		entries: map[uint32]*cacheEntry{},
	}
}

// notify wakes every acquire waiting for memory. The caller holds mu.
func (c *shardCache) notify() {
	close(c.changed)
	c.changed = make(chan struct{})
}

// estimate returns the bytes a shard is expected to take while it is
// decoded: its file, plus its decoded columns at the ratio seen so far
// (3 times the file size before any shard is decoded).
func (c *shardCache) estimate(shard uint32) int64 {
	size := c.lay.shards[shard].Bytes
	ratio := 3.0
	if c.fileBytes > 0 {
		ratio = float64(c.decodedBytes) / float64(c.fileBytes)
	}
	return size + int64(float64(size)*ratio)
}

// acquire holds shard for one more planned batch, queueing its fetch when
// it is not cached. It waits while the budget is full, unless no earlier
// batch is pending, since then only the batch being planned holds memory
// and it must load to make progress.
func (c *shardCache) acquire(ctx context.Context, shard uint32) (*cacheEntry, error) {
	c.mu.Lock()
	for {
		c.clock++
		if e := c.entries[shard]; e != nil {
			e.refs++
			e.lastUse = c.clock
			c.mu.Unlock()
			c.hits.Add(1)
			return e, nil
		}
		need := c.estimate(shard)
		c.evict(need)
		if c.used+need <= c.budget || c.pending == 0 {
			e := &cacheEntry{shard: shard, refs: 1, reserved: need, lastUse: c.clock, done: make(chan struct{})}
			c.entries[shard] = e
			c.used += need
			c.mu.Unlock()
			// The queue has a slot per shard, and an entry is evicted only
			// once loaded, so a shard is never queued twice and this send
			// never blocks.
			c.queue <- e
			return e, nil
		}
		wait := c.changed
		c.mu.Unlock()
		select {
		case <-wait:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		c.mu.Lock()
	}
}

// evict drops loaded shards that no planned batch holds, least recently
// used first, until need more bytes fit in the budget or none is left.
// The caller holds mu.
func (c *shardCache) evict(need int64) {
	for c.used+need > c.budget {
		var victim *cacheEntry
		for _, e := range c.entries {
			if e.refs > 0 || !isClosed(e.done) {
				continue
			}
			if victim == nil || e.lastUse < victim.lastUse {
				victim = e
			}
		}
		if victim == nil {
			return
		}
		delete(c.entries, victim.shard)
		c.used -= victim.reserved
	}
}

// release drops one hold on e.
func (c *shardCache) release(e *cacheEntry) {
	c.mu.Lock()
	c.clock++
	e.refs--
	e.lastUse = c.clock
	c.notify()
	c.mu.Unlock()
}

// planned counts a batch the planner has handed to the assembler, and
// assembled one the assembler has finished.
func (c *shardCache) planned() {
	c.mu.Lock()
	c.pending++
	c.mu.Unlock()
}

func (c *shardCache) assembled() {
	c.mu.Lock()
	c.pending--
	c.notify()
	c.mu.Unlock()
}

// fetchLoop fetches queued shards until ctx ends.
func (c *shardCache) fetchLoop(ctx context.Context) {
	for {
		select {
		case e := <-c.queue:
			c.load(ctx, e)
		case <-ctx.Done():
			return
		}
	}
}

// load fetches and decodes e's shard, then settles its memory at the
// decoded size.
func (c *shardCache) load(ctx context.Context, e *cacheEntry) {
	s := &c.lay.shards[e.shard]
	start := time.Now()
	docs, n, err := fetchShard(ctx, c.store, s, docColumns)
	elapsed := time.Since(start)
	c.fetches.Add(1)
	c.fetched.Add(n)
	c.fetchNanos.Add(int64(elapsed))

	c.mu.Lock()
	if err != nil {
		e.err = fmt.Errorf("loading shard %s of version %s: %w", s.Path, c.version, err)
	} else {
		e.docs = docs
		c.fileBytes += s.Bytes
		c.decodedBytes += docs.size
		c.used += docs.size - e.reserved
		e.reserved = docs.size
	}
	c.notify()
	c.mu.Unlock()
	close(e.done)
	if err == nil {
		c.logger.Debug("shard loaded", "shard", s.Path, "bytes", s.Bytes, "decoded_bytes", docs.size, "ms", elapsed.Milliseconds())
	}
}

// usedBytes returns the bytes the cache holds or has reserved.
func (c *shardCache) usedBytes() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.used
}

func isClosed(ch chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}
