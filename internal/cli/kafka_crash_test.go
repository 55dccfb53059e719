package cli

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"os/exec"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/winnow-data/winnow/internal/testutil"
	"github.com/winnow-data/winnow/pipeline"
)

// devBrokerProcess starts `winnow dev-broker` as its own process with a
// data folder and returns its address. The test ends it.
func devBrokerProcess(t *testing.T, bin, topic string, partitions int) string {
	t.Helper()
	cmd := exec.Command(bin, "dev-broker", "--listen", "127.0.0.1:0", "--data", t.TempDir(),
		"--topic", topic, "--partitions", fmt.Sprint(partitions), "--log-level", "warn")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr := &testutil.LockedBuffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	addr := readReadyLine(t, stdout, stderr)
	go io.Copy(io.Discard, stdout)
	return addr
}

// kafkaWorker is one `winnow run` process of the consumer group.
type kafkaWorker struct {
	cmd  *exec.Cmd
	out  bytes.Buffer
	done chan error
}

func startKafkaWorker(t *testing.T, bin, cfg, root string) *kafkaWorker {
	t.Helper()
	w := &kafkaWorker{done: make(chan error, 1)}
	w.cmd = exec.Command(bin, "run", "--progress", "never", "--log-level", "info", "-c", cfg, "-o", root)
	w.cmd.Stdout, w.cmd.Stderr = &w.out, &w.out
	if err := w.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { w.done <- w.cmd.Wait() }()
	return w
}

// consumed returns the records of topic that the latest version of root
// records as read, summed over partitions; 0 before the first version.
func consumed(t *testing.T, root, topic string) int64 {
	t.Helper()
	store, err := pipeline.OpenLocalStore(root)
	if err != nil {
		return 0
	}
	id, err := pipeline.LatestVersion(store)
	if err != nil {
		return 0
	}
	m, err := pipeline.ReadManifest(store, id)
	if err != nil {
		t.Fatal(err)
	}
	rec := m.KafkaOf(topic)
	if rec == nil {
		return 0
	}
	var n int64
	for _, off := range rec.Next {
		n += off
	}
	return n
}

// TestKafkaCrashThreeWorkers runs three worker processes in one consumer
// group over a topic that kcat keeps filling, and kills a random worker
// with SIGKILL ten times while the others go on, each time starting it
// again. Every produced document must be in the last version exactly once.
func TestKafkaCrashThreeWorkers(t *testing.T) {
	bin := winnowBinary(t)
	addr := devBrokerProcess(t, bin, "stream", 6)
	root := t.TempDir()
	cfg := writeFile(t, "workers.yaml", fmt.Sprintf(`input:
  format: kafka
  batch_size: 64
  kafka: {brokers: [%q], topic: stream, group: crash, session_timeout: 6s}
stages: [normalize]
output:
  shard_max_bytes: 262144
  commit_every: {docs: 300, seconds: 1}
`, addr))

	const chunks, perChunk = 24, 500
	lines, ids := kafkaDocs(t, chunks*perChunk)

	seed := uint64(20261205)
	rng := rand.New(rand.NewPCG(seed, 3))
	type kill struct {
		at     time.Duration
		worker int
		pause  time.Duration
	}
	var schedule []kill
	at := time.Duration(0)
	for range 10 {
		at += time.Duration(800+rng.IntN(1600)) * time.Millisecond
		schedule = append(schedule, kill{at: at, worker: rng.IntN(3), pause: time.Duration(rng.IntN(1500)) * time.Millisecond})
	}
	t.Logf("kill schedule (seed %d): %+v", seed, schedule)

	var mu sync.Mutex
	workers := make([]*kafkaWorker, 3)
	var finished []*kafkaWorker
	for i := range workers {
		workers[i] = startKafkaWorker(t, bin, cfg, root)
	}
	defer func() {
		for _, w := range workers {
			if w != nil {
				w.cmd.Process.Kill()
			}
		}
	}()

	// kcat produces a chunk every 500 ms while the kills go on.
	produced := make(chan struct{})
	go func() {
		defer close(produced)
		for c := range chunks {
			testutil.KcatProduce(t, addr, "stream", lines[c*perChunk:(c+1)*perChunk])
			time.Sleep(500 * time.Millisecond)
		}
	}()

	start := time.Now()
	for i, k := range schedule {
		time.Sleep(time.Until(start.Add(k.at)))
		mu.Lock()
		w := workers[k.worker]
		select {
		case err := <-w.done:
			t.Fatalf("worker %d exited before kill %d: %v\n%s", k.worker, i+1, err, w.out.String())
		default:
		}
		w.cmd.Process.Kill()
		<-w.done
		finished = append(finished, w)
		mu.Unlock()
		time.Sleep(k.pause)
		mu.Lock()
		workers[k.worker] = startKafkaWorker(t, bin, cfg, root)
		mu.Unlock()
	}
	<-produced

	// Once the latest version records every produced record, SIGTERM
	// stops each worker, which commits what it holds and exits.
	deadline := time.Now().Add(3 * time.Minute)
	for consumed(t, root, "stream") < int64(len(ids)) {
		if time.Now().After(deadline) {
			for i, w := range workers {
				t.Logf("worker %d log:\n%s", i, w.out.String())
			}
			t.Fatalf("after 3 minutes the latest version records %d of %d records", consumed(t, root, "stream"), len(ids))
		}
		time.Sleep(200 * time.Millisecond)
	}
	for i, w := range workers {
		w.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-w.done:
			if err != nil {
				t.Fatalf("worker %d: %v\n%s", i, err, w.out.String())
			}
		case <-time.After(2 * time.Minute):
			t.Fatalf("worker %d did not stop within 2 minutes of SIGTERM\n%s", i, w.out.String())
		}
		workers[i] = nil
	}
	m := checkExactlyOnce(t, root, ids)
	chain := versionChain(t, root)
	redelivered := 0
	for _, d := range m.Deletions {
		redelivered += len(d.Rows)
	}
	t.Logf("%d versions; %d rows deleted as read twice; %d kills", len(chain), redelivered, len(finished))
}
