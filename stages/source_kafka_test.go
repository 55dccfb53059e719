package stages

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/winnow-data/winnow/internal/testutil"
	"github.com/winnow-data/winnow/pipeline"
)

// kafkaWait bounds every wait of the Kafka tests. It is generous because
// a loaded 2-core machine under the race detector can take seconds for a
// group rebalance.
const kafkaWait = 20 * time.Second

// lockedBuffer is a log destination that goroutines of the Kafka client
// may write while the test reads it.
type lockedBuffer struct{ testutil.LockedBuffer }

// entries returns the JSON log lines written so far.
func (b *lockedBuffer) entries(t *testing.T) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range bytes.Split(bytes.TrimSpace(b.Bytes()), []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal(line, &m); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		out = append(out, m)
	}
	return out
}

// kafkaRun is a Kafka source running in the background, with what it has
// emitted so far.
type kafkaRun struct {
	src  *KafkaSource
	logs *lockedBuffer
	done chan error

	mu      sync.Mutex
	batches []*pipeline.Batch
	docs    []sourceDoc
	emitted []time.Time // time of each emit call, by Seq
}

// newKafkaSourceForTest builds a source for topic on the broker at addr;
// edit, when not nil, changes the input config first. The group heartbeat
// is 100 ms, so rebalances take a fraction of a second.
func newKafkaSourceForTest(t *testing.T, addr, topic, group string, edit func(*pipeline.InputConfig)) (*KafkaSource, *lockedBuffer) {
	t.Helper()
	cfg := pipeline.InputConfig{Kafka: pipeline.KafkaConfig{Brokers: []string{addr}, Topic: topic, Group: group}}
	if edit != nil {
		edit(&cfg)
	}
	logs := &lockedBuffer{}
	env := pipeline.NewEnv(slog.New(slog.NewJSONHandler(logs, nil)), "source")
	src, err := NewKafkaSource(cfg, env)
	if err != nil {
		t.Fatalf("NewKafkaSource: %v", err)
	}
	src.clientOpts = []kgo.Opt{kgo.HeartbeatInterval(100 * time.Millisecond)}
	return src, logs
}

// startKafkaRun runs src in the background with ctx; emitHook, when not
// nil, runs inside each emit call before the batch is recorded. The test
// fails when Run has not returned by its end.
func startKafkaRun(t *testing.T, ctx context.Context, src *KafkaSource, logs *lockedBuffer, emitHook func(*pipeline.Batch)) *kafkaRun {
	t.Helper()
	r := &kafkaRun{src: src, logs: logs, done: make(chan error, 1)}
	go func() {
		r.done <- src.Run(ctx, func(b *pipeline.Batch) error {
			if emitHook != nil {
				emitHook(b)
			}
			r.mu.Lock()
			defer r.mu.Unlock()
			r.batches = append(r.batches, b)
			r.docs = append(r.docs, sourceDocs(b)...)
			r.emitted = append(r.emitted, time.Now())
			return nil
		})
	}()
	t.Cleanup(func() {
		src.Stop()
		select {
		case <-r.done:
		case <-time.After(kafkaWait):
			t.Errorf("Run did not return within %s of Stop", kafkaWait)
		}
	})
	return r
}

// wait returns Run's error, failing the test when it takes longer than
// kafkaWait.
func (r *kafkaRun) wait(t *testing.T) error {
	t.Helper()
	select {
	case err := <-r.done:
		r.done <- err // for the cleanup
		return err
	case <-time.After(kafkaWait):
		t.Fatalf("Run did not return within %s", kafkaWait)
		return nil
	}
}

// stopAndWait stops the source and fails the test unless Run returns nil.
func (r *kafkaRun) stopAndWait(t *testing.T) {
	t.Helper()
	r.src.Stop()
	if err := r.wait(t); err != nil {
		t.Fatalf("Run after Stop: %v, want nil", err)
	}
}

func (r *kafkaRun) docCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.docs)
}

func (r *kafkaRun) snapshot() ([]*pipeline.Batch, []sourceDoc) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.batches), slices.Clone(r.docs)
}

// waitFor polls cond until it holds, and fails the test after kafkaWait.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(kafkaWait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", kafkaWait, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// docLines returns n JSON documents with ids prefix-000, prefix-001, ...
func docLines(prefix string, n int) []string {
	lines := make([]string, n)
	for i := range lines {
		lines[i] = fmt.Sprintf(`{"id":"%s-%03d","text":"document %d of %s"}`, prefix, i, i, prefix)
	}
	return lines
}

