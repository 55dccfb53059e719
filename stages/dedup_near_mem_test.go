package stages

import (
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/winnow-data/winnow/pipeline"
)

// TestNearDedupMemoryPerDocument measures the heap the near_dedup stage
// holds per indexed document with the default 14 bands of 8 rows: the LSH
// index plus one offset into the file of signatures. The target is at
// most 100 bytes.
func TestNearDedupMemoryPerDocument(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("allocates about 100 MB; the race detector inflates the heap")
	}
	const docs = 1_000_000
	st, err := newNearDedup(DefaultNearDedupOptions(), pipeline.NewEnv(slog.New(slog.NewTextHandler(io.Discard, nil)), "near_dedup"))
	if err != nil {
		t.Fatal(err)
	}
	nd := st.(*nearDedup)
	defer nd.store.close()

	rng := rand.New(rand.NewPCG(1, 2))
	sig := make([]byte, 2*14*8)
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := range docs {
		for j := 0; j < len(sig); j += 8 {
			binary.LittleEndian.PutUint64(sig[j:], rng.Uint64())
		}
		if err := nd.Seed(pipeline.SeedDoc{ID: fmt.Sprintf("doc-%07d", i), Signature: sig}); err != nil {
			t.Fatal(err)
		}
	}
	var after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&after)
	perDoc := float64(after.HeapAlloc-before.HeapAlloc) / docs
	t.Logf("%.1f bytes of heap per indexed document at %d documents (LSH tables %d bytes)", perDoc, docs, nd.lsh.Bytes())
	if perDoc > 100 {
		t.Errorf("%.1f bytes per indexed document, want at most 100", perDoc)
	}
	runtime.KeepAlive(nd)
}
