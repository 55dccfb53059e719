// Package winnow curates LLM pretraining text at streaming speed. The
// command is cmd/winnow; the engine is in pipeline, the stages in stages.
// This package holds only what is embedded in the binary.
package winnow

import _ "embed"

// SampleName is the file name of the bundled real sample, which
// `winnow run` curates when given no input and no config.
const SampleName = "cc-2019-30-00140.dolma.jsonl.gz"

// Sample is the bundled sample: 697 documents from one Common Crawl
// CC-MAIN-2019-30 WARC in the Dolma layout (testdata/PROVENANCE.md).
//
//go:embed testdata/cc-2019-30-00140.dolma.jsonl.gz
var Sample []byte
