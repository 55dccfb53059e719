package loader

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/winnow-data/winnow/pipeline"
)

// newDataset writes n test documents to a new root in shards of about
// shardBytes and returns the root.
func newDataset(t testing.TB, n int, shardBytes int64) (string, *pipeline.Manifest) {
	t.Helper()
	root := t.TempDir()
	m := writeVersion(t, root, testDocs(n), shardBytes)
	return root, m
}

func TestLoaderReadsEveryDocumentInOrder(t *testing.T) {
	root, m := newDataset(t, 1000, 40_000)
	if len(m.Shards) < 3 {
		t.Fatalf("got %d shards, want several", len(m.Shards))
	}
	l := openLoader(t, root, Options{BatchSize: 64, Epochs: 1})
	got := ids(drain(t, l))
	for i, id := range got {
		if id != strconv.Itoa(i) {
			t.Fatalf("document %d has id %s, want %d", i, id, i)
		}
	}
	if len(got) != 1000 {
		t.Errorf("got %d documents, want 1000", len(got))
	}
}

func TestLoaderResumeAfter200Continues(t *testing.T) {
	root, _ := newDataset(t, 5000, 60_000)
	for _, shuffle := range []bool{false, true} {
		t.Run(fmt.Sprintf("shuffle=%v", shuffle), func(t *testing.T) {
			opts := Options{BatchSize: 50, Epochs: 1, Shuffle: shuffle, Seed: 7, Window: 700}
			whole := ids(drain(t, openLoader(t, root, opts)))

			first := openLoader(t, root, opts)
			head := ids(take(t, first, 4))
			state := first.State()
			if state.Position != 200 {
				t.Fatalf("state after 200 documents has position %d", state.Position)
			}
			opts.Resume = &state
			rest := ids(drain(t, openLoader(t, root, opts)))

			if !slices.Equal(append(head, rest...), whole) {
				t.Errorf("200 documents plus the resumed rest differ from one uninterrupted pass")
			}
			if !shuffle && rest[0] != "200" {
				t.Errorf("resumed pass starts at id %s, want 200", rest[0])
			}
		})
	}
}

func TestLoaderResumeTwiceInARow(t *testing.T) {
	root, _ := newDataset(t, 5000, 60_000)
	opts := Options{BatchSize: 10, Shuffle: true, Seed: 3, Window: 512}
	whole := ids(take(t, openLoader(t, root, opts), 40))

	l := openLoader(t, root, opts)
	take(t, l, 10)
	at100 := l.State()
	token := at100.String()

	// The same token restored twice continues with the same batch.
	for range 2 {
		s, err := ParseState([]byte(token))
		if err != nil {
			t.Fatal(err)
		}
		opts.Resume = &s
		got := ids(take(t, openLoader(t, root, opts), 1))
		if !slices.Equal(got, whole[100:110]) {
			t.Fatalf("batch after restoring the token at 100 is %v, want %v", got, whole[100:110])
		}
	}

	// Resume at 100, take 100 more, resume again: it continues at 200.
	opts.Resume = &at100
	l = openLoader(t, root, opts)
	if got := ids(take(t, l, 10)); !slices.Equal(got, whole[100:200]) {
		t.Fatalf("documents 100 to 199 after the first resume differ")
	}
	at200 := l.State()
	if at200.Position != 200 {
		t.Fatalf("state after 200 documents has position %d", at200.Position)
	}
	opts.Resume = &at200
	if got := ids(take(t, openLoader(t, root, opts), 20)); !slices.Equal(got, whole[200:400]) {
		t.Errorf("documents after the second resume do not continue at 200")
	}
}

func TestLoaderEpochsDifferAndRepeat(t *testing.T) {
	root, _ := newDataset(t, 3000, 50_000)
	opts := Options{BatchSize: 100, Shuffle: true, Seed: 7, Window: 400, Epochs: 2}
	byEpoch := func() [2][]string {
		var out [2][]string
		for _, b := range drain(t, openLoader(t, root, opts)) {
			out[b.Epoch] = append(out[b.Epoch], ids([]*Batch{b})...)
		}
		return out
	}
	run1, run2 := byEpoch(), byEpoch()
	for e := range 2 {
		if len(run1[e]) != 3000 {
			t.Errorf("epoch %d has %d documents, want 3000", e, len(run1[e]))
		}
		if !slices.Equal(run1[e], run2[e]) {
			t.Errorf("epoch %d with seed 7 differs between two runs", e)
		}
	}
	if slices.Equal(run1[0], run1[1]) {
		t.Errorf("epochs 0 and 1 with seed 7 give the same order")
	}
	sorted := slices.Clone(run1[0])
	slices.Sort(sorted)
	if slices.Equal(sorted, run1[0]) || !slices.Equal(slices.Sorted(slices.Values(run1[1])), sorted) {
		t.Errorf("a shuffled epoch is not a permutation of the documents")
	}

	opts.Seed = 8
	if other := byEpoch(); slices.Equal(other[0], run1[0]) {
		t.Errorf("seeds 7 and 8 give the same order")
	}
}

