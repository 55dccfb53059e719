package cli

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/winnow-data/winnow/pipeline"
	"github.com/winnow-data/winnow/stages"
)

// forgetSelection selects the documents a forget request removes: those
// whose id is listed, or whose url starts with a listed prefix.
type forgetSelection struct {
	ids      map[string]bool
	prefixes []string
}

func (s *forgetSelection) matches(id, u string) bool {
	if s.ids[id] {
		return true
	}
	u = withoutScheme(u)
	for _, p := range s.prefixes {
		if strings.HasPrefix(u, withoutScheme(p)) {
			return true
		}
	}
	return false
}

// withoutScheme returns u without a leading "scheme://", so that a
// takedown of https://example.com/a also covers http://example.com/a and
// the scheme-less URLs some inputs carry (Dolma's example.com/a).
func withoutScheme(u string) string {
	if i := strings.Index(u, "://"); i > 0 && !strings.ContainsAny(u[:i], "/?#.") {
		return u[i+3:]
	}
	return u
}

// selectors returns the hashed values for the record.
func (s *forgetSelection) selectors() []pipeline.ForgetSelector {
	var out []pipeline.ForgetSelector
	hash := func(kind string, values []string) {
		if len(values) == 0 {
			return
		}
		sel := pipeline.ForgetSelector{Kind: kind}
		for _, v := range values {
			sel.SHA256 = append(sel.SHA256, pipeline.HashValue(v))
		}
		slices.Sort(sel.SHA256)
		out = append(out, sel)
	}
	hash("id", pipeline.SortedKeys(s.ids))
	hash("url_prefix", s.prefixes)
	return out
}

// forgetCommand removes documents from every version of a root by
// recording deletion lists that ReadManifest applies, and with --purge
// rewrites the shards and rejects files that hold them.
func forgetCommand(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("winnow forget", flag.ContinueOnError)
	fs.SetOutput(stderr)
	sel := &forgetSelection{ids: map[string]bool{}}
	fs.Func("id", "forget the document with this id (repeatable)", func(v string) error {
		if v == "" {
			return errors.New("empty id")
		}
		sel.ids[v] = true
		return nil
	})
	fs.Func("url-prefix", "forget every document whose url starts with this prefix, which must start with a host; the scheme is optional and ignored when matching (repeatable)", func(v string) error {
		if err := checkURLPrefix(v); err != nil {
			return err
		}
		sel.prefixes = append(sel.prefixes, v)
		return nil
	})
	idsFile := fs.String("ids-file", "", "forget the ids listed in this file, one per line; blank lines and lines starting with # are skipped")
	reason := fs.String("m", "", "why the documents are forgotten, such as an erasure request or licence reference (required); recorded with the request")
	purge := fs.Bool("purge", false, "also rewrite every shard and rejects file that holds a forgotten document, so its bytes are gone from storage")
	dryRun := fs.Bool("dry-run", false, "print what would be forgotten and change nothing")
	pos, err := parseCommandFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageError{fmt.Errorf("forget takes one ROOT, got %q", pos)}
	}
	if *idsFile != "" {
		if err := readIDsFile(*idsFile, sel.ids); err != nil {
			return usageError{err}
		}
	}
	if len(sel.ids) == 0 && len(sel.prefixes) == 0 {
		return usageError{errors.New("forget needs --id, --url-prefix or --ids-file")}
	}
	if strings.TrimSpace(*reason) == "" && !*dryRun {
		return usageError{errors.New("-m: missing: say why the documents are forgotten; the reason is recorded with the request")}
	}
	store, err := openLocalRoot(pos[0])
	if err != nil {
		return err
	}

	f := &forgetter{ctx: context.Background(), store: store, sel: sel, purge: *purge && !*dryRun}
	res, err := f.run(*reason, *dryRun)
	if err != nil {
		return err
	}
	res.write(stdout, *dryRun, *purge)
	return nil
}

// checkURLPrefix rejects prefixes so short that they could forget a whole
// dataset by accident, such as "http".
// A prefix without a scheme needs a host with a dot, such as
// example.com/user/. The scheme is ignored when matching.
func checkURLPrefix(p string) error {
	full := p
	if withoutScheme(p) == p {
		full = "https://" + p
	}
	u, err := url.Parse(full)
	if err != nil || u.Host == "" || (full != p && !strings.Contains(u.Host, ".")) {
		return fmt.Errorf("invalid url prefix %q: it must start with a host, with or without a scheme, such as https://example.com/user/ or example.com/user/", p)
	}
	return nil
}

func readIDsFile(path string, ids map[string]bool) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("--ids-file: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		ids[line] = true
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("--ids-file %s: %w", path, err)
	}
	return nil
}

