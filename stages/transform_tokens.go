package stages

import (
	"context"
	"fmt"
	"math"
	"slices"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/winnow-data/winnow/pipeline"
	"github.com/winnow-data/winnow/tokens"
)

const tokensDoc = "Counts the tokens of every alive document in a tiktoken BPE encoding, cl100k_base (GPT-4) or o200k_base (GPT-4o), " +
	"with the counts tiktoken-go v0.10.0 gives, and writes them to token_count. Dropped rows keep theirs. " +
	"Loads the encoding's vocabulary on startup, in under a second. Without this stage the Parquet sink " +
	"writes the number of whitespace-separated words as token_count."

func init() {
	pipeline.Register("tokens", tokensDoc, true, DefaultTokensOptions(), newTokenCounter)
}

// tokensEncodings are the values of the encoding option.
var tokensEncodings = []string{tokens.Cl100kBase, tokens.O200kBase}

// TokensOptions configures the tokens stage.
type TokensOptions struct {
	Encoding string `yaml:"encoding" doc:"tiktoken encoding whose tokens are counted: cl100k_base (GPT-4, GPT-3.5) or o200k_base (GPT-4o and later); default cl100k_base"`
}

// DefaultTokensOptions returns the options a config that names none gets.
func DefaultTokensOptions() TokensOptions {
	return TokensOptions{Encoding: tokens.Cl100kBase}
}

// Validate checks that Encoding is a supported encoding.
func (o *TokensOptions) Validate() error {
	if !slices.Contains(tokensEncodings, o.Encoding) {
		return fmt.Errorf("invalid encoding %q: use cl100k_base or o200k_base", o.Encoding)
	}
	return nil
}

// tokenCounter is the tokens stage. tokens.Counter is safe for concurrent
// use, so the engine may run Process on several batches at once.
type tokenCounter struct {
	counter *tokens.Counter
}

func newTokenCounter(opts TokensOptions, _ pipeline.Env) (pipeline.Stage, error) {
	c, err := tokens.New(opts.Encoding)
	if err != nil {
		return nil, err
	}
	return &tokenCounter{counter: c}, nil
}

// Process writes the token count of every alive row. A count above the
// column's int32 range is written as math.MaxInt32.
func (t *tokenCounter) Process(_ context.Context, b *pipeline.Batch) error {
	texts := b.Strings(pipeline.ColText)
	old := b.Column(pipeline.ColTokenCount).(*array.Int32)

	counts := array.NewInt32Builder(memory.DefaultAllocator)
	defer counts.Release()
	counts.Reserve(b.Len())
	for i := range b.Len() {
		switch {
		case b.Alive(i):
			counts.Append(int32(min(t.counter.Count(texts.Value(i)), math.MaxInt32)))
		case old.IsNull(i):
			counts.AppendNull()
		default:
			counts.Append(old.Value(i))
		}
	}

	arr := counts.NewArray()
	defer arr.Release()
	b.SetColumn(pipeline.ColTokenCount, arr)
	return nil
}