func TestLoaderNoShufflePassesIdentical(t *testing.T) {
	root, _ := newDataset(t, 1500, 50_000)
	batches := drain(t, openLoader(t, root, Options{BatchSize: 128, Epochs: 3}))
	var passes [3][]string
	for _, b := range batches {
		passes[b.Epoch] = append(passes[b.Epoch], ids([]*Batch{b})...)
	}
	for e := 1; e < 3; e++ {
		if !slices.Equal(passes[e], passes[0]) {
			t.Errorf("unshuffled pass %d differs from pass 0", e)
		}
	}
}

// consumer is one rank's worker.
type consumer struct{ rank, worker int }

// epochDocs runs every rank and worker of a world over one epoch from
// resume (nil for the start) and returns the ids each consumer got.
func epochDocs(t *testing.T, root string, opts Options, world, workers int, resume *State) map[consumer][]string {
	t.Helper()
	out := map[consumer][]string{}
	for r := range world {
		for w := range workers {
			o := opts
			o.Rank, o.WorldSize, o.Worker, o.NumWorkers, o.Resume = r, world, w, workers, resume
			if resume != nil {
				o.Epochs = resume.Epoch + 1
			}
			out[consumer{r, w}] = ids(drain(t, openLoader(t, root, o)))
		}
	}
	return out
}

func TestLoaderRanksAndWorkersCoverEachDocumentOnce(t *testing.T) {
	root, m := newDataset(t, 5000, 80_000)
	opts := Options{BatchSize: 64, Shuffle: true, Seed: 11, Window: 1000, Epochs: 1}
	got := epochDocs(t, root, opts, 4, 2, nil)

	seen := map[string]int{}
	for c, list := range got {
		if len(list) == 0 {
			t.Errorf("rank %d worker %d got no document", c.rank, c.worker)
		}
		for _, id := range list {
			seen[id]++
		}
	}
	if int64(len(seen)) != m.Totals.Docs {
		t.Errorf("%d distinct documents over all ranks and workers, want %d", len(seen), m.Totals.Docs)
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("document %s given %d times", id, n)
		}
	}
}

func TestLoaderRanksGetEqualBatchCounts(t *testing.T) {
	root, _ := newDataset(t, 1001, 80_000)
	counts := map[int]int{}
	for r := range 4 {
		batches := drain(t, openLoader(t, root, Options{BatchSize: 100, Rank: r, WorldSize: 4, Epochs: 1}))
		counts[len(batches)]++
	}
	if len(counts) != 1 {
		t.Errorf("ranks got different numbers of batches: %v", counts)
	}
}

func TestLoaderElasticResume(t *testing.T) {
	root, _ := newDataset(t, 4000, 70_000)
	opts := Options{BatchSize: 32, Shuffle: true, Seed: 5, Window: 900, Epochs: 1}
	all := ids(drain(t, openLoader(t, root, opts)))

	// 4 ranks take 7 batches each, then the run stops.
	const steps = 7
	consumed := map[string]bool{}
	var states []State
	for r := range 4 {
		o := opts
		o.Rank, o.WorldSize = r, 4
		l := openLoader(t, root, o)
		for _, id := range ids(take(t, l, steps)) {
			consumed[id] = true
		}
		states = append(states, l.State())
	}
	for _, s := range states[1:] {
		if s != states[0] {
			t.Fatalf("ranks at the same step hold different states: %v and %v", states[0], s)
		}
	}
	token := states[0]
	if token.Position != 4*steps*32 {
		t.Fatalf("state position is %d, want %d", token.Position, 4*steps*32)
	}
	if !sameSet(slices.Collect(mapKeys(consumed)), all[:token.Position]) {
		t.Fatalf("the documents 4 ranks consumed are not the first %d of the epoch's order", token.Position)
	}

	for _, world := range []int{2, 8} {
		t.Run(fmt.Sprintf("world=%d", world), func(t *testing.T) {
			var rest []string
			for _, list := range epochDocs(t, root, opts, world, 1, &token) {
				rest = append(rest, list...)
			}
			if len(rest) != len(all)-int(token.Position) {
				t.Errorf("resumed ranks got %d documents, want the %d not yet consumed", len(rest), len(all)-int(token.Position))
			}
			if !sameSet(rest, all[token.Position:]) {
				t.Errorf("resumed ranks got other documents than the ones not yet consumed")
			}
			for _, id := range rest {
				if consumed[id] {
					t.Errorf("document %s consumed before the checkpoint is given again", id)
				}
			}
		})
	}
}

