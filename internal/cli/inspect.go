package cli

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/winnow-data/winnow/pipeline"
)

// stagesCommand lists every registered stage with its options and defaults.
func stagesCommand(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("winnow stages", flag.ContinueOnError)
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageError{fmt.Errorf("stages takes no arguments, got %q", pos)}
	}
	fmt.Fprintf(stdout, "default chain: %s\n", strings.Join(pipeline.DefaultStages, " -> "))
	fmt.Fprintf(stdout, "default chain with WARC or ARC input: extract -> %s\n", strings.Join(pipeline.DefaultStages, " -> "))
	for _, s := range pipeline.Specs() {
		mode := "serial, in input order"
		if s.Concurrent {
			mode = "concurrent"
		}
		fmt.Fprintf(stdout, "\n%s (%s)\n  %s\n", s.Name, mode, s.Doc)
		if codes := pipeline.ReasonsOf(s.Name); len(codes) > 0 {
			fmt.Fprintf(stdout, "  drop reasons: %s\n", strings.Join(codes, ", "))
		}
		if len(s.Options) == 0 {
			fmt.Fprintln(stdout, "  options: none")
			continue
		}
		tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
		for _, o := range s.Options {
			fmt.Fprintf(tw, "  %s\t%s\tdefault %s\t%s\n", o.Name, o.Type, o.Default, o.Doc)
		}
		tw.Flush()
	}
	return nil
}

// versionsCommand lists the versions of a dataset root, newest first.
func versionsCommand(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("winnow versions", flag.ContinueOnError)
	jsonOut := fs.Bool("json", false, "print the manifests as a JSON array")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	store, err := openRoot("versions takes one ROOT", pos, 1)
	if err != nil {
		return err
	}
	list, err := pipeline.ListVersions(store)
	if err != nil {
		return err
	}
	latest, _ := pipeline.LatestVersion(store)
	tags, err := readTagsByVersion(store)
	if err != nil {
		return err
	}
	if *jsonOut {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(list)
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "version\tcreated\tparent\ttags\tdocs\tshards\t")
	for _, m := range list {
		id := m.ID
		if id == latest {
			id += " (latest)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d\t\n", id, m.CreatedAt.Format("2006-01-02 15:04:05Z"), orDash(m.Parent), orDash(versionTags(m, tags)), m.Totals.Docs, len(m.Shards))
	}
	return tw.Flush()
}

// showCommand prints one version's manifest as tables, or as JSON.
func showCommand(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("winnow show", flag.ContinueOnError)
	jsonOut := fs.Bool("json", false, "print the manifest as JSON")
	verify := fs.Bool("verify", false, "recompute every shard's checksum against the manifest")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	store, err := openRoot("show takes ROOT and VERSION", pos, 2)
	if err != nil {
		return err
	}
	ref := "latest"
	if len(pos) > 1 {
		ref = pos[1]
	}
	m, err := readVersion(store, ref)
	if err != nil {
		return err
	}
	if *verify {
		if err := pipeline.VerifyShards(store, m); err != nil {
			return err
		}
	}
	if *jsonOut {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(m)
	}
	tags, err := readTagsByVersion(store)
	if err != nil {
		return err
	}
	writeManifest(stdout, m, versionTags(m, tags), *verify)
	return nil
}

// readTagsByVersion returns the names under refs/tags of each version.
func readTagsByVersion(store pipeline.Store) (map[string][]string, error) {
	tags, err := pipeline.ReadTags(store)
	if err != nil {
		return nil, err
	}
	return pipeline.TagsByVersion(tags), nil
}

// versionTags returns the tag given to the run that made m and the tags
// under refs/tags that name it, comma-separated.
func versionTags(m *pipeline.Manifest, byVersion map[string][]string) string {
	names := byVersion[m.ID]
	if m.Tag != "" && !slices.Contains(names, m.Tag) {
		names = append([]string{m.Tag}, names...)
	}
	return strings.Join(names, ", ")
}