// forgetter runs one forget request.
type forgetter struct {
	ctx   context.Context
	store *pipeline.LocalStore
	sel   *forgetSelection
	purge bool

	matched   map[string][]int64                // shard path -> matching rows, ascending
	info      map[string]map[int64]forgottenRow // the totals of each matching row
	scanned   map[string]bool                   // shards and rejects files read
	rejects   map[string]int                    // rejects file -> matching rows
	rewritten map[string]pipeline.ShardRecord   // old path -> new file, with --purge
	foundIDs  map[string]bool
}

// forgottenRow holds the totals a version loses with one row.
type forgottenRow struct {
	lang, source string
	totals       pipeline.Totals
}

// forgetResult sums up one forget request for the command's output.
type forgetResult struct {
	record        *pipeline.ForgetRecord
	missingIDs    []string
	matchedShards []string
	rejectsRows   int
	keptFiles     int // files holding forgotten bytes that stay, without --purge
}

// run scans and rewrites outside the commit lock, under a lease that
// keeps gc off the new files, then takes the lock to catch versions
// committed meanwhile and to write the record.
func (f *forgetter) run(reason string, dryRun bool) (*forgetResult, error) {
	f.matched, f.info = map[string][]int64{}, map[string]map[int64]forgottenRow{}
	f.scanned, f.rejects = map[string]bool{}, map[string]int{}
	f.rewritten, f.foundIDs = map[string]pipeline.ShardRecord{}, map[string]bool{}

	lease, err := f.store.TakeLease("forget")
	if err != nil {
		return nil, err
	}
	defer lease.Release()
	list, err := pipeline.ListVersions(f.store)
	if err != nil {
		return nil, err
	}
	if err := f.scanVersions(list); err != nil {
		return nil, err
	}

	var unlock func()
	if !dryRun {
		if unlock, err = f.store.LockCommits(commitLockWait); err != nil {
			return nil, err
		}
		defer unlock()
		// Versions committed since the scan may list files not read yet.
		if list, err = pipeline.ListVersions(f.store); err != nil {
			return nil, err
		}
		if err := f.scanVersions(list); err != nil {
			return nil, err
		}
	}

	rec := f.record(list, reason)
	res := &forgetResult{record: rec}
	for id := range f.sel.ids {
		if !f.foundIDs[id] {
			res.missingIDs = append(res.missingIDs, id)
		}
	}
	slices.Sort(res.missingIDs)
	for _, n := range f.rejects {
		res.rejectsRows += n
	}
	res.matchedShards = pipeline.SortedKeys(f.matched)
	if !f.purge {
		res.keptFiles = len(f.matched) + countNonZero(f.rejects)
	}
	if dryRun || rec.Docs == 0 && res.rejectsRows == 0 {
		return res, nil
	}
	if _, err := pipeline.WriteForgetRecord(f.store, rec); err != nil {
		return nil, err
	}
	// The record is durable, so every reader takes the new files from
	// here on and the old ones can go.
	for _, r := range rec.Replaced {
		if err := f.store.Remove(r.Old); err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("removing purged file %s: %w", r.Old, err)
		}
	}
	return res, nil
}

func countNonZero(m map[string]int) int {
	n := 0
	for _, v := range m {
		if v > 0 {
			n++
		}
	}
	return n
}

// scanVersions reads every shard and rejects file of list not read yet,
// and rewrites those that hold matches when purging.
func (f *forgetter) scanVersions(list []*pipeline.Manifest) error {
	for _, m := range list {
		for _, sh := range m.Shards {
			if f.scanned[sh.Path] {
				continue
			}
			f.scanned[sh.Path] = true
			if err := f.scanShard(sh.Path); err != nil {
				return err
			}
			if f.purge && len(f.matched[sh.Path]) > 0 {
				rec, err := purgeShard(f.ctx, f.store.Root(), sh, f.matched[sh.Path], zstdLevelOf(m))
				if err != nil {
					return err
				}
				f.rewritten[sh.Path] = rec
			}
		}
		for _, rj := range m.Rejects {
			if f.scanned[rj.Path] {
				continue
			}
			f.scanned[rj.Path] = true
			n, err := f.scanRejects(rj.Path)
			if err != nil {
				return err
			}
			f.rejects[rj.Path] = n
			if f.purge && n > 0 {
				rec, err := purgeRejects(f.ctx, f.store.Root(), rj, f.sel, zstdLevelOf(m))
				if err != nil {
					return err
				}
				f.rewritten[rj.Path] = rec
			}
		}
	}
	return nil
}

