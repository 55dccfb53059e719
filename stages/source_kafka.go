package stages

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/winnow-data/winnow/pipeline"
)

// EventEmptyRecord counts Kafka records whose value is empty or only
// whitespace, such as the tombstones of a compacted topic. They are
// skipped and counted but not logged.
const EventEmptyRecord = "empty_record"

// ErrKafkaSourceNotRunning is returned by KafkaSource.CommitOffsets before
// Run starts, or when Stop came first and Run never joined the group.
var ErrKafkaSourceNotRunning = errors.New("kafka source is not running: start Run before committing offsets")

// Timings of the Kafka source.
const (
	// kafkaIdleBatchInterval is the longest time between two emitted
	// batches. When no record arrives, Run emits an empty batch so that a
	// committer downstream can cut versions by time.
	kafkaIdleBatchInterval = time.Second
	// kafkaFetchMaxWait is how long a broker waits for records before it
	// responds to a fetch. With one fetch at a time, it bounds the delay
	// before the client sends a fetch to another broker.
	kafkaFetchMaxWait = 500 * time.Millisecond
	// kafkaLogWindow is how often the counts of bad records and fetch
	// errors that were not logged are logged and reset.
	kafkaLogWindow = time.Minute
	// kafkaTopicCheckTimeout bounds the metadata request that checks the
	// topic exists when Run starts.
	kafkaTopicCheckTimeout = 10 * time.Second
)

// kafkaInputScheme starts the input name of a Kafka partition.
const kafkaInputScheme = "kafka://"

// KafkaInputName returns the input name of a partition, as in
// "kafka://crawl/3". Documents carry it in the input column and batches in
// their positions, where a Position's records are the partition's offsets.
func KafkaInputName(topic string, partition int32) string {
	return kafkaInputScheme + topic + "/" + strconv.FormatInt(int64(partition), 10)
}

// ParseKafkaInput returns the topic and partition of an input name that
// KafkaInputName made, and false for any other name.
func ParseKafkaInput(name string) (topic string, partition int32, ok bool) {
	rest, ok := strings.CutPrefix(name, kafkaInputScheme)
	if !ok {
		return "", 0, false
	}
	i := strings.LastIndexByte(rest, '/')
	if i <= 0 {
		return "", 0, false
	}
	topic, digits := rest[:i], rest[i+1:]
	n, err := strconv.ParseInt(digits, 10, 32)
	// Only the canonical form is accepted, so each partition has one name.
	if err != nil || n < 0 || strconv.FormatInt(n, 10) != digits {
		return "", 0, false
	}
	return topic, int32(n), true
}

// KafkaSource reads one topic of Kafka as a member of a consumer group and
// emits document batches. It implements pipeline.Source. Each record's
// value is one JSON document, decoded and mapped by input.fields as a JSON
// line is. Its input name is KafkaInputName(topic, partition) and its
// InputOffset the record's offset. Each batch has one Position per run of
// consecutive offsets of a partition, bad records included, with
// FirstRecord the first offset and EndRecord one past the last; EndOffset
// is 0, because a partition has no byte stream.
//
// The source reads with isolation level read_committed, so records of
// aborted transactions are never emitted, and it never commits offsets
// itself: the caller commits them with CommitOffsets once their documents
// are inside a committed version.
//
// Memory: Run polls only between emits, so while emit blocks, nothing is
// polled. The client fetches one response at a time (MaxConcurrentFetches
// 1) and does not fetch again until Run has polled the whole response. A
// response contains at most input.kafka.fetch_max_bytes of record batches,
// as sent on the wire, or one whole batch when the first batch is larger,
// because brokers always return it so that consumers make progress. Compressed
// batches count at their compressed size, so the decompressed records
// can take more. Besides the client's buffer, Run holds at most
// input.batch_size polled records and the batch it is building.
type KafkaSource struct {
	cfg       pipeline.InputConfig // with the Kafka defaults applied
	env       pipeline.Env
	paths     columnPaths
	maxRecord int
	// clientOpts are added to the client's options. Tests shorten the
	// heartbeat interval with them.
	clientOpts []kgo.Opt

	stop     chan struct{} // closed by Stop
	stopOnce sync.Once
	ran      atomic.Bool // Run was called

	// activity is the time of the last record or partition assignment,
	// in Unix nanoseconds, from which stop_when_idle counts.
	activity atomic.Int64

	// commitMu orders CommitOffsets against the revocation callbacks: a
	// partition leaves owned only while no commit is in flight, and a
	// commit only includes partitions in owned.
	commitMu sync.Mutex

	// closed is closed once Run has left the group.
	closed chan struct{}

	mu     sync.Mutex // guards the fields below
	client *kgo.Client
	owned  map[int32]int64 // partitions owned now, to the highest committed offset known (-1 for none)
	// reached is, per partition, the offset after the last record read or
	// where reading started, for stop_at_end.
	reached map[int32]int64
	// left is owned as it was when Run left the group, nil before.
	left         map[int32]int64
	startOffsets func(topic string, partitions []int32) (map[int32]int64, error)
}

