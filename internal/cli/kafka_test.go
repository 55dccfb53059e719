package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/winnow-data/winnow/internal/testutil"
	"github.com/winnow-data/winnow/pipeline"
)

// kafkaDocs returns n JSON documents with ids doc-000000... made from the
// sample's texts, each with a line of its own so none is a duplicate.
func kafkaDocs(t testing.TB, n int) ([]string, []string) {
	t.Helper()
	sample := readSample(t)
	lines := make([]string, n)
	ids := make([]string, n)
	for i := range n {
		ids[i] = fmt.Sprintf("doc-%06d", i)
		text := fmt.Sprintf("%s\nThis is message %d of the stream.", sample[i%len(sample)].Text, i)
		line, _ := json.Marshal(map[string]string{"id": ids[i], "text": text, "url": fmt.Sprintf("https://site%d.example/%d", i%13, i)})
		lines[i] = string(line)
	}
	return lines, ids
}

// kafkaConfig writes a run config that reads topic from the broker at
// addr in group and stops after idle without a record.
func kafkaConfig(t *testing.T, addr, topic, group, idle, extra string) string {
	t.Helper()
	return writeFile(t, "kafka-"+group+".yaml", fmt.Sprintf(`input:
  format: kafka
  batch_size: 64
  kafka: {brokers: [%q], topic: %s, group: %s, stop_when_idle: %s%s}
stages: [normalize]
output:
  shard_max_bytes: 262144
  commit_every: {docs: 400}
`, addr, topic, group, idle, extra))
}

// versionChain returns the versions from the first to latest, following
// parents, and fails unless every one is a child of the one before.
func versionChain(t *testing.T, root string) []*pipeline.Manifest {
	t.Helper()
	store, err := pipeline.OpenLocalStore(root)
	if err != nil {
		t.Fatal(err)
	}
	id, err := pipeline.LatestVersion(store)
	if err != nil {
		t.Fatal(err)
	}
	var chain []*pipeline.Manifest
	for id != "" {
		m, err := pipeline.ReadManifest(store, id)
		if err != nil {
			t.Fatal(err)
		}
		chain = append(chain, m)
		id = m.Parent
	}
	slices.Reverse(chain)
	return chain
}

// checkExactlyOnce fails unless the latest version of root holds every id
// of want once and nothing else.
func checkExactlyOnce(t *testing.T, root string, want []string) *pipeline.Manifest {
	t.Helper()
	m := latestManifest(t, root)
	got := map[string]int{}
	for _, d := range keptDocs(t, root, m) {
		got[d.ID]++
	}
	twice, missing := 0, 0
	for id, n := range got {
		if n > 1 {
			twice++
			if twice <= 5 {
				t.Errorf("document %s is in the dataset %d times", id, n)
			}
		}
	}
	for _, id := range want {
		if got[id] == 0 {
			missing++
			if missing <= 5 {
				t.Errorf("document %s is missing", id)
			}
		}
	}
	if len(got) != len(want) || twice > 0 || missing > 0 {
		t.Fatalf("the dataset holds %d distinct ids, %d of them more than once, %d of %d produced missing", len(got), twice, missing, len(want))
	}
	if m.Totals.Docs != int64(len(want)) {
		t.Errorf("the manifest counts %d documents, want %d", m.Totals.Docs, len(want))
	}
	return m
}

// committedOffsets returns the offsets group committed for topic.
func committedOffsets(t *testing.T, addr, group, topic string) map[int32]int64 {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	resp, err := kadm.NewClient(cl).FetchOffsets(context.Background(), group)
	if err != nil {
		t.Fatal(err)
	}
	out := map[int32]int64{}
	resp.Each(func(o kadm.OffsetResponse) {
		if o.Topic == topic && o.Err == nil {
			out[o.Partition] = o.At
		}
	})
	return out
}

