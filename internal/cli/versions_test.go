package cli

import (
	"bufio"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/winnow-data/winnow/pipeline"
	"github.com/winnow-data/winnow/stages"
)

// c4ExcerptPath is the first 100 documents of the C4 sample, relative to
// this package.
var c4ExcerptPath = filepath.Join("..", "..", "testdata", "c4-sample-excerpt.jsonl.gz")

// readC4Excerpt returns the url of each line of the C4 excerpt, decoded
// independently of winnow's readers.
func readC4Excerpt(t *testing.T) []string {
	t.Helper()
	f, err := os.Open(c4ExcerptPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	var urls []string
	sc := bufio.NewScanner(zr)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var d struct {
			URL string `json:"url"`
		}
		if err := json.Unmarshal(sc.Bytes(), &d); err != nil {
			t.Fatal(err)
		}
		urls = append(urls, d.URL)
	}
	return urls
}

// keptDocs returns the documents of a version through winnow's reader.
func keptDocs(t *testing.T, root string, m *pipeline.Manifest) []pipeline.SeedDoc {
	t.Helper()
	var docs []pipeline.SeedDoc
	err := stages.ReadVersionDocs(context.Background(), root, m, func(d pipeline.SeedDoc) error {
		docs = append(docs, d)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return docs
}

// readManifest reads version id of root.
func readManifest(t *testing.T, root, id string) *pipeline.Manifest {
	t.Helper()
	store, err := pipeline.OpenLocalStore(root)
	if err != nil {
		t.Fatal(err)
	}
	m, err := pipeline.ReadManifest(store, id)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// mustCLI runs a winnow command and fails the test unless it exits with
// want.
func mustCLI(t *testing.T, want int, args ...string) string {
	t.Helper()
	code, out, stderr := runCLI(t, args...)
	if code != want {
		t.Fatalf("winnow %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, want, out, stderr)
	}
	return out
}

// writeReposts writes three kept documents of a version again, under new
// ids, as a later crawl would find them.
func writeReposts(t *testing.T, docs []pipeline.SeedDoc) (string, []string) {
	t.Helper()
	var lines, texts []string
	for _, d := range docs {
		if strings.Contains(d.Text, "|||") || len(strings.Fields(d.Text)) < 200 {
			continue
		}
		line, _ := json.Marshal(map[string]string{"id": fmt.Sprintf("repost-%d", len(lines)), "text": d.Text})
		lines = append(lines, string(line))
		texts = append(texts, d.Text)
		if len(lines) == 3 {
			break
		}
	}
	return writeFile(t, "reposts.jsonl", strings.Join(lines, "\n")+"\n"), texts
}

func diffJSON(t *testing.T, root, a, b string) diffReport {
	t.Helper()
	out := mustCLI(t, 0, "diff", "--json", root, a, b)
	var d diffReport
	if err := json.Unmarshal([]byte(out), &d); err != nil {
		t.Fatalf("diff --json: %v\n%s", err, out)
	}
	return d
}

func lineageJSON(t *testing.T, root, id string) lineage {
	t.Helper()
	out := mustCLI(t, 0, "lineage", "--json", root, id)
	var l lineage
	if err := json.Unmarshal([]byte(out), &l); err != nil {
		t.Fatalf("lineage --json: %v\n%s", err, out)
	}
	return l
}

// setDifference counts the items of a that b lacks; both are sorted.
func setDifference(a, b []string) int {
	n := 0
	for _, x := range a {
		if _, found := slices.BinarySearch(b, x); !found {
			n++
		}
	}
	return n
}

const stricterConfig = `stages:
  - normalize
  - langid
  - gopher_quality: {min_words: 100}
  - pii
  - exact_dedup
output:
  rejects: true
expectations:
  min_docs: 100000
  min_tokens: 1000
  languages:
    eng_Latn: {min: 0.3}
  max_drop_rate:
    gopher_short_doc: 0.9
  max_duplicate_rate: 0.5
  drift:
    max_language_js: 0.5
  signals:
    - {signal: token_count, max_ks: 1}
`

// TestVersionsScenario curates the demo sample (v1), adds a C4 excerpt
// deduplicated against v1 (v2), raises a threshold (v3), and checks what
// log, diff, lineage, tag, rollback, gc and verify print.
func TestVersionsScenario(t *testing.T) {
	root := t.TempDir()
	v1 := mustRun(t, "-o", root, "--rejects", "-m", "demo sample", samplePath).Version
	m1 := readManifest(t, root, v1)
	reposts, repostTexts := writeReposts(t, keptDocs(t, root, m1))
	v2 := mustRun(t, "-o", root, "--rejects", "--append", "--dedup-against", v1, "-m", "add c4 sample", c4ExcerptPath, reposts).Version
	m2 := readManifest(t, root, v2)
	if got := stageRecord(t, m2, "exact_dedup").Dropped["exact_duplicate"]; got != int64(len(repostTexts)) {
		t.Errorf("v2 dropped %d exact duplicates, want the %d reposts of v1 documents", got, len(repostTexts))
	}
	cfg := writeFile(t, "stricter.yaml", stricterConfig)
	v3 := mustRun(t, "-c", cfg, "-o", root, "-m", "min_words 100", samplePath, c4ExcerptPath).Version
	m3 := readManifest(t, root, v3)

	t.Run("log", func(t *testing.T) {
		out := mustCLI(t, 0, "log", root)
		i3, i2, i1 := strings.Index(out, "version "+v3), strings.Index(out, "version "+v2), strings.Index(out, "version "+v1)
		if i3 < 0 || i2 < i3 || i1 < i2 {
			t.Fatalf("log does not list v3, v2, v1 newest first:\n%s", out)
		}
		for _, want := range []string{
			"version " + v3 + " (latest)",
			"message   min_words 100",
			"message   add c4 sample",
			"parent    " + v2,
			"config    " + short(m3.ConfigHash) + " (changed from parent)",
			"config    " + short(m1.ConfigHash) + " (first version)",
			"inputs    3 files, ",
			fmt.Sprintf("kept      %d docs", m3.Totals.Docs),
			"gopher_short_doc=",
			"checks    6 passed, 1 failed, 0 skipped",
		} {
			if !strings.Contains(out, want) {
				t.Errorf("log lacks %q:\n%s", want, out)
			}
		}
	})

	t.Run("diff v1 v2", func(t *testing.T) {
		d := diffJSON(t, root, v1, v2)
		ids1, ids2 := versionIDs(t, root, m1), versionIDs(t, root, m2)
		if want := setDifference(ids2, ids1); d.Documents.Added != int64(want) || d.Documents.Removed != 0 {
			t.Errorf("added %d, removed %d; DuckDB finds %d new ids and none gone", d.Documents.Added, d.Documents.Removed, want)
		}
		if !slices.ContainsFunc(d.Documents.Languages, func(g groupDiff) bool { return g.Name == "eng_Latn" && g.Added > 0 && g.Removed == 0 }) {
			t.Errorf("by language: no English documents added: %+v", d.Documents.Languages)
		}
		if !slices.ContainsFunc(d.Stages, func(s stageDelta) bool {
			return s.Stage == "exact_dedup" && s.Reason == "exact_duplicate" && s.After == int64(len(repostTexts))
		}) {
			t.Errorf("stages lack v2's exact duplicates: %+v", d.Stages)
		}
		if !slices.ContainsFunc(d.Config, func(c configChange) bool { return c.Path == "dedup_against" && c.After == `"`+v1+`"` }) {
			t.Errorf("config changes %+v lack dedup_against", d.Config)
		}
		if d.Drift.LanguageJSDocs <= 0 || d.Drift.LanguageJSDocs > 1 || d.Drift.SourceJSDocs <= 0 {
			t.Errorf("divergence of the language mix %v, source mix %v; want both in (0, 1]", d.Drift.LanguageJSDocs, d.Drift.SourceJSDocs)
		}
		tokens := d.Drift.Signals[0]
		if tokens.Signal != "token_count" || tokens.Before != int(m1.Totals.Docs) || tokens.After != int(m2.Totals.Docs) {
			t.Errorf("token_count shift compares %d and %d values, want %d and %d", tokens.Before, tokens.After, m1.Totals.Docs, m2.Totals.Docs)
		}
		out := mustCLI(t, 0, "diff", root, v1, v2)
		for _, want := range []string{fmt.Sprintf("documents: %d added, 0 removed", d.Documents.Added), "by language:", "by source (url_domain):", "Jensen-Shannon divergence of the language mix", "token_count"} {
			if !strings.Contains(out, want) {
				t.Errorf("diff output lacks %q:\n%s", want, out)
			}
		}
	})

	t.Run("diff v2 v3", func(t *testing.T) {
		d := diffJSON(t, root, v2, v3)
		ids2, ids3 := versionIDs(t, root, m2), versionIDs(t, root, m3)
		added, removed := setDifference(ids3, ids2), setDifference(ids2, ids3)
		if d.Documents.Added != int64(added) || d.Documents.Removed != int64(removed) || removed == 0 {
			t.Errorf("added %d, removed %d; DuckDB finds %d added and %d removed, want some removed", d.Documents.Added, d.Documents.Removed, added, removed)
		}
		if !slices.Contains(d.Config, configChange{Path: "stages.gopher_quality.min_words", Before: "50", After: "100"}) {
			t.Errorf("config changes %+v lack min_words 50 -> 100", d.Config)
		}
		if !slices.ContainsFunc(d.Stages, func(s stageDelta) bool {
			return s.Reason == "gopher_short_doc" && s.Before == stageRecord(t, m2, "gopher_quality").Dropped["gopher_short_doc"] && s.After > s.Before
		}) {
			t.Errorf("stages lack the rise of gopher_short_doc: %+v", d.Stages)
		}
		if d.Drift.Signals[0].KS <= 0 {
			t.Errorf("token_count KS statistic %v after dropping short documents, want above 0", d.Drift.Signals[0].KS)
		}
		out := mustCLI(t, 0, "diff", root, v2, v3)
		if !strings.Contains(out, "stages.gopher_quality.min_words: 50 -> 100") || !strings.Contains(out, fmt.Sprintf("%d removed", removed)) {
			t.Errorf("diff output lacks the threshold change or the removed count:\n%s", out)
		}
	})

	t.Run("lineage", func(t *testing.T) {
		sample := readSample(t)
		kept1 := keptDocs(t, root, m1)
		doc := kept1[0]
		l := lineageJSON(t, root, doc.ID)
		offset := slices.IndexFunc(sample, func(d inputDoc) bool { return d.ID == doc.ID })
		if l.Origin.Input != filepath.Base(samplePath) || l.Origin.InputOffset != int64(offset) {
			t.Errorf("origin %s record %d, want %s record %d", l.Origin.Input, l.Origin.InputOffset, filepath.Base(samplePath), offset)
		}
		if l.WrittenBy.Version != v1 || l.AddedBy.Version != v1 || l.WrittenBy.ConfigHash != m1.ConfigHash {
			t.Errorf("written by %s, added by %s; want v1 %s", l.WrittenBy.Version, l.AddedBy.Version, v1)
		}
		if len(l.Versions) != 3 || l.Versions[0].Status != "present" || l.Versions[1].Status != "present" {
			t.Errorf("versions %+v: want present in v1 and v2", l.Versions)
		}

		urls := readC4Excerpt(t)
		var c4ID string
		for _, d := range keptDocs(t, root, m2) {
			if strings.HasPrefix(d.ID, "c4-sample-excerpt.jsonl.gz:") {
				c4ID = d.ID
				break
			}
		}
		l = lineageJSON(t, root, c4ID)
		k := l.Origin.InputOffset
		if c4ID != fmt.Sprintf("c4-sample-excerpt.jsonl.gz:%d", k) || l.Origin.URL != urls[k] {
			t.Errorf("c4 document %s: origin record %d with url %q, want the url of line %d, %q", c4ID, k, l.Origin.URL, k, urls[k])
		}
		if l.WrittenBy.Version != v2 || l.Versions[0].Status != "absent" || l.Versions[1].Status != "present" {
			t.Errorf("c4 document written by %s, versions %+v; want written by v2 and absent from v1", l.WrittenBy.Version, l.Versions)
		}
		if l.Changes.TextChanged == nil || l.Changes.InputTextBytes == 0 {
			t.Errorf("the input record was not read again: %+v", l.Changes)
		}

		var piiID string
		for _, d := range kept1 {
			if strings.Contains(d.Text, "|||EMAIL_ADDRESS|||") {
				piiID = d.ID
				break
			}
		}
		l = lineageJSON(t, root, piiID)
		if l.Changes.PIIReplaced["EMAIL_ADDRESS"] == 0 || l.Changes.TextChanged == nil || !*l.Changes.TextChanged {
			t.Errorf("document with an email: pii %v, text changed %v", l.Changes.PIIReplaced, l.Changes.TextChanged)
		}
		out := mustCLI(t, 0, "lineage", root, piiID)
		if !strings.Contains(out, "spans replaced, EMAIL_ADDRESS") || !strings.Contains(out, "the stages rewrote the text") {
			t.Errorf("lineage output lacks the PII replacements:\n%s", out)
		}

		code, _, stderr := runCLI(t, "lineage", root, "repost-0")
		if code != 1 || !strings.Contains(stderr, `"repost-0" is in no version`) {
			t.Errorf("lineage of a dropped repost: exit %d, stderr %q", code, stderr)
		}
	})

	t.Run("verify", func(t *testing.T) {
		code, out, stderr := runCLI(t, "verify", root)
		if code != exitExpectation || !strings.Contains(out, "FAIL  min_docs: ") || !strings.Contains(out, "expected at least 100000 (short by ") {
			t.Errorf("verify of v3: exit %d, want %d and the failed check with its margin\nstdout:\n%s\nstderr:\n%s", code, exitExpectation, out, stderr)
		}
		if !strings.Contains(stderr, "failed 1 data test") {
			t.Errorf("verify stderr %q does not say how many tests failed", stderr)
		}
		if out := mustCLI(t, 0, "verify", root, v2); !strings.Contains(out, "no data tests") {
			t.Errorf("verify of a version without tests:\n%s", out)
		}
		code, out, _ = runCLI(t, "verify", "-c", cfg, root, v2)
		if code != exitExpectation || !strings.Contains(out, "evaluated now from") {
			t.Errorf("verify -c of v2: exit %d\n%s", code, out)
		}
	})

	t.Run("tag and rollback", func(t *testing.T) {
		mustCLI(t, 0, "tag", root, v2, "web-en-2026.12.0")
		code, _, stderr := runCLI(t, "tag", root, v3, "web-en-2026.12.0")
		if code != exitUsage || !strings.Contains(stderr, "pass --force") {
			t.Errorf("moving a tag without --force: exit %d, stderr %q", code, stderr)
		}
		mustCLI(t, 0, "tag", root, v3, "web-en-2026.12.1")
		if out := mustCLI(t, 0, "tag", root); !strings.Contains(out, "web-en-2026.12.0  "+v2) || !strings.Contains(out, "web-en-2026.12.1  "+v3) {
			t.Errorf("tag list:\n%s", out)
		}
		if out := mustCLI(t, 0, "show", root, "web-en-2026.12.0"); !strings.Contains(out, "version     "+v2) || !strings.Contains(out, "web-en-2026.12.0") {
			t.Errorf("show by tag:\n%s", out)
		}
		if out := mustCLI(t, 0, "versions", root); !strings.Contains(out, "web-en-2026.12.1") {
			t.Errorf("versions does not list the tag:\n%s", out)
		}

		out := mustCLI(t, 0, "rollback", root, "web-en-2026.12.0")
		if !strings.Contains(out, "latest: "+v3+" -> "+v2) {
			t.Errorf("rollback output:\n%s", out)
		}
		if m := latestManifest(t, root); m.ID != v2 {
			t.Errorf("latest after rollback = %s, want %s", m.ID, v2)
		}
		mustCLI(t, 0, "show", "--verify", root, v3) // nothing was deleted
		out = mustCLI(t, 0, "log", root)
		for _, want := range []string{
			"version " + v3 + " (tag: web-en-2026.12.1, not in latest's history)",
			"version " + v2 + " (latest, tag: web-en-2026.12.0)",
			"rollback   latest",
		} {
			if !strings.Contains(out, want) {
				t.Errorf("log after rollback lacks %q:\n%s", want, out)
			}
		}
	})

	t.Run("fail on expectation", func(t *testing.T) {
		code, out, stderr := runCLI(t, "run", "--progress", "never", "--log-level", "warn", "--fail-on-expectation", "-c", cfg, "-o", root, samplePath)
		if code != exitExpectation || !strings.Contains(stderr, "latest was not moved") {
			t.Fatalf("run --fail-on-expectation: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, exitExpectation, out, stderr)
		}
		if m := latestManifest(t, root); m.ID != v2 {
			t.Errorf("latest = %s after a held run, want %s", m.ID, v2)
		}
		list := mustCLI(t, 0, "log", root)
		if !strings.Contains(list, "held: data tests failed") {
			t.Errorf("log does not mark the held version:\n%s", list)
		}
	})

	t.Run("gc", func(t *testing.T) {
		// A run that crashed left a finished shard and a partial one.
		shard := filepath.Join(root, filepath.FromSlash(m3.Shards[0].Path))
		orphan := filepath.Join(root, "shards", strings.Repeat("0", 32)+".parquet")
		partial := filepath.Join(root, "shards", ".tmp-crashed.parquet")
		data, err := os.ReadFile(shard)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range []string{orphan, partial} {
			if err := os.WriteFile(p, data, 0o644); err != nil {
				t.Fatal(err)
			}
		}

		out := mustCLI(t, 0, "gc", root)
		if !strings.Contains(out, "would delete 0 unreferenced files") || !strings.Contains(out, "modified less than --min-age") {
			t.Errorf("gc with the default --min-age deletes fresh files:\n%s", out)
		}
		out = mustCLI(t, 0, "gc", "--min-age", "0", root)
		for _, want := range []string{"4 versions kept, 0 dropped", "would delete 2 unreferenced files", "shards/" + strings.Repeat("0", 32) + ".parquet", "shards/.tmp-crashed.parquet", "dry run: nothing was deleted"} {
			if !strings.Contains(out, want) {
				t.Errorf("gc dry run lacks %q:\n%s", want, out)
			}
		}
		if _, err := os.Stat(orphan); err != nil {
			t.Errorf("the dry run deleted %s", orphan)
		}
		out = mustCLI(t, 0, "gc", "--min-age", "0", "--apply", root)
		if !strings.Contains(out, "deleted 2 unreferenced files") {
			t.Errorf("gc --apply:\n%s", out)
		}
		for _, p := range []string{orphan, partial} {
			if _, err := os.Stat(p); !os.IsNotExist(err) {
				t.Errorf("%s survived gc --apply", p)
			}
		}
		for _, v := range []string{v1, v2, v3} {
			mustCLI(t, 0, "show", "--verify", root, v)
		}

		// Keeping the newest version drops v1 alone: v2 and v3 are tagged,
		// and v2's shards include v1's, so only v1's rejects file goes.
		out = mustCLI(t, 0, "gc", "--min-age", "0", "--keep-last", "1", "--apply", root)
		for _, want := range []string{"3 versions kept, 1 dropped", "drop version " + v1, "deleted 1 unreferenced files", m1.Rejects[0].Path} {
			if !strings.Contains(out, want) {
				t.Errorf("gc --keep-last 1 lacks %q:\n%s", want, out)
			}
		}
		mustCLI(t, 0, "show", "--verify", root, v2)
		if code, _, _ := runCLI(t, "show", root, v1); code == 0 {
			t.Error("v1 is still readable after gc dropped it")
		}
		if out := mustCLI(t, 0, "log", root); !strings.Contains(out, "(parent deleted by gc)") {
			t.Errorf("log does not say that v2's parent is gone:\n%s", out)
		}
		if out := mustCLI(t, 0, "gc", "--min-age", "0", root); !strings.Contains(out, "would delete 0 unreferenced files") {
			t.Errorf("a second gc finds more:\n%s", out)
		}
	})
}
