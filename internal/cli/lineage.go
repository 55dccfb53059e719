package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/winnow-data/winnow/pipeline"
	"github.com/winnow-data/winnow/stages"
)

// lineage is the history of one document: its origin, the runs that
// wrote it and the versions and training runs that hold it.
type lineage struct {
	ID        string                    `json:"id"`
	Found     bool                      `json:"found"`
	Origin    *docOrigin                `json:"origin,omitempty"`
	AddedBy   *versionRef               `json:"added_by,omitempty"`   // oldest version that holds the document
	WrittenBy *versionRef               `json:"written_by,omitempty"` // version whose run wrote the shard row
	Changes   *docChanges               `json:"changes,omitempty"`
	Versions  []versionPresence         `json:"versions"`
	Consumers []pipeline.ConsumerRecord `json:"consumers"`           // training runs that read a version holding the document
	Forgotten []pipeline.ForgetNote     `json:"forgotten,omitempty"` // forget requests that named the id
}

// docOrigin is the input record a document was read from.
type docOrigin struct {
	Input       string `json:"input"`        // as the run named it, the shards' input column
	InputOffset int64  `json:"input_offset"` // record index within the input, from 0
	Path        string `json:"path,omitempty"`
	Format      string `json:"format,omitempty"`
	SHA256      string `json:"sha256,omitempty"`
	URL         string `json:"url,omitempty"`
	Source      string `json:"source,omitempty"`
	Shard       string `json:"shard"`
	Row         int64  `json:"row"`
}

// versionRef names a version and the run that made it.
type versionRef struct {
	Version    string    `json:"version"`
	CreatedAt  time.Time `json:"created_at"`
	Message    string    `json:"message,omitempty"`
	ConfigHash string    `json:"config_hash"`
	Winnow     string    `json:"winnow"`
	Stages     []string  `json:"stages"`
}

// docChanges records the curation stages' effect on the document.
type docChanges struct {
	Lang        string         `json:"lang"`
	LangScore   float32        `json:"lang_score"`
	TokenCount  int32          `json:"token_count"`
	TextBytes   int            `json:"text_bytes"`
	PIIReplaced map[string]int `json:"pii_replaced"` // tags in the stored text, by type
	// InputTextBytes and TextChanged compare with the input record, read
	// again. InputNote gives the reason when that was not possible.
	InputTextBytes int    `json:"input_text_bytes,omitempty"`
	TextChanged    *bool  `json:"text_changed,omitempty"`
	InputNote      string `json:"input_note,omitempty"`
}

// versionPresence is the state of the document in one version.
type versionPresence struct {
	Version   string    `json:"version"`
	CreatedAt time.Time `json:"created_at"`
	Status    string    `json:"status"`           // present, deleted or absent
	Reason    string    `json:"reason,omitempty"` // of a deletion, such as near_duplicate or forgotten
}

// piiTag matches the tags the pii stage writes with action tag, such as
// |||EMAIL_ADDRESS|||.
var piiTag = regexp.MustCompile(`\|\|\|([A-Z][A-Z0-9_]*)\|\|\|`)

// lineageCommand traces one document id through every version of a root.
func lineageCommand(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("winnow lineage", flag.ContinueOnError)
	fs.SetOutput(stderr)
	jsonOut := fs.Bool("json", false, "print the lineage as JSON")
	noInput := fs.Bool("no-input", false, "do not read the input file again to compare the stored text with the input record")
	pos, err := parseCommandFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 2 {
		return usageError{fmt.Errorf("lineage takes ROOT and DOC_ID, got %q", pos)}
	}

	store, err := openLocalRoot(pos[0])
	if err != nil {
		return err
	}
	ctx := context.Background()
	l, err := traceDocument(ctx, store, pos[1], !*noInput)
	if err != nil {
		return err
	}
	if *jsonOut {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(l); err != nil {
			return err
		}
	} else {
		l.write(stdout)
	}
	if !l.Found && len(l.Forgotten) == 0 {
		return fmt.Errorf("document %q is in no version of %s", pos[1], store)
	}
	return nil
}

// occurrence is one shard row holding the document.
type occurrence struct {
	shard string
	row   int64
	doc   docRow
}

