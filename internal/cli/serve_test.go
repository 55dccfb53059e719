package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"

	"github.com/winnow-data/winnow/internal/testutil"
	"github.com/winnow-data/winnow/loader"
)

// loaderRoot is the bundled sample curated with no stage into shards of
// about 300 KB, shared by the loader tests.
var loaderRoot struct {
	once sync.Once
	root string
	err  error
}

// loaderDataset returns the shared dataset's root. Tests that change it
// must copy it first, with copyDataset.
func loaderDataset(t *testing.T) string {
	t.Helper()
	loaderRoot.once.Do(func() {
		dir, err := makeSharedTemp()
		if err != nil {
			loaderRoot.err = err
			return
		}
		cfg := filepath.Join(dir, "loader.yaml")
		if err := os.WriteFile(cfg, []byte("stages: []\noutput:\n  shard_max_bytes: 300000\n  row_group_max_bytes: 200000\n"), 0o644); err != nil {
			loaderRoot.err = err
			return
		}
		root := filepath.Join(dir, "root")
		var stdout, stderr bytes.Buffer
		if code := Main([]string{"run", "--progress", "never", "--log-level", "warn", "-c", cfg, "-o", root, samplePath}, &stdout, &stderr); code != 0 {
			loaderRoot.err = fmt.Errorf("winnow run on the sample: exit %d: %s", code, stderr.String())
			return
		}
		loaderRoot.root = root
	})
	if loaderRoot.err != nil {
		t.Fatal(loaderRoot.err)
	}
	return loaderRoot.root
}

// copyDataset copies the shared dataset into a folder of the test.
func copyDataset(t *testing.T) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "root")
	if err := os.CopyFS(dst, os.DirFS(loaderDataset(t))); err != nil {
		t.Fatal(err)
	}
	return dst
}

// startServer serves root on a loopback port until the test ends and
// returns its base URL.
func startServer(t *testing.T, root, token string) string {
	t.Helper()
	dir, err := loader.OpenLocalDir(root)
	if err != nil {
		t.Fatal(err)
	}
	m, err := loader.ReadVersion(t.Context(), dir, "latest")
	if err != nil {
		t.Fatal(err)
	}
	cfg := &serveConfig{root: root, version: m.ID, addr: "127.0.0.1:0", token: token, memory: 64 << 20, prefetch: 2, logger: slog.New(slog.DiscardHandler)}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- serve(ctx, cfg, func(addr string) { ready <- addr }) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	select {
	case addr := <-ready:
		return "http://" + addr
	case err := <-done:
		t.Fatalf("serve: %v", err)
	}
	return ""
}

// streamedBatch is one record batch as a Go Arrow reader decodes it.
type streamedBatch struct {
	docs  []loader.Doc
	state string
	epoch string
}

// readStream reads an Arrow stream from url with arrow-go's reader.
func readStream(t *testing.T, url string) ([]streamedBatch, error) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(resp.Body)
		return nil, fmt.Errorf("HTTP %d: %s", resp.StatusCode, body)
	}
	if ct := resp.Header.Get("Content-Type"); ct != arrowStreamType {
		t.Errorf("Content-Type is %q, want %q", ct, arrowStreamType)
	}

	r, err := ipc.NewReader(resp.Body)
	if err != nil {
		return nil, err
	}
	defer r.Release()

	var out []streamedBatch
	for r.Next() {
		rec := r.RecordBatch()
		var b streamedBatch
		if rm, ok := rec.(arrow.RecordBatchWithMetadata); ok {
			md := rm.Metadata()
			b.state, _ = md.GetValue(arrowStateKey)
			b.epoch, _ = md.GetValue(arrowEpochKey)
		}
		col := func(name string) arrow.Array { return rec.Column(rec.Schema().FieldIndices(name)[0]) }
		ids, texts := col("id").(*array.String), col("text").(*array.String)
		positions := col("position").(*array.Int64)
		for i := range int(rec.NumRows()) {
			b.docs = append(b.docs, loader.Doc{ID: ids.Value(i), Text: texts.Value(i), Position: positions.Value(i)})
		}
		out = append(out, b)
	}
	return out, r.Err()
}

