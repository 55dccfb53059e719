package cli

import (
	"cmp"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/winnow-data/winnow/pipeline"
)

// logEntry is one version as `winnow log` shows it.
type logEntry struct {
	Version       string                       `json:"version"`
	CreatedAt     time.Time                    `json:"created_at"`
	Parent        string                       `json:"parent,omitempty"`
	Latest        bool                         `json:"latest"`
	OnLatestChain bool                         `json:"on_latest_chain"` // latest or one of its ancestors
	Tags          []string                     `json:"tags,omitempty"`  // refs/tags names, then the tag the run recorded
	Message       string                       `json:"message,omitempty"`
	ConfigHash    string                       `json:"config_hash"`
	ConfigChanged bool                         `json:"config_changed"` // the config hash differs from the parent's
	ParentGone    bool                         `json:"parent_gone"`    // the parent's manifest was deleted by gc --keep-last
	DedupOf       string                       `json:"dedup_of,omitempty"`
	Inputs        int                          `json:"inputs"`
	InputRecords  int64                        `json:"input_records"`
	InputNames    []string                     `json:"input_names"`
	Kept          pipeline.Totals              `json:"kept"`
	Dropped       int64                        `json:"dropped"` // by the run or pass that made the version
	DroppedBy     map[string]int64             `json:"dropped_by,omitempty"`
	Expectations  *pipeline.ExpectationsRecord `json:"expectations,omitempty"`
	Forgotten     []pipeline.ForgetNote        `json:"forgotten,omitempty"`
	Kafka         []pipeline.KafkaRecord       `json:"kafka,omitempty"` // offsets the versions so far consumed
}

// logCommand prints the version graph of a root, newest first, then the
// ref changes made by tag and rollback.
func logCommand(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("winnow log", flag.ContinueOnError)
	fs.SetOutput(stderr)
	jsonOut := fs.Bool("json", false, "print the versions and ref changes as JSON")
	limit := fs.Int("n", 0, "print at most this many versions (default: all)")
	pos, err := parseCommandFlags(fs, args)
	if err != nil {
		return err
	}

	store, err := openRoot("log takes one ROOT", pos, 1)
	if err != nil {
		return err
	}
	entries, history, err := buildLog(store)
	if err != nil {
		return err
	}
	if *limit > 0 && len(entries) > *limit {
		entries = entries[:*limit]
	}

	if *jsonOut {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(map[string]any{"versions": entries, "ref_changes": history})
	}
	if len(entries) == 0 {
		fmt.Fprintf(stdout, "no versions in %s\n", store)
		return nil
	}
	for _, e := range entries {
		writeLogEntry(stdout, e)
	}
	if len(history) > 0 {
		fmt.Fprintln(stdout, "ref changes by tag and rollback, newest first:")
		for _, h := range slices.Backward(history) {
			fmt.Fprintf(stdout, "  %s  %-10s %-24s %s -> %s\n", h.Time.Format("2006-01-02 15:04:05Z"), h.Action, h.Ref, orDash(h.From), orDash(h.To))
		}
	}
	return nil
}

// buildLog reads every version of store with its tags and place in the
// graph.
func buildLog(store pipeline.Store) ([]logEntry, []pipeline.HistoryEntry, error) {
	list, err := pipeline.ListVersions(store)
	if err != nil {
		return nil, nil, err
	}
	tags, err := pipeline.ReadTags(store)
	if err != nil {
		return nil, nil, err
	}
	history, err := pipeline.ReadHistory(store)
	if err != nil {
		return nil, nil, err
	}
	latest, _ := pipeline.LatestVersion(store)
	byID := make(map[string]*pipeline.Manifest, len(list))
	for _, m := range list {
		byID[m.ID] = m
	}
	chain := map[string]bool{}
	for id := latest; id != "" && !chain[id]; {
		chain[id] = true
		m := byID[id]
		if m == nil {
			break
		}
		id = m.Parent
	}
	tagsOf := pipeline.TagsByVersion(tags)

	entries := make([]logEntry, 0, len(list))
	for _, m := range list {
		e := logEntry{
			Version: m.ID, CreatedAt: m.CreatedAt, Parent: m.Parent, Latest: m.ID == latest, OnLatestChain: chain[m.ID],
			Tags: slices.Clone(tagsOf[m.ID]), Message: m.Message, ConfigHash: m.ConfigHash, DedupOf: m.DedupOf,
			Inputs: len(m.Inputs), Kept: m.Totals, Expectations: m.Expectations, Forgotten: m.Forgotten,
			DroppedBy: map[string]int64{},
		}
		if m.Tag != "" && !slices.Contains(e.Tags, m.Tag) {
			e.Tags = append(e.Tags, m.Tag)
		}
		if p := byID[m.Parent]; p != nil {
			e.ConfigChanged = p.ConfigHash != m.ConfigHash
		} else {
			e.ParentGone = m.Parent != ""
		}
		e.Kafka = m.Kafka
		for _, in := range m.Inputs {
			e.InputRecords += in.Records
			e.InputNames = append(e.InputNames, in.URI)
		}
		for _, s := range m.Stages {
			for reason, n := range s.Dropped {
				e.Dropped += n
				e.DroppedBy[reason] += n
			}
		}
		entries = append(entries, e)
	}
	return entries, history, nil
}

