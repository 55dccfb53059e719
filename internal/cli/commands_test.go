package cli

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/winnow-data/winnow/pipeline"
)

func TestVersionsAndShow(t *testing.T) {
	root := t.TempDir()
	first := mustRun(t, "-o", root, "--only", "normalize,exact_dedup", "--tag", "web-en-0.1", samplePath)
	second := mustRun(t, "-o", root, "--only", "normalize,gopher_quality", "-m", "stricter", samplePath)

	code, out, stderr := runCLI(t, "versions", root)
	if code != 0 {
		t.Fatalf("versions: exit %d: %s", code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[1], second.Version+" (latest)") || !strings.HasPrefix(lines[2], first.Version) {
		t.Errorf("versions output, want the second version first and marked latest:\n%s", out)
	}

	code, out, stderr = runCLI(t, "show", root)
	if code != 0 {
		t.Fatalf("show: exit %d: %s", code, stderr)
	}
	for _, want := range []string{"version     " + second.Version, "parent      " + first.Version, "message     stricter", "gopher_quality", "shards:", "languages:"} {
		if !strings.Contains(out, want) {
			t.Errorf("show output lacks %q:\n%s", want, out)
		}
	}

	code, out, stderr = runCLI(t, "show", "--json", "--verify", root, first.Version)
	if code != 0 {
		t.Fatalf("show --json --verify: exit %d: %s", code, stderr)
	}
	var m pipeline.Manifest
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		t.Fatalf("show --json printed invalid JSON: %v", err)
	}
	if m.ID != first.Version || m.Tag != "web-en-0.1" || m.Totals.Docs != first.DocsKept || m.ConfigHash == "" {
		t.Errorf("show --json: id %s tag %s docs %d config hash %q", m.ID, m.Tag, m.Totals.Docs, m.ConfigHash)
	}

	code, _, stderr = runCLI(t, "show", root, "0123456789abcdef")
	if code == 0 || !strings.Contains(stderr, "0123456789abcdef") {
		t.Errorf("show of an unknown version: exit %d, stderr %q", code, stderr)
	}
	code, _, stderr = runCLI(t, "versions", t.TempDir())
	if code != 0 {
		t.Errorf("versions of an empty root: exit %d, stderr %q", code, stderr)
	}
}

func TestStagesListsEveryStage(t *testing.T) {
	code, out, _ := runCLI(t, "stages")
	if code != 0 {
		t.Fatalf("stages: exit %d", code)
	}
	for _, name := range []string{"normalize", "exact_dedup", "langid", "gopher_quality", "pii"} {
		if !strings.Contains(out, "\n"+name+" (") {
			t.Errorf("stages output lacks stage %s", name)
		}
	}
	if !strings.Contains(out, "default chain: normalize -> langid -> gopher_quality -> pii -> exact_dedup") {
		t.Errorf("stages output lacks the default chain:\n%s", out)
	}
	for _, s := range pipeline.Specs() {
		for _, o := range s.Options {
			if o.Doc == "" {
				t.Errorf("option %s of stage %s has no doc", o.Name, s.Name)
			}
		}
	}
}

func TestMetricsEndpoint(t *testing.T) {
	ms := (&pipeline.Pipeline{Stages: []pipeline.StageInstance{{Name: "normalize", Workers: 2}}}).Metrics()
	ms.Stages[1].DocsIn.Add(42)
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	addr, shutdown, err := serveMetrics("127.0.0.1:0", ms, logger)
	if err != nil {
		t.Fatal(err)
	}
	defer shutdown()
	client := &http.Client{Timeout: 5 * time.Second}
	resp, err := client.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, want := range []string{
		`winnow_stage_docs_in_total{stage="normalize"} 42`,
		`winnow_stage_workers{stage="normalize"} 2`,
		`winnow_stage_busy_seconds_total{stage="sink"} 0`,
		"winnow_stage_wait_input_seconds_total",
		"winnow_stage_blocked_output_seconds_total",
		"go_goroutines",
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %q", want)
		}
	}

	if _, _, err := serveMetrics(addr, ms, logger); err == nil || !strings.Contains(err.Error(), "--metrics-addr") {
		t.Errorf("a second server on the same port: error %v, want a --metrics-addr error", err)
	}
}

func TestProgressOnlyOnTerminal(t *testing.T) {
	var buf strings.Builder
	if showProgress("auto", &buf) {
		t.Error("progress shown when stdout is not a terminal")
	}
	if !showProgress("always", &buf) || showProgress("never", &buf) {
		t.Error("--progress always/never not honoured")
	}
	ms := (&pipeline.Pipeline{Stages: []pipeline.StageInstance{{Name: "langid", Workers: 2}}}).Metrics()
	ms.Start = time.Now().Add(-2 * time.Second)
	ms.Stages[0].DocsOut.Add(1000)
	ms.Stages[0].BytesOut.Add(4_000_000)
	line := progressLine(ms)
	for _, want := range []string{"1000 docs read", "docs/s", "MB/s"} {
		if !strings.Contains(line, want) {
			t.Errorf("progress line %q lacks %q", line, want)
		}
	}
}

func TestRunPrintsSummaryTable(t *testing.T) {
	code, out, stderr := runCLI(t, "run", "--progress", "never", "-o", t.TempDir(), "--only", "normalize,exact_dedup", samplePath)
	if code != 0 {
		t.Fatalf("run: exit %d: %s", code, stderr)
	}
	for _, want := range []string{"version ", "exact_dedup", "exact_duplicate", "top languages", "MB/s"} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(stderr, "Record") || strings.Contains(stderr, "text=") {
		t.Errorf("logs may contain document text:\n%s", stderr)
	}
}
