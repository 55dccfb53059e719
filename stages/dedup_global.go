package stages

import (
	"bufio"
	"cmp"
	"context"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/winnow-data/winnow/dedup"
	"github.com/winnow-data/winnow/pipeline"
)

// GlobalDoc is one document of a version as the global deduplication pass
// reads it: its location, the values the keeper rules compare, and the
// values the totals count.
type GlobalDoc struct {
	Key         string // "<shard path>#<row>", unique within a version
	Shard       string
	Row         int64
	ID          string
	Input       string
	InputOffset int64
	Length      int // text bytes
	Lang        string
	Source      string
	Tokens      int64
	LangScore   float32
	TokenCount  int32
	Shingled    bool // false for a document without shingles, which matches nothing
}

// globalRow is the part of a shard row the global pass reads.
type globalRow struct {
	ID          string  `parquet:"id"`
	Text        string  `parquet:"text"`
	Source      string  `parquet:"source"`
	Lang        string  `parquet:"lang"`
	LangScore   float32 `parquet:"lang_score"`
	TokenCount  int32   `parquet:"token_count"`
	Input       string  `parquet:"input"`
	InputOffset int64   `parquet:"input_offset"`
}

// GlobalIndex holds a version's documents and their MinHash signatures, cut
// to their low 16 bits as near_dedup stores them.
type GlobalIndex struct {
	Docs   []GlobalDoc
	opts   NearDedupOptions
	sigs   []uint16 // Bands*Rows per document
	keys   []uint64 // Bands per document
	hasher *dedup.MinHasher
}

