package cli

import (
	"bufio"
	"cmp"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"

	"github.com/cespare/xxhash/v2"
	"github.com/klauspost/compress/zstd"
)

// rejectsCommand prints a sample of a version's rejected documents, for a
// person auditing what a filter removed.
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
	store, err := openRoot("rejects takes one ROOT", pos, 1)
	if err != nil {
		return err
	}
	m, err := readVersion(store, *version)
	if err != nil {
		return err
	}
	if len(m.Rejects) == 0 {
		return fmt.Errorf("version %s has no rejects output; run with output.rejects: true in the config", m.ID)
	}

	var picked []rejectLine
	counts := map[string]int{}
	for _, f := range m.Rejects {
		err := readRejects(filepath.Join(store.Root(), filepath.FromSlash(f.Path)), func(line []byte) error {
			var r struct {
				ID     string `json:"id"`
				Reason string `json:"reason"`
			}
			if err := json.Unmarshal(line, &r); err != nil {
				return err
			}
			counts[r.Reason]++
			if *reason == "" || r.Reason == *reason {
				picked = append(picked, rejectLine{key: xxhash.Sum64String(r.ID), line: slices.Clone(line)})
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("reading rejects file %s: %w", f.Path, err)
		}
	}
	if *reason != "" && counts[*reason] == 0 {
		return fmt.Errorf("no document of version %s was dropped for %q; reasons present: %s", m.ID, *reason, formatCounts(intCounts(counts)))
	}

	slices.SortFunc(picked, func(a, b rejectLine) int { return cmp.Compare(a.key, b.key) })
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

// readRejects calls fn with each JSON line of a zstd rejects file.
func readRejects(path string, fn func(line []byte) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	dec, err := zstd.NewReader(f)
	if err != nil {
		return err
	}
	defer dec.Close()
	sc := bufio.NewScanner(dec)
	sc.Buffer(nil, 512<<20)
	for sc.Scan() {
		if err := fn(sc.Bytes()); err != nil {
			return err
		}
	}
	return sc.Err()
}

func intCounts(m map[string]int) map[string]int64 {
	out := make(map[string]int64, len(m))
	for k, v := range m {
		out[k] = int64(v)
	}
	return out
}
