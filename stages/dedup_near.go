package stages

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"os"
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
	Method           string  `yaml:"method" doc:"minhash or simhash; default minhash"`
	Threshold        float64 `yaml:"threshold" doc:"minimum estimated Jaccard similarity to a kept document for a drop, minhash only, 0 to 1; default 0.7 (datatrove's 14x8 bands put the LSH threshold near 0.72)"`
	Bands            int     `yaml:"bands" doc:"LSH bands, minhash only; default 14"`
	Rows             int     `yaml:"rows" doc:"signature values per band, minhash only; default 8 (14 x 8 = 112 values, as datatrove and FineWeb)"`
	WordNgram        int     `yaml:"word_ngram" doc:"words per shingle for scripts written with spaces; default 5"`
	CharNgram        int     `yaml:"char_ngram" doc:"characters per shingle for scripts written without spaces (Chinese, Japanese, Thai, Khmer, Lao, Burmese); default 5"`
	HammingDistance  int     `yaml:"hamming_distance" doc:"largest Hamming distance between two 64-bit SimHashes for a drop, simhash only, 0 to 31; default 3"`
	Keep             string  `yaml:"keep" doc:"which document of a cluster is kept: first (in input order); default first"`
	Index            string  `yaml:"index" doc:"where the LSH index lives: memory (about 88 bytes per kept document, over 500,000 documents/s) or disk (sorted band runs under temp_dir, a bounded buffer, for corpora whose index does not fit in memory; about 12,000 documents/s); default memory"`
	IndexMemoryBytes int     `yaml:"index_memory_bytes" doc:"buffer of the disk index before it writes a sorted run, in bytes; default 67108864 (64 MiB)"`
	TempDir          string  `yaml:"temp_dir" doc:"folder for the file of kept documents' signatures and ids, which is unlinked at once and read only to verify candidates; default \"\" means the system's temporary folder"`
	Datatrove        bool    `yaml:"datatrove" doc:"compute signatures exactly as datatrove's MinhashDedupSignature does (its text simplification, word tokens, xxh64 and 112 permutations); slower; default false"`
}

// DefaultNearDedupOptions returns the options a config that names none gets.
func DefaultNearDedupOptions() NearDedupOptions {
	return NearDedupOptions{
		Method:           "minhash",
		Threshold:        0.7,
		Bands:            dedup.DefaultBands,
		Rows:             dedup.DefaultRows,
		WordNgram:        dedup.DefaultWordN,
		CharNgram:        dedup.DefaultCharN,
		HammingDistance:  3,
		Keep:             "first",
		Index:            "memory",
		IndexMemoryBytes: 64 << 20,
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
	case o.Index != "memory" && o.Index != "disk":
		return fmt.Errorf("invalid index %q: use memory or disk", o.Index)
	case o.IndexMemoryBytes < 1<<16:
		return fmt.Errorf("invalid index_memory_bytes %d: must be at least 65536", o.IndexMemoryBytes)
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
	lsh      dedup.Index
	sim      *dedup.SimHashIndex
	store    *keptStore // payload and id of every kept document, by document number
	hash     uint64     // simhash: the hash of the document being matched
	bandKeys *dedup.MinHasher
	low      dedup.Signature
	keys     []uint64
	cands    []uint32
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
		if opts.Index == "disk" {
			dir := opts.TempDir
			if dir == "" {
				dir = os.TempDir()
			}
			// NOTE: Close removes the index's files; a run that fails
			// before Close leaves them in dir.
			s.lsh, err = dedup.NewDiskLSHIndex(dir, cfg.Bands, opts.IndexMemoryBytes)
		} else {
			s.lsh, err = dedup.NewLSHIndex(cfg.Bands)
		}
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
	payload := 8
	if opts.Method == "minhash" {
		payload = 2 * cfg.Bands * cfg.Rows
	}
	if s.store, err = newKeptStore(opts.TempDir, payload); err != nil {
		return nil, err
	}
	return s, nil
}

// sketch computes the signature or SimHash of one text.
func (s *nearDedup) sketch(text string) docSketch {
	h := s.hashers.Get()
	defer s.hashers.Put(h)
	switch h := h.(type) {
	case *dedup.MinHasher:
		sig := h.AppendSignature(nil, text)
		return docSketch{sig: sig, ok: len(sig) > 0}
	case *dedup.Shingler:
		hash, ok := dedup.SimHash(h.AppendShingles(nil, text))
		return docSketch{hash: hash, ok: ok}
	}
	return docSketch{}
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
		payload := encodeSketch(sk)
		sigs.Append(payload)
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
			m, err = s.matchSimHash(sk.hash)
		}
		if err != nil {
			return err
		}
		if m.found {
			b.DropWithDetail(i, reasonNearDuplicate, m.detail(s.opts))
			continue
		}
		if err := s.index(payload, ids.Value(i)); err != nil {
			return err
		}
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
	twin       string  // id of the kept document
	similarity float64 // minhash: estimated Jaccard similarity
	distance   int     // simhash: Hamming distance
	simhash    bool
}