var _ pipeline.Source = (*KafkaSource)(nil)

// NewKafkaSource checks cfg and returns a source that reads cfg.Kafka's
// topic. It applies the Kafka defaults, brokers from WINNOW_KAFKA_BROKERS
// included, and a zero BatchSize or BatchBytes takes the pipeline default.
// It does not contact the brokers: Run does.
func NewKafkaSource(cfg pipeline.InputConfig, env pipeline.Env) (*KafkaSource, error) {
	if cfg.Format != "" && cfg.Format != pipeline.FormatKafka {
		return nil, fmt.Errorf("input.format: invalid value %q for a Kafka source: use kafka", cfg.Format)
	}
	if len(cfg.Paths) > 0 {
		return nil, fmt.Errorf("input.paths: invalid value %q for a Kafka source: it reads input.kafka.topic, so remove the paths", cfg.Paths)
	}
	cfg.Format = pipeline.FormatKafka

	if cfg.BatchSize == 0 {
		cfg.BatchSize = pipeline.DefaultBatchSize
	}
	if cfg.BatchBytes == 0 {
		cfg.BatchBytes = pipeline.DefaultBatchBytes
	}
	if cfg.BatchSize < 0 || cfg.BatchBytes < 0 {
		return nil, fmt.Errorf("input.batch_size %d, input.batch_bytes %d: invalid values: must be positive", cfg.BatchSize, cfg.BatchBytes)
	}

	cfg.Kafka.Brokers = slices.Clone(cfg.Kafka.Brokers)
	cfg.Kafka.ApplyDefaults()
	if err := cfg.Kafka.Validate(); err != nil {
		return nil, err
	}
	paths, err := newColumnPaths(cfg.Fields)
	if err != nil {
		return nil, err
	}
	if env.Logger == nil {
		env.Logger = slog.New(slog.DiscardHandler)
	}

	return &KafkaSource{
		cfg:       cfg,
		env:       env,
		paths:     paths,
		maxRecord: DefaultMaxRecordBytes,
		stop:      make(chan struct{}),
		closed:    make(chan struct{}),
		owned:     map[int32]int64{},
		reached:   map[int32]int64{},
	}, nil
}

// SetStartOffsets sets the function that returns, for partitions of topic
// that were just assigned, the next offsets that the dataset has recorded
// as consumed. Each partition starts at the greater of that offset and the
// group's committed offset. A partition that fn leaves out, or that has a
// negative offset, starts at the committed offset, or at start_at when the
// group has committed none. An error from fn fails the assignment, which
// the client logs and retries after rejoining the group. Call it before
// Run.
func (s *KafkaSource) SetStartOffsets(fn func(topic string, partitions []int32) (map[int32]int64, error)) {
	s.mu.Lock()
	s.startOffsets = fn
	s.mu.Unlock()
}

// kafkaCommitWait bounds how long CommitOffsets waits for a rebalance in
// progress before it gives up; see commitAsMember.
const kafkaCommitWait = 5 * time.Second

// Assigned returns the partitions that this member owns now and whose
// start offsets are resolved. CommitOffsets commits only these.
func (s *KafkaSource) Assigned() map[int32]bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[int32]bool, len(s.owned))
	for p := range s.owned {
		out[p] = true
	}
	return out
}

// Stop ends Run as if the input were exhausted: Run emits the batch it is
// building and returns nil. It is safe to call more than once, from any
// goroutine, and before Run, which then returns at once.
func (s *KafkaSource) Stop() {
	s.stopOnce.Do(func() { close(s.stop) })
}

func (s *KafkaSource) stopped() bool {
	select {
	case <-s.stop:
		return true
	default:
		return false
	}
}