func TestLoaderDropLast(t *testing.T) {
	root, _ := newDataset(t, 1000, 80_000)
	for r := range 3 {
		batches := drain(t, openLoader(t, root, Options{BatchSize: 100, Rank: r, WorldSize: 3, DropLast: true, Epochs: 1}))
		if len(batches) != 3 {
			t.Errorf("rank %d got %d batches, want 3 full ones", r, len(batches))
		}
		for _, b := range batches {
			if len(b.Docs) != 100 {
				t.Errorf("rank %d got a batch of %d documents with DropLast", r, len(b.Docs))
			}
		}
	}
}

func TestLoaderHonoursDeletions(t *testing.T) {
	root, m := newDataset(t, 600, 40_000)
	m.Deletions = []pipeline.Deletion{
		{Shard: m.Shards[0].Path, Rows: []int64{0, 5, 6}, Reason: "near_duplicate"},
		{Shard: m.Shards[1].Path, Rows: []int64{m.Shards[1].Rows - 1}, Reason: "near_duplicate"},
	}
	commitManifest(t, root, m)

	removed := map[string]bool{"0": true, "5": true, "6": true, strconv.FormatInt(m.Shards[0].Rows+m.Shards[1].Rows-1, 10): true}
	for _, shuffle := range []bool{false, true} {
		l := openLoader(t, root, Options{Shuffle: shuffle, Window: 100, Epochs: 1})
		got := ids(drain(t, l))
		if len(got) != 600-len(removed) {
			t.Errorf("shuffle=%v: got %d documents, want %d", shuffle, len(got), 600-len(removed))
		}
		for _, id := range got {
			if removed[id] {
				t.Errorf("shuffle=%v: deleted document %s was loaded", shuffle, id)
			}
		}
	}
}

func TestLoaderReportsCorruptShardByName(t *testing.T) {
	root, m := newDataset(t, 600, 40_000)
	bad := m.Shards[1].Path
	path := filepath.Join(root, filepath.FromSlash(bad))
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)/2] ^= 0x01
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}

	l := openLoader(t, root, Options{BatchSize: 50, Epochs: 1})
	var err2 error
	for err2 == nil {
		_, err2 = l.Next(t.Context())
	}
	if errors.Is(err2, io.EOF) {
		t.Fatal("loader reached the end without reporting the corrupt shard")
	}
	if !strings.Contains(err2.Error(), bad) {
		t.Errorf("error %q does not name shard %s", err2, bad)
	}
	if !errors.Is(err2, pipeline.ErrChecksumMismatch) {
		t.Errorf("error %q does not match ErrChecksumMismatch", err2)
	}
	if _, again := l.Next(t.Context()); !errors.Is(again, err2) && again.Error() != err2.Error() {
		t.Errorf("second Next returned %v, want the same error", again)
	}
}

func TestLoaderReportsMissingShardByName(t *testing.T) {
	root, m := newDataset(t, 600, 40_000)
	missing := m.Shards[len(m.Shards)-1].Path
	if err := os.Remove(filepath.Join(root, filepath.FromSlash(missing))); err != nil {
		t.Fatal(err)
	}
	store, err := OpenLocalDir(root)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Open(t.Context(), store, Options{})
	if err == nil {
		t.Fatal("Open succeeded with a shard missing")
	}
	if !strings.Contains(err.Error(), missing) {
		t.Errorf("error %q does not name shard %s", err, missing)
	}
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("error %q does not match fs.ErrNotExist", err)
	}
}

func TestLoaderRejectsTokenOfAnotherOrder(t *testing.T) {
	root, _ := newDataset(t, 300, 40_000)
	l := openLoader(t, root, Options{BatchSize: 10, Shuffle: true, Seed: 7})
	take(t, l, 3)
	s := l.State()

	store, err := OpenLocalDir(root)
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]Options{
		"seed":    {Shuffle: true, Seed: 8, Resume: &s},
		"shuffle": {Seed: 7, Resume: &s},
		"window":  {Shuffle: true, Seed: 7, Window: 99, Resume: &s},
	}
	for name, opts := range cases {
		_, err := Open(t.Context(), store, opts)
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s: Open returned %v, want an error naming %s", name, err, name)
		}
	}
}

func TestLoaderParseStateRejectsBadTokens(t *testing.T) {
	for _, token := range []string{
		`{`,
		`{"format":2,"version":"0123456789abcdef"}`,
		`{"format":1}`,
		`{"format":1,"version":"0123456789abcdef","position":-1}`,
		`{"format":1,"version":"0123456789abcdef","shuffle":true}`,
	} {
		if _, err := ParseState([]byte(token)); err == nil {
			t.Errorf("ParseState(%s) succeeded", token)
		}
	}
}

func sameSet(a, b []string) bool {
	x, y := slices.Clone(a), slices.Clone(b)
	slices.Sort(x)
	slices.Sort(y)
	return slices.Equal(x, y)
}

func mapKeys[K comparable, V any](m map[K]V) func(func(K) bool) {
	return func(yield func(K) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}
