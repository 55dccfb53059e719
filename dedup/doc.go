// Package dedup is winnow's deduplication library. It hashes and indexes
// document texts and has no knowledge of the pipeline, Arrow batches or
// stages, so other programs can import it on its own. The functions and
// types here never log, and none of them is safe for concurrent use unless
// its doc comment says so.
//
// Exact duplicates: ExactHash and ExactSet.
//
// Near duplicates with MinHash: a MinHasher normalises a text
// (AppendNormalized), cuts it into shingles (Shingler) and computes a
// Signature. AppendBandKeys turns the signature into one key per LSH band.
// An LSHIndex returns the earlier documents that share a band key, and the
// Similarity of two signatures decides whether a candidate is a near
// duplicate. A stage's loop, with buffers reused between documents:
//
//	sig = hasher.AppendSignature(sig[:0], text)
//	keys = hasher.AppendBandKeys(keys[:0], sig)
//	cands, err = index.AppendCandidates(cands[:0], doc, keys)
//	// keep doc unless Similarity(sig, signature of a candidate) >= threshold
//	err = index.Insert(doc, keys) // only for kept documents
//
// Near duplicates with SimHash: SimHash of the Shingler's shingles and a
// SimHashIndex find copies within a few bits, which suits only very close
// copies; MinHash tolerates more editing.
//
// Documents without shingles (empty, blank or only punctuation) have an
// empty signature, no band keys and no SimHash: they match nothing, not
// even each other.
package dedup