func traceDocument(ctx context.Context, store *pipeline.LocalStore, id string, readInput bool) (*lineage, error) {
	list, err := pipeline.ListVersions(store)
	if err != nil {
		return nil, err
	}
	slices.Reverse(list) // oldest first
	l := &lineage{ID: id, Versions: []versionPresence{}, Consumers: []pipeline.ConsumerRecord{}}
	if l.Forgotten, err = forgetNotesFor(store, id); err != nil {
		return nil, err
	}

	occurrences, err := findDocument(ctx, store.Root(), list, id)
	if err != nil {
		return nil, err
	}
	var first *occurrence
	for _, m := range list {
		p := versionPresence{Version: m.ID, CreatedAt: m.CreatedAt, Status: "absent"}
		deleted := m.DeletedRows()
		for i := range occurrences {
			o := &occurrences[i]
			if !listsShard(m, o.shard) {
				continue
			}
			if deleted[o.shard][o.row] {
				p.Status, p.Reason = "deleted", deletionReason(m, o.shard, o.row)
				continue
			}
			p.Status, p.Reason = "present", ""
			if first == nil {
				first = o
				l.AddedBy = refOf(m)
			}
			break
		}
		l.Versions = append(l.Versions, p)
		if p.Status == "present" {
			consumers, err := pipeline.ReadConsumers(store, m.ID)
			if err != nil {
				return nil, err
			}
			l.Consumers = append(l.Consumers, consumers...)
		}
	}
	if first == nil && len(occurrences) > 0 {
		first = &occurrences[0] // in deleted rows only
	}
	if first == nil {
		return l, nil
	}

	l.Found = true
	writer := writerOf(list, first.shard)
	l.WrittenBy = refOf(writer)
	l.Origin = originOf(writer, first)
	l.Changes = changesOf(&first.doc)
	if readInput {
		compareWithInput(ctx, writer, l.Origin, first.doc.Text, l.Changes)
	}
	return l, nil
}

// findDocument reads the id column of every shard that a version lists and
// returns the rows with id, each read whole.
func findDocument(ctx context.Context, root string, list []*pipeline.Manifest, id string) ([]occurrence, error) {
	type idRow struct {
		ID string `parquet:"id"`
	}
	seen := map[string]bool{}
	var out []occurrence
	for _, m := range list {
		for _, sh := range m.Shards {
			if seen[sh.Path] {
				continue
			}
			seen[sh.Path] = true
			var rows []int64
			err := stages.ReadParquetRows(ctx, shardFile(root, sh.Path), func(row int64, r *idRow) error {
				if r.ID == id {
					rows = append(rows, row)
				}
				return nil
			})
			if err != nil {
				return nil, fmt.Errorf("reading shard %s: %w", sh.Path, err)
			}
			if len(rows) == 0 {
				continue
			}
			err = stages.ReadParquetRows(ctx, shardFile(root, sh.Path), func(row int64, r *docRow) error {
				if slices.Contains(rows, row) {
					out = append(out, occurrence{shard: sh.Path, row: row, doc: *r})
				}
				return nil
			})
			if err != nil {
				return nil, fmt.Errorf("reading shard %s: %w", sh.Path, err)
			}
		}
	}
	return out, nil
}

func listsShard(m *pipeline.Manifest, path string) bool {
	return slices.ContainsFunc(m.Shards, func(s pipeline.ShardRecord) bool { return s.Path == path })
}

func deletionReason(m *pipeline.Manifest, shard string, row int64) string {
	for _, d := range m.Deletions {
		if d.Shard == shard && slices.Contains(d.Rows, row) {
			return d.Reason
		}
	}
	return ""
}

// writerOf returns the oldest version that lists shard: the version whose
// run wrote it. Later versions list it by --append or a dedup pass.
func writerOf(list []*pipeline.Manifest, shard string) *pipeline.Manifest {
	for _, m := range list {
		if listsShard(m, shard) {
			return m
		}
	}
	return nil
}

func refOf(m *pipeline.Manifest) *versionRef {
	r := &versionRef{Version: m.ID, CreatedAt: m.CreatedAt, Message: m.Message, ConfigHash: m.ConfigHash, Winnow: m.Winnow.Version, Stages: []string{}}
	if m.Winnow.Revision != "" {
		r.Winnow += " " + m.Winnow.Revision
	}
	for _, s := range m.Stages {
		if s.Name != "source" && s.Name != "sink" {
			r.Stages = append(r.Stages, s.Name)
		}
	}
	return r
}

