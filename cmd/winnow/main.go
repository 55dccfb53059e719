// Command winnow curates LLM pretraining text into versioned Parquet
// datasets. Run `winnow help` for the commands.
package main

import (
	"os"

	"github.com/winnow-data/winnow/internal/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], os.Stdout, os.Stderr))
}
