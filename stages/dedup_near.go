package stages

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math/bits"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/winnow-data/winnow/dedup"
	"github.com/winnow-data/winnow/pipeline"
)

// Drop reason of near_dedup.
const reasonNearDuplicate = "near_duplicate"

const nearDedupDoc = "Drops documents whose estimated similarity to an earlier KEPT document reaches the threshold " +
	"(near_duplicate), keeping the first of each cluster in input order. method minhash estimates the Jaccard " +
	"similarity of word 5-gram shingles (character n-grams for scripts without spaces) with MinHash and finds " +
	"candidates with LSH; method simhash matches 64-bit SimHashes within a Hamming distance. Every candidate is " +
	"verified against a kept document, so chains A~B~C never remove C for A. Documents without shingles " +
	"(empty or blank) never match."

func init() {
	pipeline.Register("near_dedup", nearDedupDoc, false, DefaultNearDedupOptions(), newNearDedup)
}

// NearDedupOptions configures near_dedup.
type NearDedupOptions struct {
	Method          string  `yaml:"method" doc:"minhash or simhash; default minhash"`
	Threshold       float64 `yaml:"threshold" doc:"minimum estimated Jaccard similarity to a kept document for a drop, minhash only, 0 to 1; default 0.7 (datatrove's 14x8 bands put the LSH threshold near 0.72)"`
	Bands           int     `yaml:"bands" doc:"LSH bands, minhash only; default 14"`
	Rows            int     `yaml:"rows" doc:"signature values per band, minhash only; default 8 (14 x 8 = 112 values, as datatrove and FineWeb)"`
	WordNgram       int     `yaml:"word_ngram" doc:"words per shingle for scripts written with spaces; default 5"`
	CharNgram       int     `yaml:"char_ngram" doc:"characters per shingle for scripts written without spaces (Chinese, Japanese, Thai, Khmer, Lao, Burmese); default 5"`
	HammingDistance int     `yaml:"hamming_distance" doc:"largest Hamming distance between two 64-bit SimHashes for a drop, simhash only, 0 to 31; default 3"`
	Keep            string  `yaml:"keep" doc:"which document of a cluster is kept: first (in input order); default first"`
	Datatrove       bool    `yaml:"datatrove" doc:"compute signatures exactly as datatrove's MinhashDedupSignature does (its text simplification, word tokens, xxh64 and 112 permutations); slower; default false"`
}

// DefaultNearDedupOptions returns the options a config that names none gets.
func DefaultNearDedupOptions() NearDedupOptions {
	return NearDedupOptions{
		Method:          "minhash",
		Threshold:       0.7,
		Bands:           dedup.DefaultBands,
		Rows:            dedup.DefaultRows,
		WordNgram:       dedup.DefaultWordN,
		CharNgram:       dedup.DefaultCharN,
		HammingDistance: 3,
		Keep:            "first",
	}
}

// Validate checks the options and names the first bad one.
func (o *NearDedupOptions) Validate() error {
	switch {
	case o.Method != "minhash" && o.Method != "simhash":
		return fmt.Errorf("invalid method %q: use minhash or simhash", o.Method)
	case !(o.Threshold > 0 && o.Threshold <= 1):
		return fmt.Errorf("invalid threshold %v: must be above 0 and at most 1", o.Threshold)
	case o.Bands < 1 || o.Bands > 1024:
		return fmt.Errorf("invalid bands %d: must be 1 to 1024", o.Bands)
	case o.Rows < 1 || o.Rows > 64:
		return fmt.Errorf("invalid rows %d: must be 1 to 64", o.Rows)
	case o.WordNgram < 1:
		return fmt.Errorf("invalid word_ngram %d: must be at least 1", o.WordNgram)
	case o.CharNgram < 1:
		return fmt.Errorf("invalid char_ngram %d: must be at least 1", o.CharNgram)
	case o.HammingDistance < 0 || o.HammingDistance > 31:
		return fmt.Errorf("invalid hamming_distance %d: must be 0 to 31", o.HammingDistance)
	case o.Keep != "first":
		// NOTE: keeping the longest or the best-scored document of a cluster
		// needs every member seen before deciding, which a streaming stage
		// cannot do without holding back its output.
		return fmt.Errorf("invalid keep %q: near_dedup keeps the first document of each cluster in input order; use first", o.Keep)
	case o.Datatrove && o.Method != "minhash":
		return fmt.Errorf("invalid datatrove true: it applies to method minhash only")
	}
	return nil
}

// nearDedup is the near_dedup stage. Prepare computes signatures on several
// batches at once; Process matches them against the index one batch at a
// time in input order, which makes "first kept" deterministic.
type nearDedup struct {
	opts   NearDedupOptions
	env    pipeline.Env
	config dedup.MinHashConfig

	hashers sync.Pool // *dedup.MinHasher or *dedup.Shingler, one per goroutine

	mu      sync.Mutex
	pending map[uint64][]docSketch // by batch Seq, from Prepare to Process

	// Index state, touched only by Process.
	lsh       *dedup.LSHIndex
	sim       *dedup.SimHashIndex
	kept      []uint16 // minhash: kept signatures, Bands*Rows values each, low 16 bits
	simHashes []uint64 // simhash: kept hashes, by document number
	keptIDs   []string // ids of kept documents, by document number, for the rejects output
	bandKeys  *dedup.MinHasher
	low       dedup.Signature
	keys      []uint64
	cands     []uint32
}

