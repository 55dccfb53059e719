package tokens

import "sync/atomic"

// Sizes of the piece cache: 65,536 slots of 32 bytes, 2 MiB in all. A
// piece of more than cacheMaxPieceLen bytes is not cached. Such pieces are
// rare outside scripts written without spaces, where they seldom repeat.
const (
	cacheSlotBits    = 16
	cacheMaxPieceLen = 24
)

// pieceCache maps pieces to their token counts. Natural text repeats its
// pieces often, since a common word with its leading space is one piece,
// so most pieces are found here and skip byte-pair encoding.
//
// It is a direct-mapped table: the hash of a piece picks one slot, and a
// new piece replaces whatever the slot held. A slot stores the piece's
// bytes, so a hit is exact, and it fits in one 64-byte cache line. Readers
// take no lock. Each slot is a sequence lock, whose header word a writer
// makes odd while it stores the bytes, and bumps when it is done. A reader
// that sees an odd header, or a different header after reading the bytes,
// counts a miss.
type pieceCache struct {
	slots []cacheSlot
}

// cacheSlot is one entry of the cache: a piece of at most 24 bytes and its
// token count. header has a version in its upper 32 bits, odd while a
// writer owns the slot, then the piece's length and its token count in one
// byte each. words hold the piece, little-endian, padded with zeros.
type cacheSlot struct {
	header atomic.Uint64
	words  [3]atomic.Uint64
}

func newPieceCache() *pieceCache {
	return &pieceCache{slots: make([]cacheSlot, 1<<cacheSlotBits)}
}

// packedPiece is a piece of at most cacheMaxPieceLen bytes as a cache slot
// stores it.
type packedPiece struct {
	words  [3]uint64
	length uint64
}

func packPiece(piece string) packedPiece {
	p := packedPiece{length: uint64(len(piece))}
	w := 0
	for ; len(piece) >= 8; piece = piece[8:] {
		p.words[w] = le64(piece)
		w++
	}
	if len(piece) > 0 {
		p.words[w] = packTail(piece)
	}
	return p
}

// packTail returns s, 1 to 7 bytes, as a little-endian uint64 padded with
// zeros. For 4 to 7 bytes the two 4-byte loads overlap and agree where
// they do.
func packTail(s string) uint64 {
	switch n := len(s); {
	case n >= 4:
		return uint64(le32(s)) | uint64(le32(s[n-4:]))<<(8*(n-4))
	case n == 3:
		return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16
	case n == 2:
		return uint64(s[0]) | uint64(s[1])<<8
	default:
		return uint64(s[0])
	}
}

// le64 returns the first 8 bytes of s as a little-endian uint64. On amd64
// the compiler turns it into one load.
func le64(s string) uint64 {
	_ = s[7]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

func (c *pieceCache) slot(p *packedPiece) *cacheSlot {
	h := (p.words[0]^p.length)*0x9E3779B97F4A7C15 ^ p.words[1]*0xC2B2AE3D27D4EB4F ^ p.words[2]*0x165667B19E3779F9
	h ^= h >> 29
	return &c.slots[(h*0xBF58476D1CE4E5B9)>>(64-cacheSlotBits)]
}

// get returns the token count stored for p, if any.
func (c *pieceCache) get(p *packedPiece) (int, bool) {
	s := c.slot(p)
	header := s.header.Load()
	if header&(1<<32) != 0 || (header>>8)&0xFF != p.length {
		return 0, false
	}
	if s.words[0].Load() != p.words[0] || s.words[1].Load() != p.words[1] || s.words[2].Load() != p.words[2] {
		return 0, false
	}
	if s.header.Load() != header {
		return 0, false
	}
	return int(header & 0xFF), true
}

// put stores the token count of p, unless another goroutine is writing to
// the same slot, in which case the count is dropped.
func (c *pieceCache) put(p *packedPiece, tokens int) {
	s := c.slot(p)
	header := s.header.Load()
	if header&(1<<32) != 0 || !s.header.CompareAndSwap(header, header+1<<32) {
		return
	}
	for i := range s.words {
		s.words[i].Store(p.words[i])
	}
	version := (header>>32 + 2) << 32
	s.header.Store(version | p.length<<8 | uint64(tokens))
}
