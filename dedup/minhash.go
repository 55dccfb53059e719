package dedup

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"

	"github.com/zeebo/xxh3"
)

// Default MinHash shape: datatrove's and FineWeb's 14 bands of 8 rows. A
// pair of Jaccard similarity s shares at least one band with probability
// 1-(1-s^8)^14: 0.5 at s = 0.69, 0.65 at s = 0.72 and 0.92 at s = 0.8.
const (
	DefaultBands = 14
	DefaultRows  = 8
)

// maxRows bounds Rows so that a band fits the stack buffer of
// AppendBandKeys.
const maxRows = 64

// Scheme selects how a MinHasher turns shingles into signature slots.
type Scheme uint8

const (
	// OnePermutation hashes each shingle once, puts it in one of the
	// Bands*Rows slots by its top bits and keeps the minimum per slot (one
	// permutation hashing). Slots that get no shingle borrow the value of a
	// non-empty slot along a probe sequence fixed by the seed (optimal
	// densification). As with independent permutations, a slot of two
	// signatures is equal with probability equal to the Jaccard similarity
	// of the shingle sets. The cost is one hash per shingle instead of one
	// per shingle and slot. The default.
	OnePermutation Scheme = iota
	// Permutations computes Bands*Rows hash functions per shingle:
	// ((h*a + b) mod 2^64) mod (2^61-1), with a and b drawn as numpy's
	// RandomState(Seed) draws them for datatrove. This is classic
	// k-permutation MinHash over winnow's shingles, about five times slower
	// than OnePermutation.
	Permutations
	// Datatrove follows datatrove's MinhashDedupSignature (English word
	// tokenizer, 64-bit xxhash): its text simplification, word tokens,
	// XXH64 shingle hashes and the Permutations hash functions, so that a
	// document of at least WordN tokens gets datatrove's signature slot for
	// slot. CharN is ignored. The recipe, and what was checked against
	// datatrove, is described in datatrove.go.
	Datatrove
)

// MinHashConfig sets up a MinHasher. A zero Bands, Rows, WordN or CharN
// takes its default; Seed is used as given.
type MinHashConfig struct {
	// Bands is the number of LSH bands. Default DefaultBands.
	Bands int
	// Rows is the number of signature slots per band, at most 64. Default
	// DefaultRows.
	Rows int
	// WordN and CharN are the shingle sizes; see ShingleConfig.
	WordN, CharN int
	// Seed selects the hash functions. For Permutations and Datatrove it is
	// numpy's RandomState seed and must be below 2^32; datatrove's default
	// is 1, as set by DatatroveMinHashConfig.
	Seed uint64
	// Scheme selects the hash functions. Default OnePermutation.
	Scheme Scheme
}

// DefaultMinHashConfig returns the defaults: 14 bands of 8 rows, 5-word and
// 5-character shingles, OnePermutation with seed 0.
func DefaultMinHashConfig() MinHashConfig {
	return MinHashConfig{Bands: DefaultBands, Rows: DefaultRows, WordN: DefaultWordN, CharN: DefaultCharN}
}

// DatatroveMinHashConfig returns the configuration whose signatures match
// datatrove's MinhashConfig() defaults: 14 bands of 8 rows, 5-grams, seed 1.
func DatatroveMinHashConfig() MinHashConfig {
	c := DefaultMinHashConfig()
	c.Seed = 1
	c.Scheme = Datatrove
	return c
}

// Signature is a MinHash signature: Bands*Rows slot values, or no values
// for a document without shingles. Signatures compare only when they come
// from MinHashers with equal configurations.
type Signature []uint64

// MinHasher computes MinHash signatures. It reuses buffers between calls,
// so it is not safe for concurrent use; give each goroutine its own.
type MinHasher struct {
	cfg      MinHashConfig
	shingler *Shingler
	trove    *datatroveShingler
	shingles []uint64

	// Permutations and Datatrove.
	a, b []uint64

	// OnePermutation.
	key    uint64   // keys the shingle hash mix
	probes []uint16 // probes[i*densifyProbes+t]: slot tried t-th by empty slot i
	empty  []bool
}

