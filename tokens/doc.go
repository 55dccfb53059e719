// Package tokens counts the tokens of texts in OpenAI's cl100k_base and
// o200k_base byte-pair encodings, with the same counts as Codec.Count of
// github.com/tiktoken-go/tokenizer v0.10.0, five to seven times faster on
// English web text. It has no knowledge of the pipeline, and it never
// logs.
//
// The library counts English web text at 8 to 9 MB/s per core on a 2-vCPU
// Intel Xeon machine (bench/README.md has the figures). Its CPU profile on
// the Common Crawl sample in testdata/ puts 46% of the time in its regexp2
// pre-tokenizer, over half of that in setting up a match object per piece.
// Another 30% goes to byte-pair merges that look up every candidate pair
// in a map with string keys. Allocation and garbage collection, part of
// both, take 29%. At that speed token counting would be the slowest stage
// of a pipeline, so this package keeps only the library's vocabulary, read
// through its public Decode method, and does the rest itself:
//
//   - a hand-written pre-tokenizer per encoding that cuts text into the
//     pieces of the encoding's split pattern, with a table of character
//     classes for the Basic Multilingual Plane (split.go, classes.go);
//   - byte-pair merges whose rank lookups take a direct table for two-byte
//     tokens and an open-addressing table keyed by the bytes themselves for
//     tokens of 3 to 8 bytes (bpe.go, ranks.go);
//   - a lock-free cache from piece to token count, bounded at 2 MiB, shared
//     by all goroutines (cache.go).
//
// Together they count English web text at 46 MB/s per core in o200k_base
// and 65 MB/s in cl100k_base, or 37 and 51 MB/s when every piece is new to
// the cache.
//
// The pre-tokenizers follow the library where its generated pattern
// matcher departs from the patterns as written. There U+007F DELETE counts
// as no token, and a run of white space with line breaks ends after its
// first run of CR and LF characters. The tests compare the counts with the
// library's on real documents in many languages and on fuzzed strings.
package tokens