// docSketch is a document's signature or SimHash; empty when the document
// has no shingles.
type docSketch struct {
	sig  dedup.Signature
	hash uint64
	ok   bool
}

func newNearDedup(opts NearDedupOptions, env pipeline.Env) (pipeline.Stage, error) {
	cfg := dedup.DefaultMinHashConfig()
	if opts.Datatrove {
		cfg = dedup.DatatroveMinHashConfig()
	}
	cfg.Bands, cfg.Rows, cfg.WordN, cfg.CharN = opts.Bands, opts.Rows, opts.WordNgram, opts.CharNgram
	s := &nearDedup{opts: opts, env: env, config: cfg, pending: map[uint64][]docSketch{}}

	var err error
	if opts.Method == "minhash" {
		if s.bandKeys, err = dedup.NewMinHasher(cfg); err != nil {
			return nil, err
		}
		s.hashers.New = func() any { m, _ := dedup.NewMinHasher(cfg); return m }
		s.lsh, err = dedup.NewLSHIndex(cfg.Bands)
	} else {
		shingles := dedup.ShingleConfig{WordN: opts.WordNgram, CharN: opts.CharNgram}
		if _, err = dedup.NewShingler(shingles); err != nil {
			return nil, err
		}
		s.hashers.New = func() any { sh, _ := dedup.NewShingler(shingles); return sh }
		s.sim, err = dedup.NewSimHashIndex(opts.HammingDistance)
	}
	if err != nil {
		return nil, err
	}
	return s, nil
}

// Prepare computes the signature or SimHash of every alive row.
func (s *nearDedup) Prepare(ctx context.Context, b *pipeline.Batch) error {
	texts := b.Strings(pipeline.ColText)
	sketches := make([]docSketch, b.Len())
	h := s.hashers.Get()
	defer s.hashers.Put(h)
	var shingles []uint64
	for i := range sketches {
		if !b.Alive(i) {
			continue
		}
		switch h := h.(type) {
		case *dedup.MinHasher:
			sig := h.AppendSignature(nil, texts.Value(i))
			sketches[i] = docSketch{sig: sig, ok: len(sig) > 0}
		case *dedup.Shingler:
			shingles = h.AppendShingles(shingles[:0], texts.Value(i))
			hash, ok := dedup.SimHash(shingles)
			sketches[i] = docSketch{hash: hash, ok: ok}
		}
	}
	s.mu.Lock()
	s.pending[b.Seq] = sketches
	s.mu.Unlock()
	return ctx.Err()
}

// Process drops the alive rows that match a kept document and indexes the
// others. The engine calls it in Seq order, after Prepare.
func (s *nearDedup) Process(_ context.Context, b *pipeline.Batch) error {
	s.mu.Lock()
	sketches, ok := s.pending[b.Seq]
	delete(s.pending, b.Seq)
	s.mu.Unlock()
	if !ok {
		return fmt.Errorf("batch %d reached Process without Prepare", b.Seq)
	}

	ids := b.Strings(pipeline.ColID)
	var noShingles, rejected int64
	sigs := array.NewBinaryBuilder(memory.DefaultAllocator, arrow.BinaryTypes.Binary)
	defer sigs.Release()
	for i, sk := range sketches {
		sigs.Append(encodeSketch(sk))
		if !b.Alive(i) {
			continue
		}
		if !sk.ok {
			noShingles++
			continue
		}
		var m match
		var err error
		if s.lsh != nil {
			m, rejected, err = s.matchMinHash(sk.sig, rejected)
		} else {
			m = s.matchSimHash(sk.hash)
		}
		if err != nil {
			return err
		}
		if m.found {
			b.DropWithDetail(i, reasonNearDuplicate, m.detail(s.keptIDs))
			continue
		}
		s.keptIDs = append(s.keptIDs, ids.Value(i))
	}
	col := sigs.NewArray()
	defer col.Release()
	b.SetColumn(pipeline.ColSignature, col)
	s.env.Events.Add("no_shingles", noShingles)
	s.env.Events.Add("candidates_below_threshold", rejected)
	return nil
}

// match is a kept document that a new document duplicates.
type match struct {
	found      bool
	twin       uint32  // kept document number
	similarity float64 // minhash: estimated Jaccard similarity
	distance   int     // simhash: Hamming distance
	simhash    bool
}

// detail is the rejects output's note on the match, naming the kept twin.
func (m match) detail(keptIDs []string) string {
	twin, _ := json.Marshal(keptIDs[m.twin])
	if m.simhash {
		return fmt.Sprintf(`{"twin":%s,"hamming_distance":%d}`, twin, m.distance)
	}
	return fmt.Sprintf(`{"twin":%s,"similarity":%.4f}`, twin, m.similarity)
}

