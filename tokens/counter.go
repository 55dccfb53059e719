package tokens

import (
	"fmt"
	"sync"

	"github.com/tiktoken-go/tokenizer"
)

// Names of the supported encodings, as tiktoken names them.
const (
	Cl100kBase = "cl100k_base" // GPT-4 and GPT-3.5
	O200kBase  = "o200k_base"  // GPT-4o, GPT-4.1, o1 and later
)

// Sizes of the vocabularies without their special tokens. Loading checks
// them, so a change of the library's data fails at startup.
var vocabSizes = map[string]int{Cl100kBase: 100256, O200kBase: 199998}

// Counter counts the tokens of texts in one encoding. It is safe for
// concurrent use.
type Counter struct {
	encoding string
	classes  classifier
	ranks    *rankTable
	cache    *pieceCache // nil turns the cache off, for benchmarks
	// piece returns the end of the piece of the encoding's split that
	// starts at byte offset i of s.
	piece func(cl classifier, s string, i int) int
}

var (
	countersMu sync.Mutex
	counters   = map[string]*Counter{}
)

// New returns the Counter of encoding, Cl100kBase or O200kBase. The first
// call for an encoding loads its vocabulary from tiktoken-go and builds the
// tables, which took 0.1 s and 10 MB of heap for cl100k_base and 0.4 s and
// 19 MB for o200k_base on a 2-core Intel Xeon VM. Later calls return the
// same Counter.
func New(encoding string) (*Counter, error) {
	countersMu.Lock()
	defer countersMu.Unlock()
	if c, ok := counters[encoding]; ok {
		return c, nil
	}

	var piece func(classifier, string, int) int
	switch encoding {
	case Cl100kBase:
		piece = classifier.cl100kPiece
	case O200kBase:
		piece = classifier.o200kPiece
	default:
		return nil, fmt.Errorf("tokens: unknown encoding %q: use %s or %s", encoding, Cl100kBase, O200kBase)
	}
	r, err := loadRanks(encoding)
	if err != nil {
		return nil, err
	}
	c := &Counter{encoding: encoding, classes: newClassifier(), ranks: r, cache: newPieceCache(), piece: piece}
	counters[encoding] = c
	return c, nil
}

// Encoding returns the name of the counter's encoding.
func (c *Counter) Encoding() string { return c.encoding }

// Count returns the number of tokens in text, which is the count that
// tiktoken-go v0.10.0's Codec.Count returns. Special tokens such as
// <|endoftext|> count as plain text, as there. Invalid UTF-8 counts as if
// each invalid byte were U+FFFD, which is how that library reads it in its
// default error mode. U+007F DELETE counts as no token, which is a quirk
// of that version.
func (c *Counter) Count(text string) int {
	text = replaceInvalidBytes(text)
	n := 0
	for i := 0; i < len(text); {
		if text[i] == '\x7f' {
			i++ // no pattern alternative matches here; see classUnmatched
			continue
		}
		end := c.piece(c.classes, text, i)
		n += c.countPiece(text[i:end])
		i = end
	}
	return n
}

// countPiece returns the tokens of one piece of the split, from the cache
// when the piece was seen before.
func (c *Counter) countPiece(piece string) int {
	if len(piece) == 1 {
		return 1 // every byte is a token
	}
	if len(piece) > cacheMaxPieceLen || c.cache == nil {
		return c.ranks.countTokens(piece)
	}
	p := packPiece(piece)
	if n, ok := c.cache.get(&p); ok {
		return n
	}
	n := c.ranks.countTokens(piece)
	c.cache.put(&p, n)
	return n
}

// loadRanks reads the ranks of encoding from tiktoken-go through its
// public API: the bytes of token id are what decoding the single id gives
// in the default error mode, which returns the bytes unchanged.
func loadRanks(encoding string) (*rankTable, error) {
	codec, err := tokenizer.Get(tokenizer.Encoding(encoding))
	if err != nil {
		return nil, fmt.Errorf("tokens: loading %s: %w", encoding, err)
	}
	size := vocabSizes[encoding]
	tokens := make([]string, size)
	seen := make(map[string]bool, size)
	ids := []uint{0}
	for id := range tokens {
		ids[0] = uint(id)
		token, err := codec.Decode(ids)
		if err != nil {
			return nil, fmt.Errorf("tokens: loading %s: decoding token %d: %w", encoding, id, err)
		}
		if seen[token] {
			return nil, fmt.Errorf("tokens: loading %s: token %d repeats the bytes of an earlier token", encoding, id)
		}
		seen[token] = true
		tokens[id] = token
	}
	ids[0] = uint(size)
	if _, err := codec.Decode(ids); err == nil {
		return nil, fmt.Errorf("tokens: loading %s: token %d exists, want %d tokens", encoding, size, size)
	}
	for b := range 256 {
		if !seen[string([]byte{byte(b)})] {
			return nil, fmt.Errorf("tokens: loading %s: byte %#02x is not a token", encoding, b)
		}
	}
	return newRankTable(tokens), nil
}