// loaderBatches returns what the loader package yields for opts.
func loaderBatches(t *testing.T, root string, opts loader.Options) []*loader.Batch {
	t.Helper()
	store, err := loader.OpenLocalDir(root)
	if err != nil {
		t.Fatal(err)
	}
	l, err := loader.Open(t.Context(), store, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var out []*loader.Batch
	for {
		b, err := l.Next(t.Context())
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
}

// checkSameBatches compares a stream with the loader's batches: count,
// documents, positions and state tokens.
func checkSameBatches(t *testing.T, got []streamedBatch, want []*loader.Batch) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("stream has %d batches, the loader %d", len(got), len(want))
	}
	for i := range want {
		if got[i].state != want[i].State.String() {
			t.Errorf("batch %d state %s, want %s", i, got[i].state, want[i].State)
		}
		if got[i].epoch != fmt.Sprint(want[i].Epoch) {
			t.Errorf("batch %d epoch %s, want %d", i, got[i].epoch, want[i].Epoch)
		}
		if len(got[i].docs) != len(want[i].Docs) {
			t.Fatalf("batch %d has %d documents, want %d", i, len(got[i].docs), len(want[i].Docs))
		}
		for k, d := range want[i].Docs {
			g := got[i].docs[k]
			if g.ID != d.ID || g.Text != d.Text || g.Position != d.Position {
				t.Fatalf("batch %d document %d is %s at %d, want %s at %d (or the texts differ)", i, k, g.ID, g.Position, d.ID, d.Position)
			}
		}
	}
}

func TestServeStreamMatchesLoader(t *testing.T) {
	root := loaderDataset(t)
	base := startServer(t, root, "")
	got, err := readStream(t, base+"/v1/stream?shuffle=true&seed=7&window=200&batch_size=40&rank=1&world_size=2&epochs=2")
	if err != nil {
		t.Fatal(err)
	}
	want := loaderBatches(t, root, loader.Options{Shuffle: true, Seed: 7, Window: 200, BatchSize: 40, Rank: 1, WorldSize: 2, Epochs: 2})
	checkSameBatches(t, got, want)
}

func TestServeResumesFromBatchState(t *testing.T) {
	root := loaderDataset(t)
	base := startServer(t, root, "")
	query := "/v1/stream?shuffle=true&seed=3&batch_size=25"
	all, err := readStream(t, base+query)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) < 6 {
		t.Fatalf("stream has %d batches, want 6 or more", len(all))
	}
	rest, err := readStream(t, base+query+"&resume="+url.QueryEscape(all[2].state))
	if err != nil {
		t.Fatal(err)
	}
	if len(rest) != len(all)-3 || rest[0].docs[0].ID != all[3].docs[0].ID {
		t.Errorf("stream resumed after batch 3 has %d batches starting at %s, want %d starting at %s",
			len(rest), rest[0].docs[0].ID, len(all)-3, all[3].docs[0].ID)
	}

	// The token alone fixes the order: seed and shuffle come from it.
	tokenOnly, err := readStream(t, base+"/v1/stream?batch_size=25&resume="+url.QueryEscape(all[4].state))
	if err != nil {
		t.Fatal(err)
	}
	if len(tokenOnly) != len(all)-5 || tokenOnly[0].docs[0].ID != all[5].docs[0].ID {
		t.Errorf("stream resumed from the token alone starts at %s, want %s", tokenOnly[0].docs[0].ID, all[5].docs[0].ID)
	}
}