// matchMinHash finds the first kept document, in index order, whose
// similarity to sig reaches the threshold, and indexes sig as kept when
// there is none. rejected counts LSH candidates that verification turned
// down.
func (s *nearDedup) matchMinHash(sig dedup.Signature, rejected int64) (match, int64, error) {
	s.low = lowSignatureBits(s.low[:0], sig)
	s.keys = s.bandKeys.AppendBandKeys(s.keys[:0], s.low)

	next := uint32(s.lsh.Len())
	var err error
	s.cands, err = s.lsh.AppendCandidates(s.cands[:0], next, s.keys)
	if err != nil {
		return match{}, rejected, err
	}
	for _, c := range s.cands {
		if sim := s.similarity(s.low, c); sim >= s.opts.Threshold {
			return match{found: true, twin: c, similarity: sim}, rejected, nil
		}
		rejected++
	}
	return match{}, rejected, s.indexMinHash(next)
}

// indexMinHash adds the signature in s.low, with its band keys in s.keys,
// to the index as kept document next.
func (s *nearDedup) indexMinHash(next uint32) error {
	if err := s.lsh.Insert(next, s.keys); err != nil {
		return err
	}
	for _, v := range s.low {
		s.kept = append(s.kept, uint16(v))
	}
	return nil
}

// lowSignatureBits appends the low 16 bits of each value of sig to dst. Band keys and
// similarities are computed on these, the values the signature column
// stores, so an index rebuilt from committed shards matches the one built
// while writing them. Two different values agree in their low 16 bits with
// probability 2^-16, which raises a similarity estimate by at most
// (1-J)/65536 and leaves a band of 8 values 128 bits; in exchange a kept
// signature takes 224 bytes at 112 values instead of 896.
func lowSignatureBits(dst dedup.Signature, sig dedup.Signature) dedup.Signature {
	for _, v := range sig {
		dst = append(dst, v&0xffff)
	}
	return dst
}

// similarity estimates the Jaccard similarity of low, a signature cut to
// its low 16 bits, and kept document c.
func (s *nearDedup) similarity(low dedup.Signature, c uint32) float64 {
	n := len(low)
	stored := s.kept[int(c)*n : int(c+1)*n]
	equal := 0
	for i, v := range low {
		if uint16(v) == stored[i] {
			equal++
		}
	}
	return float64(equal) / float64(n)
}

// matchSimHash finds the first kept document, in index order, whose hash is
// within the Hamming distance of hash, and indexes hash as kept when there
// is none. SimHash matches are exact, so there is no candidate to verify.
func (s *nearDedup) matchSimHash(hash uint64) match {
	next := uint32(s.sim.Len())
	s.cands = s.sim.AppendNear(s.cands[:0], next, hash)
	if len(s.cands) > 0 {
		twin := s.cands[0]
		return match{found: true, twin: twin, distance: bits.OnesCount64(hash ^ s.simHashes[twin]), simhash: true}
	}
	s.sim.Insert(next, hash)
	s.simHashes = append(s.simHashes, hash)
	return match{}
}

// Close logs the index size.
func (s *nearDedup) Close(context.Context) error {
	if s.lsh != nil {
		s.env.Logger.Info("near dedup finished", "method", "minhash", "indexed", s.lsh.Len(),
			"index_bytes", s.lsh.Bytes(), "signature_bytes", 2*len(s.kept))
	} else {
		s.env.Logger.Info("near dedup finished", "method", "simhash", "indexed", s.sim.Len())
	}
	return nil
}

// encodeSketch is the signature column's value: each MinHash value's low 16
// bits, little-endian, or the SimHash as 8 bytes little-endian; nil for a
// document without shingles.
func encodeSketch(sk docSketch) []byte {
	if !sk.ok {
		return nil
	}
	if sk.sig == nil {
		return binary.LittleEndian.AppendUint64(nil, sk.hash)
	}
	out := make([]byte, 0, 2*len(sk.sig))
	for _, v := range sk.sig {
		out = binary.LittleEndian.AppendUint16(out, uint16(v))
	}
	return out
}

// Seed indexes a document of an earlier version as kept, from the
// signature near_dedup stored with it. A document without a signature, or
// with one of another length (another method or band layout), is skipped;
// the caller checks that the earlier version used the same options.
func (s *nearDedup) Seed(doc pipeline.SeedDoc) error {
	if s.lsh != nil {
		n := s.opts.Bands * s.opts.Rows
		if len(doc.Signature) != 2*n {
			return nil
		}
		s.low = s.low[:0]
		for i := range n {
			s.low = append(s.low, uint64(binary.LittleEndian.Uint16(doc.Signature[2*i:])))
		}
		s.keys = s.bandKeys.AppendBandKeys(s.keys[:0], s.low)
		s.keptIDs = append(s.keptIDs, doc.ID)
		return s.indexMinHash(uint32(s.lsh.Len()))
	}
	if len(doc.Signature) != 8 {
		return nil
	}
	hash := binary.LittleEndian.Uint64(doc.Signature)
	s.sim.Insert(uint32(s.sim.Len()), hash)
	s.simHashes = append(s.simHashes, hash)
	s.keptIDs = append(s.keptIDs, doc.ID)
	return nil
}