// adminClient returns a kadm client of the broker at addr.
func adminClient(t *testing.T, addr string) *kadm.Client {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return kadm.NewClient(cl)
}

// committedOffset returns the group's committed offset of a partition, or
// -1 when it has none.
func committedOffset(t *testing.T, adm *kadm.Client, group, topic string, partition int32) int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), kafkaWait)
	defer cancel()
	resp, err := adm.FetchOffsets(ctx, group)
	if err != nil {
		t.Fatalf("fetching the offsets of group %s: %v", group, err)
	}
	o, ok := resp.Lookup(topic, partition)
	if !ok {
		return -1
	}
	if o.Err != nil {
		t.Fatalf("offset of %s/%d in group %s: %v", topic, partition, group, o.Err)
	}
	return o.At
}

// coveredOffsets returns, per input, every offset the batches' positions
// cover, failing the test when two positions overlap.
func coveredOffsets(t *testing.T, batches []*pipeline.Batch) map[string][]int64 {
	t.Helper()
	seen := map[string]map[int64]bool{}
	for _, b := range batches {
		for _, p := range b.Positions {
			if seen[p.Input] == nil {
				seen[p.Input] = map[int64]bool{}
			}
			for o := p.FirstRecord; o < p.EndRecord; o++ {
				if seen[p.Input][o] {
					t.Errorf("offset %d of %s covered by two positions", o, p.Input)
				}
				seen[p.Input][o] = true
			}
		}
	}
	out := map[string][]int64{}
	for input, offsets := range seen {
		out[input] = slices.Sorted(maps.Keys(offsets))
	}
	return out
}

// upTo returns 0, 1, ..., n-1.
func upTo(n int64) []int64 {
	out := make([]int64, n)
	for i := range out {
		out[i] = int64(i)
	}
	return out
}

func TestKafkaInputName(t *testing.T) {
	name := KafkaInputName("crawl.cc-2019_30", 12)
	if name != "kafka://crawl.cc-2019_30/12" {
		t.Errorf("KafkaInputName = %q", name)
	}
	topic, partition, ok := ParseKafkaInput(name)
	if !ok || topic != "crawl.cc-2019_30" || partition != 12 {
		t.Errorf("ParseKafkaInput(%q) = %q, %d, %v", name, topic, partition, ok)
	}
	for _, bad := range []string{"crawl/12", "kafka://crawl", "kafka:///3", "kafka://crawl/", "kafka://crawl/-1", "kafka://crawl/03", "kafka://crawl/+3", "kafka://crawl/99999999999", "s3://crawl/3"} {
		if _, _, ok := ParseKafkaInput(bad); ok {
			t.Errorf("ParseKafkaInput(%q) accepted it", bad)
		}
	}
}

func TestNewKafkaSourceValidates(t *testing.T) {
	t.Setenv(pipeline.KafkaBrokersEnv, "")
	for _, tc := range []struct {
		name string
		cfg  pipeline.InputConfig
		want string
	}{
		{"no topic", pipeline.InputConfig{Kafka: pipeline.KafkaConfig{Brokers: []string{"127.0.0.1:9092"}}}, "input.kafka.topic: missing"},
		{"no brokers", pipeline.InputConfig{Kafka: pipeline.KafkaConfig{Topic: "docs"}}, "input.kafka.brokers: missing"},
		{"file format", pipeline.InputConfig{Format: "jsonl", Kafka: pipeline.KafkaConfig{Brokers: []string{"127.0.0.1:9092"}, Topic: "docs"}}, `input.format: invalid value "jsonl"`},
		{"paths", pipeline.InputConfig{Paths: []string{"a.jsonl"}, Kafka: pipeline.KafkaConfig{Brokers: []string{"127.0.0.1:9092"}, Topic: "docs"}}, "input.paths: invalid value"},
		{"bad field path", pipeline.InputConfig{Fields: pipeline.FieldMap{Text: "a..b"}, Kafka: pipeline.KafkaConfig{Brokers: []string{"127.0.0.1:9092"}, Topic: "docs"}}, "input.fields.text"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewKafkaSource(tc.cfg, discardEnv())
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("NewKafkaSource error = %v, want it to contain %q", err, tc.want)
			}
		})
	}

	// No broker listens on port 1; the constructor must not dial it.
	t.Setenv(pipeline.KafkaBrokersEnv, "127.0.0.1:1")
	src, err := NewKafkaSource(pipeline.InputConfig{Kafka: pipeline.KafkaConfig{Topic: "docs"}}, discardEnv())
	if err != nil {
		t.Fatalf("NewKafkaSource with brokers from %s: %v", pipeline.KafkaBrokersEnv, err)
	}
	if got := src.cfg.Kafka.Brokers; !slices.Equal(got, []string{"127.0.0.1:1"}) {
		t.Errorf("brokers = %v, want those of %s", got, pipeline.KafkaBrokersEnv)
	}
}

