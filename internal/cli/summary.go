package cli

import (
	"fmt"
	"io"
	"sort"
	"text/tabwriter"
	"time"

	"github.com/winnow-data/winnow/pipeline"
)

// summary is the report `winnow run` prints at the end, as a table or as
// JSON.
type summary struct {
	Version     string                 `json:"version"`
	Root        string                 `json:"root"`
	DocsRead    int64                  `json:"docs_read"`
	DocsKept    int64                  `json:"docs_kept"`
	BytesRead   int64                  `json:"bytes_read"`
	BytesKept   int64                  `json:"bytes_kept"`
	Shards      int                    `json:"shards"`
	Seconds     float64                `json:"seconds"`
	MBPerSecond float64                `json:"mb_per_second"` // text bytes read per second of wall time
	Stages      []stageSummary         `json:"stages"`
	Languages   []langSummary          `json:"languages"` // kept documents, most first
	Inputs      []pipeline.InputRecord `json:"inputs"`
	// Cumulative is set when the version holds documents this process did
	// not read: appended to an earlier version, resumed from a checkpoint,
	// or read from Kafka into a growing dataset.
	Cumulative bool `json:"cumulative,omitempty"`
}

type stageSummary struct {
	pipeline.StageRecord
	Workers              int     `json:"workers"`
	BusySeconds          float64 `json:"busy_seconds"`
	WaitInputSeconds     float64 `json:"wait_input_seconds"`
	BlockedOutputSeconds float64 `json:"blocked_output_seconds"`
}

type langSummary struct {
	Lang  string  `json:"lang"`
	Docs  int64   `json:"docs"`
	Share float64 `json:"share"` // of kept documents
}

// Documents and bytes read, and the rate, are this process's, from ms;
// kept counts are the version's.
func newSummary(root string, m *pipeline.Manifest, ms *pipeline.Metrics, elapsed time.Duration, cumulative bool) *summary {
	s := &summary{
		Version:   m.ID,
		Root:      root,
		DocsKept:  m.Totals.Docs,
		BytesKept: m.Totals.Bytes,
		Shards:    len(m.Shards),
		Seconds:   elapsed.Seconds(),
		Inputs:    m.Inputs,
	}
	for i, rec := range m.Stages {
		sm := ms.Stages[i]
		s.Stages = append(s.Stages, stageSummary{
			StageRecord:          rec,
			Workers:              sm.Workers,
			BusySeconds:          sm.Busy().Seconds(),
			WaitInputSeconds:     sm.WaitInput().Seconds(),
			BlockedOutputSeconds: sm.BlockedOutput().Seconds(),
		})
	}
	s.Cumulative = cumulative
	if len(ms.Stages) > 0 {
		s.DocsRead = ms.Stages[0].DocsOut.Load()
		s.BytesRead = ms.Stages[0].BytesOut.Load()
	}
	if s.Seconds > 0 {
		s.MBPerSecond = float64(s.BytesRead) / 1e6 / s.Seconds
	}
	for lang, t := range m.Languages {
		share := 0.0
		if m.Totals.Docs > 0 {
			share = float64(t.Docs) / float64(m.Totals.Docs)
		}
		s.Languages = append(s.Languages, langSummary{Lang: lang, Docs: t.Docs, Share: share})
	}
	sort.Slice(s.Languages, func(i, j int) bool {
		a, b := s.Languages[i], s.Languages[j]
		return a.Docs > b.Docs || (a.Docs == b.Docs && a.Lang < b.Lang)
	})
	return s
}

// writeTable prints the summary for a person.
func (s *summary) writeTable(w io.Writer) {
	fmt.Fprintf(w, "version %s committed in %s\n\n", s.Version, s.Root)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "stage\tworkers\tdocs in\tdocs out\tMB in\tMB out\tbusy s\t")
	for i, st := range s.Stages {
		docsIn, mbIn := fmt.Sprint(st.DocsIn), fmt.Sprintf("%.2f", float64(st.BytesIn)/1e6)
		if i == 0 {
			// The source has no input batches; what it read is its output.
			docsIn, mbIn = "-", "-"
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%d\t%s\t%.2f\t%.2f\t\n", st.Name, st.Workers, docsIn, st.DocsOut,
			mbIn, float64(st.BytesOut)/1e6, st.BusySeconds)
	}
	tw.Flush()

	fmt.Fprintln(w, "\ndropped and counted, by reason:")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	any := false
	for _, st := range s.Stages {
		for _, reason := range pipeline.SortedKeys(st.Dropped) {
			fmt.Fprintf(tw, "  %s\t%s\tdropped\t%d\n", st.Name, reason, st.Dropped[reason])
			any = true
		}
		for _, event := range pipeline.SortedKeys(st.Events) {
			fmt.Fprintf(tw, "  %s\t%s\tcounted\t%d\n", st.Name, event, st.Events[event])
			any = true
		}
	}
	if !any {
		fmt.Fprintln(tw, "  none")
	}
	tw.Flush()

	fmt.Fprintln(w, "\ntop languages of kept documents:")
	for i, l := range s.Languages {
		if i == 10 {
			fmt.Fprintf(w, "  ... and %d more\n", len(s.Languages)-10)
			break
		}
		fmt.Fprintf(w, "  %-10s %7d  %5.1f%%\n", l.Lang, l.Docs, 100*l.Share)
	}
	if s.Cumulative {
		fmt.Fprintf(w, "\n%d documents read by this process (%.1f MB) in %.1f s, %.2f MB/s; the version holds %d (%.1f MB) in %d shards\n",
			s.DocsRead, float64(s.BytesRead)/1e6, s.Seconds, s.MBPerSecond, s.DocsKept, float64(s.BytesKept)/1e6, s.Shards)
		return
	}
	fmt.Fprintf(w, "\n%d documents read (%.1f MB), %d kept (%.1f MB) in %d shards, %.1f s, %.2f MB/s\n",
		s.DocsRead, float64(s.BytesRead)/1e6, s.DocsKept, float64(s.BytesKept)/1e6, s.Shards, s.Seconds, s.MBPerSecond)
}

func sortStable(keys []string, less func(a, b string) bool) {
	sort.SliceStable(keys, func(i, j int) bool { return less(keys[i], keys[j]) })
}