// TestKafkaRunCommitsVersionsBeforeOffsets reads a topic that kcat filled
// and checks the commit protocol. Every version is a child of the one
// before, and every produced document is in the last version once. No
// offset reaches the consumer group before a committed version holds it.
func TestKafkaRunCommitsVersionsBeforeOffsets(t *testing.T) {
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(4, "web"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cluster.Close)
	addr := cluster.ListenAddrs()[0]
	root := t.TempDir()

	// Each offset commit is checked against the root at the moment the
	// broker receives it.
	var mu sync.Mutex
	var commits int
	var violations []string
	cluster.ControlKey(int16(kmsg.OffsetCommit), func(req kmsg.Request) (kmsg.Response, error, bool) {
		cluster.KeepControl()
		r := req.(*kmsg.OffsetCommitRequest)
		store, err := pipeline.OpenLocalStore(root)
		var rec *pipeline.KafkaRecord
		if err == nil {
			if id, err := pipeline.LatestVersion(store); err == nil {
				if m, err := pipeline.ReadManifest(store, id); err == nil {
					rec = m.KafkaOf("web")
				}
			}
		}
		mu.Lock()
		defer mu.Unlock()
		for _, topic := range r.Topics {
			for _, p := range topic.Partitions {
				commits++
				var next int64 = -1
				if rec != nil {
					if n, ok := rec.NextOffset(p.Partition); ok {
						next = n
					}
				}
				if p.Offset > next {
					violations = append(violations, fmt.Sprintf("partition %d: offset %d committed while the latest version records %d", p.Partition, p.Offset, next))
				}
			}
		}
		return nil, nil, false
	})

	lines, ids := kafkaDocs(t, 2000)
	testutil.KcatProduce(t, addr, "web", lines)

	cfg := kafkaConfig(t, addr, "web", "curation", "3s", "")
	code, stdout, stderr := runCLI(t, "run", "--progress", "never", "-c", cfg, "-o", root)
	if code != 0 {
		t.Fatalf("winnow run: exit %d\n%s\n%s", code, stdout, stderr)
	}
	m := checkExactlyOnce(t, root, ids)

	chain := versionChain(t, root)
	if len(chain) < 4 {
		t.Errorf("the run committed %d versions, want one per 400 documents or more", len(chain))
	}
	var docs int64
	prev := map[int32]int64{}
	for i, v := range chain {
		rec := v.KafkaOf("web")
		if rec == nil {
			t.Fatalf("version %d (%s) has no Kafka record", i, v.ID)
		}
		offs, _ := rec.Offsets()
		for p, off := range offs {
			if off < prev[p] {
				t.Errorf("version %s moves partition %d back from %d to %d", v.ID, p, prev[p], off)
			}
			prev[p] = off
		}
		if v.Totals.Docs < docs {
			t.Errorf("version %s holds %d documents, fewer than its parent's %d", v.ID, v.Totals.Docs, docs)
		}
		docs = v.Totals.Docs
	}

	// The group's offsets are the last version's, and the end of each
	// partition.
	final, _ := m.KafkaOf("web").Offsets()
	var total int64
	for _, off := range final {
		total += off
	}
	if total != int64(len(ids)) {
		t.Errorf("the last version's offsets sum to %d, want the %d records produced", total, len(ids))
	}
	if got := committedOffsets(t, addr, "curation", "web"); !mapsEqual(got, final) {
		t.Errorf("group offsets %v, last version's %v", got, final)
	}
	mu.Lock()
	defer mu.Unlock()
	if commits == 0 {
		t.Fatal("no offset commit reached the broker")
	}
	for _, v := range violations {
		t.Error(v)
	}
	t.Logf("%d versions, %d partition offsets committed", len(chain), commits)
}

