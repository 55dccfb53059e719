// Package stages holds winnow's sources, stages and sinks: the file source
// that decodes JSONL, Parquet, WARC, ARC and WET inputs into document batches, the
// transforms and filters that the stage registry builds by name, and the
// Parquet shard writer.
package stages