// CommitOffsets commits next offsets (the offset of the next record to
// read, per partition) of the configured topic for the consumer group.
// It skips every partition that this member does not own at the time of
// the commit. It also skips every offset that is not greater than the
// highest committed offset known for the partition. So a commit never
// moves an offset backwards and never writes a partition that a rebalance
// gave to another member. It returns the offsets it committed, which can
// be fewer than requested when the error is not nil. The error names each
// partition that the broker rejected, for example because a rebalance is
// in progress, and a later call can commit it again.
//
// After Run returns, this member has left the group, and CommitOffsets
// commits only the partitions it owned when it left (see
// commitAfterLeaving). The broker accepts that commit only while the group
// has no member, because then no member owns a partition. Before Run
// starts, it returns ErrKafkaSourceNotRunning.
func (s *KafkaSource) CommitOffsets(ctx context.Context, next map[int32]int64) (map[int32]int64, error) {
	// Holding commitMu until the commit is done keeps the revocation
	// callbacks waiting, so no partition in the request can move to
	// another member before the broker has applied the commit.
	s.commitMu.Lock()
	defer s.commitMu.Unlock()

	s.mu.Lock()
	cl, left := s.client, s.left
	s.mu.Unlock()
	switch {
	case cl != nil:
		return s.commitAsMember(ctx, cl, next)
	case left != nil:
		return s.commitAfterLeaving(ctx, next)
	}
	return map[int32]int64{}, ErrKafkaSourceNotRunning
}

// commitAsMember commits next, as CommitOffsets describes, through the
// group session of cl. The caller holds commitMu.
func (s *KafkaSource) commitAsMember(ctx context.Context, cl *kgo.Client, next map[int32]int64) (map[int32]int64, error) {
	committed := map[int32]int64{}
	s.mu.Lock()
	request := map[int32]kgo.EpochOffset{}
	for p, offset := range next {
		if known, ok := s.owned[p]; ok && offset > known {
			request[p] = kgo.EpochOffset{Epoch: -1, Offset: offset}
		}
	}
	s.mu.Unlock()
	if len(request) == 0 {
		return committed, nil
	}

	topic, group := s.cfg.Kafka.Topic, s.cfg.Kafka.Group
	var failed []error
	// CommitOffsetsSync waits for a join or sync of the group to end, and
	// the revocation callback of that rebalance waits for commitMu, which
	// this call holds. The bound breaks that cycle: the commit gives up,
	// the rebalance goes on, and the next version commits the offsets.
	commitCtx, cancel := context.WithTimeout(ctx, kafkaCommitWait)
	defer cancel()
	cl.CommitOffsetsSync(commitCtx, map[string]map[int32]kgo.EpochOffset{topic: request},
		func(_ *kgo.Client, req *kmsg.OffsetCommitRequest, resp *kmsg.OffsetCommitResponse, err error) {
			if err != nil {
				failed = append(failed, err)
				return
			}
			for _, t := range resp.Topics {
				if !sameCommitTopic(req, t, topic) {
					continue
				}
				for _, p := range t.Partitions {
					want, ok := request[p.Partition]
					if !ok {
						continue
					}
					if err := kerr.ErrorForCode(p.ErrorCode); err != nil {
						failed = append(failed, fmt.Errorf("partition %d: %w", p.Partition, err))
						continue
					}
					committed[p.Partition] = want.Offset
				}
			}
		})

	s.mu.Lock()
	for p, offset := range committed {
		if known, ok := s.owned[p]; ok && offset > known {
			s.owned[p] = offset
		}
	}
	s.mu.Unlock()
	s.env.Logger.Debug("committed kafka offsets", "topic", topic, "group", group, "offsets", committed)
	if len(failed) > 0 {
		return committed, fmt.Errorf("committing offsets of kafka topic %s for group %s: %w", topic, group, errors.Join(failed...))
	}
	return committed, nil
}

