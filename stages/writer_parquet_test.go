package stages

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/winnow-data/winnow/internal/testutil"
	"github.com/winnow-data/winnow/pipeline"
)

// sinkDoc is a test document with the columns a source does not set.
type sinkDoc struct {
	pipeline.Doc
	Tokens  int32
	Dropped bool
}

// awkwardDocs returns documents whose text and metadata stress encoders:
// multi-byte UTF-8, emoji sequences, newlines, quotes, backslashes, empty
// strings and one 300 KB text. Random words make the texts compress about
// as badly as real ones, so small size caps give several row groups and
// shards. Every third document is marked dropped.
func awkwardDocs() []sinkDoc {
	rng := rand.New(rand.NewPCG(7, 11))
	texts := []string{
		"plain ascii",
		"",
		"héllo wörld, ça va? Ελληνικά, русский, עברית, العربية",
		"日本語のテキストと中文文本",
		"emoji 🙂👍🏽 family 👨‍👩‍👧 flag 🇫🇷",
		"line one\nline two\r\nline three\n",
		`"double" 'single' \backslash\ {"json": "like"} ` + "\ttab",
		"ends with a newline\n",
		"\u00a0non-breaking\u00a0space and zero\u200bwidth",
	}
	metas := []string{`{}`, `{"k":"v","n":1}`, `{"quote":"a\"b","nl":"x\ny"}`, `{"emoji":"🙂"}`}
	langs := []string{"en", "", "ja", "fr"}
	sources := []string{"common-crawl", "", "wiki"}

	var docs []sinkDoc
	for i := range 200 {
		text := texts[i%len(texts)]
		switch {
		case i == 7:
			text = randomText(rng, 300<<10)
		case i%len(texts) != 1: // keep the empty texts empty
			text += "\n" + randomText(rng, 50+rng.IntN(300))
		}
		docs = append(docs, sinkDoc{
			Doc: pipeline.Doc{
				ID:          fmt.Sprintf("doc-%03d", i),
				Text:        text,
				URL:         fmt.Sprintf("https://example.org/%d?q=ü", i),
				Source:      sources[i%len(sources)],
				Lang:        langs[i%len(langs)],
				LangScore:   float32(i%10) / 9,
				Metadata:    metas[i%len(metas)],
				Input:       "input-a.jsonl.gz",
				InputOffset: int64(i),
			},
			Tokens:  int32(i * 3),
			Dropped: i%3 == 2,
		})
	}
	return docs
}

// randomText returns about n bytes of words drawn from a mix of scripts,
// emoji, quotes and line breaks.
func randomText(rng *rand.Rand, n int) string {
	words := []string{"data", "Größe", "データ", "数据", "🙂", "👍🏽", "\"q\"", "'s'", "\\", "\n", "\r\n", "\t", "ñandú", "κόσμος", "мир"}
	var sb strings.Builder
	for sb.Len() < n {
		sb.WriteString(words[rng.IntN(len(words))])
		sb.WriteString(strconv.Itoa(rng.IntN(1000)))
		sb.WriteByte(' ')
	}
	return sb.String()
}

// buildBatches splits docs into batches of batchSize rows, with token counts
// and drops applied.
func buildBatches(docs []sinkDoc, batchSize int) []*pipeline.Batch {
	var batches []*pipeline.Batch
	for start := 0; start < len(docs); start += batchSize {
		part := docs[start:min(start+batchSize, len(docs))]
		bb := pipeline.NewBatchBuilder()
		tokens := array.NewInt32Builder(memory.DefaultAllocator)
		for i := range part {
			bb.Append(&part[i].Doc)
			tokens.Append(part[i].Tokens)
		}
		b := bb.Build(uint64(len(batches)))
		b.SetColumn(pipeline.ColTokenCount, tokens.NewArray())
		tokens.Release()
		for i := range part {
			if part[i].Dropped {
				b.Drop(i, "test_drop")
			}
		}
		batches = append(batches, b)
	}
	return batches
}

