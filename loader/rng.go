package loader

import (
	"crypto/sha256"
	"encoding/binary"
	"math/bits"
)

// rng is the SplitMix64 generator. The loader uses its own generator, not
// math/rand, so that an order depends on the seed alone and never on the
// Go release or the machine.
type rng struct {
	state uint64
}

// newRNG returns a generator keyed by the seed, a purpose name and
// integers such as the epoch and a window number. Different keys give
// independent streams.
func newRNG(seed int64, purpose string, ints ...int64) *rng {
	h := sha256.New()
	var buf [8]byte
	binary.LittleEndian.PutUint64(buf[:], uint64(seed))
	h.Write(buf[:])
	h.Write([]byte(purpose))
	for _, v := range ints {
		binary.LittleEndian.PutUint64(buf[:], uint64(v))
		h.Write(buf[:])
	}
	sum := h.Sum(nil)
	return &rng{state: binary.LittleEndian.Uint64(sum)}
}

func (r *rng) next() uint64 {
	r.state += 0x9e3779b97f4a7c15
	z := r.state
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// below returns a uniform integer in [0, n), n > 0. It maps a 64-bit
// value to [0, n) by multiplication and rejects the few values that would
// favour some results, so it has no modulo bias.
func (r *rng) below(n uint64) uint64 {
	hi, lo := bits.Mul64(r.next(), n)
	if lo < n {
		threshold := -n % n
		for lo < threshold {
			hi, lo = bits.Mul64(r.next(), n)
		}
	}
	return hi
}

// permutation returns a uniformly random permutation of 0..n-1 by
// Fisher-Yates.
func (r *rng) permutation(n int) []uint32 {
	p := make([]uint32, n)
	for i := range p {
		p[i] = uint32(i)
	}
	for i := n - 1; i > 0; i-- {
		j := r.below(uint64(i + 1))
		p[i], p[j] = p[j], p[i]
	}
	return p
}