func mapsEqual(a, b map[int32]int64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// TestKafkaTwoReadersOfOneRecordKeepItOnce makes two runs read every
// record of a topic into one root, as the old and the new owner of a
// partition can around a rebalance: two groups, so both get every
// partition. Whichever commits a record second deletes its copy, so the
// root holds each document once.
func TestKafkaRecordReadTwiceKeptOnce(t *testing.T) {
	addr := testutil.StartBroker(t, "", "web", 3)
	root := t.TempDir()
	lines, ids := kafkaDocs(t, 1500)

	var wg sync.WaitGroup
	results := make([]string, 2)
	for i, group := range []string{"reader-a", "reader-b"} {
		cfg := kafkaConfig(t, addr, "web", group, "4s", "")
		wg.Add(1)
		go func() {
			defer wg.Done()
			code, stdout, stderr := runCLI(t, "run", "--progress", "never", "-c", cfg, "-o", root)
			results[i] = strconv.Itoa(code) + "\n" + stdout + stderr
		}()
	}
	// Both readers are in their groups before the first record exists, so
	// both start at offset 0 of every partition.
	waitForGroups(t, addr, "reader-a", "reader-b")
	testutil.KcatProduce(t, addr, "web", lines)
	wg.Wait()
	for _, r := range results {
		if !strings.HasPrefix(r, "0\n") {
			t.Fatalf("a reader failed:\n%s", r)
		}
	}
	m := checkExactlyOnce(t, root, ids)
	redelivered := 0
	for _, d := range m.Deletions {
		if d.Reason != ReasonRedelivered {
			t.Errorf("deletion with reason %q, want %s", d.Reason, ReasonRedelivered)
		}
		redelivered += len(d.Rows)
	}
	if redelivered == 0 {
		t.Fatal("no row was deleted as redelivered: the readers did not overlap, so the test proves nothing")
	}
	t.Logf("%d rows read twice and deleted from the later version", redelivered)
}

// waitForGroups waits until every group has a member with an assignment.
func waitForGroups(t *testing.T, addr string, groups ...string) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		described, err := adm.DescribeGroups(context.Background(), groups...)
		ready := err == nil
		for _, g := range groups {
			d, ok := described[g]
			if !ok || d.State != "Stable" || len(d.Members) == 0 {
				ready = false
			}
		}
		if ready {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("groups %v did not become stable within a minute", groups)
}

// BenchmarkKafkaInput runs the same documents through the same stages
// from a local JSON-lines file and from a Kafka topic on a broker on
// loopback, read to its end by a new consumer group each time. The Kafka
// run commits one version at the end, as the file run does. Joining and
// leaving the group and committing the offsets add about 0.15 s to every
// Kafka run, so the input is big enough for that to stay small.
func BenchmarkKafkaInput(b *testing.B) {
	lines, _ := kafkaDocs(b, 48000)
	addr := testutil.StartBroker(b, "", "bench", 4)
	testutil.KcatProduce(b, addr, "bench", lines)
	var size int64
	var file strings.Builder
	for _, l := range lines {
		file.WriteString(l + "\n")
		size += int64(len(l) + 1)
	}
	dir := b.TempDir()
	input := filepath.Join(dir, "docs.jsonl")
	if err := os.WriteFile(input, []byte(file.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	const chain = "stages: [normalize, gopher_quality, pii, exact_dedup]\noutput: {commit_every: {docs: 0, seconds: 0}}\n"
	filesCfg := filepath.Join(dir, "files.yaml")
	os.WriteFile(filesCfg, []byte(chain), 0o644)

	run := func(b *testing.B, args ...string) {
		var stderr bytes.Buffer
		args = append([]string{"run", "--progress", "never", "--log-level", "warn", "--workers", "2", "-o", b.TempDir()}, args...)
		if code := Main(args, io.Discard, &stderr); code != 0 {
			b.Fatalf("winnow %s: exit %d\n%s", strings.Join(args, " "), code, stderr.String())
		}
	}
	b.Run("files", func(b *testing.B) {
		b.SetBytes(size)
		for b.Loop() {
			run(b, "-c", filesCfg, input)
		}
	})
	n := 0 // every pass reads with a group of its own
	b.Run("kafka", func(b *testing.B) {
		b.SetBytes(size)
		for b.Loop() {
			n++
			cfg := filepath.Join(b.TempDir(), "kafka.yaml")
			os.WriteFile(cfg, fmt.Appendf(nil, "input:\n  format: kafka\n  kafka: {brokers: [%q], topic: bench, group: bench-%d, stop_at_end: true}\n%s", addr, n, chain), 0o644)
			run(b, "-c", cfg)
		}
	})
}