// commitAfterLeaving commits next for the partitions that this member
// owned when Run left the group, so that a caller can commit the offsets
// of the last version, which it cuts after Run returns. It sends a commit
// outside any group session (generation -1), which the broker rejects
// with UNKNOWN_MEMBER_ID while the group has members, since they own the
// partitions now. An offset is committed only when it is greater than
// the highest known and than the group's committed offset, read just
// before. The caller holds commitMu.
//
// NOTE: a member that joins, commits and leaves between that read and
// the commit could see its offset moved back. Nothing in the group
// protocol closes that window outside a group session.
func (s *KafkaSource) commitAfterLeaving(ctx context.Context, next map[int32]int64) (map[int32]int64, error) {
	committed := map[int32]int64{}
	select {
	case <-s.closed:
	case <-ctx.Done():
		return committed, ctx.Err()
	}
	s.mu.Lock()
	request := map[int32]int64{}
	for p, offset := range next {
		if known, ok := s.left[p]; ok && offset > known {
			request[p] = offset
		}
	}
	s.mu.Unlock()
	if len(request) == 0 {
		return committed, nil
	}

	topic, group := s.cfg.Kafka.Topic, s.cfg.Kafka.Group
	cl, err := kgo.NewClient(kgo.SeedBrokers(s.cfg.Kafka.Brokers...), kgo.ClientID("winnow"), kgo.WithLogger(kgoLogger{s.env.Logger}))
	if err != nil {
		return committed, fmt.Errorf("committing offsets of kafka topic %s for group %s: creating the client: %w", topic, group, err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	current, err := adm.FetchOffsets(ctx, group)
	if err != nil {
		return committed, fmt.Errorf("reading the committed offsets of group %s: %w", group, err)
	}
	var offsets kadm.Offsets
	for p, offset := range request {
		if o, ok := current.Lookup(topic, p); ok && o.Err == nil && o.At >= offset {
			continue
		}
		offsets.AddOffset(topic, p, offset, -1)
	}
	if len(offsets) == 0 {
		return committed, nil
	}

	resp, err := adm.CommitOffsets(ctx, group, offsets)
	if err != nil {
		return committed, fmt.Errorf("committing offsets of kafka topic %s for group %s after leaving it: %w", topic, group, err)
	}
	var failed []error
	resp.Each(func(o kadm.OffsetResponse) {
		if o.Topic != topic {
			return
		}
		switch {
		case errors.Is(o.Err, kerr.UnknownMemberID):
			failed = append(failed, fmt.Errorf("partition %d: %w: the group has members again, and they own the partitions now", o.Partition, o.Err))
		case o.Err != nil:
			failed = append(failed, fmt.Errorf("partition %d: %w", o.Partition, o.Err))
		default:
			committed[o.Partition] = o.At
		}
	})

	s.mu.Lock()
	for p, offset := range committed {
		s.left[p] = max(s.left[p], offset)
	}
	s.mu.Unlock()
	s.env.Logger.Debug("committed kafka offsets after leaving the group", "topic", topic, "group", group, "offsets", committed)
	if len(failed) > 0 {
		return committed, fmt.Errorf("committing offsets of kafka topic %s for group %s after leaving it: %w", topic, group, errors.Join(failed...))
	}
	return committed, nil
}

// sameCommitTopic reports whether t, a topic of the response to req, is
// topic. From OffsetCommit version 10 on, a response can name its topics
// by topic ID only, so the ID is matched against the request's.
func sameCommitTopic(req *kmsg.OffsetCommitRequest, t kmsg.OffsetCommitResponseTopic, topic string) bool {
	if t.Topic != "" {
		return t.Topic == topic
	}
	for _, rt := range req.Topics {
		if rt.Topic == topic && rt.TopicID == t.TopicID {
			return true
		}
	}
	return false
}

// Run joins the consumer group, reads the partitions assigned to this
// member and emits batches. When Stop is called, or with stop_when_idle
// when no record arrived for that long, it emits the batch it is building
// and returns nil. When ctx is done it returns ctx.Err() without emitting,
// and when emit fails it returns emit's error. Bad records are counted and
// logged, never returned. Run leaves the group and closes the client
// before it returns. It may be called once.
func (s *KafkaSource) Run(ctx context.Context, emit func(*pipeline.Batch) error) error {
	if s.ran.Swap(true) {
		return errors.New("kafka source: Run called twice: build a new source to read again")
	}
	if s.stopped() {
		return nil
	}
	cl, err := kgo.NewClient(s.clientOptions()...)
	if err != nil {
		return fmt.Errorf("kafka input %s: creating the client: %w", s.cfg.Kafka.Topic, err)
	}
	s.mu.Lock()
	s.client = cl
	s.mu.Unlock()
	defer s.closeClient(cl)

	// runCtx ends the poll that is waiting when Stop is called.
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-s.stop:
			cancel()
		case <-runCtx.Done():
		}
	}()

	s.touch()
	s.checkTopic(runCtx, cl)
	return s.consume(ctx, runCtx, cl, emit)
}

