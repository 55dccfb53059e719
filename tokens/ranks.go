package tokens

import (
	"math"
	"math/bits"
)

// noRank marks bytes that are not a token.
const noRank = math.MaxUint32

// rankTable maps each token's bytes to its rank, which for cl100k_base and
// o200k_base is also its id. Byte-pair encoding merges the pair of
// adjacent parts whose concatenation has the lowest rank first.
//
// Lookups of short byte strings dominate byte-pair encoding, so they avoid
// Go's map. Two-byte tokens are in a direct table. Tokens of 3 to 8 bytes
// are in an open-addressing table whose keys are the bytes themselves,
// which costs one memory access where a map with string keys costs two.
// Longer tokens, a fifth to a quarter of each vocabulary, are in a map.
type rankTable struct {
	oneByte [256]uint32
	twoByte []uint32 // rank of each two-byte token, indexed by its bytes as a big-endian uint16
	short   []shortSlot
	shift   uint // 64 - log2(len(short))
	long    map[string]uint32
}

// shortSlot holds a token of 3 to 8 bytes, little-endian in key. length 0
// marks a free slot.
type shortSlot struct {
	key    uint64
	rank   uint32
	length uint32
}

// newRankTable builds the table from the tokens' bytes indexed by rank.
func newRankTable(tokens []string) *rankTable {
	shortCount := 0
	for _, t := range tokens {
		if len(t) >= 3 && len(t) <= 8 {
			shortCount++
		}
	}
	// At most half the slots are used, so probe sequences stay short.
	size := 1 << bits.Len(uint(2*shortCount))
	t := &rankTable{
		twoByte: make([]uint32, 1<<16),
		short:   make([]shortSlot, size),
		shift:   uint(64 - bits.TrailingZeros(uint(size))),
		long:    map[string]uint32{},
	}
	for i := range t.twoByte {
		t.twoByte[i] = noRank
	}
	for rank, tok := range tokens {
		switch n := len(tok); {
		case n == 1:
			t.oneByte[tok[0]] = uint32(rank)
		case n == 2:
			t.twoByte[uint16(tok[0])<<8|uint16(tok[1])] = uint32(rank)
		case n >= 3 && n <= 8:
			key := shortKey(tok)
			i := t.slot(key, n)
			for t.short[i].length != 0 {
				i = (i + 1) & (len(t.short) - 1)
			}
			t.short[i] = shortSlot{key: key, rank: uint32(rank), length: uint32(n)}
		case n > 8:
			t.long[tok] = uint32(rank)
		}
	}
	return t
}

// shortKey packs s, 3 to 8 bytes, into a uint64, little-endian. For
// lengths 5 to 7 the two 4-byte loads overlap and agree where they do.
func shortKey(s string) uint64 {
	n := len(s)
	if n >= 4 {
		return uint64(le32(s)) | uint64(le32(s[n-4:]))<<(8*(n-4))
	}
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16
}

// le32 returns the first 4 bytes of s as a little-endian uint32. On amd64
// the compiler turns it into one load.
func le32(s string) uint32 {
	_ = s[3]
	return uint32(s[0]) | uint32(s[1])<<8 | uint32(s[2])<<16 | uint32(s[3])<<24
}

func (t *rankTable) slot(key uint64, length int) int {
	return int(((key ^ uint64(length)) * 0x9E3779B97F4A7C15) >> t.shift)
}

// rank returns the rank of the token s, or noRank when s is not a token.
func (t *rankTable) rank(s string) uint32 {
	switch n := len(s); {
	case n == 0:
		return noRank
	case n == 1:
		return t.oneByte[s[0]]
	case n == 2:
		return t.twoByte[uint16(s[0])<<8|uint16(s[1])]
	case n <= 8:
		key := shortKey(s)
		for i := t.slot(key, n); ; i = (i + 1) & (len(t.short) - 1) {
			e := &t.short[i]
			if e.length == 0 {
				return noRank
			}
			if e.key == key && int(e.length) == n {
				return e.rank
			}
		}
	default:
		if r, ok := t.long[s]; ok {
			return r
		}
		return noRank
	}
}