func TestKafkaSourceReadsEachRecordOnce(t *testing.T) {
	const topic, partitions = "docs", 3
	addr := testutil.StartBroker(t, "", topic, partitions)
	lines := docLines("doc", 280)
	for i := range 20 {
		lines = append(lines, fmt.Sprintf(`{"text":"document without id %d","url":"https://example.com/%d"}`, i, i))
	}
	testutil.KcatProduce(t, addr, topic, lines)

	src, logs := newKafkaSourceForTest(t, addr, topic, "readers", func(c *pipeline.InputConfig) {
		c.BatchSize = 32
		c.Kafka.StopWhenIdle = time.Second
	})
	run := startKafkaRun(t, context.Background(), src, logs, nil)
	if err := run.wait(t); err != nil {
		t.Fatalf("Run: %v", err)
	}
	batches, docs := run.snapshot()

	for i, b := range batches {
		if b.Seq != uint64(i) {
			t.Fatalf("batch %d has Seq %d", i, b.Seq)
		}
		if b.Len() > 32 {
			t.Errorf("batch %d has %d rows, more than batch_size 32", i, b.Len())
		}
	}

	// Every document once, with its input, offset and id.
	byID := map[string]sourceDoc{}
	perInput := map[string][]int64{}
	for _, d := range docs {
		if _, dup := byID[d.ID]; dup {
			t.Errorf("document %s emitted twice", d.ID)
		}
		byID[d.ID] = d
		gotTopic, p, ok := ParseKafkaInput(d.Input)
		if !ok || gotTopic != topic || p < 0 || p >= partitions {
			t.Errorf("document %s has input %q, want kafka://%s/0 to /%d", d.ID, d.Input, topic, partitions-1)
		}
		perInput[d.Input] = append(perInput[d.Input], d.Offset)
	}
	if len(docs) != len(lines) {
		t.Errorf("%d documents emitted, want %d", len(docs), len(lines))
	}
	for i := range 280 {
		if _, ok := byID[fmt.Sprintf("doc-%03d", i)]; !ok {
			t.Errorf("document doc-%03d missing", i)
		}
	}
	derived := 0
	for id, d := range byID {
		if strings.HasPrefix(id, "kafka://") {
			derived++
			if want := fmt.Sprintf("%s:%d", d.Input, d.Offset); id != want {
				t.Errorf("derived id %q, want %q", id, want)
			}
		}
	}
	if derived != 20 {
		t.Errorf("%d documents with a derived id, want 20", derived)
	}

	// The positions cover each partition's offsets 0..n-1 exactly once,
	// and each document sits in a position of its own batch.
	covered := coveredOffsets(t, batches)
	if len(perInput) != partitions {
		t.Errorf("documents came from %d partitions, want %d (kcat keys spread them)", len(perInput), partitions)
	}
	for input, offsets := range perInput {
		slices.Sort(offsets)
		if want := upTo(int64(len(offsets))); !slices.Equal(offsets, want) {
			t.Errorf("%s: document offsets %v, want 0 to %d", input, offsets, len(offsets)-1)
		}
		if !slices.Equal(covered[input], offsets) {
			t.Errorf("%s: positions cover %v, want %v", input, covered[input], offsets)
		}
	}
	for _, b := range batches {
		for _, d := range sourceDocs(b) {
			in := slices.ContainsFunc(b.Positions, func(p pipeline.Position) bool {
				return p.Input == d.Input && p.FirstRecord <= d.Offset && d.Offset < p.EndRecord
			})
			if !in {
				t.Errorf("batch %d: document at %s offset %d outside the batch's positions %+v", b.Seq, d.Input, d.Offset, b.Positions)
			}
		}
		// Consecutive offsets of a partition form one position.
		for i, p := range b.Positions {
			for _, q := range b.Positions[i+1:] {
				if p.Input == q.Input && (p.EndRecord == q.FirstRecord || q.EndRecord == p.FirstRecord) {
					t.Errorf("batch %d: positions %+v and %+v are adjacent but not merged", b.Seq, p, q)
				}
			}
		}
	}
	if src.Assigned() == nil || len(src.Assigned()) != 0 {
		t.Errorf("Assigned after Run = %v, want no partitions", src.Assigned())
	}
}