func writeManifest(w io.Writer, m *pipeline.Manifest, tags string, verified bool) {
	fmt.Fprintf(w, "version     %s\n", m.ID)
	fmt.Fprintf(w, "created     %s\n", m.CreatedAt.Format("2006-01-02 15:04:05Z"))
	fmt.Fprintf(w, "parent      %s\n", orDash(m.Parent))
	fmt.Fprintf(w, "tags        %s\n", orDash(tags))
	if m.Message != "" {
		fmt.Fprintf(w, "message     %s\n", m.Message)
	}
	fmt.Fprintf(w, "winnow      %s %s\n", m.Winnow.Version, m.Winnow.Revision)
	fmt.Fprintf(w, "config hash %s\n", m.ConfigHash)
	fmt.Fprintf(w, "totals      %d docs, %.2f MB text, %d tokens\n", m.Totals.Docs, float64(m.Totals.Bytes)/1e6, m.Totals.Tokens)
	if m.DedupOf != "" {
		fmt.Fprintf(w, "dedup of    %s\n", m.DedupOf)
	}
	if n := deletedRows(m); n > 0 {
		fmt.Fprintf(w, "deletions   %d rows of the shards below are not part of this version\n", n)
	}
	if verified {
		fmt.Fprintln(w, "checksums   every shard verified")
	}

	fmt.Fprintln(w, "\ninputs:")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  uri\tformat\tbytes\trecords\tcomplete\tsha256")
	for _, in := range m.Inputs {
		fmt.Fprintf(tw, "  %s\t%s\t%d\t%d\t%v\t%s\n", in.URI, in.Format, in.Size, in.Records, in.Complete, short(in.SHA256))
	}
	tw.Flush()

	fmt.Fprintln(w, "\nshards:")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  path\trows\tbytes\trow groups")
	for _, s := range m.Shards {
		fmt.Fprintf(tw, "  %s\t%d\t%d\t%d\n", s.Path, s.Rows, s.Bytes, s.RowGroups)
	}
	tw.Flush()

	fmt.Fprintln(w, "\nstages:")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  stage\tdocs in\tdocs out\treasons")
	for _, s := range m.Stages {
		var reasons []string
		for _, r := range pipeline.SortedKeys(s.Dropped) {
			reasons = append(reasons, fmt.Sprintf("%s=%d", r, s.Dropped[r]))
		}
		for _, e := range pipeline.SortedKeys(s.Events) {
			reasons = append(reasons, fmt.Sprintf("%s=%d (counted)", e, s.Events[e]))
		}
		docsIn := fmt.Sprint(s.DocsIn)
		if s.Name == "source" {
			docsIn = "-"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%d\t%s\n", s.Name, docsIn, s.DocsOut, strings.Join(reasons, ", "))
	}
	tw.Flush()

	writeTotals(w, "languages", m.Languages, m.Totals.Docs)
	writeTotals(w, "sources", m.Sources, m.Totals.Docs)
}

func writeTotals(w io.Writer, title string, totals map[string]pipeline.Totals, all int64) {
	fmt.Fprintf(w, "\n%s:\n", title)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  name\tdocs\tshare\tMB\ttokens")
	for _, k := range sortedByDocs(totals) {
		t := totals[k]
		share := 0.0
		if all > 0 {
			share = 100 * float64(t.Docs) / float64(all)
		}
		fmt.Fprintf(tw, "  %s\t%d\t%.1f%%\t%.2f\t%d\n", k, t.Docs, share, float64(t.Bytes)/1e6, t.Tokens)
	}
	tw.Flush()
}

func sortedByDocs(m map[string]pipeline.Totals) []string {
	keys := pipeline.SortedKeys(m)
	// Stable sort on the name-sorted keys gives ties in name order.
	sortStable(keys, func(a, b string) bool { return m[a].Docs > m[b].Docs })
	return keys
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func short(sum string) string {
	if len(sum) > 16 {
		return sum[:16]
	}
	return sum
}

func deletedRows(m *pipeline.Manifest) int {
	n := 0
	for _, d := range m.Deletions {
		n += len(d.Rows)
	}
	return n
}

// openRoot opens the existing dataset root named by the first positional
// argument, or the default root, after checking there are at most maxArgs
// of them. The root is a folder or an s3:// URL (see openStore).
func openRoot(usage string, pos []string, maxArgs int) (pipeline.Store, error) {
	if len(pos) > maxArgs {
		return nil, usageError{fmt.Errorf("%s, got %q", usage, pos)}
	}
	root := pipeline.DefaultOutputRoot
	if len(pos) > 0 {
		root = pos[0]
	}
	return openStore(root, false)
}

// openLocalRootArg opens the dataset root as openRoot does, for commands
// that work only on a local folder, and rejects an s3:// root.
func openLocalRootArg(usage string, pos []string, maxArgs int) (*pipeline.LocalStore, error) {
	if len(pos) > maxArgs {
		return nil, usageError{fmt.Errorf("%s, got %q", usage, pos)}
	}
	root := pipeline.DefaultOutputRoot
	if len(pos) > 0 {
		root = pos[0]
	}
	return openLocalRoot(root)
}
