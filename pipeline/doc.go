// Package pipeline is winnow's dataflow engine: document batches held as
// Arrow record batches flow from one source, through a chain of stages, into
// one sink. Each stage runs in its own goroutine, or in a bounded worker pool
// that keeps batch order, and stages are linked by bounded channels so a slow
// sink slows the source down. The engine wraps every stage with metrics and
// stops the whole run on the first error, naming the stage that failed.
//
// The package also holds the stage registry that drives YAML configuration
// and the `winnow stages` listing, and the version commit protocol: a run
// writes its shards first and then its manifest, last and atomically.
package pipeline