func TestKafkaSourceCountsBadRecords(t *testing.T) {
	const topic = "bad"
	addr := testutil.StartBroker(t, "", topic, 1)
	lines := []string{
		`{"id":"good-0","text":"first"}`,
		`not json at all`,
		`{"id":"no-text","url":"https://example.com/"}`,
		`{"id":"big","text":"` + strings.Repeat("x", 3000) + `"}`,
		``,
		`{"id":"good-1","text":"second"}`,
		`   `,
		`{"id":"good-2","text":"third"}`,
	}
	testutil.KcatProduce(t, addr, topic, lines)

	src, logs := newKafkaSourceForTest(t, addr, topic, "readers", nil)
	src.maxRecord = 2048
	run := startKafkaRun(t, context.Background(), src, logs, nil)
	waitFor(t, "3 documents", func() bool { return run.docCount() >= 3 })
	// The last record is a document, so every bad one was read too.
	run.stopAndWait(t)
	batches, docs := run.snapshot()

	var ids []string
	for _, d := range docs {
		ids = append(ids, d.ID)
	}
	if want := []string{"good-0", "good-1", "good-2"}; !slices.Equal(ids, want) {
		t.Errorf("documents %v, want %v", ids, want)
	}
	events := src.env.Events.Snapshot()
	for reason, want := range map[string]int64{EventMalformedJSON: 1, EventMissingText: 1, EventOversizedRecord: 1, EventEmptyRecord: 2} {
		if events[reason] != want {
			t.Errorf("events[%s] = %d, want %d (all: %v)", reason, events[reason], want, events)
		}
	}
	if got := coveredOffsets(t, batches)[KafkaInputName(topic, 0)]; !slices.Equal(got, upTo(int64(len(lines)))) {
		t.Errorf("positions cover offsets %v, want 0 to %d, bad records included", got, len(lines)-1)
	}

	// Each logged bad record names its topic, partition and offset.
	want := map[string]float64{EventMalformedJSON: 1, EventMissingText: 2, EventOversizedRecord: 3}
	for _, entry := range logs.entries(t) {
		reason, _ := entry["reason"].(string)
		offset, ok := want[reason]
		if !ok {
			continue
		}
		if entry["topic"] != topic || entry["partition"] != float64(0) || entry["offset"] != offset {
			t.Errorf("log of %s = %v, want topic %s, partition 0, offset %v", reason, entry, topic, offset)
		}
		delete(want, reason)
	}
	if len(want) > 0 {
		t.Errorf("no log entry for %v", slices.Sorted(maps.Keys(want)))
	}
}

func TestKafkaSourceGroupSplitsPartitions(t *testing.T) {
	const topic, partitions = "shared", 4
	addr := testutil.StartBroker(t, "", topic, partitions)

	srcA, logsA := newKafkaSourceForTest(t, addr, topic, "pair", nil)
	runA := startKafkaRun(t, context.Background(), srcA, logsA, nil)
	waitFor(t, "the first member to own every partition", func() bool { return len(srcA.Assigned()) == partitions })

	srcB, logsB := newKafkaSourceForTest(t, addr, topic, "pair", nil)
	runB := startKafkaRun(t, context.Background(), srcB, logsB, nil)
	var ownedA, ownedB map[int32]bool
	waitFor(t, "the two members to split the partitions", func() bool {
		ownedA, ownedB = srcA.Assigned(), srcB.Assigned()
		if len(ownedA) == 0 || len(ownedB) == 0 || len(ownedA)+len(ownedB) != partitions {
			return false
		}
		for p := range ownedA {
			if ownedB[p] {
				return false
			}
		}
		return true
	})

	lines := docLines("shared", 200)
	testutil.KcatProduce(t, addr, topic, lines)
	waitFor(t, "200 documents", func() bool { return runA.docCount()+runB.docCount() >= len(lines) })
	runA.stopAndWait(t)
	runB.stopAndWait(t)

	seen := map[string]bool{}
	for member, run := range map[string]*kafkaRun{"A": runA, "B": runB} {
		owned := ownedA
		if member == "B" {
			owned = ownedB
		}
		_, docs := run.snapshot()
		if len(docs) == 0 {
			t.Errorf("member %s read no document", member)
		}
		for _, d := range docs {
			if seen[d.ID] {
				t.Errorf("document %s read twice", d.ID)
			}
			seen[d.ID] = true
			if _, p, _ := ParseKafkaInput(d.Input); !owned[p] {
				t.Errorf("member %s read %s from partition %d, which it does not own (%v)", member, d.ID, p, owned)
			}
		}
	}
	if len(seen) != len(lines) {
		t.Errorf("%d distinct documents read, want %d", len(seen), len(lines))
	}
}