// scanShard finds the matching rows of one shard, then reads them whole
// for their totals.
func (f *forgetter) scanShard(path string) error {
	var rows []int64
	err := stages.ReadParquetRows(f.ctx, shardFile(f.store.Root(), path), func(row int64, r *keyRow) error {
		if f.sel.matches(r.ID, r.URL) {
			rows = append(rows, row)
			f.foundIDs[r.ID] = true
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("reading shard %s: %w", path, err)
	}
	if len(rows) == 0 {
		return nil
	}
	f.matched[path] = rows
	info := map[int64]forgottenRow{}
	err = stages.ReadParquetRows(f.ctx, shardFile(f.store.Root(), path), func(row int64, r *docRow) error {
		if _, found := slices.BinarySearch(rows, row); found {
			info[row] = forgottenRow{
				lang:   orUnknown(r.Lang, stages.LangUndetermined),
				source: orUnknown(r.Source, "unknown"),
				totals: pipeline.Totals{Docs: 1, Bytes: int64(len(r.Text)), Tokens: int64(r.TokenCount)},
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("reading shard %s: %w", path, err)
	}
	f.info[path] = info
	return nil
}

func (f *forgetter) scanRejects(path string) (int, error) {
	type rejectKeyRow struct {
		ID  string `parquet:"id"`
		URL string `parquet:"url"`
	}
	n := 0
	err := stages.ReadParquetRows(f.ctx, shardFile(f.store.Root(), path), func(_ int64, r *rejectKeyRow) error {
		if f.sel.matches(r.ID, r.URL) {
			n++
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("reading rejects file %s: %w", path, err)
	}
	return n, nil
}

// record builds the forget record for the versions of list.
func (f *forgetter) record(list []*pipeline.Manifest, reason string) *pipeline.ForgetRecord {
	rec := &pipeline.ForgetRecord{CreatedAt: time.Now().UTC(), Reason: reason, Selectors: f.sel.selectors(), Purged: f.purge}
	for _, rows := range f.matched {
		rec.Docs += int64(len(rows))
	}
	for _, m := range list {
		v := pipeline.ForgetVersion{Version: m.ID, Languages: map[string]pipeline.Totals{}, Sources: map[string]pipeline.Totals{}}
		deleted := m.DeletedRows()
		for _, sh := range m.Shards {
			var rows []int64
			for _, row := range f.matched[sh.Path] {
				if deleted[sh.Path][row] {
					continue
				}
				rows = append(rows, row)
				r := f.info[sh.Path][row]
				v.Removed = addTotals(v.Removed, r.totals)
				v.Languages[r.lang] = addTotals(v.Languages[r.lang], r.totals)
				v.Sources[r.source] = addTotals(v.Sources[r.source], r.totals)
			}
			if len(rows) > 0 {
				path := sh.Path
				if n, ok := f.rewritten[path]; ok {
					path = n.Path
				}
				v.Deletions = append(v.Deletions, pipeline.Deletion{Shard: path, Rows: rows, Reason: pipeline.ReasonForgotten})
			}
		}
		rec.Versions = append(rec.Versions, v)
	}
	// Only files that some version still lists are replaced; a file that
	// another forget request rewrote meanwhile is not.
	listed := map[string]bool{}
	for _, m := range list {
		for _, s := range slices.Concat(m.Shards, m.Rejects) {
			listed[s.Path] = true
		}
	}
	for _, old := range pipeline.SortedKeys(f.rewritten) {
		if listed[old] {
			rec.Replaced = append(rec.Replaced, pipeline.ReplacedFile{Old: old, New: f.rewritten[old]})
		}
	}
	return rec
}

// zstdLevelOf returns the zstd level of the shards of m, from its config.
func zstdLevelOf(m *pipeline.Manifest) int {
	config, _ := m.Config.(map[string]any)
	output, _ := config["output"].(map[string]any)
	if level, ok := output["zstd_level"].(float64); ok && level >= 1 && level <= 22 {
		return int(level)
	}
	return pipeline.DefaultZstdLevel
}

func (r *forgetResult) write(w io.Writer, dryRun, purge bool) {
	rec := r.record
	if dryRun {
		fmt.Fprintln(w, "dry run: nothing was changed")
	} else if rec.ID != "" {
		fmt.Fprintf(w, "forget request %s recorded (%s)\n", rec.ID, rec.Reason)
	} else {
		fmt.Fprintln(w, "nothing matched: no request recorded")
	}
	fmt.Fprintf(w, "%s matched in %s, and %s in rejects files\n", plural(rec.Docs, "row"), plural(len(r.matchedShards), "shard"), plural(r.rejectsRows, "row"))
	if len(r.missingIDs) > 0 {
		fmt.Fprintf(w, "%s in no shard: %s\n", plural(len(r.missingIDs), "id"), listSome(r.missingIDs, 10))
	}
	for _, v := range rec.Versions {
		if v.Removed.Docs > 0 {
			fmt.Fprintf(w, "  version %s: %s removed\n", v.Version, plural(v.Removed.Docs, "document"))
		}
	}
	switch {
	case purge && len(rec.Replaced) > 0:
		fmt.Fprintf(w, "purged: %d files rewritten without the forgotten documents, the old files deleted\n", len(rec.Replaced))
		for _, f := range rec.Replaced {
			fmt.Fprintf(w, "  %s -> %s\n", f.Old, f.New.Path)
		}
	case r.keptFiles > 0 && !dryRun:
		fmt.Fprintf(w, "the documents' bytes stay in %d shards and rejects files; forget again with --purge to rewrite them\n", r.keptFiles)
	}
}