// consume is Run's poll loop.
func (s *KafkaSource) consume(ctx, runCtx context.Context, cl *kgo.Client, emit func(*pipeline.Batch) error) error {
	out := &kafkaBatcher{
		bb: pipeline.NewBatchBuilder(), emit: emit,
		maxDocs: s.cfg.BatchSize, maxBytes: s.cfg.BatchBytes,
		last: map[string]int{}, lastEmit: time.Now(),
	}
	events := newKafkaEvents(s.env, s.cfg.Kafka.Topic)
	defer events.flush()
	decoder := jsonRecordDecoder{mapper: jsonMapper{paths: s.paths}}
	idleLimit := s.cfg.Kafka.StopWhenIdle
	var ends map[int32]int64
	if s.cfg.Kafka.StopAtEnd {
		var err error
		if ends, err = s.endOffsets(runCtx, cl); err != nil {
			return err
		}
	}

	for {
		if err := ctx.Err(); err != nil {
			out.discard()
			return err
		}
		if s.stopped() {
			s.env.Logger.Info("kafka input stopped", "topic", s.cfg.Kafka.Topic)
			return out.flush()
		}
		// Time blocked in emit moves the idle clock forward, since no
		// record could arrive while the source was not polling.
		s.activity.Add(int64(out.takeBlocked()))
		now := time.Now()
		idle := now.Sub(time.Unix(0, s.activity.Load()))
		if ends != nil && s.atEnd(ends) {
			s.env.Logger.Info("kafka input ended: every owned partition was read to the end it had at the start (stop_at_end)", "topic", s.cfg.Kafka.Topic)
			return out.flush()
		}
		if idleLimit > 0 && idle >= idleLimit {
			s.env.Logger.Info("kafka input ended: no record arrived for stop_when_idle", "topic", s.cfg.Kafka.Topic, "stop_when_idle", idleLimit)
			return out.flush()
		}
		if now.Sub(out.lastEmit) >= kafkaIdleBatchInterval {
			if err := out.tick(); err != nil {
				return err
			}
		}
		events.rotate(now)

		// Wait for records until the next empty batch or the idle limit,
		// whichever comes first.
		wait := kafkaIdleBatchInterval - time.Since(out.lastEmit)
		if idleLimit > 0 {
			wait = min(wait, idleLimit-idle)
		}
		pollCtx, cancelPoll := context.WithTimeout(runCtx, max(wait, time.Millisecond))
		fetches := cl.PollRecords(pollCtx, s.cfg.BatchSize)
		cancelPoll()

		fetches.EachError(func(topic string, partition int32, err error) {
			if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, kgo.ErrClientClosed) {
				return
			}
			events.fetchError(topic, partition, err)
		})
		for iter := fetches.RecordIter(); !iter.Done(); {
			if err := s.addRecord(iter.Next(), &decoder, out, events); err != nil {
				out.discard()
				return err
			}
		}
		// Emit what was read as soon as the client has nothing more
		// buffered, so that latency stays bounded when records trickle in.
		if fetches.NumRecords() > 0 && cl.BufferedFetchRecords() == 0 {
			if err := out.flush(); err != nil {
				return err
			}
		}
	}
}

// addRecord turns one record into a document of the batch being built,
// or covers it in the batch's positions when it is bad.
func (s *KafkaSource) addRecord(r *kgo.Record, decoder *jsonRecordDecoder, out *kafkaBatcher, events *kafkaEvents) error {
	s.touch()
	if s.cfg.Kafka.StopAtEnd {
		s.mu.Lock()
		s.reached[r.Partition] = max(s.reached[r.Partition], r.Offset+1)
		s.mu.Unlock()
	}
	part := events.partition(r.Partition)
	var d pipeline.Doc
	if !s.decodeRecord(r, decoder, part.events, &d) {
		out.cover(part.name, r.Offset)
		return nil
	}
	d.Input = part.name
	d.InputOffset = r.Offset
	if d.ID == "" {
		d.ID = derivedID(part.name, r.Offset)
	}
	return out.add(&d)
}

// decodeRecord fills d from the value of r and reports whether it holds a
// document. It counts a bad record on events.
func (s *KafkaSource) decodeRecord(r *kgo.Record, decoder *jsonRecordDecoder, events *inputEvents, d *pipeline.Doc) bool {
	if len(r.Value) > s.maxRecord {
		events.add(EventOversizedRecord, "offset", r.Offset, errRecordTooLarge(s.maxRecord))
		return false
	}
	if len(skipSpaceBytes(r.Value)) == 0 {
		events.count(EventEmptyRecord)
		return false
	}
	return decoder.decode(r.Value, events, "offset", r.Offset, d)
}

// touch restarts the stop_when_idle clock.
func (s *KafkaSource) touch() { s.activity.Store(time.Now().UnixNano()) }