func originOf(m *pipeline.Manifest, o *occurrence) *docOrigin {
	out := &docOrigin{Input: o.doc.Input, InputOffset: o.doc.InputOffset, URL: o.doc.URL, Source: o.doc.Source, Shard: o.shard, Row: o.row}
	// NOTE: winnow reads files only, so the origin is a file and a record
	// index. A stream source would add its topic, partition and offset here.
	for _, in := range m.Inputs {
		if in.URI == o.doc.Input {
			out.Path, out.Format, out.SHA256 = in.Path, in.Format, in.SHA256
			break
		}
	}
	return out
}

func changesOf(d *docRow) *docChanges {
	c := &docChanges{Lang: d.Lang, LangScore: d.LangScore, TokenCount: d.TokenCount, TextBytes: len(d.Text), PIIReplaced: map[string]int{}}
	for _, m := range piiTag.FindAllStringSubmatch(d.Text, -1) {
		c.PIIReplaced[m[1]]++
	}
	return c
}

// errRecordFound stops the source once the input record is read.
var errRecordFound = errors.New("record found")

// compareWithInput reads the document's input record again, with the
// input settings of the run that wrote it, and compares its text with
// stored. When that is not possible it records why.
func compareWithInput(ctx context.Context, m *pipeline.Manifest, o *docOrigin, stored string, c *docChanges) {
	if o.Path == "" {
		c.InputNote = "the manifest does not record where the input file was"
		return
	}
	cfg := inputConfigOf(m)
	cfg.Paths = []string{o.Path}
	src, err := stages.NewFileSource(cfg, pipeline.NewEnv(slog.New(slog.DiscardHandler), "source"))
	if err != nil {
		c.InputNote = "input not readable now: " + err.Error()
		return
	}

	var text string
	found := false
	err = src.Run(ctx, func(b *pipeline.Batch) error {
		defer b.Release()
		offsets := b.Column(pipeline.ColInputOffset).(interface{ Value(int) int64 })
		texts := b.Strings(pipeline.ColText)
		for i := range b.Len() {
			if offsets.Value(i) == o.InputOffset {
				text, found = texts.Value(i), true
				return errRecordFound
			}
		}
		return nil
	})
	if err != nil && !errors.Is(err, errRecordFound) {
		c.InputNote = "reading the input again failed: " + err.Error()
		return
	}

	if !found {
		c.InputNote = fmt.Sprintf("the input file at %s has no record %d now", o.Path, o.InputOffset)
		return
	}
	changed := text != stored
	c.InputTextBytes = len(text)
	c.TextChanged = &changed
}

// inputConfigOf returns the input settings of the run that made m, from
// its resolved config.
func inputConfigOf(m *pipeline.Manifest) pipeline.InputConfig {
	cfg := pipeline.InputConfig{Format: "auto", BatchSize: pipeline.DefaultBatchSize, BatchBytes: pipeline.DefaultBatchBytes}
	config, _ := m.Config.(map[string]any)
	input, _ := config["input"].(map[string]any)
	if f, ok := input["format"].(string); ok && f != "" {
		cfg.Format = f
	}
	fields, _ := input["fields"].(map[string]any)
	str := func(k string) string { s, _ := fields[k].(string); return s }
	cfg.Fields = pipeline.FieldMap{ID: str("id"), Text: str("text"), URL: str("url"), Source: str("source")}
	return cfg
}

// forgetNotesFor returns the forget requests that named id.
func forgetNotesFor(store pipeline.Store, id string) ([]pipeline.ForgetNote, error) {
	records, err := pipeline.ReadForgetRecords(store)
	if err != nil {
		return nil, err
	}
	hash := pipeline.HashValue(id)
	var out []pipeline.ForgetNote
	for _, r := range records {
		for _, s := range r.Selectors {
			if s.Kind == "id" && slices.Contains(s.SHA256, hash) {
				out = append(out, pipeline.ForgetNote{Forget: r.ID, At: r.CreatedAt, Reason: r.Reason, Docs: r.Docs})
			}
		}
	}
	return out, nil
}

