// Package dedup is winnow's deduplication library. It hashes and indexes
// document texts and has no knowledge of the pipeline, Arrow batches or
// stages, so other programs can import it on its own. The functions and
// types here never log, and none of them is safe for concurrent use unless
// its doc comment says so.
package dedup
