package cli

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/winnow-data/winnow/internal/testutil"
)

// devBrokerWait bounds each wait of the dev-broker tests, generously for
// a loaded machine.
const devBrokerWait = 30 * time.Second

// readReadyLine reads the first line of out and returns the address in
// "broker listening on ADDR", failing the test after devBrokerWait.
func readReadyLine(t *testing.T, out io.Reader, stderr *testutil.LockedBuffer) string {
	t.Helper()
	lines := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(out).ReadString('\n')
		lines <- line
	}()
	select {
	case line := <-lines:
		addr, ok := strings.CutPrefix(strings.TrimSpace(line), "broker listening on ")
		if !ok {
			t.Fatalf("first line of stdout %q, want \"broker listening on ADDR\"\nstderr:\n%s", line, stderr)
		}
		return addr
	case <-time.After(devBrokerWait):
		t.Fatalf("no ready line within %s\nstderr:\n%s", devBrokerWait, stderr)
		return ""
	}
}

// startDevBroker runs `winnow dev-broker ARGS` in the test's process and
// returns the address it prints, and a function that stops it the way
// SIGTERM does and fails the test unless it exits cleanly.
func startDevBroker(t *testing.T, args ...string) (string, func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	stdoutR, stdoutW := io.Pipe()
	stderr := &testutil.LockedBuffer{}
	done := make(chan error, 1)
	go func() {
		err := devBroker(ctx, args, stdoutW, stderr)
		stdoutW.Close()
		done <- err
	}()
	addr := readReadyLine(t, stdoutR, stderr)

	stopped := false
	stop := func() {
		t.Helper()
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("dev-broker %s: %v\nstderr:\n%s", strings.Join(args, " "), err, stderr)
			}
		case <-time.After(devBrokerWait):
			t.Fatalf("dev-broker did not stop within %s", devBrokerWait)
		}
	}
	t.Cleanup(stop)
	return addr, stop
}

// kcatConsume reads every record of topic from the start with kcat and
// returns the values, sorted.
func kcatConsume(t *testing.T, addr, topic string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), devBrokerWait)
	defer cancel()
	cmd := exec.CommandContext(ctx, "kcat", "-C", "-b", addr, "-t", topic, "-o", "beginning", "-e", "-q", "-f", "%s\n")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("kcat -C from %s, topic %s: %v\n%s", addr, topic, err, stderr.String())
	}
	values := strings.Split(strings.TrimSuffix(stdout.String(), "\n"), "\n")
	slices.Sort(values)
	return values
}

// devBrokerAdmin returns a kadm client of the broker at addr, closed when
// the test ends.
func devBrokerAdmin(t *testing.T, addr string) *kadm.Client {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return kadm.NewClient(cl)
}

func TestDevBrokerPersistsAcrossRestart(t *testing.T) {
	dataDir := t.TempDir()
	addr, stop := startDevBroker(t, "--listen", "127.0.0.1:0", "--data", dataDir, "--topic", "events,audit", "--topic", "more", "--partitions", "3")

	lines := []string{`{"id":"a","text":"first"}`, `{"id":"b","text":"second"}`, `{"id":"c","text":"third"}`, `{"id":"d","text":"fourth"}`}
	testutil.KcatProduce(t, addr, "events", lines)
	ctx, cancel := context.WithTimeout(context.Background(), devBrokerWait)
	defer cancel()
	var offsets kadm.Offsets
	offsets.AddOffset("events", 1, 1, -1)
	if err := devBrokerAdmin(t, addr).CommitAllOffsets(ctx, "readers", offsets); err != nil {
		t.Fatalf("committing an offset: %v", err)
	}
	stop()

	// The restarted broker, on another port, has the records, the topics
	// and the group's offset.
	addr, _ = startDevBroker(t, "--listen", "127.0.0.1:0", "--data", dataDir)
	want := slices.Sorted(slices.Values(lines))
	if got := kcatConsume(t, addr, "events"); !slices.Equal(got, want) {
		t.Errorf("records after the restart %q, want %q", got, want)
	}
	adm := devBrokerAdmin(t, addr)
	topics, err := adm.ListTopics(ctx)
	if err != nil {
		t.Fatalf("listing topics: %v", err)
	}
	for _, topic := range []string{"events", "audit", "more"} {
		if !topics.Has(topic) || len(topics[topic].Partitions) != 3 {
			t.Errorf("topic %s after the restart: %+v, want 3 partitions", topic, topics[topic])
		}
	}
	fetched, err := adm.FetchOffsets(ctx, "readers")
	if err != nil {
		t.Fatalf("fetching offsets: %v", err)
	}
	if o, ok := fetched.Lookup("events", 1); !ok || o.At != 1 {
		t.Errorf("committed offset of events/1 after the restart: %+v (found %v), want 1", o, ok)
	}
}

func TestDevBrokerStopsOnSIGTERM(t *testing.T) {
	stdoutR, stdoutW := io.Pipe()
	stderr := &testutil.LockedBuffer{}
	done := make(chan int, 1)
	go func() {
		code := Main([]string{"dev-broker", "--listen", "127.0.0.1:0", "--topic", "events"}, stdoutW, stderr)
		stdoutW.Close()
		done <- code
	}()
	addr := readReadyLine(t, stdoutR, stderr)
	testutil.KcatProduce(t, addr, "events", []string{`{"id":"a","text":"one"}`})

	// The command catches SIGTERM from the moment it prints the line, so
	// the signal stops it instead of the test binary.
	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("exit status %d after SIGTERM, want 0\nstderr:\n%s", code, stderr)
		}
	case <-time.After(devBrokerWait):
		t.Fatalf("dev-broker did not stop within %s of SIGTERM", devBrokerWait)
	}
	if !strings.Contains(stderr.String(), "broker stopped") {
		t.Errorf("stderr does not log the stop:\n%s", stderr)
	}
}

func TestDevBrokerRejectsBadFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--listen", "0.0.0.0:9092"}, "--allow-remote"},
		{[]string{"--listen", "9092"}, `--listen: invalid value "9092"`},
		{[]string{"--partitions", "0"}, "--partitions: invalid value 0"},
		{[]string{"--topic", "bad/name"}, `--topic: invalid value "bad/name"`},
		{[]string{"extra"}, "takes no arguments"},
	} {
		code, _, stderr := runCLI(t, append([]string{"dev-broker"}, tc.args...)...)
		if code != exitUsage || !strings.Contains(stderr, tc.want) {
			t.Errorf("dev-broker %v: exit %d, stderr %q; want exit %d and %q", tc.args, code, stderr, exitUsage, tc.want)
		}
	}
}

func TestDevBrokerListedInHelp(t *testing.T) {
	code, stdout, _ := runCLI(t, "help")
	if code != 0 || !strings.Contains(stdout, "winnow dev-broker") {
		t.Errorf("winnow help: exit %d, output does not list dev-broker:\n%s", code, stdout)
	}
}