// writeDocs writes docs through a new sink under root and closes it.
func writeDocs(t testing.TB, root string, cfg pipeline.OutputConfig, docs []sinkDoc, batchSize int) *ParquetSink {
	t.Helper()
	sink, err := NewParquetSink(root, cfg, pipeline.Env{})
	if err != nil {
		t.Fatalf("NewParquetSink: %v", err)
	}
	ctx := context.Background()
	for _, b := range buildBatches(docs, batchSize) {
		if err := sink.Write(ctx, b); err != nil {
			t.Fatalf("Write batch %d: %v", b.Seq, err)
		}
		b.Release()
	}
	if err := sink.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	return sink
}

func testOutput(rowGroupMax, shardMax int64) pipeline.OutputConfig {
	return pipeline.OutputConfig{RowGroupMaxBytes: rowGroupMax, ShardMaxBytes: shardMax, ZstdLevel: 3}
}

func keptDocs(docs []sinkDoc) []sinkDoc {
	var kept []sinkDoc
	for _, d := range docs {
		if !d.Dropped {
			kept = append(kept, d)
		}
	}
	return kept
}

func sqlString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

func shardGlob(root string) string {
	return sqlString(filepath.Join(root, pipeline.ShardsDir, "*.parquet"))
}

func TestParquetSinkDuckDBReadsRows(t *testing.T) {
	root := t.TempDir()
	docs := awkwardDocs()
	sink := writeDocs(t, root, testOutput(pipeline.DefaultRowGroupMaxBytes, pipeline.DefaultShardMaxBytes), docs, 7)
	kept := keptDocs(docs)

	rows := testutil.DuckDBQuery(t, `SELECT id, text, url, source, lang, lang_score, token_count,
		metadata, input, input_offset FROM read_parquet(`+shardGlob(root)+`) ORDER BY input_offset`)
	if len(rows) != len(kept) {
		t.Fatalf("DuckDB read %d rows, want the %d kept rows", len(rows), len(kept))
	}
	for i, row := range rows {
		want := kept[i]
		checkRow(t, row, want)
	}

	var shardRows int64
	for _, s := range sink.Shards() {
		shardRows += s.Rows
	}
	if shardRows != int64(len(kept)) {
		t.Errorf("shard records hold %d rows, want %d", shardRows, len(kept))
	}
}

func checkRow(t *testing.T, row map[string]any, want sinkDoc) {
	t.Helper()
	strs := map[string]string{
		"id": want.ID, "text": want.Text, "url": want.URL, "source": want.Source,
		"lang": want.Lang, "metadata": want.Metadata, "input": want.Input,
	}
	for col, w := range strs {
		if got, ok := row[col].(string); !ok || got != w {
			t.Errorf("%s: column %s = %.80q, want %.80q", want.ID, col, row[col], w)
		}
	}
	if got, ok := row["lang_score"].(float64); !ok || float32(got) != want.LangScore {
		t.Errorf("%s: lang_score = %v, want %v", want.ID, row["lang_score"], want.LangScore)
	}
	if got, ok := row["token_count"].(float64); !ok || int32(got) != wantTokens(want) {
		t.Errorf("%s: token_count = %v, want %d", want.ID, row["token_count"], wantTokens(want))
	}
	if got, ok := row["input_offset"].(float64); !ok || int64(got) != want.InputOffset {
		t.Errorf("%s: input_offset = %v, want %d", want.ID, row["input_offset"], want.InputOffset)
	}
}

func TestParquetSinkDroppedRowsAbsent(t *testing.T) {
	root := t.TempDir()
	docs := awkwardDocs()
	writeDocs(t, root, testOutput(pipeline.DefaultRowGroupMaxBytes, pipeline.DefaultShardMaxBytes), docs, 5)

	var dropped []string
	for _, d := range docs {
		if d.Dropped {
			dropped = append(dropped, sqlString(d.ID))
		}
	}
	rows := testutil.DuckDBQuery(t, `SELECT count(*) AS n FROM read_parquet(`+shardGlob(root)+`)
		WHERE id IN (`+strings.Join(dropped, ", ")+`)`)
	if n := rows[0]["n"]; n != float64(0) {
		t.Errorf("found %v dropped rows in the shards, want 0", n)
	}
}

