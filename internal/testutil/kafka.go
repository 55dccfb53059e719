package testutil

import (
	"bytes"
	"encoding/json"
	"errors"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kfake"
)

// StartBroker starts a Kafka-protocol broker in the test's process, with
// franz-go's kfake package, on 127.0.0.1 at a random port, and returns its
// host:port. It creates topic with partitions partitions, unless topic is
// "" or dataDir already holds the broker's state. With a dataDir the
// broker persists its records, topics and committed offsets there, with
// an fsync per write (kfake.DataDir and kfake.SyncWrites). The broker
// closes when the test ends.
func StartBroker(t testing.TB, dataDir, topic string, partitions int) string {
	t.Helper()
	opts := []kfake.Opt{kfake.NumBrokers(1)}
	if topic != "" {
		opts = append(opts, kfake.SeedTopics(int32(partitions), topic))
	}
	if dataDir != "" {
		opts = append(opts, kfake.DataDir(dataDir), kfake.SyncWrites())
	}
	cluster, err := kfake.NewCluster(opts...)
	if err != nil {
		t.Fatalf("starting the kfake broker: %v", err)
	}
	t.Cleanup(cluster.Close)
	return cluster.ListenAddrs()[0]
}

// KcatProduce produces one record per line to topic on the broker at addr
// with Debian's kcat, and fails the test when kcat is missing or a record
// is not delivered. A line that is a JSON object with a string "id" is
// keyed by it, any other line by "line-N" (N its index), so kcat's
// default partitioner spreads documents over partitions by id. Lines must
// not contain a newline. kcat sends record batches of at most 64 KiB
// (librdkafka's batch.size), which tests of fetch limits rely on.
func KcatProduce(t testing.TB, addr, topic string, lines []string) {
	t.Helper()
	kcat, err := exec.LookPath("kcat")
	if err != nil {
		t.Fatalf("kcat not found on PATH (%v): install Debian's kcat package, or run `make test-deps`", err)
	}
	var input bytes.Buffer
	for i, line := range lines {
		if strings.Contains(line, "\n") {
			t.Fatalf("KcatProduce: line %d contains a newline, which would split it into two records", i)
		}
		input.WriteString(recordKey(line, i))
		input.WriteByte('\t')
		input.WriteString(line)
		input.WriteByte('\n')
	}

	cmd := exec.CommandContext(t.Context(), kcat, "-P", "-b", addr, "-t", topic, "-K", "\t",
		"-X", "batch.size=65536",
		"-X", "message.timeout.ms=30000")
	cmd.Stdin = &input
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	// kcat 1.7 exits with status 1 when a record is not delivered within
	// message.timeout.ms.
	if err := cmd.Run(); err != nil {
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) {
			t.Fatalf("kcat -P to %s, topic %s: %v\n%s", addr, topic, err, stderr.String())
		}
		t.Fatalf("running kcat: %v", err)
	}
}

// recordKey returns the key KcatProduce gives line number i.
func recordKey(line string, i int) string {
	var doc struct {
		ID any `json:"id"`
	}
	if json.Unmarshal([]byte(line), &doc) == nil {
		if id, ok := doc.ID.(string); ok && id != "" && !strings.ContainsAny(id, "\t\n") {
			return id
		}
	}
	return "line-" + strconv.Itoa(i)
}