// clientOptions returns the options of Run's client.
func (s *KafkaSource) clientOptions() []kgo.Opt {
	k := s.cfg.Kafka
	start := kgo.NewOffset().AtStart()
	if k.StartAt == pipeline.KafkaStartLatest {
		start = kgo.NewOffset().AtEnd()
	}
	fetchMax := int32(k.FetchMaxBytes)
	opts := []kgo.Opt{
		kgo.SeedBrokers(k.Brokers...),
		kgo.ClientID("winnow"),
		kgo.WithLogger(kgoLogger{s.env.Logger}),
		kgo.ConsumerGroup(k.Group),
		kgo.ConsumeTopics(k.Topic),
		kgo.DisableAutoCommit(),
		kgo.ConsumeResetOffset(start),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.FetchMaxBytes(fetchMax),
		kgo.FetchMaxPartitionBytes(fetchMax),
		kgo.MaxConcurrentFetches(1),
		kgo.SessionTimeout(k.SessionTimeout),
		kgo.HeartbeatInterval(min(3*time.Second, k.SessionTimeout/3)),
		// A rebalance waits this long for every member to rejoin, and a
		// member that died mid-rebalance holds it up that long. Members
		// rejoin at once here (revoking only waits for an offset commit in
		// flight), so the session timeout is enough, where kgo's default
		// of a minute would stall the group after each crash.
		kgo.RebalanceTimeout(k.SessionTimeout),
		kgo.FetchMaxWait(kafkaFetchMaxWait),
		// A response can be one record batch larger than FetchMaxBytes, and
		// the client's default limit of 100 MiB would reject a larger one.
		kgo.BrokerMaxReadBytes(max(100<<20, 2*fetchMax)),
		kgo.OnPartitionsAssigned(s.onAssigned),
		kgo.OnPartitionsRevoked(func(ctx context.Context, _ *kgo.Client, revoked map[string][]int32) {
			s.release(revoked, "kafka partitions revoked", slog.LevelInfo)
		}),
		kgo.OnPartitionsLost(func(ctx context.Context, _ *kgo.Client, lost map[string][]int32) {
			s.release(lost, "kafka partitions lost: the group session ended before they could be revoked", slog.LevelWarn)
		}),
		kgo.AdjustFetchOffsetsFn(s.adjustStart),
	}
	return append(opts, s.clientOpts...)
}

// onAssigned logs a new assignment. The partitions join owned once their
// start offsets are resolved, in adjustStart.
func (s *KafkaSource) onAssigned(_ context.Context, _ *kgo.Client, assigned map[string][]int32) {
	s.touch()
	parts := slices.Sorted(slices.Values(assigned[s.cfg.Kafka.Topic]))
	if len(parts) > 0 {
		s.env.Logger.Info("kafka partitions assigned", "topic", s.cfg.Kafka.Topic, "group", s.cfg.Kafka.Group, "partitions", parts)
	}
}

// adjustStart runs after the client fetched the group's committed offsets
// of newly assigned partitions and before it fetches records. It records
// the committed offsets as the highest known, moves each start forward to
// the dataset's recorded offset when that is greater, and adds the
// partitions to owned.
func (s *KafkaSource) adjustStart(_ context.Context, offsets map[string]map[int32]kgo.Offset) (map[string]map[int32]kgo.Offset, error) {
	topic := s.cfg.Kafka.Topic
	starts := offsets[topic]
	if len(starts) == 0 {
		return offsets, nil
	}
	parts := slices.Sorted(maps.Keys(starts))
	// A partition without a committed offset has a negative one here:
	// the client's sentinel for the start or end of the partition.
	committed := make(map[int32]int64, len(parts))
	for _, p := range parts {
		committed[p] = max(starts[p].EpochOffset().Offset, -1)
	}

	s.mu.Lock()
	fn := s.startOffsets
	s.mu.Unlock()
	var recorded map[int32]int64
	if fn != nil {
		var err error
		if recorded, err = fn(topic, parts); err != nil {
			s.env.Logger.Error("reading the dataset's kafka offsets failed; the group will retry the assignment", "topic", topic, "partitions", parts, "err", err)
			return nil, fmt.Errorf("reading the dataset's offsets of kafka topic %s: %w", topic, err)
		}
	}

	for _, p := range parts {
		start, from := committed[p], "committed"
		if r, ok := recorded[p]; ok && r >= 0 && r > start {
			starts[p] = kgo.NewOffset().At(r)
			start, from = r, "dataset"
		}
		if start < 0 {
			s.env.Logger.Info("starting kafka partition", "topic", topic, "partition", p, "start_at", s.cfg.Kafka.StartAt)
		} else {
			s.env.Logger.Info("starting kafka partition", "topic", topic, "partition", p, "offset", start, "from", from)
		}
	}

	s.mu.Lock()
	for _, p := range parts {
		if known, ok := s.owned[p]; !ok || committed[p] > known {
			s.owned[p] = committed[p]
		}
		start := committed[p]
		if r, ok := recorded[p]; ok && r > start {
			start = r
		}
		if start < 0 {
			start = 0 // start_at earliest
			if s.cfg.Kafka.StartAt == pipeline.KafkaStartLatest {
				start = math.MaxInt64
			}
		}
		s.reached[p] = max(s.reached[p], start)
	}
	s.mu.Unlock()
	return offsets, nil
}

// atEnd reports, for stop_at_end, whether every partition this member
// owns has been read up to its end offset in ends.
func (s *KafkaSource) atEnd(ends map[int32]int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.owned) == 0 {
		return false
	}
	for p := range s.owned {
		if s.reached[p] < ends[p] {
			return false
		}
	}
	return true
}

