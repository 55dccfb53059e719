package cli

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/winnow-data/winnow/internal/testutil"
)

// backpressureRSSBound is the resident memory a Kafka worker stays under
// while its sink is slowed to 1 MB/s and the topic holds far more than
// that: the fetch buffer (1 MiB here), the batches between stages and the
// open row group, over a process whose baseline is about 100 MB (mostly
// the HTML extractor's tables, loaded at start).
const backpressureRSSBound = 300 << 20

// rssBytes returns the resident set size of process pid.
func rssBytes(pid int) (int64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("no VmRSS in /proc/%d/status", pid)
}

var metricLine = regexp.MustCompile(`^winnow_stage_bytes_out_total\{stage="source"\} (\S+)$`)

// sourceBytes scrapes the bytes the source has passed on.
func sourceBytes(t *testing.T, url string) float64 {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if m := metricLine.FindStringSubmatch(sc.Text()); m != nil {
			v, _ := strconv.ParseFloat(m[1], 64)
			return v
		}
	}
	return 0
}

// TestKafkaBackpressureBoundsMemory fills a topic with about 60 MB of
// documents and runs a worker whose sink writes 1 MB/s. The source must
// stop fetching when the pipeline is full, so it reads little more than
// the sink writes, and the worker's resident memory stays under
// backpressureRSSBound. SIGTERM then ends it with a last version.
func TestKafkaBackpressureBoundsMemory(t *testing.T) {
	bin := winnowBinary(t)
	addr := testutil.StartBroker(t, "", "firehose", 2)
	lines, _ := kafkaDocs(t, 15000)
	testutil.KcatProduce(t, addr, "firehose", lines)
	var total int
	for _, l := range lines {
		total += len(l)
	}

	root := t.TempDir()
	cfg := writeFile(t, "slow.yaml", fmt.Sprintf(`input:
  format: kafka
  batch_size: 64
  kafka: {brokers: [%q], topic: firehose, group: slow, fetch_max_bytes: 1048576}
stages: [normalize]
workers: 2
output:
  max_bytes_per_second: 1048576
  commit_every: {seconds: 2}
`, addr))
	cmd := exec.Command(bin, "run", "--progress", "never", "--log-level", "info", "--metrics-addr", "127.0.0.1:0", "-c", cfg, "-o", root)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	cmd.Stdout = &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	metrics := make(chan string, 1)
	var logs bytes.Buffer
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			logs.WriteString(line + "\n")
			if i := strings.Index(line, "addr=http://"); i >= 0 && strings.Contains(line, "serving metrics") {
				metrics <- strings.Fields(line[i+len("addr="):])[0]
			}
		}
		io.Copy(io.Discard, stderr)
	}()
	var url string
	select {
	case url = <-metrics:
	case <-time.After(time.Minute):
		t.Fatal("the worker did not start its metrics server")
	}

	const watch = 15 * time.Second
	start := time.Now()
	var peak int64
	for time.Since(start) < watch {
		rss, err := rssBytes(cmd.Process.Pid)
		if err != nil {
			t.Fatalf("reading the worker's memory: %v\n%s", err, logs.String())
		}
		peak = max(peak, rss)
		time.Sleep(100 * time.Millisecond)
	}
	read := sourceBytes(t, url)
	elapsed := time.Since(start).Seconds()
	t.Logf("after %.0f s at 1 MB/s: the source passed on %.1f MB of the topic's %.1f MB; peak RSS %.0f MB (bound %d MB)",
		elapsed, read/1e6, float64(total)/1e6, float64(peak)/(1<<20), backpressureRSSBound>>20)
	if peak > backpressureRSSBound {
		t.Errorf("peak RSS %d MB, over the bound of %d MB", peak>>20, backpressureRSSBound>>20)
	}
	// The sink took about 1 MB a second since the start. The source may be
	// ahead of it by what the channels between stages and the fetch buffer
	// contain, a few MB, but not by the rest of the topic.
	if limit := 1.05e6*(elapsed+5) + 8e6; read > limit {
		t.Errorf("the source passed on %.1f MB in %.0f s while the sink took 1 MB/s: it did not stop fetching", read/1e6, elapsed)
	}
	if read < 5e6 {
		t.Errorf("the source passed on only %.1f MB in %.0f s", read/1e6, elapsed)
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("the worker failed after SIGTERM: %v\n%s", err, logs.String())
		}
	case <-time.After(2 * time.Minute):
		t.Fatalf("the worker did not stop within 2 minutes of SIGTERM\n%s", logs.String())
	}
	m := latestManifest(t, root)
	if m.Totals.Docs == 0 || m.Totals.Docs >= int64(len(lines)) {
		t.Errorf("the last version holds %d documents; want some, and fewer than the %d the topic holds", m.Totals.Docs, len(lines))
	}
}