// detail is the rejects output's note on the match, naming the kept twin.
// It carries the measured similarity as the signal, next to the threshold
// it reached.
func (m match) detail(opts NearDedupOptions) string {
	twin, _ := json.Marshal(m.twin)
	if m.simhash {
		return fmt.Sprintf(`{"twin":%s,"hamming_distance":%d,"signal":"hamming_distance","value":%d,"threshold":%d}`,
			twin, m.distance, m.distance, opts.HammingDistance)
	}
	return fmt.Sprintf(`{"twin":%s,"similarity":%.4f,"signal":"similarity","value":%.4f,"threshold":%g}`,
		twin, m.similarity, m.similarity, opts.Threshold)
}

// matchMinHash finds the first kept document, in index order, whose
// similarity to sig reaches the threshold. It leaves sig's low bits in
// s.low and band keys in s.keys for index. rejected counts LSH candidates
// that verification turned down.
func (s *nearDedup) matchMinHash(sig dedup.Signature, rejected int64) (match, int64, error) {
	s.low = lowSignatureBits(s.low[:0], sig)
	s.keys = s.bandKeys.AppendBandKeys(s.keys[:0], s.low)

	var err error
	s.cands, err = s.lsh.AppendCandidates(s.cands[:0], uint32(s.lsh.Len()), s.keys)
	if err != nil {
		return match{}, rejected, err
	}
	for _, c := range s.cands {
		stored, id, err := s.store.read(c)
		if err != nil {
			return match{}, rejected, err
		}
		if sim := similarity16LE(s.low, stored); sim >= s.opts.Threshold {
			return match{found: true, twin: id, similarity: sim}, rejected, nil
		}
		rejected++
	}
	return match{}, rejected, nil
}

// index adds the document whose match call just failed as kept: its band
// keys (minhash) or hash (simhash) to the index, its payload and id to the
// store. Document numbers are the store's record numbers.
func (s *nearDedup) index(payload []byte, id string) error {
	next := uint32(s.store.len())
	if s.lsh != nil {
		if err := s.lsh.Insert(next, s.keys); err != nil {
			return err
		}
	} else {
		s.sim.Insert(next, s.hash)
	}
	return s.store.add(payload, id)
}

// lowSignatureBits appends the low 16 bits of each value of sig to dst. Band
// keys and similarities are computed on these, the values the signature
// column stores, so an index rebuilt from committed shards matches the one
// built while writing them. Two different values agree in their low 16 bits
// with probability 2^-16, which raises a similarity estimate by at most
// (1-J)/65536 and leaves a band of 8 values 128 bits. In exchange a stored
// signature takes 224 bytes at 112 values instead of 896.
func lowSignatureBits(dst dedup.Signature, sig dedup.Signature) dedup.Signature {
	for _, v := range sig {
		dst = append(dst, v&0xffff)
	}
	return dst
}

// similarity16LE estimates the Jaccard similarity of low, a signature cut to
// its low 16 bits, and stored, such a signature as little-endian bytes.
func similarity16LE(low dedup.Signature, stored []byte) float64 {
	equal := 0
	for i, v := range low {
		if uint16(v) == binary.LittleEndian.Uint16(stored[2*i:]) {
			equal++
		}
	}
	return float64(equal) / float64(len(low))
}

// matchSimHash finds the first kept document, in index order, whose hash is
// within the Hamming distance of hash. SimHash matches are exact, so there
// is no candidate to verify.
func (s *nearDedup) matchSimHash(hash uint64) (match, error) {
	s.hash = hash
	s.cands = s.sim.AppendNear(s.cands[:0], uint32(s.sim.Len()), hash)
	if len(s.cands) == 0 {
		return match{}, nil
	}
	stored, id, err := s.store.read(s.cands[0])
	if err != nil {
		return match{}, err
	}
	twinHash := binary.LittleEndian.Uint64(stored)
	return match{found: true, twin: id, distance: bits.OnesCount64(hash ^ twinHash), simhash: true}, nil
}

// Close logs the index size and releases the store.
func (s *nearDedup) Close(context.Context) error {
	if s.lsh != nil {
		s.env.Logger.Info("near dedup finished", "method", "minhash", "indexed", s.lsh.Len(), "index_bytes", s.lsh.Bytes())
	} else {
		s.env.Logger.Info("near dedup finished", "method", "simhash", "indexed", s.sim.Len())
	}
	err := s.store.close()
	if c, ok := s.lsh.(io.Closer); ok {
		err = errors.Join(err, c.Close())
	}
	return err
}

// encodeSketch returns the signature column's value: each MinHash value's
// low 16 bits, little-endian, or the SimHash as 8 bytes little-endian. A
// document without shingles gets nil.
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
// signature near_dedup stored with it, or from its text when it has none of
// this stage's size. The caller passes no signature when the earlier
// version's options differ, so signatures always compare.
func (s *nearDedup) Seed(doc pipeline.SeedDoc) error {
	if len(doc.Signature) != s.store.payload {
		sk := s.sketch(doc.Text)
		if !sk.ok {
			return nil // no shingles: never matches, so never indexed
		}
		doc.Signature = encodeSketch(sk)
	}
	if s.lsh != nil {
		s.low = s.low[:0]
		for i := range len(doc.Signature) / 2 {
			s.low = append(s.low, uint64(binary.LittleEndian.Uint16(doc.Signature[2*i:])))
		}
		s.keys = s.bandKeys.AppendBandKeys(s.keys[:0], s.low)
	} else {
		s.hash = binary.LittleEndian.Uint64(doc.Signature)
	}
	return s.index(doc.Signature, doc.ID)
}
