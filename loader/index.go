package loader

import (
	"context"
	"fmt"
	"math"
	"sync"
)

// langIndex is the language and token count of every row of a version,
// which mixing needs before it can draw. It takes 6 bytes per row.
type langIndex struct {
	ids    map[string]uint16 // language label to id; "" is stored as und
	langs  [][]uint16        // by shard, then row: language id
	tokens [][]int32         // by shard, then row: token_count
}

// buildIndex fetches every shard, parallel at most at a time, checks its
// checksum and decodes its lang and token_count columns.
func buildIndex(ctx context.Context, store Storage, lay *layout, version string, parallel int) (*langIndex, error) {
	idx := &langIndex{
		ids:    map[string]uint16{},
		langs:  make([][]uint16, len(lay.shards)),
		tokens: make([][]int32, len(lay.shards)),
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	var (
		mu       sync.Mutex
		firstErr error // later workers fail with context.Canceled
		wg       sync.WaitGroup
		next     = make(chan int)
	)
	for range min(parallel, len(lay.shards)) {
		wg.Go(func() {
			for i := range next {
				if err := idx.add(ctx, store, lay, i, &mu); err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = fmt.Errorf("indexing shard %s of version %s: %w", lay.shards[i].Path, version, err)
					}
					mu.Unlock()
					cancel()
				}
			}
		})
	}
feed:
	for i := range lay.shards {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	return idx, ctx.Err()
}

// add indexes shard i. mu guards the id map.
func (idx *langIndex) add(ctx context.Context, store Storage, lay *layout, i int, mu *sync.Mutex) error {
	docs, _, err := fetchShard(ctx, store, &lay.shards[i], indexColumns)
	if err != nil {
		return err
	}
	langs := make([]uint16, len(docs.langs))
	mu.Lock()
	defer mu.Unlock()
	for row, name := range docs.langs {
		if name == "" {
			name = "und"
		}
		id, ok := idx.ids[name]
		if !ok {
			if len(idx.ids) > math.MaxUint16 {
				return fmt.Errorf("more than %d language labels", math.MaxUint16+1)
			}
			id = uint16(len(idx.ids))
			idx.ids[name] = id
		}
		langs[row] = id
	}
	idx.langs[i] = langs
	idx.tokens[i] = docs.tokenCounts
	return nil
}