// densifyProbes is the number of seeded random probes an empty slot makes
// before it scans the slots in order.
const densifyProbes = 8

// mersenne61 is the prime 2^61-1.
const mersenne61 = 1<<61 - 1

// NewMinHasher returns a MinHasher for cfg after filling in defaults.
func NewMinHasher(cfg MinHashConfig) (*MinHasher, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	m := &MinHasher{cfg: cfg}
	var err error
	m.shingler, err = NewShingler(ShingleConfig{WordN: cfg.WordN, CharN: cfg.CharN})
	if err != nil {
		return nil, err
	}

	k := cfg.Bands * cfg.Rows
	switch cfg.Scheme {
	case OnePermutation:
		m.key = mix64(cfg.Seed ^ 0x6f6e6570)
		m.probes = densifyOrder(cfg.Seed, k)
		m.empty = make([]bool, k)
	case Datatrove:
		m.trove = &datatroveShingler{wordN: cfg.WordN}
		fallthrough
	case Permutations:
		m.a, m.b = datatroveParameters(uint32(cfg.Seed), k)
	}
	return m, nil
}

func (c MinHashConfig) withDefaults() MinHashConfig {
	if c.Bands == 0 {
		c.Bands = DefaultBands
	}
	if c.Rows == 0 {
		c.Rows = DefaultRows
	}
	sc := ShingleConfig{WordN: c.WordN, CharN: c.CharN}.withDefaults()
	c.WordN, c.CharN = sc.WordN, sc.CharN
	return c
}

func (c MinHashConfig) validate() error {
	switch {
	case c.Bands < 1 || c.Bands > 1024:
		return fmt.Errorf("dedup: invalid Bands %d: must be 1 to 1024", c.Bands)
	case c.Rows < 1 || c.Rows > maxRows:
		return fmt.Errorf("dedup: invalid Rows %d: must be 1 to %d", c.Rows, maxRows)
	case c.Scheme > Datatrove:
		return fmt.Errorf("dedup: invalid Scheme %d", c.Scheme)
	case c.Scheme != OnePermutation && c.Seed > math.MaxUint32:
		return fmt.Errorf("dedup: invalid Seed %d: numpy seeds must be below 2^32", c.Seed)
	}
	return ShingleConfig{WordN: c.WordN, CharN: c.CharN}.validate()
}

// Config returns the configuration with defaults filled in. Store it with
// signatures: signatures from different configurations do not compare.
func (m *MinHasher) Config() MinHashConfig { return m.cfg }

// AppendSignature appends the signature of text to dst: Bands*Rows values,
// or none when text has no shingles. A signature without values is
// Similarity 0 to every signature, itself included, and has no band keys.
func (m *MinHasher) AppendSignature(dst Signature, text string) Signature {
	if m.trove != nil {
		m.shingles = m.trove.appendShingles(m.shingles[:0], text)
	} else {
		m.shingles = m.shingler.AppendShingles(m.shingles[:0], text)
	}
	return m.appendSignatureOf(dst, m.shingles)
}

// appendSignatureOf appends the signature of a document's shingle hashes.
func (m *MinHasher) appendSignatureOf(dst Signature, shingles []uint64) Signature {
	if len(shingles) == 0 {
		return dst
	}
	k := m.cfg.Bands * m.cfg.Rows
	start := len(dst)
	dst = slices.Grow(dst, k)[:start+k]
	sig := dst[start:]
	if m.cfg.Scheme == OnePermutation {
		m.onePermutation(sig, shingles)
	} else {
		m.permutations(sig, shingles)
	}
	return dst
}

func (m *MinHasher) onePermutation(sig Signature, shingles []uint64) {
	for i := range sig {
		sig[i] = math.MaxUint64
	}
	k := uint64(len(sig))
	for _, h := range shingles {
		x := mix64(h ^ m.key)
		// The slot is the top 32 bits scaled to k, so each slot holds one
		// contiguous range of x and the minimum is taken within it.
		slot := (x >> 32) * k >> 32
		sig[slot] = min(sig[slot], x)
	}
	m.densify(sig)
}