func TestParquetSinkSchema(t *testing.T) {
	root := t.TempDir()
	writeDocs(t, root, testOutput(pipeline.DefaultRowGroupMaxBytes, pipeline.DefaultShardMaxBytes), awkwardDocs(), 16)

	rows := testutil.DuckDBQuery(t, `SELECT column_name, column_type, "null" AS nullable
		FROM (DESCRIBE SELECT * FROM read_parquet(`+shardGlob(root)+`))`)
	want := []string{
		"id VARCHAR", "text VARCHAR", "url VARCHAR", "source VARCHAR", "lang VARCHAR",
		"lang_score FLOAT", "token_count INTEGER", "metadata VARCHAR", "input VARCHAR", "input_offset BIGINT", "signature BLOB",
		"lang_script VARCHAR",
	}
	var got []string
	for _, r := range rows {
		got = append(got, fmt.Sprintf("%v %v", r["column_name"], r["column_type"]))
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("DuckDB reports columns\n%v\nwant\n%v", got, want)
	}

	// Every column is required, and strings carry the STRING logical type;
	// the signature is raw bytes.
	elems := testutil.DuckDBQuery(t, `SELECT name, type, repetition_type, converted_type, logical_type
		FROM parquet_schema(`+shardGlob(root)+`) WHERE num_children IS NULL`)
	for _, e := range elems {
		if e["repetition_type"] != "REQUIRED" {
			t.Errorf("column %v: repetition %v, want REQUIRED", e["name"], e["repetition_type"])
		}
		if e["type"] == "BYTE_ARRAY" && e["name"] != "signature" && e["converted_type"] != "UTF8" {
			t.Errorf("column %v: converted type %v, want UTF8 (STRING)", e["name"], e["converted_type"])
		}
	}
	if len(elems) != len(want) {
		t.Errorf("parquet_schema lists %d columns, want %d", len(elems), len(want))
	}

	roots := testutil.DuckDBQuery(t, `SELECT DISTINCT name FROM parquet_schema(`+shardGlob(root)+`) WHERE num_children IS NOT NULL`)
	if len(roots) != 1 || roots[0]["name"] != "schema" {
		t.Errorf("schema root = %v, want \"schema\"", roots)
	}

	// Only encodings that every reader decodes.
	encodings := testutil.DuckDBQuery(t, `SELECT DISTINCT path_in_schema, encodings FROM parquet_metadata(`+shardGlob(root)+`)`)
	for _, e := range encodings {
		for _, enc := range strings.Split(e["encodings"].(string), ", ") {
			if enc != "PLAIN" && enc != "RLE_DICTIONARY" {
				t.Errorf("column %v uses encoding %s, want PLAIN or RLE_DICTIONARY", e["path_in_schema"], enc)
			}
		}
	}

	meta := testutil.DuckDBQuery(t, `SELECT DISTINCT created_by FROM parquet_file_metadata(`+shardGlob(root)+`)`)
	if len(meta) != 1 || meta[0]["created_by"] != createdBy {
		t.Errorf("created_by = %v, want %q", meta, createdBy)
	}
	codecs := testutil.DuckDBQuery(t, `SELECT DISTINCT compression FROM parquet_metadata(`+shardGlob(root)+`)`)
	if len(codecs) != 1 || codecs[0]["compression"] != "ZSTD" {
		t.Errorf("compression = %v, want ZSTD only", codecs)
	}
}