func (l *lineage) write(w io.Writer) {
	fmt.Fprintf(w, "document %s\n", l.ID)
	for _, f := range l.Forgotten {
		fmt.Fprintf(w, "  forgotten by request %s on %s (%s)\n", f.Forget, f.At.Format("2006-01-02 15:04:05Z"), orDash(f.Reason))
	}
	if !l.Found {
		fmt.Fprintln(w, "  in no shard of any version")
		return
	}
	o := l.Origin
	fmt.Fprintln(w, "\norigin:")
	fmt.Fprintf(w, "  input      %s, record %d (from 0)\n", o.Input, o.InputOffset)
	if o.Path != "" {
		fmt.Fprintf(w, "  file       %s (%s, sha256 %s)\n", o.Path, o.Format, short(o.SHA256))
	}
	if o.URL != "" {
		fmt.Fprintf(w, "  url        %s\n", o.URL)
	}
	if o.Source != "" {
		fmt.Fprintf(w, "  source     %s\n", o.Source)
	}
	fmt.Fprintf(w, "  stored in  %s, row %d\n", o.Shard, o.Row)

	writeRef := func(title string, r *versionRef) {
		fmt.Fprintf(w, "\n%s:\n", title)
		fmt.Fprintf(w, "  version    %s, committed %s\n", r.Version, r.CreatedAt.Format("2006-01-02 15:04:05Z"))
		if r.Message != "" {
			fmt.Fprintf(w, "  message    %s\n", r.Message)
		}
		fmt.Fprintf(w, "  config     %s\n", r.ConfigHash)
		fmt.Fprintf(w, "  winnow     %s\n", r.Winnow)
		fmt.Fprintf(w, "  stages     %s\n", joinOrDash(r.Stages))
	}
	if l.WrittenBy != nil {
		writeRef("written by the run of", l.WrittenBy)
	}
	if l.AddedBy != nil && l.AddedBy.Version != l.WrittenBy.Version {
		writeRef("first present in", l.AddedBy)
	}

	c := l.Changes
	fmt.Fprintln(w, "\nwhat the stages did:")
	fmt.Fprintf(w, "  language   %s (score %.3f)\n", orDash(c.Lang), c.LangScore)
	fmt.Fprintf(w, "  text       %d bytes, %d tokens stored\n", c.TextBytes, c.TokenCount)
	switch {
	case c.TextChanged != nil && *c.TextChanged:
		fmt.Fprintf(w, "  input      %d bytes in the input record: the stages rewrote the text\n", c.InputTextBytes)
	case c.TextChanged != nil:
		fmt.Fprintf(w, "  input      %d bytes in the input record: the text is stored as read\n", c.InputTextBytes)
	case c.InputNote != "":
		fmt.Fprintf(w, "  input      not compared: %s\n", c.InputNote)
	}
	total := 0
	for _, n := range c.PIIReplaced {
		total += n
	}
	fmt.Fprintf(w, "  pii        %d spans replaced", total)
	for _, t := range pipeline.SortedKeys(c.PIIReplaced) {
		fmt.Fprintf(w, ", %s %d", t, c.PIIReplaced[t])
	}
	fmt.Fprintln(w)

	fmt.Fprintln(w, "\nversions, oldest first:")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, v := range l.Versions {
		status := v.Status
		if v.Reason != "" {
			status += " (" + v.Reason + ")"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", v.Version, v.CreatedAt.Format("2006-01-02 15:04:05Z"), status)
	}
	tw.Flush()

	fmt.Fprintln(w, "\ntraining runs that read a version holding it:")
	if len(l.Consumers) == 0 {
		fmt.Fprintln(w, "  none recorded")
	}
	for _, r := range l.Consumers {
		fmt.Fprintf(w, "  run %s read version %s, opened %s, last state %s\n", r.RunID, r.Version, formatTime(r.OpenedAt), compactJSON(r.LastState))
	}
}

func joinOrDash(items []string) string {
	if len(items) == 0 {
		return "-"
	}
	out := items[0]
	for _, s := range items[1:] {
		out += " -> " + s
	}
	return out
}