func TestKafkaSourceStartOffsets(t *testing.T) {
	const topic = "resume"
	addr := testutil.StartBroker(t, "", topic, 1)
	testutil.KcatProduce(t, addr, topic, docLines("r", 10))
	adm := adminClient(t, addr)

	// The group committed 8, so the dataset's 6 does not move it back.
	ctx, cancel := context.WithTimeout(context.Background(), kafkaWait)
	defer cancel()
	var commit kadm.Offsets
	commit.AddOffset(topic, 0, 8, -1)
	if err := adm.CommitAllOffsets(ctx, "committed", commit); err != nil {
		t.Fatalf("committing offset 8: %v", err)
	}

	for _, tc := range []struct {
		group string
		from  int64 // first offset read
	}{
		{"fresh", 6},
		{"committed", 8},
	} {
		t.Run(tc.group, func(t *testing.T) {
			src, logs := newKafkaSourceForTest(t, addr, topic, tc.group, nil)
			var requested []int32
			src.SetStartOffsets(func(gotTopic string, parts []int32) (map[int32]int64, error) {
				if gotTopic != topic {
					t.Errorf("start offsets requested for topic %q, want %q", gotTopic, topic)
				}
				requested = append(requested, parts...)
				return map[int32]int64{0: 6}, nil
			})
			run := startKafkaRun(t, context.Background(), src, logs, nil)
			waitFor(t, "the last document", func() bool {
				_, docs := run.snapshot()
				return len(docs) > 0 && docs[len(docs)-1].Offset == 9
			})
			run.stopAndWait(t)

			if !slices.Equal(requested, []int32{0}) {
				t.Errorf("start offsets requested for partitions %v, want [0]", requested)
			}
			batches, docs := run.snapshot()
			var offsets []int64
			for _, d := range docs {
				offsets = append(offsets, d.Offset)
			}
			want := upTo(10)[tc.from:]
			if !slices.Equal(offsets, want) {
				t.Errorf("offsets read %v, want %v", offsets, want)
			}
			if got := coveredOffsets(t, batches)[KafkaInputName(topic, 0)]; !slices.Equal(got, want) {
				t.Errorf("positions cover %v, want %v", got, want)
			}
		})
	}
}

func TestKafkaSourceStartOffsetsError(t *testing.T) {
	const topic = "resume"
	addr := testutil.StartBroker(t, "", topic, 1)
	testutil.KcatProduce(t, addr, topic, docLines("r", 3))

	src, logs := newKafkaSourceForTest(t, addr, topic, "failing", nil)
	var mu sync.Mutex
	calls := 0
	src.SetStartOffsets(func(string, []int32) (map[int32]int64, error) {
		mu.Lock()
		defer mu.Unlock()
		calls++
		if calls == 1 {
			return nil, errors.New("manifest unreadable")
		}
		return nil, nil
	})
	run := startKafkaRun(t, context.Background(), src, logs, nil)
	waitFor(t, "3 documents after the retried assignment", func() bool { return run.docCount() >= 3 })
	run.stopAndWait(t)

	found := false
	for _, entry := range logs.entries(t) {
		if entry["level"] == "ERROR" && strings.Contains(fmt.Sprint(entry["err"]), "manifest unreadable") {
			found = true
		}
	}
	if !found {
		t.Error("the failed start offsets were not logged as an error")
	}
}