// logMaxNames bounds the input names and drop reasons one entry prints.
const logMaxNames = 4

func writeLogEntry(w io.Writer, e logEntry) {
	var marks []string
	if e.Latest {
		marks = append(marks, "latest")
	}
	for _, t := range e.Tags {
		marks = append(marks, "tag: "+t)
	}
	if e.Expectations != nil && e.Expectations.Held {
		marks = append(marks, "held: data tests failed")
	}
	if !e.OnLatestChain {
		marks = append(marks, "not in latest's history")
	}
	head := "version " + e.Version
	if len(marks) > 0 {
		head += " (" + strings.Join(marks, ", ") + ")"
	}
	fmt.Fprintln(w, head)

	fmt.Fprintf(w, "  created   %s\n", e.CreatedAt.Format("2006-01-02 15:04:05Z"))
	fmt.Fprintf(w, "  parent    %s\n", orDash(e.Parent))
	if e.DedupOf != "" {
		fmt.Fprintf(w, "  dedup of  %s\n", e.DedupOf)
	}
	changed := "same as parent"
	switch {
	case e.ConfigChanged:
		changed = "changed from parent"
	case e.Parent == "":
		changed = "first version"
	case e.ParentGone:
		changed = "parent deleted by gc"
	}
	fmt.Fprintf(w, "  config    %s (%s)\n", short(e.ConfigHash), changed)
	if e.Inputs > 0 || len(e.Kafka) == 0 {
		fmt.Fprintf(w, "  inputs    %s, %s: %s\n", plural(e.Inputs, "file"), plural(e.InputRecords, "record"), listSome(e.InputNames, logMaxNames))
	}
	for _, k := range e.Kafka {
		var total int64
		for _, off := range k.Next {
			total += off
		}
		fmt.Fprintf(w, "  kafka     topic %s, group %s: %s, next offsets sum to %d\n", k.Topic, k.Group, plural(len(k.Next), "partition"), total)
	}
	fmt.Fprintf(w, "  kept      %d docs, %.2f MB, %d tokens\n", e.Kept.Docs, float64(e.Kept.Bytes)/1e6, e.Kept.Tokens)
	fmt.Fprintf(w, "  dropped   %d by its run%s\n", e.Dropped, topReasons(e.DroppedBy, logMaxNames))
	if e.Message != "" {
		fmt.Fprintf(w, "  message   %s\n", e.Message)
	}

	if x := e.Expectations; x != nil {
		passed, skipped := 0, 0
		for _, r := range x.Results {
			switch r.Status {
			case pipeline.ExpectPass:
				passed++
			case pipeline.ExpectSkipped:
				skipped++
			}
		}
		fmt.Fprintf(w, "  checks    %d passed, %d failed, %d skipped\n", passed, x.Failed, skipped)
	}
	for _, f := range e.Forgotten {
		fmt.Fprintf(w, "  forgotten %d docs on %s (%s), request %s\n", f.Docs, f.At.Format("2006-01-02 15:04:05Z"), orDash(f.Reason), f.Forget)
	}
	fmt.Fprintln(w)
}

// plural formats a count with its noun, adding "s" unless n is 1.
func plural[N int | int64](n N, noun string) string {
	if n == 1 {
		return fmt.Sprintf("1 %s", noun)
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// listSome joins up to max names and counts the rest.
func listSome(names []string, max int) string {
	if len(names) <= max {
		return strings.Join(names, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(names[:max], ", "), len(names)-max)
}

// topReasons formats the largest counts as ": a=3, b=1", largest first.
func topReasons(counts map[string]int64, max int) string {
	if len(counts) == 0 {
		return ""
	}
	keys := pipeline.SortedKeys(counts)
	slices.SortStableFunc(keys, func(a, b string) int { return cmp.Compare(counts[b], counts[a]) })
	var parts []string
	for i, k := range keys {
		if i == max {
			parts = append(parts, fmt.Sprintf("%d more reasons", len(keys)-max))
			break
		}
		parts = append(parts, fmt.Sprintf("%s=%d", k, counts[k]))
	}
	return ": " + strings.Join(parts, ", ")
}