func TestServeStreamReadByApacheArrowJS(t *testing.T) {
	root := loaderDataset(t)
	base := startServer(t, root, "")
	want := loaderBatches(t, root, loader.Options{Shuffle: true, Seed: 5, BatchSize: 64, Epochs: 1, Tokenize: "cl100k_base"})
	var wantDocs int
	for _, b := range want {
		wantDocs += len(b.Docs)
	}

	out := runArrowJS(t, base+"/v1/stream?shuffle=true&seed=5&batch_size=64&tokenize=cl100k_base")
	if !slices.Equal(out.Fields, []string{"id", "text", "url", "source", "lang", "token_count", "position", "tokens"}) {
		t.Errorf("fields = %v", out.Fields)
	}
	if len(out.Batches) != len(want) || len(out.Docs) != wantDocs {
		t.Fatalf("apache-arrow read %d batches and %d documents, want %d and %d", len(out.Batches), len(out.Docs), len(want), wantDocs)
	}
	k := 0
	for i, b := range want {
		if out.Batches[i].Rows != len(b.Docs) || out.Batches[i].Metadata[arrowStateKey] != b.State.String() {
			t.Errorf("batch %d: %d rows and state %q, want %d and %s", i, out.Batches[i].Rows, out.Batches[i].Metadata[arrowStateKey], len(b.Docs), b.State)
		}
		for j, d := range b.Docs {
			g := out.Docs[k]
			k++
			// apache-arrow decodes strings with TextDecoder("utf-8"),
			// which drops a leading U+FEFF byte order mark; one text of
			// the sample starts with it.
			wantText := strings.TrimPrefix(d.Text, "\ufeff")
			if g.ID != d.ID || g.Text != wantText || g.URL != d.URL || g.Position != d.Position || g.TokenCount != d.TokenCount {
				t.Fatalf("document %d read by apache-arrow: id %s at %d, url %q, tokens %d, text %d bytes; want id %s at %d, url %q, tokens %d, text %d bytes", k-1, g.ID, g.Position, g.URL, g.TokenCount, len(g.Text), d.ID, d.Position, d.URL, d.TokenCount, len(wantText))
			}
			if !slices.Equal(g.Tokens, b.Tokens[j]) {
				t.Fatalf("tokens of document %s read by apache-arrow differ", d.ID)
			}
		}
	}
}

// arrowJSOutput is what tools/arrowjs/read.mjs prints.
type arrowJSOutput struct {
	Fields   []string          `json:"fields"`
	Metadata map[string]string `json:"metadata"`
	Batches  []struct {
		Rows     int               `json:"rows"`
		Metadata map[string]string `json:"metadata"`
	} `json:"batches"`
	Docs []struct {
		ID         string   `json:"id"`
		Text       string   `json:"text"`
		URL        string   `json:"url"`
		TokenCount int32    `json:"token_count"`
		Position   int64    `json:"position"`
		Tokens     []uint32 `json:"tokens"`
	} `json:"docs"`
}

// runArrowJS reads the stream at url with the npm apache-arrow package.
// It fails, and never skips, when node or the harness is missing: `make
// test-deps` installs them.
func runArrowJS(t *testing.T, url string) arrowJSOutput {
	t.Helper()
	repo, err := testutil.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(repo, "tools", "arrowjs")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "apache-arrow")); err != nil {
		t.Fatalf("apache-arrow harness: %s/node_modules/apache-arrow is missing; run `make test-deps` (it runs `npm ci` in tools/arrowjs)", dir)
	}
	cmd := exec.CommandContext(t.Context(), "node", filepath.Join(dir, "read.mjs"), url)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("apache-arrow harness: %v: %s", err, stderr.String())
	}
	var out arrowJSOutput
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		t.Fatalf("decoding the harness output: %v", err)
	}
	return out
}

