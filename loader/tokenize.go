package loader

import (
	"fmt"
	"runtime"
	"sync"

	"github.com/tiktoken-go/tokenizer"
)

// encodings are the tiktoken encodings Options.Tokenize accepts.
var encodings = map[string]tokenizer.Encoding{
	"cl100k_base": tokenizer.Cl100kBase,
	"o200k_base":  tokenizer.O200kBase,
}

var (
	codecsMu sync.Mutex
	codecs   = map[string]tokenizer.Codec{}
)

// codecFor returns the codec of a tiktoken encoding, shared by every
// loader because each holds a vocabulary of 100,000 to 200,000 entries.
// tiktoken-go v0.10.0's codecs only read their tables while encoding, and
// its regexp2 pattern is safe for concurrent use, so one codec serves
// several goroutines.
func codecFor(name string) (tokenizer.Codec, error) {
	codecsMu.Lock()
	defer codecsMu.Unlock()
	if c, ok := codecs[name]; ok {
		return c, nil
	}
	enc, ok := encodings[name]
	if !ok {
		return nil, fmt.Errorf("unknown encoding %q: use cl100k_base or o200k_base", name)
	}
	c, err := tokenizer.Get(enc)
	if err != nil {
		return nil, fmt.Errorf("loading encoding %s: %w", name, err)
	}
	codecs[name] = c
	return c, nil
}

// tokenizeDocs returns the token ids of every document's text, encoding
// the documents on all CPUs. Special tokens such as <|endoftext|> in a
// text are encoded as plain text, and no separator is added between
// documents.
func tokenizeDocs(codec tokenizer.Codec, docs []Doc) ([][]uint32, error) {
	out := make([][]uint32, len(docs))
	errs := make([]error, len(docs))
	workers := min(runtime.GOMAXPROCS(0), len(docs))
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w; i < len(docs); i += workers {
				ids, _, err := codec.Encode(docs[i].Text)
				if err != nil {
					errs[i] = fmt.Errorf("tokenizing document %s: %w", docs[i].ID, err)
					continue
				}
				out[i] = make([]uint32, len(ids))
				for k, id := range ids {
					out[i][k] = uint32(id)
				}
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}