// LoadGlobalIndex reads every document of version m that m does not delete
// and computes its signature from its text with the MinHash options of
// opts. Documents without shingles get no signature and match nothing.
//
// NOTE: every worker of a pass loads every document and computes every
// signature, about 224 + 112 bytes per document for 14 bands of 8; only
// the pair search is split between workers.
func LoadGlobalIndex(ctx context.Context, root string, m *pipeline.Manifest, opts NearDedupOptions) (*GlobalIndex, error) {
	if opts.Method != "minhash" {
		return nil, fmt.Errorf("the global pass supports method minhash, not %q", opts.Method)
	}
	cfg := dedup.DefaultMinHashConfig()
	if opts.Datatrove {
		cfg = dedup.DatatroveMinHashConfig()
	}
	cfg.Bands, cfg.Rows, cfg.WordN, cfg.CharN = opts.Bands, opts.Rows, opts.WordNgram, opts.CharNgram
	hasher, err := dedup.NewMinHasher(cfg)
	if err != nil {
		return nil, err
	}
	x := &GlobalIndex{opts: opts, hasher: hasher}

	store, err := pipeline.OpenLocalStore(root)
	if err != nil {
		return nil, err
	}
	if err := pipeline.VerifyShards(store, m); err != nil {
		return nil, err
	}
	deleted := m.DeletedRows()
	var sig dedup.Signature
	var low dedup.Signature
	n := opts.Bands * opts.Rows
	for _, sh := range m.Shards {
		err := ReadParquetRows(ctx, filepath.Join(root, filepath.FromSlash(sh.Path)), func(row int64, r *globalRow) error {
			if deleted[sh.Path][row] {
				return nil
			}
			sig = hasher.AppendSignature(sig[:0], r.Text)
			low = lowSignatureBits(low[:0], sig)
			if len(low) == 0 {
				// No shingles: zeros keep the arrays aligned, and FindPairs
				// skips the document.
				low = append(low, make(dedup.Signature, n)...)
			}
			for _, v := range low {
				x.sigs = append(x.sigs, uint16(v))
			}
			if len(sig) > 0 {
				x.keys = hasher.AppendBandKeys(x.keys, low)
			} else {
				x.keys = append(x.keys, make([]uint64, opts.Bands)...)
			}
			x.Docs = append(x.Docs, GlobalDoc{
				Key: fmt.Sprintf("%s#%d", sh.Path, row), Shard: sh.Path, Row: row, ID: r.ID,
				Input: r.Input, InputOffset: r.InputOffset, Length: len(r.Text), Lang: r.Lang, Source: r.Source,
				Tokens: int64(r.TokenCount), LangScore: r.LangScore, TokenCount: r.TokenCount, Shingled: len(sig) > 0,
			})
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("reading shard %s of version %s: %w", sh.Path, m.ID, err)
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
	return x, nil
}

// Pair is two documents, by index into GlobalIndex.Docs with A < B, whose
// estimated similarity reaches the threshold.
type Pair struct {
	A, B       int
	Similarity float64
}

// FindPairs returns the verified pairs among the documents that share a key
// in one of the bands band with band % workers == worker, sorted by A then
// B. Together the workers' pairs cover every band.
func (x *GlobalIndex) FindPairs(worker, workers int) []Pair {
	bands := x.opts.Bands
	n := bands * x.opts.Rows
	seen := map[[2]int]bool{}
	var pairs []Pair
	for band := worker; band < bands; band += workers {
		buckets := map[uint64][]int{}
		for d := range x.Docs {
			if x.Docs[d].Shingled {
				key := x.keys[d*bands+band]
				buckets[key] = append(buckets[key], d)
			}
		}
		for _, members := range buckets {
			for i, a := range members {
				for _, b := range members[i+1:] {
					if seen[[2]int{a, b}] {
						continue
					}
					seen[[2]int{a, b}] = true
					if sim := similarity16(x.sigs[a*n:(a+1)*n], x.sigs[b*n:(b+1)*n]); sim >= x.opts.Threshold {
						pairs = append(pairs, Pair{A: a, B: b, Similarity: sim})
					}
				}
			}
		}
	}
	slices.SortFunc(pairs, func(p, q Pair) int { return cmp.Or(cmp.Compare(p.A, q.A), cmp.Compare(p.B, q.B)) })
	return pairs
}

func similarity16(a, b []uint16) float64 {
	equal := 0
	for i := range a {
		if a[i] == b[i] {
			equal++
		}
	}
	return float64(equal) / float64(len(a))
}

// WritePairs writes pairs as "keyA<TAB>keyB<TAB>similarity" lines.
func (x *GlobalIndex) WritePairs(w io.Writer, pairs []Pair) error {
	bw := bufio.NewWriter(w)
	for _, p := range pairs {
		fmt.Fprintf(bw, "%s\t%s\t%.4f\n", x.Docs[p.A].Key, x.Docs[p.B].Key, p.Similarity)
	}
	return bw.Flush()
}

// ReadPairs reads pairs that WritePairs wrote, for the documents of x.
func (x *GlobalIndex) ReadPairs(r io.Reader) ([]Pair, error) {
	index := make(map[string]int, len(x.Docs))
	for i, d := range x.Docs {
		index[d.Key] = i
	}
	var pairs []Pair
	sc := bufio.NewScanner(r)
	for line := 1; sc.Scan(); line++ {
		fields := strings.Split(sc.Text(), "\t")
		if len(fields) != 3 {
			return nil, fmt.Errorf("line %d: want 3 tab-separated fields, got %d", line, len(fields))
		}
		a, okA := index[fields[0]]
		b, okB := index[fields[1]]
		sim, err := strconv.ParseFloat(fields[2], 64)
		if !okA || !okB || err != nil {
			return nil, fmt.Errorf("line %d: unknown document or bad similarity in %q", line, sc.Text())
		}
		pairs = append(pairs, Pair{A: a, B: b, Similarity: sim})
	}
	return pairs, sc.Err()
}

// KeeperOrder returns the document indexes in the order the keeper rule
// prefers them: first (input name, then record offset, then shard and row),
// longest (text length, descending), or max:lang_score / max:token_count
// (that column, descending). Ties of longest and max: go to the smaller id.
func (x *GlobalIndex) KeeperOrder(keep string) ([]int, error) {
	order := make([]int, len(x.Docs))
	for i := range order {
		order[i] = i
	}
	first := func(a, b GlobalDoc) int {
		return cmp.Or(cmp.Compare(a.Input, b.Input), cmp.Compare(a.InputOffset, b.InputOffset),
			cmp.Compare(a.Shard, b.Shard), cmp.Compare(a.Row, b.Row))
	}
	var by func(a, b GlobalDoc) int
	switch keep {
	case "first":
		by = first
	case "longest":
		by = func(a, b GlobalDoc) int {
			return cmp.Or(cmp.Compare(b.Length, a.Length), cmp.Compare(a.ID, b.ID), first(a, b))
		}
	case "max:lang_score":
		by = func(a, b GlobalDoc) int {
			return cmp.Or(cmp.Compare(b.LangScore, a.LangScore), cmp.Compare(a.ID, b.ID), first(a, b))
		}
	case "max:token_count":
		by = func(a, b GlobalDoc) int {
			return cmp.Or(cmp.Compare(b.TokenCount, a.TokenCount), cmp.Compare(a.ID, b.ID), first(a, b))
		}
	default:
		return nil, fmt.Errorf("invalid keep %q: use first, longest, max:lang_score or max:token_count", keep)
	}
	slices.SortStableFunc(order, func(i, j int) int { return by(x.Docs[i], x.Docs[j]) })
	return order, nil
}

// Resolve returns the documents to remove: walking the documents in keeper
// order, a document is removed when a pair links it to a document already
// kept, and kept otherwise. So every removed document has a kept twin at
// the threshold, and a chain A~B~C with A and C apart keeps C.
func Resolve(docs int, pairs []Pair, order []int) []int {
	neighbors := make([][]int, docs)
	for _, p := range pairs {
		neighbors[p.A] = append(neighbors[p.A], p.B)
		neighbors[p.B] = append(neighbors[p.B], p.A)
	}
	kept := make([]bool, docs)
	var removed []int
	for _, d := range order {
		dup := false
		for _, n := range neighbors[d] {
			if kept[n] {
				dup = true
				break
			}
		}
		if dup {
			removed = append(removed, d)
		} else {
			kept[d] = true
		}
	}
	slices.Sort(removed)
	return removed
}
