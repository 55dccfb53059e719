package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/winnow-data/winnow/pipeline"
)

// devBrokerTopicTimeout bounds the creation of the --topic topics.
const devBrokerTopicTimeout = 30 * time.Second

// devBrokerConfig is the configuration of winnow dev-broker.
type devBrokerConfig struct {
	listen     string
	dataDir    string // "" keeps the broker's state in memory
	topics     []string
	partitions int
	logger     *slog.Logger
}

// topicList is a flag that can repeat and takes comma-separated names.
type topicList []string

func (l *topicList) String() string { return strings.Join(*l, ",") }

func (l *topicList) Set(s string) error {
	*l = append(*l, splitList(s)...)
	return nil
}

// devBrokerCommand runs a Kafka-protocol broker for development and tests
// until SIGINT or SIGTERM.
func devBrokerCommand(args []string, stdout, stderr io.Writer) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return devBroker(ctx, args, stdout, stderr)
}

// devBroker parses args and runs the broker until ctx ends. It prints
// "broker listening on ADDR" to stdout once clients can connect.
func devBroker(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := parseDevBrokerFlags(args, stderr)
	if err != nil {
		return err
	}
	return runDevBroker(ctx, cfg, func(addr string) {
		fmt.Fprintf(stdout, "broker listening on %s\n", addr)
	})
}

// parseDevBrokerFlags reads winnow dev-broker's command line.
func parseDevBrokerFlags(args []string, stderr io.Writer) (*devBrokerConfig, error) {
	fs := flag.NewFlagSet("winnow dev-broker", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:9092", "address to listen on, host:port; port 0 picks a free port. The broker advertises this address to clients, so it must be one they can reach")
	allowRemote := fs.Bool("allow-remote", false, "allow a --listen address that is not loopback, which any host that reaches it can use without authentication")
	dataDir := fs.String("data", "", "folder that keeps topics, records and committed offsets across restarts, with an fsync per write; empty keeps them in memory")
	var topics topicList
	fs.Var(&topics, "topic", "topic to create when missing; repeat the flag or separate names with commas")
	partitions := fs.Int("partitions", 1, "partitions of each --topic topic, and of topics that producers create by writing to them")
	logFormat := fs.String("log-format", "text", "log format on stderr: text or json")
	logLevel := fs.String("log-level", "info", "minimum log level: debug, info, warn or error")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return nil, err
	}

	if len(pos) > 0 {
		return nil, usageError{fmt.Errorf("dev-broker takes no arguments, got %q", pos)}
	}
	if _, _, err := net.SplitHostPort(*listen); err != nil {
		return nil, usageError{fmt.Errorf("--listen: invalid value %q: must be host:port, as in 127.0.0.1:9092", *listen)}
	}
	if !*allowRemote && !isLoopback(*listen) {
		return nil, usageError{fmt.Errorf("--listen %s is not a loopback address, and the broker has no authentication: pass --allow-remote to listen there anyway", *listen)}
	}
	if *partitions < 1 {
		return nil, usageError{fmt.Errorf("--partitions: invalid value %d: must be 1 or more", *partitions)}
	}
	for _, topic := range topics {
		if !pipeline.ValidKafkaTopic(topic) {
			return nil, usageError{fmt.Errorf("--topic: invalid value %q: a topic name is 1 to 249 letters, digits, '.', '_' or '-', and not . or ..", topic)}
		}
	}
	logger, err := newLogger(stderr, *logFormat, *logLevel)
	if err != nil {
		return nil, usageError{err}
	}
	return &devBrokerConfig{listen: *listen, dataDir: *dataDir, topics: topics, partitions: *partitions, logger: logger}, nil
}

// runDevBroker starts the broker, creates the missing topics, calls ready
// with the address clients connect to, and serves until ctx ends. With a
// data folder, closing the broker writes its state there.
func runDevBroker(ctx context.Context, cfg *devBrokerConfig, ready func(addr string)) error {
	ln, err := net.Listen("tcp", cfg.listen)
	if err != nil {
		return fmt.Errorf("--listen: listening on %s: %w", cfg.listen, err)
	}
	opts := []kfake.Opt{
		kfake.NumBrokers(1),
		// kfake requests 127.0.0.1 and a random port, and gets the
		// listener opened above instead.
		kfake.ListenFn(func(string, string) (net.Listener, error) { return ln, nil }),
		kfake.AllowAutoTopicCreation(),
		kfake.DefaultNumPartitions(cfg.partitions),
		kfake.WithLogger(kfakeLogger{cfg.logger}),
	}
	if cfg.dataDir != "" {
		// Without SyncWrites, a crash loses the records that the OS has
		// not yet written to disk, though their producers saw them acked.
		opts = append(opts, kfake.DataDir(cfg.dataDir), kfake.SyncWrites())
	}
	cluster, err := kfake.NewCluster(opts...)
	if err != nil {
		ln.Close()
		return fmt.Errorf("starting the broker: %w", err)
	}
	addr := cluster.ListenAddrs()[0]
	defer func() {
		cluster.Close()
		cfg.logger.Info("broker stopped", "addr", addr)
	}()

	if err := createTopics(ctx, addr, cfg); err != nil {
		return err
	}
	cfg.logger.Info("broker started", "addr", addr, "data", cfg.dataDir, "topics", cfg.topics)
	ready(addr)
	<-ctx.Done()
	cfg.logger.Info("stopping broker", "addr", addr)
	return nil
}

// createTopics creates the --topic topics that do not exist yet. A broker
// restarted on its data folder already has the topics it had.
func createTopics(ctx context.Context, addr string, cfg *devBrokerConfig) error {
	if len(cfg.topics) == 0 {
		return nil
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		return fmt.Errorf("connecting to the broker at %s: %w", addr, err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(ctx, devBrokerTopicTimeout)
	defer cancel()

	resp, err := kadm.NewClient(cl).CreateTopics(ctx, int32(cfg.partitions), 1, nil, cfg.topics...)
	if err != nil {
		return fmt.Errorf("creating topics %v: %w", cfg.topics, err)
	}
	for _, topic := range cfg.topics {
		r := resp[topic]
		switch {
		case errors.Is(r.Err, kerr.TopicAlreadyExists):
			cfg.logger.Info("topic exists", "topic", topic)
		case r.Err != nil:
			return fmt.Errorf("creating topic %s: %w", topic, r.Err)
		default:
			cfg.logger.Info("created topic", "topic", topic, "partitions", r.NumPartitions)
		}
	}
	return nil
}

// kfakeLogger passes kfake's messages to a slog logger. kfake logs each
// request at its info level, so those go to debug.
type kfakeLogger struct{ logger *slog.Logger }

func (l kfakeLogger) Logf(level kfake.LogLevel, format string, args ...any) {
	var slogLevel slog.Level
	switch level {
	case kfake.LogLevelError:
		slogLevel = slog.LevelError
	case kfake.LogLevelWarn:
		slogLevel = slog.LevelWarn
	default:
		slogLevel = slog.LevelDebug
	}
	if l.logger.Enabled(context.Background(), slogLevel) {
		l.logger.Log(context.Background(), slogLevel, "kfake: "+fmt.Sprintf(format, args...))
	}
}
