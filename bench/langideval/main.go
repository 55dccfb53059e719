// Command langideval compares winnow's language scorer (package langid)
// with lingua-go's own high-accuracy detector, both over all 75 of
// lingua's languages, on sentences cut from labelled web text, and
// measures both against the labels.
//
//	go run ./bench/langideval -data DIR [-per-lang 130] [-golden OUT.tsv.gz]
//
// DIR holds LABEL__batch0.tsv.gz files as hplt-project/release2_inspection
// publishes them (annot_round1/LABEL/batch0.tsv, gzipped): the language
// label, such as fra_Latn, in the file name and the text in the
// text_show column. -golden writes every -golden-every'th sentence with
// lingua's result, the file that package langid's agreement test reads.
package main

import (
	"flag"
	"fmt"
	"os"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "langideval:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("langideval", flag.ContinueOnError)
	var o options
	fs.StringVar(&o.data, "data", "", "folder of LABEL__batch0.tsv.gz files (HPLT v2 annotation samples)")
	fs.IntVar(&o.perLang, "per-lang", 130, "sentences taken from each file, at most")
	fs.IntVar(&o.perRow, "per-row", 2, "sentences taken from each row of a file, at most, so that a file's sentences come from many documents")
	fs.IntVar(&o.minLetters, "min-letters", 20, "fewest letters of a sentence; the langid stage labels shorter texts und by default")
	fs.Float64Var(&o.minScore, "min-score", 0.5, "confidence below which the langid stage writes und, for the label agreement")
	fs.StringVar(&o.golden, "golden", "", "write a subset of the sentences with lingua's results to this gzipped TSV file")
	fs.IntVar(&o.goldenEvery, "golden-every", 10, "with -golden: keep every n-th sentence")
	fs.IntVar(&o.showDisagreements, "show", 20, "disagreements with lingua to list")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if o.data == "" {
		return fmt.Errorf("missing -data: give the folder of LABEL__batch0.tsv.gz files")
	}
	if o.perLang < 1 || o.perRow < 1 || o.goldenEvery < 1 {
		return fmt.Errorf("invalid -per-lang, -per-row or -golden-every: each must be 1 or more")
	}
	return evaluate(o, os.Stdout)
}