func TestParquetSinkRowGroupsAndShards(t *testing.T) {
	root := t.TempDir()
	docs := awkwardDocs()
	const rowGroupMax, shardMax = 2 << 10, 6 << 10
	sink := writeDocs(t, root, testOutput(rowGroupMax, shardMax), docs, 3)

	shards := sink.Shards()
	if len(shards) < 2 {
		t.Fatalf("wrote %d shards with shard_max_bytes %d, want several", len(shards), shardMax)
	}
	multiGroup := 0
	for _, s := range shards {
		checkShardFile(t, root, s)
		if s.RowGroups > 1 {
			multiGroup++
		}
	}
	if multiGroup == 0 {
		t.Errorf("no shard has more than one row group with row_group_max_bytes %d", rowGroupMax)
	}

	// DuckDB reports the row groups the records claim, and their row counts
	// follow the byte cap row by row across shard boundaries.
	groups := testutil.DuckDBQuery(t, `SELECT file_name, row_group_id, any_value(row_group_num_rows) AS n
		FROM parquet_metadata(`+shardGlob(root)+`) GROUP BY file_name, row_group_id`)
	perFile := map[string]int{}
	rowsPerGroup := map[string]map[int]int{}
	for _, g := range groups {
		name := filepath.Base(g["file_name"].(string))
		perFile[name]++
		if rowsPerGroup[name] == nil {
			rowsPerGroup[name] = map[int]int{}
		}
		rowsPerGroup[name][int(g["row_group_id"].(float64))] = int(g["n"].(float64))
	}
	var got []int
	for _, s := range shards {
		name := filepath.Base(s.Path)
		if perFile[name] != s.RowGroups {
			t.Errorf("shard %s: DuckDB reports %d row groups, record says %d", name, perFile[name], s.RowGroups)
		}
		for i := range s.RowGroups {
			got = append(got, rowsPerGroup[name][i])
		}
	}
	if want := expectedRowGroups(keptDocs(docs), rowGroupMax); !reflect.DeepEqual(got, want) {
		t.Errorf("rows per row group = %v, want %v", got, want)
	}

	// Every shard but the last reached the cap at its last row group.
	for _, s := range shards[:len(shards)-1] {
		if s.Bytes < shardMax {
			t.Errorf("shard %s closed at %d bytes, below shard_max_bytes %d", s.Path, s.Bytes, shardMax)
		}
	}
}

// expectedRowGroups replays the sink's row group cut: a group ends before
// the row that would take its estimate past max.
func expectedRowGroups(docs []sinkDoc, max int64) []int {
	var groups []int
	var size int64
	n := 0
	for _, d := range docs {
		r := shardRow{ID: d.ID, Text: d.Text, URL: d.URL, Source: d.Source, Lang: d.Lang, Metadata: d.Metadata, Input: d.Input}
		if n > 0 && size+r.size() > max {
			groups = append(groups, n)
			size, n = 0, 0
		}
		size += r.size()
		n++
	}
	if n > 0 {
		groups = append(groups, n)
	}
	return groups
}

// checkShardFile checks that the shard's file matches its record and name.
func checkShardFile(t *testing.T, root string, s pipeline.ShardRecord) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(s.Path)))
	if err != nil {
		t.Fatalf("reading shard: %v", err)
	}
	sum := sha256.Sum256(data)
	digest := hex.EncodeToString(sum[:])
	if digest != s.SHA256 {
		t.Errorf("shard %s: sha256 %s, record says %s", s.Path, digest, s.SHA256)
	}
	if want := pipeline.ShardsDir + "/" + digest[:shardNameHexLen] + ".parquet"; s.Path != want {
		t.Errorf("shard path %s, want content address %s", s.Path, want)
	}
	if int64(len(data)) != s.Bytes {
		t.Errorf("shard %s: %d bytes, record says %d", s.Path, len(data), s.Bytes)
	}
}

func TestParquetSinkDeterministic(t *testing.T) {
	docs := awkwardDocs()
	cfg := testOutput(4<<10, 16<<10)
	var first []pipeline.ShardRecord
	for _, batchSize := range []int{1, 4, 13, 1000} {
		sink := writeDocs(t, t.TempDir(), cfg, docs, batchSize)
		if first == nil {
			first = sink.Shards()
			continue
		}
		if got := sink.Shards(); !reflect.DeepEqual(got, first) {
			t.Errorf("batch size %d gave shards\n%v\nbatch size 1 gave\n%v", batchSize, got, first)
		}
	}
}

