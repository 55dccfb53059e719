package cli

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/winnow-data/winnow/pipeline"
)

// consumersCommand lists the training runs that the loader recorded as
// reading a version, or every version when none is given.
func consumersCommand(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("winnow consumers", flag.ContinueOnError)
	fs.SetOutput(stderr)
	jsonOut := fs.Bool("json", false, "print the records as a JSON array")
	pos, err := parseCommandFlags(fs, args)
	if err != nil {
		return err
	}
	store, err := openRoot("consumers takes ROOT and VERSION", pos, 2)
	if err != nil {
		return err
	}
	var ids []string
	if len(pos) == 2 {
		id, err := pipeline.ResolveVersion(store, pos[1])
		if err != nil {
			return usageError{err}
		}
		ids = []string{id}
	} else {
		list, err := pipeline.ListVersions(store)
		if err != nil {
			return err
		}
		for _, m := range list {
			ids = append(ids, m.ID)
		}
	}

	records := []pipeline.ConsumerRecord{}
	for _, id := range ids {
		rs, err := pipeline.ReadConsumers(store, id)
		if err != nil {
			return err
		}
		records = append(records, rs...)
	}
	if *jsonOut {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(records)
	}
	if len(records) == 0 {
		fmt.Fprintln(stdout, "no training run has recorded reading these versions")
		return nil
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "version\trun\topened\tupdated\toptions\tlast state")
	for _, r := range records {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.Version, r.RunID, formatTime(r.OpenedAt), formatTime(r.UpdatedAt),
			compactJSON(r.Options), compactJSON(r.LastState))
	}
	return tw.Flush()
}

// formatTime prints t in UTC to the second, or "-" for the zero time.
func formatTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04:05Z")
}

// compactJSONMax bounds a JSON value printed in a table cell.
const compactJSONMax = 120

// compactJSON prints raw on one line, cut to compactJSONMax bytes.
func compactJSON(raw json.RawMessage) string {
	if len(raw) == 0 || string(raw) == "null" {
		return "-"
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return "(invalid JSON)"
	}
	s := buf.String()
	if len(s) > compactJSONMax {
		cut := compactJSONMax - 3
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "..."
	}
	return s
}