// endOffsets returns the end offset of every partition of the topic now.
func (s *KafkaSource) endOffsets(ctx context.Context, cl *kgo.Client) (map[int32]int64, error) {
	listed, err := kadm.NewClient(cl).ListEndOffsets(ctx, s.cfg.Kafka.Topic)
	if err != nil {
		return nil, fmt.Errorf("kafka input %s: reading the end offsets for stop_at_end: %w", s.cfg.Kafka.Topic, err)
	}
	ends := map[int32]int64{}
	var failed error
	listed.Each(func(o kadm.ListedOffset) {
		if o.Err != nil {
			failed = fmt.Errorf("kafka input %s: reading the end offset of partition %d for stop_at_end: %w", o.Topic, o.Partition, o.Err)
			return
		}
		ends[o.Partition] = o.Offset
	})
	return ends, failed
}

// release removes revoked or lost partitions from owned and logs msg. It
// waits for a commit in flight, so the commit cannot include a partition
// after the group gave it to another member.
func (s *KafkaSource) release(partitions map[string][]int32, msg string, level slog.Level) {
	parts := slices.Sorted(slices.Values(partitions[s.cfg.Kafka.Topic]))
	if len(parts) == 0 {
		return
	}
	s.commitMu.Lock()
	s.mu.Lock()
	for _, p := range parts {
		delete(s.owned, p)
	}
	s.mu.Unlock()
	s.commitMu.Unlock()
	s.env.Logger.Log(context.Background(), level, msg, "topic", s.cfg.Kafka.Topic, "group", s.cfg.Kafka.Group, "partitions", parts)
}

// checkTopic logs a warning when the topic does not exist, since the
// source then waits, emitting empty batches, until it is created.
func (s *KafkaSource) checkTopic(runCtx context.Context, cl *kgo.Client) {
	ctx, cancel := context.WithTimeout(runCtx, kafkaTopicCheckTimeout)
	defer cancel()
	topic := s.cfg.Kafka.Topic
	details, err := kadm.NewClient(cl).ListTopics(ctx, topic)
	switch {
	case runCtx.Err() != nil:
		// The source was stopped or canceled, and the poll loop returns.
	case err != nil:
		s.env.Logger.Warn("reading kafka topic metadata failed; consuming anyway", "topic", topic, "brokers", s.cfg.Kafka.Brokers, "err", err)
	case !details.Has(topic):
		s.env.Logger.Warn("kafka topic not found; waiting for it to be created", "topic", topic, "brokers", s.cfg.Kafka.Brokers)
	default:
		s.env.Logger.Info("reading kafka topic", "topic", topic, "partitions", len(details[topic].Partitions), "group", s.cfg.Kafka.Group, "brokers", s.cfg.Kafka.Brokers)
	}
}

// closeClient leaves the group and closes cl. It keeps the partitions
// owned at that moment in left, for commitAfterLeaving.
func (s *KafkaSource) closeClient(cl *kgo.Client) {
	// Under commitMu, no commit through the group session is in flight
	// when the client is taken away.
	s.commitMu.Lock()
	s.mu.Lock()
	s.client = nil
	s.left = maps.Clone(s.owned)
	s.mu.Unlock()
	s.commitMu.Unlock()

	cl.Close()
	s.mu.Lock()
	clear(s.owned)
	s.mu.Unlock()
	close(s.closed)
	s.env.Logger.Info("left kafka consumer group", "topic", s.cfg.Kafka.Topic, "group", s.cfg.Kafka.Group, "partitions", slices.Sorted(maps.Keys(s.left)))
}

// kafkaBatcher cuts documents into batches as the file source's batcher
// does, by input.batch_size and input.batch_bytes, and keeps one position
// per run of consecutive offsets of each partition, whatever the order in
// which partitions interleave.
type kafkaBatcher struct {
	bb        *pipeline.BatchBuilder
	emit      func(*pipeline.Batch) error
	seq       uint64
	maxDocs   int
	maxBytes  int
	positions []pipeline.Position
	last      map[string]int // input name to the index of its latest position
	lastEmit  time.Time
	// blocked is the time spent in emit since takeBlocked last returned
	// it. The source does not poll then, so it is not idle time.
	blocked time.Duration
}

// add appends d, emitting the batch being built first when it is full.
func (b *kafkaBatcher) add(d *pipeline.Doc) error {
	if b.bb.Len() >= b.maxDocs || b.bb.TextBytes() >= b.maxBytes {
		if err := b.flush(); err != nil {
			return err
		}
	}
	b.bb.Append(d)
	b.cover(d.Input, d.InputOffset)
	return nil
}

