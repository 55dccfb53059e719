// Package langid identifies the language of a text with the n-gram models
// of github.com/pemistahl/lingua-go v1.4.0 and lingua's decision
// procedure, at a small fraction of lingua's cost.
//
// A Detector gives the same top language as lingua's detector built from
// the same languages and accuracy mode. The exceptions are texts where two
// languages score within float32 rounding of each other, and the ties
// that lingua breaks by Go map order, which Detector breaks by language
// order.
// Its confidence is lingua's: a softmax over the summed n-gram
// log-probabilities, computed in float64 instead of arbitrary-precision
// decimals.
//
// The models load once per process, on the first NewDetector call, and
// are shared by every Detector. Orders 1 to 3 take about 90 MB of heap,
// and orders 4 and 5, which only high-accuracy detectors load, about
// 170 MB more.
package langid