func TestKafkaSourceCommitOffsets(t *testing.T) {
	const topic, group = "commits", "committers"
	addr := testutil.StartBroker(t, "", topic, 2)
	adm := adminClient(t, addr)
	ctx, cancel := context.WithTimeout(context.Background(), kafkaWait)
	defer cancel()

	srcA, logsA := newKafkaSourceForTest(t, addr, topic, group, nil)
	if _, err := srcA.CommitOffsets(ctx, map[int32]int64{0: 1}); !errors.Is(err, ErrKafkaSourceNotRunning) {
		t.Errorf("CommitOffsets before Run: %v, want ErrKafkaSourceNotRunning", err)
	}
	runA := startKafkaRun(t, context.Background(), srcA, logsA, nil)
	waitFor(t, "the first member to own both partitions", func() bool { return len(srcA.Assigned()) == 2 })

	mustCommit := func(src *KafkaSource, next, want map[int32]int64) {
		t.Helper()
		got, err := src.CommitOffsets(ctx, next)
		if err != nil {
			t.Fatalf("CommitOffsets(%v): %v", next, err)
		}
		if !maps.Equal(got, want) {
			t.Errorf("CommitOffsets(%v) committed %v, want %v", next, got, want)
		}
	}
	// Offset 0 is above "no commit", so it is committed.
	mustCommit(srcA, map[int32]int64{0: 0}, map[int32]int64{0: 0})
	mustCommit(srcA, map[int32]int64{0: 100, 1: 100}, map[int32]int64{0: 100, 1: 100})
	mustCommit(srcA, map[int32]int64{0: 50, 1: 100}, map[int32]int64{})
	mustCommit(srcA, map[int32]int64{7: 10}, map[int32]int64{})
	for p := range int32(2) {
		if got := committedOffset(t, adm, group, topic, p); got != 100 {
			t.Errorf("partition %d: committed offset %d after committing 100 then 50, want 100", p, got)
		}
	}

	srcB, logsB := newKafkaSourceForTest(t, addr, topic, group, nil)
	runB := startKafkaRun(t, context.Background(), srcB, logsB, nil)
	waitFor(t, "one partition to move to the second member", func() bool {
		return len(srcA.Assigned()) == 1 && len(srcB.Assigned()) == 1
	})
	var moved, retained int32
	for p := range srcB.Assigned() {
		moved, retained = p, 1-p
	}

	// The old owner writes nothing for the moved partition.
	mustCommit(srcA, map[int32]int64{moved: 500, retained: 120}, map[int32]int64{retained: 120})
	if got := committedOffset(t, adm, group, topic, moved); got != 100 {
		t.Errorf("moved partition %d: committed offset %d after the old owner committed 500, want 100", moved, got)
	}
	if got := committedOffset(t, adm, group, topic, retained); got != 120 {
		t.Errorf("retained partition %d: committed offset %d, want 120", retained, got)
	}
	// The new owner fetched 100 at assignment and does not go below it.
	mustCommit(srcB, map[int32]int64{moved: 60}, map[int32]int64{})
	mustCommit(srcB, map[int32]int64{moved: 150}, map[int32]int64{moved: 150})
	if got := committedOffset(t, adm, group, topic, moved); got != 150 {
		t.Errorf("moved partition %d: committed offset %d after the new owner committed 150, want 150", moved, got)
	}

	// After leaving, the first member may commit the partition it owned
	// when it left, but only once the group has no member.
	runA.stopAndWait(t)
	waitFor(t, "the second member to own both partitions", func() bool { return len(srcB.Assigned()) == 2 })
	got, err := srcA.CommitOffsets(ctx, map[int32]int64{retained: 300})
	if !errors.Is(err, kerr.UnknownMemberID) || len(got) != 0 {
		t.Errorf("CommitOffsets after leaving a group with a member: committed %v, error %v; want nothing and UNKNOWN_MEMBER_ID", got, err)
	}
	if got := committedOffset(t, adm, group, topic, retained); got != 120 {
		t.Errorf("retained partition %d: committed offset %d after a rejected commit, want 120", retained, got)
	}
	runB.stopAndWait(t)
	mustCommit(srcA, map[int32]int64{retained: 300, moved: 900}, map[int32]int64{retained: 300})
	mustCommit(srcA, map[int32]int64{retained: 250}, map[int32]int64{})
	if got := committedOffset(t, adm, group, topic, retained); got != 300 {
		t.Errorf("retained partition %d: committed offset %d after leaving, want 300", retained, got)
	}
	if got := committedOffset(t, adm, group, topic, moved); got != 150 {
		t.Errorf("moved partition %d: committed offset %d after the old owner left, want 150", moved, got)
	}
}

