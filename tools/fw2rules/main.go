// Command fw2rules derives winnow's per-language rule table from the
// per-language filter configs of FineWeb-2 (huggingface/fineweb-2, folder
// configs/, Apache-2.0): one YAML file per language and script, such as
// fra_Latn.yml. The table it writes is embedded in the winnow binary, where
// gopher_quality, gopher_repetition and fineweb_quality look up a
// document's thresholds and stop words by its lang label.
//
// Usage, from the repository root:
//
//	go run ./tools/fw2rules -configs DIR [-out stages/lists/fineweb2/rules.tsv]
//
// DIR is the configs folder of a FineWeb-2 checkout; WINNOW_FINEWEB2_CONFIGS
// sets it when -configs is not given. The output is the same for the same
// configs, byte for byte.
package main

import (
	"flag"
	"fmt"
	"os"
)

func main() {
	configs := flag.String("configs", os.Getenv("WINNOW_FINEWEB2_CONFIGS"), "configs folder of a FineWeb-2 checkout (default $WINNOW_FINEWEB2_CONFIGS)")
	out := flag.String("out", "stages/lists/fineweb2/rules.tsv", "table to write")
	flag.Parse()
	if *configs == "" {
		fmt.Fprintln(os.Stderr, "fw2rules: missing -configs: give the configs folder of a huggingface/fineweb-2 checkout")
		os.Exit(2)
	}

	table, stats, err := buildTable(*configs)
	if err != nil {
		fmt.Fprintln(os.Stderr, "fw2rules:", err)
		os.Exit(1)
	}
	if err := os.WriteFile(*out, table, 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "fw2rules:", err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "fw2rules: wrote %d languages to %s; stop words kept %d, trimmed %d, left out %d (%d with whitespace, %d empty once cleaned, %d duplicates, %d too long)\n",
		stats.Languages, *out, stats.Kept, stats.Trimmed, stats.LeftOut(), stats.Whitespace, stats.Empty, stats.Duplicates, stats.TooLong)
}