func TestParquetSinkCommitAndVerify(t *testing.T) {
	root := t.TempDir()
	sink := writeDocs(t, root, testOutput(2<<10, 6<<10), awkwardDocs(), 9)
	store, err := pipeline.NewLocalStore(root)
	if err != nil {
		t.Fatal(err)
	}

	m := &pipeline.Manifest{
		Winnow:    pipeline.BuildInfo{Version: "test"},
		Shards:    sink.Shards(),
		Totals:    sink.Totals(),
		Languages: sink.Languages(),
		Sources:   sink.Sources(),
	}
	id, err := pipeline.Commit(store, m)
	if err != nil {
		t.Fatalf("Commit: %v", err)
	}
	got, err := pipeline.ReadManifest(store, id)
	if err != nil {
		t.Fatalf("ReadManifest: %v", err)
	}
	if err := pipeline.VerifyShards(store, got); err != nil {
		t.Errorf("VerifyShards on fresh shards: %v", err)
	}

	rows := testutil.DuckDBQuery(t, `SELECT count(*) AS n FROM read_parquet(`+shardGlob(root)+`)`)
	if n := rows[0]["n"]; n != float64(got.Totals.Docs) {
		t.Errorf("DuckDB counts %v rows, manifest totals say %d", n, got.Totals.Docs)
	}
}

func TestParquetSinkNoTempFilesLeft(t *testing.T) {
	root := t.TempDir()
	sink := writeDocs(t, root, testOutput(4<<10, 16<<10), awkwardDocs(), 8)
	entries, err := os.ReadDir(filepath.Join(root, pipeline.ShardsDir))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != len(sink.Shards()) {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("shards folder holds %v, want only the %d shards", names, len(sink.Shards()))
	}
}

func TestParquetSinkTotals(t *testing.T) {
	docs := awkwardDocs()
	sink := writeDocs(t, t.TempDir(), testOutput(pipeline.DefaultRowGroupMaxBytes, pipeline.DefaultShardMaxBytes), docs, 10)

	var total pipeline.Totals
	langs := map[string]pipeline.Totals{}
	sources := map[string]pipeline.Totals{}
	for _, d := range keptDocs(docs) {
		add := pipeline.Totals{Docs: 1, Bytes: int64(len(d.Text)), Tokens: int64(wantTokens(d))}
		addTotals(&total, add)
		lang := cmpOr(d.Lang, "und")
		lt := langs[lang]
		addTotals(&lt, add)
		langs[lang] = lt
		source := cmpOr(d.Source, "unknown")
		st := sources[source]
		addTotals(&st, add)
		sources[source] = st
	}
	if got := sink.Totals(); got != total {
		t.Errorf("Totals = %+v, want %+v", got, total)
	}
	if got := sink.Languages(); !reflect.DeepEqual(got, langs) {
		t.Errorf("Languages = %v, want %v", got, langs)
	}
	if got := sink.Sources(); !reflect.DeepEqual(got, sources) {
		t.Errorf("Sources = %v, want %v", got, sources)
	}
	if _, ok := sink.Languages()["und"]; !ok {
		t.Errorf("Languages has no \"und\" entry for empty lang")
	}
}

func cmpOr(s, fallback string) string {
	if s == "" {
		return fallback
	}
	return s
}

func TestParquetSinkEmpty(t *testing.T) {
	root := t.TempDir()
	docs := awkwardDocs()
	for i := range docs {
		docs[i].Dropped = true
	}
	sink := writeDocs(t, root, testOutput(4<<10, 16<<10), docs, 8)
	if n := len(sink.Shards()); n != 0 {
		t.Errorf("all rows dropped but %d shards written", n)
	}
	if got := sink.Totals(); got != (pipeline.Totals{}) {
		t.Errorf("Totals = %+v, want zero", got)
	}
	entries, _ := os.ReadDir(filepath.Join(root, pipeline.ShardsDir))
	if len(entries) != 0 {
		t.Errorf("shards folder holds %d files, want none", len(entries))
	}
}

func TestParquetSinkErrorSticks(t *testing.T) {
	root := t.TempDir()
	sink, err := NewParquetSink(root, testOutput(2<<10, 6<<10), pipeline.Env{})
	if err != nil {
		t.Fatal(err)
	}
	batches := buildBatches(awkwardDocs(), 50)
	ctx := context.Background()
	if err := sink.Write(ctx, batches[0]); err != nil {
		t.Fatal(err)
	}

	// Taking the shard folder away makes the next new shard fail.
	if err := os.RemoveAll(filepath.Join(root, pipeline.ShardsDir)); err != nil {
		t.Fatal(err)
	}
	var first error
	for _, b := range batches[1:] {
		if first = sink.Write(ctx, b); first != nil {
			break
		}
	}
	if first == nil {
		t.Fatal("Write succeeded without a shard folder")
	}
	if err := sink.Write(ctx, batches[1]); err != first {
		t.Errorf("Write after a failure = %v, want the first error %v", err, first)
	}
	if err := sink.Close(ctx); err != first {
		t.Errorf("Close after a failure = %v, want the first error %v", err, first)
	}
}