func TestKafkaSourceCommitDuringRebalance(t *testing.T) {
	const topic, group = "churn", "churners"
	addr := testutil.StartBroker(t, "", topic, 2)
	adm := adminClient(t, addr)

	srcA, logsA := newKafkaSourceForTest(t, addr, topic, group, nil)
	startKafkaRun(t, context.Background(), srcA, logsA, nil)
	waitFor(t, "the first member to own both partitions", func() bool { return len(srcA.Assigned()) == 2 })

	// The first member commits ever greater offsets of both partitions
	// while the second joins and takes one of them.
	stop := make(chan struct{})
	committerDone := make(chan struct{})
	var attempts atomic.Int64
	go func() {
		defer close(committerDone)
		for next := int64(1); ; next++ {
			select {
			case <-stop:
				return
			default:
			}
			ctx, cancel := context.WithTimeout(context.Background(), kafkaWait)
			_, _ = srcA.CommitOffsets(ctx, map[int32]int64{0: next, 1: next})
			cancel()
			attempts.Add(1)
		}
	}()
	waitFor(t, "a first commit", func() bool { return attempts.Load() > 0 })
	srcB, logsB := newKafkaSourceForTest(t, addr, topic, group, nil)
	startKafkaRun(t, context.Background(), srcB, logsB, nil)
	waitFor(t, "one partition to move to the second member", func() bool {
		return len(srcA.Assigned()) == 1 && len(srcB.Assigned()) == 1
	})
	// Let the first member try to commit both partitions a few more times.
	after := attempts.Load()
	waitFor(t, "more commits after the move", func() bool { return attempts.Load() >= after+20 })
	close(stop)
	<-committerDone

	var moved int32
	for p := range srcB.Assigned() {
		moved = p
	}
	// The new owner read the committed offset at assignment. Had the old
	// owner committed the partition afterwards, the broker would hold more.
	srcB.mu.Lock()
	known := srcB.owned[moved]
	srcB.mu.Unlock()
	if got := committedOffset(t, adm, group, topic, moved); got != known {
		t.Errorf("moved partition %d: broker holds offset %d, the new owner fetched %d at assignment: the old owner committed after the revocation", moved, got, known)
	}
	if known < 1 {
		t.Errorf("moved partition %d: no commit before the move (offset %d), so the test proves nothing", moved, known)
	}
}

func TestKafkaSourceStop(t *testing.T) {
	const topic = "stops"
	addr := testutil.StartBroker(t, "", topic, 2)
	testutil.KcatProduce(t, addr, topic, docLines("s", 5))

	t.Run("before Run", func(t *testing.T) {
		src, _ := newKafkaSourceForTest(t, addr, topic, "early", nil)
		src.Stop()
		emitted := 0
		err := src.Run(context.Background(), func(b *pipeline.Batch) error { emitted++; return nil })
		if err != nil || emitted != 0 {
			t.Errorf("Run after Stop = %v with %d batches, want nil and none", err, emitted)
		}
		if err := src.Run(context.Background(), func(*pipeline.Batch) error { return nil }); err == nil {
			t.Error("a second Run returned nil, want an error")
		}
	})

	t.Run("while running", func(t *testing.T) {
		src, logs := newKafkaSourceForTest(t, addr, topic, "running", nil)
		run := startKafkaRun(t, context.Background(), src, logs, nil)
		waitFor(t, "5 documents", func() bool { return run.docCount() >= 5 })
		run.stopAndWait(t)
		src.Stop() // a second Stop is harmless
	})

	t.Run("context canceled", func(t *testing.T) {
		src, logs := newKafkaSourceForTest(t, addr, topic, "canceled", nil)
		ctx, cancel := context.WithCancel(context.Background())
		run := startKafkaRun(t, ctx, src, logs, nil)
		waitFor(t, "5 documents", func() bool { return run.docCount() >= 5 })
		cancel()
		if err := run.wait(t); !errors.Is(err, context.Canceled) {
			t.Errorf("Run after cancel = %v, want context.Canceled", err)
		}
	})
}

func TestKafkaSourceStopWhenIdle(t *testing.T) {
	const topic = "quiet"
	addr := testutil.StartBroker(t, "", topic, 1)
	testutil.KcatProduce(t, addr, topic, docLines("q", 3))

	const idle = 2500 * time.Millisecond
	src, logs := newKafkaSourceForTest(t, addr, topic, "idlers", func(c *pipeline.InputConfig) { c.Kafka.StopWhenIdle = idle })
	run := startKafkaRun(t, context.Background(), src, logs, nil)
	if err := run.wait(t); err != nil {
		t.Fatalf("Run: %v", err)
	}
	ended := time.Now()
	batches, docs := run.snapshot()
	if len(docs) != 3 {
		t.Fatalf("%d documents, want 3", len(docs))
	}

	// The batches after the one with the documents are empty ticks, at
	// least one a second.
	last := slices.IndexFunc(batches, func(b *pipeline.Batch) bool { return b.Len() > 0 })
	if last < 0 {
		t.Fatal("no batch with documents")
	}
	for _, b := range batches[last+1:] {
		if b.Len() != 0 || len(b.Positions) != 0 {
			t.Errorf("idle batch %d has %d rows and positions %+v, want none", b.Seq, b.Len(), b.Positions)
		}
	}
	ticks := len(batches) - last - 1
	if ticks < 2 {
		t.Errorf("%d empty batches in %s of idling, want at least 2", ticks, idle)
	}
	run.mu.Lock()
	lastData := run.emitted[last]
	run.mu.Unlock()
	if quiet := ended.Sub(lastData); quiet < idle-100*time.Millisecond {
		t.Errorf("Run ended %s after the last documents, before stop_when_idle %s", quiet, idle)
	}
}

