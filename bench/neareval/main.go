// Command neareval measures the accuracy of winnow's near_dedup stage
// against true Jaccard similarity, computed exactly over the word 5-gram
// shingles winnow's dedup package makes.
//
// Evaluate a dataset made by `winnow run --only normalize,near_dedup`:
//
//	go run ./bench/neareval -corpus CORPUS.jsonl [-truth TRUTH.tsv] -root DATASET
//
// Recall is measured over the truth file's pairs (gen_corpus.py's planted
// near duplicates, or the pairs -make-pairs computed), or without a truth
// file over every pair at J >= -recall-at, found by an exact all-pairs
// search. A pair is caught when at least one member is missing from the
// dataset. Precision is the share of missing documents that have a kept
// document at J >= -precision-at; it treats every missing document as a
// near_dedup removal, so the run must have no other filtering stage.
//
// Make a corpus of edited copies whose truth is computed, not planted:
//
//	go run ./bench/neareval -make-pairs N -from SOURCE.jsonl[.gz] -out PAIRS.jsonl
//
// writes PAIRS.jsonl and PAIRS.jsonl.pairs.tsv.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "neareval:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("neareval", flag.ContinueOnError)
	var e evalOptions
	fs.StringVar(&e.corpus, "corpus", "", "corpus the dataset was made from: JSON lines of {\"id\",\"text\"}, gzip-compressed when named *.gz")
	fs.StringVar(&e.truth, "truth", "", "truth TSV: gen_corpus.py's planted pairs or -make-pairs' computed pairs; without it, pairs come from an exact all-pairs search at -recall-at")
	fs.StringVar(&e.root, "root", "", "winnow dataset root; its latest version is evaluated")
	fs.Float64Var(&e.recallAt, "recall-at", 0.85, "true Jaccard similarity from which a pair must lose a member, 0 to 1")
	fs.Float64Var(&e.precisionAt, "precision-at", 0.6, "true Jaccard similarity to a kept document that makes a removal correct, 0 to 1")
	fs.IntVar(&e.showMisses, "show-misses", 10, "how many missed pairs and wrong removals to list")

	var p pairsOptions
	var rates string
	fs.IntVar(&p.originals, "make-pairs", 0, "write a corpus of this many originals and their edited copies instead of evaluating")
	fs.StringVar(&p.from, "from", "testdata/cc-2019-30-00140.dolma.jsonl.gz", "with -make-pairs: source of the originals, JSON lines with a text field, gzip-compressed when named *.gz")
	fs.StringVar(&p.out, "out", "", "with -make-pairs: corpus to write; the truth goes to this path plus .pairs.tsv")
	fs.IntVar(&p.copies, "copies", 4, "with -make-pairs: edited copies per original")
	fs.StringVar(&rates, "rates", "0.005,0.01,0.02,0.03,0.05,0.07,0.1", "with -make-pairs: comma-separated edit rates (share of words edited), cycled over the copies")
	fs.Uint64Var(&p.seed, "seed", 1, "with -make-pairs: random seed; the same seed and source give the same corpus")
	fs.IntVar(&p.minWords, "min-words", 50, "with -make-pairs: fewest words of an original")
	fs.Float64Var(&p.minFunctionWords, "min-function-words", 0.10, "with -make-pairs: smallest share of English function words (the, of, and ...) in an original")
	fs.Float64Var(&p.pairsMin, "pairs-min", 0.3, "with -make-pairs: smallest true similarity of a listed pair other than a copy and its original")
	if err := fs.Parse(args); errors.Is(err, flag.ErrHelp) {
		return nil
	} else if err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q: every input is a flag, see -h", fs.Arg(0))
	}

	if p.originals != 0 {
		var err error
		if p.rates, err = parseRates(rates); err != nil {
			return err
		}
		if err := p.validate(); err != nil {
			return err
		}
		return makePairs(os.Stdout, p)
	}
	if err := e.validate(); err != nil {
		return err
	}
	return evaluate(os.Stdout, e)
}

func (o evalOptions) validate() error {
	switch {
	case o.corpus == "":
		return fmt.Errorf("missing -corpus: name the corpus the dataset was made from")
	case o.root == "":
		return fmt.Errorf("missing -root: name the winnow dataset to evaluate")
	case !(o.recallAt > 0 && o.recallAt <= 1):
		return fmt.Errorf("invalid -recall-at %v: must be above 0 and at most 1", o.recallAt)
	case !(o.precisionAt > 0 && o.precisionAt <= 1):
		return fmt.Errorf("invalid -precision-at %v: must be above 0 and at most 1", o.precisionAt)
	}
	return nil
}

func (o pairsOptions) validate() error {
	switch {
	case o.originals < 0:
		return fmt.Errorf("invalid -make-pairs %d: must be at least 1", o.originals)
	case o.out == "":
		return fmt.Errorf("missing -out: name the corpus file to write")
	case o.copies < 1:
		return fmt.Errorf("invalid -copies %d: must be at least 1", o.copies)
	case o.minWords < 1:
		return fmt.Errorf("invalid -min-words %d: must be at least 1", o.minWords)
	case !(o.minFunctionWords >= 0 && o.minFunctionWords <= 1):
		return fmt.Errorf("invalid -min-function-words %v: must be 0 to 1", o.minFunctionWords)
	case !(o.pairsMin > 0 && o.pairsMin <= 1):
		return fmt.Errorf("invalid -pairs-min %v: must be above 0 and at most 1", o.pairsMin)
	}
	return nil
}

func parseRates(list string) ([]float64, error) {
	var rates []float64
	for _, field := range strings.Split(list, ",") {
		r, err := strconv.ParseFloat(strings.TrimSpace(field), 64)
		if err != nil || !(r > 0 && r <= 1) {
			return nil, fmt.Errorf("invalid -rates entry %q: each must be above 0 and at most 1", field)
		}
		rates = append(rates, r)
	}
	return rates, nil
}