func TestServeManifest(t *testing.T) {
	root := loaderDataset(t)
	base := startServer(t, root, "")
	resp, err := http.Get(base + "/v1/manifest")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m struct {
		ID     string `json:"id"`
		Shards []any  `json:"shards"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || m.ID != latestManifest(t, root).ID || len(m.Shards) < 2 {
		t.Errorf("manifest: HTTP %d, id %s, %d shards", resp.StatusCode, m.ID, len(m.Shards))
	}

	for query, status := range map[string]int{"?version=0123456789abcdef": 404, "?version=nope": 404, "?version=no/such": 400, "?rank=1": 400} {
		resp, err := http.Get(base + "/v1/manifest" + query)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != status {
			t.Errorf("manifest%s: HTTP %d, want %d", query, resp.StatusCode, status)
		}
	}
}

func TestServeRejectsBadParameters(t *testing.T) {
	root := loaderDataset(t)
	base := startServer(t, root, "")
	token := loader.State{Format: loader.StateFormat, Version: latestManifest(t, root).ID, Seed: 1, Epoch: 0, Position: 10}.String()
	cases := map[string]string{
		"world=4":                        "unknown parameter",
		"rank=2&world_size=2":            "Rank",
		"batch_size=ten":                 "batch_size",
		"resume={":                       "resume",
		"seed=2&resume=" + token:         "seed",
		"weights=eng_Latn":               "weights",
		"weights=xxx_Latn:1":             "xxx_Latn",
		"tokenize=gpt2":                  "encoding",
		"epoch=1&resume=" + token:        "epoch",
		"rank=1&rank=2":                  "2 times",
		"shuffle=maybe":                  "shuffle",
		"run_id=../escape":               "RunID",
		"drop_last=true&batch_size=5000": "no batch",
	}
	for query, want := range cases {
		resp, err := http.Get(base + "/v1/stream?" + strings.ReplaceAll(query, "{", "%7B"))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if query == "drop_last=true&batch_size=5000" {
			// An epoch too short for one full batch ends at once.
			if resp.StatusCode != http.StatusOK {
				t.Errorf("%s: HTTP %d: %s", query, resp.StatusCode, body)
			}
			continue
		}
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), want) {
			t.Errorf("%s: HTTP %d %s, want 400 naming %q", query, resp.StatusCode, body, want)
		}
	}
}

func TestServeRequiresBearerToken(t *testing.T) {
	root := loaderDataset(t)
	base := startServer(t, root, "s3cret")
	for header, status := range map[string]int{"": 401, "Bearer wrong": 401, "Bearer s3cret": 200} {
		req, _ := http.NewRequest("GET", base+"/v1/manifest", nil)
		if header != "" {
			req.Header.Set("Authorization", header)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != status {
			t.Errorf("Authorization %q: HTTP %d, want %d", header, resp.StatusCode, status)
		}
	}
}

func TestServeRefusesOpenAddressWithoutToken(t *testing.T) {
	root := loaderDataset(t)
	t.Setenv("WINNOW_SERVE_TOKEN", "")
	code, _, stderr := runCLI(t, "serve", root, "--addr", "0.0.0.0:0")
	if code != exitUsage || !strings.Contains(stderr, "bearer token") {
		t.Errorf("serve on 0.0.0.0 without a token: exit %d, %s", code, stderr)
	}
	empty := writeFile(t, "token", "\n")
	if code, _, stderr := runCLI(t, "serve", root, "--token-file", empty); code != exitUsage || !strings.Contains(stderr, "first line") {
		t.Errorf("serve with an empty token file: exit %d, %s", code, stderr)
	}
}

func TestServeCutsStreamAtCorruptShard(t *testing.T) {
	root := copyDataset(t)
	m := latestManifest(t, root)
	path := filepath.Join(root, filepath.FromSlash(m.Shards[len(m.Shards)-1].Path))
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)/3] ^= 0x10
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	base := startServer(t, root, "")
	batches, err := readStream(t, base+"/v1/stream?batch_size=20")
	if err == nil {
		t.Fatalf("stream over a corrupt shard ended cleanly after %d batches", len(batches))
	}
	if len(batches) == 0 {
		t.Errorf("no batch arrived before the corrupt shard")
	}
}