func TestKafkaSourceBoundsBufferedFetch(t *testing.T) {
	const topic = "flood"
	const fetchMax = 64 << 10
	const records = 1000
	addr := testutil.StartBroker(t, "", topic, 1)
	text := strings.Repeat("lorem ipsum ", 340) // about 4 KiB
	lines := make([]string, records)
	for i := range lines {
		lines[i] = fmt.Sprintf(`{"id":"f-%04d","text":"%s"}`, i, text)
	}
	testutil.KcatProduce(t, addr, topic, lines)

	// emit blocks longer than stop_when_idle, which must not end the run:
	// no record can arrive while the source does not poll.
	const idle = time.Second
	src, logs := newKafkaSourceForTest(t, addr, topic, "flooded", func(c *pipeline.InputConfig) {
		c.BatchSize = 16
		c.Kafka.FetchMaxBytes = fetchMax
		c.Kafka.StopWhenIdle = idle
	})
	release := make(chan struct{})
	blocked := make(chan struct{})
	var once sync.Once
	run := startKafkaRun(t, context.Background(), src, logs, func(b *pipeline.Batch) {
		if b.Len() == 0 {
			return
		}
		// The first batch with documents blocks, as a full pipeline does.
		once.Do(func() {
			close(blocked)
			<-release
		})
	})
	<-blocked

	src.mu.Lock()
	cl := src.client
	src.mu.Unlock()
	waitFor(t, "the client to buffer a fetch while emit blocks", func() bool { return cl.BufferedFetchBytes() > 0 })
	var maxBuffered int64
	for deadline := time.Now().Add(idle + idle/2); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		maxBuffered = max(maxBuffered, cl.BufferedFetchBytes())
	}
	// A response contains at most fetch_max_bytes, or one record batch when
	// that is larger, and kcat's batches are at most 64 KiB.
	if bound := int64(2 * fetchMax); maxBuffered > bound {
		t.Errorf("client buffered %d bytes while emit blocked, want at most %d", maxBuffered, bound)
	}
	t.Logf("at most %d bytes buffered while emit blocked, of %d in the topic", maxBuffered, records*len(lines[0]))
	close(release)

	if err := run.wait(t); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if n := run.docCount(); n != records {
		t.Errorf("%d documents, want %d", n, records)
	}
}

func TestKafkaSourceStopAtEnd(t *testing.T) {
	const topic = "bounded"
	addr := testutil.StartBroker(t, "", topic, 3)
	testutil.KcatProduce(t, addr, topic, docLines("e", 300))

	src, logs := newKafkaSourceForTest(t, addr, topic, "one-pass", func(c *pipeline.InputConfig) { c.Kafka.StopAtEnd = true })
	run := startKafkaRun(t, context.Background(), src, logs, nil)
	if err := run.wait(t); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if n := run.docCount(); n != 300 {
		t.Fatalf("Run ended after %d documents, want the 300 the topic held", n)
	}

	// A second pass of the same group starts at the committed offsets,
	// which are the end, so it ends at once with nothing.
	next := map[int32]int64{}
	for _, b := range run.batches {
		for _, pos := range b.Positions {
			_, p, _ := ParseKafkaInput(pos.Input)
			next[p] = max(next[p], pos.EndRecord)
		}
	}
	if _, err := src.CommitOffsets(context.Background(), next); err != nil {
		t.Fatalf("CommitOffsets: %v", err)
	}
	again, logs2 := newKafkaSourceForTest(t, addr, topic, "one-pass", func(c *pipeline.InputConfig) { c.Kafka.StopAtEnd = true })
	rerun := startKafkaRun(t, context.Background(), again, logs2, nil)
	if err := rerun.wait(t); err != nil {
		t.Fatalf("second Run: %v", err)
	}
	if n := rerun.docCount(); n != 0 {
		t.Errorf("the second pass read %d documents, want 0", n)
	}
}