// densify fills each empty slot with the value of the first non-empty slot
// on its probe sequence: densifyProbes seeded random slots, then the slots
// after the last probe in order. The sequence depends only on the seed, so
// two documents make the same choice whenever their non-empty slots allow.
// NOTE: a shingle whose mixed hash is 2^64-1 counts as empty (probability
// 2^-64 per shingle); the result stays deterministic.
func (m *MinHasher) densify(sig Signature) {
	k := len(sig)
	for i, v := range sig {
		m.empty[i] = v == math.MaxUint64
	}
	for i := range sig {
		if !m.empty[i] {
			continue
		}
		probes := m.probes[i*densifyProbes : (i+1)*densifyProbes]
		j := int(probes[0])
		for t := 0; m.empty[j]; t++ {
			if t+1 < len(probes) {
				j = int(probes[t+1])
			} else {
				j = (j + 1) % k
			}
		}
		sig[i] = sig[j]
	}
}

func (m *MinHasher) permutations(sig Signature, shingles []uint64) {
	for i := range sig {
		sig[i] = math.MaxUint64
	}
	a, b := m.a[:len(sig)], m.b[:len(sig)]
	for _, h := range shingles {
		for i := range sig {
			// datatrove computes h*a+b in wrapping uint64 arithmetic, then
			// reduces modulo 2^61-1.
			v := reduceMersenne61(h*a[i] + b[i])
			sig[i] = min(sig[i], v)
		}
	}
}

// reduceMersenne61 returns x mod 2^61-1.
func reduceMersenne61(x uint64) uint64 {
	r := x&mersenne61 + x>>61
	if r >= mersenne61 {
		r -= mersenne61
	}
	return r
}

// datatroveParameters draws the k multipliers and k offsets as datatrove
// does: RandomState(seed).randint(1, 2^61-1, size=k) for a, then
// randint(0, 2^61-1, size=k) for b, both as uint64.
func datatroveParameters(seed uint32, k int) (a, b []uint64) {
	g := newMT19937(seed)
	a = make([]uint64, k)
	b = make([]uint64, k)
	for i := range a {
		a[i] = g.boundedUint64(1, mersenne61)
	}
	for i := range b {
		b[i] = g.boundedUint64(0, mersenne61)
	}
	return a, b
}

// densifyOrder returns densifyProbes pseudo-random probe slots for each of
// k slots, derived from seed alone.
func densifyOrder(seed uint64, k int) []uint16 {
	probes := make([]uint16, k*densifyProbes)
	x := seed
	for i := range probes {
		x += 0x9e3779b97f4a7c15
		probes[i] = uint16((mix64(x) >> 32) * uint64(k) >> 32)
	}
	return probes
}

// mix64 is a bijective 64-bit mixer (the splitmix64 finaliser).
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// Similarity returns the fraction of slots in which a and b are equal, an
// estimate of the Jaccard similarity of the two documents' shingle sets.
// It returns 0 when either signature has no values or their lengths differ.
func Similarity(a, b Signature) float64 {
	if len(a) == 0 || len(a) != len(b) {
		return 0
	}
	equal := 0
	for i := range a {
		if a[i] == b[i] {
			equal++
		}
	}
	return float64(equal) / float64(len(a))
}

// AppendBandKeys appends one 64-bit key per band of sig to dst: XXH3-64 of
// the band's Rows values in little-endian byte order, seeded with the band
// number. Two signatures share a band exactly when the band's key is equal,
// up to hash collisions. It appends nothing when sig has no values or does
// not have Bands*Rows of them.
func (m *MinHasher) AppendBandKeys(dst []uint64, sig Signature) []uint64 {
	rows := m.cfg.Rows
	if len(sig) != m.cfg.Bands*rows {
		return dst
	}
	var buf [8 * maxRows]byte
	for band := range m.cfg.Bands {
		for i, v := range sig[band*rows : (band+1)*rows] {
			binary.LittleEndian.PutUint64(buf[8*i:], v)
		}
		dst = append(dst, xxh3.HashSeed(buf[:8*rows], uint64(band)))
	}
	return dst
}
