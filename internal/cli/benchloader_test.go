package cli

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestBenchLoaderJSON(t *testing.T) {
	root := loaderDataset(t)
	code, stdout, stderr := runCLI(t, "bench-loader", root, "--latency", "5ms", "--step", "2ms", "--batch-bytes", "200000", "--epochs", "3", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatalf("decoding %s: %v", stdout, err)
	}
	for _, key := range []string{"wait_fraction", "p50_wait_ms", "p99_wait_ms", "max_wait_ms", "boundary_wait_ms"} {
		v, ok := got[key].(float64)
		if !ok || v < 0 {
			t.Errorf("%s = %v, want a number of 0 or more", key, got[key])
		}
	}
	if f := got["wait_fraction"].(float64); f > 1 {
		t.Errorf("wait_fraction = %v, more than the whole run", f)
	}
	if got["p50_wait_ms"].(float64) > got["p99_wait_ms"].(float64) || got["p99_wait_ms"].(float64) > got["max_wait_ms"].(float64) {
		t.Errorf("percentiles out of order: %v", got)
	}

	var res benchResult
	json.Unmarshal([]byte(stdout), &res)
	m := latestManifest(t, root)
	// The sample has about 4.6 KB of text per document.
	if want := int(float64(200000) / (float64(m.Totals.Bytes) / float64(m.Totals.Docs))); res.BatchDocs < want-1 || res.BatchDocs > want+1 {
		t.Errorf("batch of %d documents, want about %d for 200 KB", res.BatchDocs, want)
	}
	steps := 3*int((m.Totals.Docs+int64(res.BatchDocs)-1)/int64(res.BatchDocs)) - 1
	if res.Steps != steps {
		t.Errorf("%d steps after the first batch, want %d for 3 epochs", res.Steps, steps)
	}
	if res.Requests < int64(len(m.Shards)) || res.ShardFetches < int64(len(m.Shards)) {
		t.Errorf("%d requests and %d shard fetches, want at least one per shard (%d)", res.Requests, res.ShardFetches, len(m.Shards))
	}
}

func TestBenchLoaderPrintsSummary(t *testing.T) {
	root := loaderDataset(t)
	code, stdout, stderr := runCLI(t, "bench-loader", root, "--latency", "1ms", "--step", "0s", "--batch-size", "100", "--epochs", "1", "--shuffle=false")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"batches of 100 documents", "wait per step: p50", "epoch boundary", "storage requests"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, stdout)
		}
	}
}

func TestBenchLoaderRejectsBadFlags(t *testing.T) {
	root := loaderDataset(t)
	for _, args := range [][]string{{"--epochs", "0"}, {"--batch-bytes", "0"}, {"--step", "-1s"}} {
		code, _, stderr := runCLI(t, append([]string{"bench-loader", root}, args...)...)
		if code != exitUsage {
			t.Errorf("%v: exit %d, want %d: %s", args, code, exitUsage, stderr)
		}
	}
}
