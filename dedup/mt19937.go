package dedup

// mt19937 is the 32-bit Mersenne Twister MT19937 with the integer seeding
// and 64-bit draws of numpy's legacy numpy.random.RandomState. It exists
// only to reproduce the MinHash parameters that datatrove draws from
// RandomState(seed).
type mt19937 struct {
	state [mtN]uint32
	pos   int
}

const (
	mtN         = 624
	mtM         = 397
	mtMatrixA   = 0x9908b0df
	mtUpperMask = 0x80000000
	mtLowerMask = 0x7fffffff
)

// newMT19937 seeds the generator as RandomState(seed) does for an integer
// seed: the reference init_genrand recurrence.
func newMT19937(seed uint32) *mt19937 {
	g := &mt19937{pos: mtN}
	g.state[0] = seed
	for i := 1; i < mtN; i++ {
		prev := g.state[i-1]
		g.state[i] = 1812433253*(prev^(prev>>30)) + uint32(i)
	}
	return g
}

// twist regenerates the whole state block.
func (g *mt19937) twist() {
	for i := range mtN {
		y := g.state[i]&mtUpperMask | g.state[(i+1)%mtN]&mtLowerMask
		next := g.state[(i+mtM)%mtN] ^ y>>1
		if y&1 != 0 {
			next ^= mtMatrixA
		}
		g.state[i] = next
	}
	g.pos = 0
}

func (g *mt19937) uint32() uint32 {
	if g.pos >= mtN {
		g.twist()
	}
	y := g.state[g.pos]
	g.pos++
	y ^= y >> 11
	y ^= y << 7 & 0x9d2c5680
	y ^= y << 15 & 0xefc60000
	y ^= y >> 18
	return y
}

// uint64 joins two 32-bit outputs, the first one as the high half, as
// numpy's legacy generator does; the test vectors fail with the other order.
func (g *mt19937) uint64() uint64 {
	hi := uint64(g.uint32())
	return hi<<32 | uint64(g.uint32())
}

// boundedUint64 returns a draw from [low, high) as RandomState.randint with
// dtype uint64 makes it when high-1-low needs more than 32 bits: 64-bit
// draws masked to the smallest all-ones mask covering the range, rejected
// until one falls inside. Callers pass high > low+2^32.
func (g *mt19937) boundedUint64(low, high uint64) uint64 {
	span := high - 1 - low
	mask := span
	for s := uint(1); s < 64; s <<= 1 {
		mask |= mask >> s
	}
	for {
		if v := g.uint64() & mask; v <= span {
			return low + v
		}
	}
}