// cover adds the record at offset of input to the positions of the batch
// being built.
func (b *kafkaBatcher) cover(input string, offset int64) {
	if i, ok := b.last[input]; ok && b.positions[i].EndRecord == offset {
		b.positions[i].EndRecord++
		return
	}
	b.last[input] = len(b.positions)
	b.positions = append(b.positions, pipeline.Position{Input: input, FirstRecord: offset, EndRecord: offset + 1})
}

// flush emits the batch being built, if it has documents or positions.
func (b *kafkaBatcher) flush() error {
	if b.bb.Len() == 0 && len(b.positions) == 0 {
		return nil
	}
	return b.emitBuilt()
}

// tick emits the batch being built, or an empty batch when there is none.
func (b *kafkaBatcher) tick() error {
	return b.emitBuilt()
}

func (b *kafkaBatcher) emitBuilt() error {
	for _, p := range b.positions {
		b.bb.AddPosition(p)
	}
	batch := b.bb.Build(b.seq)
	b.seq++
	b.positions = b.positions[:0]
	clear(b.last)
	start := time.Now()
	err := b.emit(batch)
	b.lastEmit = time.Now()
	b.blocked += b.lastEmit.Sub(start)
	return err
}

// takeBlocked returns the time spent in emit since its last call.
func (b *kafkaBatcher) takeBlocked() time.Duration {
	d := b.blocked
	b.blocked = 0
	return d
}

// discard frees the batch being built after the run stopped.
func (b *kafkaBatcher) discard() {
	b.bb.Build(b.seq).Release()
	b.positions = b.positions[:0]
	clear(b.last)
}

// kafkaPartition is a partition's input name and the counter of its bad
// records.
type kafkaPartition struct {
	name   string
	events *inputEvents
}

// kafkaEvents counts and logs bad records per partition, and fetch
// errors. Each partition logs at most maxLoggedEvents of each reason per
// kafkaLogWindow; the rest are counted, and their number is logged when
// the window ends.
type kafkaEvents struct {
	env         pipeline.Env
	topic       string
	partitions  map[int32]*kafkaPartition
	fetchErrors int
	windowStart time.Time
}

func newKafkaEvents(env pipeline.Env, topic string) *kafkaEvents {
	return &kafkaEvents{env: env, topic: topic, partitions: map[int32]*kafkaPartition{}, windowStart: time.Now()}
}

// partition returns the state of partition p, creating it on first use.
func (e *kafkaEvents) partition(p int32) *kafkaPartition {
	if part, ok := e.partitions[p]; ok {
		return part
	}
	name := KafkaInputName(e.topic, p)
	env := pipeline.Env{Logger: e.env.Logger.With("topic", e.topic, "partition", p), Events: e.env.Events}
	part := &kafkaPartition{name: name, events: &inputEvents{env: env, path: name, counts: map[string]int64{}}}
	e.partitions[p] = part
	return part
}

// fetchError logs a fetch error that the client did not handle itself.
func (e *kafkaEvents) fetchError(topic string, partition int32, err error) {
	e.fetchErrors++
	if e.fetchErrors <= maxLoggedEvents {
		e.env.Logger.Warn("fetching kafka records failed; the client retries", "topic", topic, "partition", partition, "err", err)
	}
}

// rotate ends the log window when it is kafkaLogWindow old.
func (e *kafkaEvents) rotate(now time.Time) {
	if now.Sub(e.windowStart) < kafkaLogWindow {
		return
	}
	e.flush()
	for _, part := range e.partitions {
		clear(part.events.counts)
	}
	e.fetchErrors = 0
	e.windowStart = now
}

// flush logs how many events were counted but not logged.
func (e *kafkaEvents) flush() {
	for _, p := range slices.Sorted(maps.Keys(e.partitions)) {
		e.partitions[p].events.flush()
	}
	if e.fetchErrors > maxLoggedEvents {
		e.env.Logger.Warn("more kafka fetch errors than logged", "topic", e.topic, "count", e.fetchErrors, "logged", maxLoggedEvents)
	}
}

// kgoLogger passes the Kafka client's warnings and errors to a slog
// logger. Its info and debug messages are too many for a run's log.
type kgoLogger struct{ logger *slog.Logger }

func (l kgoLogger) Level() kgo.LogLevel { return kgo.LogLevelWarn }

func (l kgoLogger) Log(level kgo.LogLevel, msg string, keyvals ...any) {
	slogLevel := slog.LevelWarn
	if level == kgo.LogLevelError {
		slogLevel = slog.LevelError
	}
	l.logger.Log(context.Background(), slogLevel, "kafka client: "+msg, keyvals...)
}