func TestNewParquetSinkInvalidConfig(t *testing.T) {
	cases := []struct {
		name  string
		cfg   pipeline.OutputConfig
		field string
	}{
		{"zero shard size", pipeline.OutputConfig{RowGroupMaxBytes: 1, ZstdLevel: 3}, "shard_max_bytes"},
		{"zero row group size", pipeline.OutputConfig{ShardMaxBytes: 1, ZstdLevel: 3}, "row_group_max_bytes"},
		{"zstd level 23", pipeline.OutputConfig{ShardMaxBytes: 1, RowGroupMaxBytes: 1, ZstdLevel: 23}, "zstd_level"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewParquetSink(t.TempDir(), tc.cfg, pipeline.Env{})
			if err == nil || !strings.Contains(err.Error(), tc.field) {
				t.Errorf("err = %v, want one naming %s", err, tc.field)
			}
		})
	}
}

// benchDocs returns n documents of about 4 KB of word-like text each.
func benchDocs(n int) []sinkDoc {
	words := strings.Fields("the of and to in a is that for it as was with be by on not he this are or his from at which but have an they you were her she there been one all we their has would when if so no will more can")
	rng := rand.New(rand.NewPCG(1, 2))
	docs := make([]sinkDoc, n)
	var sb strings.Builder
	for i := range docs {
		sb.Reset()
		for sb.Len() < 4000 {
			sb.WriteString(words[rng.IntN(len(words))])
			sb.WriteByte(' ')
		}
		docs[i] = sinkDoc{
			Doc: pipeline.Doc{
				ID: fmt.Sprintf("doc-%08d", i), Text: sb.String(), URL: fmt.Sprintf("https://example.org/page/%d", i),
				Source: "bench", Lang: "en", LangScore: 0.95, Metadata: `{"warc":"x"}`, Input: "bench.jsonl", InputOffset: int64(i),
			},
			Tokens: 900,
		}
	}
	return docs
}

func BenchmarkParquetSink(b *testing.B) {
	docs := benchDocs(4096)
	batches := buildBatches(docs, pipeline.DefaultBatchSize)
	var textBytes int64
	for _, d := range docs {
		textBytes += int64(len(d.Text))
	}
	cfg := testOutput(pipeline.DefaultRowGroupMaxBytes, pipeline.DefaultShardMaxBytes)
	ctx := context.Background()

	b.SetBytes(textBytes)
	b.ReportAllocs()
	for b.Loop() {
		sink, err := NewParquetSink(b.TempDir(), cfg, pipeline.Env{})
		if err != nil {
			b.Fatal(err)
		}
		for _, batch := range batches {
			if err := sink.Write(ctx, batch); err != nil {
				b.Fatal(err)
			}
		}
		if err := sink.Close(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

func TestCountWhitespaceTokens(t *testing.T) {
	for _, tc := range []struct {
		text string
		want int
	}{
		{"", 0},
		{"   \n\t ", 0},
		{"one", 1},
		{"  two words  ", 2},
		{"tab\tnew\nline\r\nend", 4},
		{"no\u00a0break\u2003em space", 4},
		{"日本語のテキスト", 1},
		{"emoji 🙂 counts", 3},
	} {
		if got := CountWhitespaceTokens(tc.text); got != tc.want {
			t.Errorf("CountWhitespaceTokens(%q) = %d, want %d", tc.text, got, tc.want)
		}
	}
}

// wantTokens is the token_count the sink writes for d: its own count, or
// the whitespace tokens of its text when no stage counted them.
func wantTokens(d sinkDoc) int32 {
	if d.Tokens != 0 {
		return d.Tokens
	}
	return int32(CountWhitespaceTokens(d.Text))
}
