package cli

import (
	"bufio"
	"cmp"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"slices"

	"github.com/cespare/xxhash/v2"

	"github.com/winnow-data/winnow/pipeline"
	"github.com/winnow-data/winnow/stages"
)

// rejectsCommand prints a sample of a version's rejected documents as JSON
// lines, for a person auditing what a filter removed.
func rejectsCommand(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("winnow rejects", flag.ContinueOnError)
	fs.SetOutput(stderr)
	version := fs.String("version", "latest", "version whose rejects to read")
	reason := fs.String("reason", "", "only documents dropped for this reason code, such as gopher_short_doc")
	sample := fs.Int("sample", 20, "documents to print, chosen by a hash of their id so the same sample comes back every time; 0 prints all")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if *sample < 0 {
		return usageError{fmt.Errorf("--sample: invalid value %d: must be 0 or more", *sample)}
	}
	if *reason != "" {
		if err := pipeline.CheckReason("--reason", *reason); err != nil {
			return usageError{err}
		}
		if owner, _ := pipeline.ReasonOwner(*reason); owner == stages.ReasonSource {
			return usageError{fmt.Errorf("--reason: %s is a record the source skips before it becomes a document; such records are counted in `winnow show`, never written to rejects", *reason)}
		}
	}
	store, err := openRoot("rejects takes one ROOT", pos, 1)
	if err != nil {
		return err
	}
	m, err := readVersion(store, *version)
	if err != nil {
		return err
	}
	if len(m.Rejects) == 0 {
		return fmt.Errorf("version %s has no rejects output; run with --rejects or output.rejects: true in the config", m.ID)
	}

	var picked []rejectLine
	counts := map[string]int64{}
	for _, f := range m.Rejects {
		err := readStoreRows(context.Background(), store, f, func(_ int64, r *stages.RejectRow) error {
			counts[r.Reason]++
			if *reason != "" && r.Reason != *reason {
				return nil
			}
			line, err := json.Marshal(r)
			if err != nil {
				return err
			}
			picked = append(picked, rejectLine{key: xxhash.Sum64String(r.ID), line: line})
			return nil
		})
		if err != nil {
			return fmt.Errorf("reading rejects file %s: %w", f.Path, err)
		}
	}
	if *reason != "" && counts[*reason] == 0 {
		return fmt.Errorf("no document of version %s was dropped for %q; reasons present: %s", m.ID, *reason, formatCounts(counts))
	}

	slices.SortFunc(picked, func(a, b rejectLine) int {
		return cmp.Or(cmp.Compare(a.key, b.key), slices.Compare(a.line, b.line))
	})
	if *sample > 0 && len(picked) > *sample {
		picked = picked[:*sample]
	}
	w := bufio.NewWriter(stdout)
	for _, p := range picked {
		w.Write(p.line)
		w.WriteByte('\n')
	}
	return w.Flush()
}

type rejectLine struct {
	key  uint64
	line []byte
}
