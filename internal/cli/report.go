package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/winnow-data/winnow/internal/report"
	"github.com/winnow-data/winnow/pipeline"
)

// Default outputs of `winnow report`, by format.
var reportDefaultOutput = map[string]string{
	"html": "report.html",
	"json": "report.json",
	"csv":  "report-csv",
}

// reportCommand writes the report of one version, optionally compared
// with an earlier one, as a self-contained HTML page, a JSON object or a
// folder of CSV files.
func reportCommand(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("winnow report", flag.ContinueOnError)
	fs.SetOutput(stderr)
	version := fs.String("version", "latest", "version to report on")
	against := fs.String("against", "", "earlier version to compare with: a version id, latest, or parent for the reported version's parent; default none")
	format := fs.String("format", "html", "html (one self-contained page), json (one object with every table) or csv (a folder with one file per table)")
	var out string
	const outDoc = "file to write (html, json; - for stdout) or folder to write (csv); default report.html, report.json or report-csv"
	fs.StringVar(&out, "o", "", outDoc)
	fs.StringVar(&out, "output", "", "same as -o")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if _, ok := reportDefaultOutput[*format]; !ok {
		return usageError{fmt.Errorf("--format: invalid value %q: use html, json or csv", *format)}
	}
	if out == "" {
		out = reportDefaultOutput[*format]
	}
	if out == "-" && *format == "csv" {
		return usageError{fmt.Errorf("-o: csv writes a folder of files, so it needs a folder name, not -")}
	}
	store, err := openLocalRootArg("report takes one ROOT", pos, 1)
	if err != nil {
		return err
	}

	r, err := buildReport(store, *version, *against)
	if err != nil {
		return err
	}
	if err := writeReport(r, *format, out, stdout); err != nil {
		return err
	}
	if out != "-" {
		fmt.Fprintf(stdout, "report of version %s written to %s\n", r.Version.ID, out)
	}
	return nil
}

// buildReport reads the version, the version to compare it with (none
// when against is empty) and the version's rejects, and builds the report.
func buildReport(store *pipeline.LocalStore, version, against string) (*report.Report, error) {
	m, err := readVersion(store, version)
	if err != nil {
		return nil, err
	}
	var base *pipeline.Manifest
	switch against {
	case "":
	case "parent":
		if m.Parent == "" {
			return nil, fmt.Errorf("--against parent: version %s has no parent; name an earlier version instead (winnow versions lists them)", m.ID)
		}
		against = m.Parent
		fallthrough
	default:
		if base, err = readVersion(store, against); err != nil {
			return nil, fmt.Errorf("--against: %w", err)
		}
	}
	rejects, err := report.ReadRejects(context.Background(), store.Root(), m)
	if err != nil {
		return nil, err
	}
	return report.Build(m, base, rejects), nil
}

// writeReport writes r in format to out: a file, stdout for "-", or a
// folder for csv. A file appears whole or not at all.
func writeReport(r *report.Report, format, out string, stdout io.Writer) error {
	if format == "csv" {
		return r.WriteCSV(out)
	}
	write := r.WriteHTML
	if format == "json" {
		write = r.WriteJSON
	}
	if out == "-" {
		return write(stdout)
	}
	return writeFileAtomic(out, write)
}

// writeFileAtomic writes path through a temporary file in its folder that
// replaces path once write has succeeded.
func writeFileAtomic(path string, write func(io.Writer) error) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-report-*")
	if err != nil {
		return fmt.Errorf("writing report: %w", err)
	}
	defer os.Remove(f.Name()) // fails harmlessly once renamed
	if err := write(f); err != nil {
		f.Close()
		return fmt.Errorf("writing report %s: %w", path, err)
	}
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		return fmt.Errorf("writing report %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("writing report %s: %w", path, err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("writing report: %w", err)
	}
	return nil
}
