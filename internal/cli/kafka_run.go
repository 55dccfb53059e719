package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/winnow-data/winnow/pipeline"
	"github.com/winnow-data/winnow/stages"
)

// ReasonRedelivered marks rows of a Kafka version that an earlier version
// already holds. After a rebalance, the member that lost a partition and
// the member that got it may both have read the same records. The one
// that commits second deletes its copies instead of rewriting its shards.
const ReasonRedelivered = "kafka_redelivered"

func init() {
	pipeline.DeclareReasons("commit", ReasonRedelivered)
}

// kafkaRow is the origin of a row written since the last Kafka version,
// with the amounts the manifest's totals count for it.
type kafkaRow struct {
	partition int32
	offset    int64
	bytes     int64
	tokens    int64
	lang      string
	source    string
}

// kafkaState is the committer's record of a Kafka run between versions.
type kafkaState struct {
	source *stages.KafkaSource
	topic  string
	group  string

	rows []kafkaRow      // rows written since the last version, in order
	next map[int32]int64 // next offset per partition reached since the last version

	shards  int             // shards the sink had written at the last version
	rejects int             // rejects files at the last version
	totals  pipeline.Totals // sink totals at the last version
	langs   map[string]pipeline.Totals
	sources map[string]pipeline.Totals
	names   map[string]string // interned languages and sources
	commits int
	dropped int64 // rows left out in shards that an earlier version already listed
}

// startOffsets returns the next offsets that the latest version records
// for topic. A member that is assigned a partition starts there when the
// group's committed offset is behind, because the process that committed
// the version may have died before it committed the offsets.
func (p *plan) startOffsets(topic string, _ []int32) (map[int32]int64, error) {
	latest, err := pipeline.LatestVersion(p.store)
	if errors.Is(err, pipeline.ErrNoVersions) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	m, err := pipeline.ReadManifest(p.store, latest)
	if err != nil {
		return nil, err
	}
	rec := m.KafkaOf(topic)
	if rec == nil {
		return nil, nil
	}
	return rec.Offsets()
}

// trackKafka records the rows and positions of a batch the sink wrote.
func (k *kafkaState) track(b *pipeline.Batch) error {
	for _, pos := range b.Positions {
		topic, partition, ok := stages.ParseKafkaInput(pos.Input)
		if !ok || topic != k.topic {
			return fmt.Errorf("kafka commit: batch %d covers input %q, not a partition of topic %s", b.Seq, pos.Input, k.topic)
		}
		if pos.EndRecord > k.next[partition] {
			k.next[partition] = pos.EndRecord
		}
	}
	if b.LiveCount() == 0 {
		return nil
	}
	inputs, texts := b.Strings(pipeline.ColInput), b.Strings(pipeline.ColText)
	langs, sources := b.Strings(pipeline.ColLang), b.Strings(pipeline.ColSource)
	offsets := b.Column(pipeline.ColInputOffset).(interface{ Value(int) int64 })
	tokens := b.Column(pipeline.ColTokenCount).(interface{ Value(int) int32 })
	// Rows of one partition come in runs, so the input name is parsed once
	// per run.
	lastInput, partition := "", int32(0)
	for i := range b.Len() {
		if !b.Alive(i) {
			continue
		}
		if input := inputs.Value(i); input != lastInput {
			_, p, ok := stages.ParseKafkaInput(input)
			if !ok {
				return fmt.Errorf("kafka commit: row %d of batch %d comes from %q, not from Kafka", i, b.Seq, input)
			}
			lastInput, partition = input, p
		}
		// The totals count what the shard writer counts: text bytes and
		// the token_count column as it is.
		k.rows = append(k.rows, kafkaRow{
			partition: partition, offset: offsets.Value(i),
			bytes: int64(texts.ValueLen(i)), tokens: int64(tokens.Value(i)),
			lang: k.intern(langs.Value(i), stages.LangUndetermined), source: k.intern(sources.Value(i), "unknown"),
		})
	}
	return nil
}

// intern returns a copy of s that the state keeps, or empty when s is "".
// Row strings alias their batch's buffers, which must not stay alive
// until the next version.
func (k *kafkaState) intern(s, empty string) string {
	if s == "" {
		s = empty
	}
	if v, ok := k.names[s]; ok {
		return v
	}
	if k.names == nil {
		k.names = map[string]string{}
	}
	v := strings.Clone(s)
	k.names[v] = v
	return v
}

// pending reports whether anything was read since the last version.
func (k *kafkaState) pending() bool { return len(k.rows) > 0 || len(k.next) > 0 }

// commitKafka commits the documents written since the last version as a
// new version appended to the latest one, then commits their offsets to
// the consumer group. The version records the next offset of every
// partition. Rows at offsets that the latest version already covers are
// deleted from the new version, so a record read by two members around a
// rebalance is kept once. Offsets go to Kafka only after the version is
// committed, and only for partitions this member still owns.
func (p *plan) commitKafka(ctx context.Context) (string, *pipeline.Manifest, error) {
	k := p.kafka
	if !k.pending() {
		return "", nil, nil
	}
	if err := p.sink.Close(ctx); err != nil {
		return "", nil, err
	}
	if p.rejects != nil {
		if err := p.rejects.Close(ctx); err != nil {
			return "", nil, err
		}
	}
	unlock, err := pipeline.LockCommits(p.store, commitLockWait)
	if err != nil {
		return "", nil, err
	}
	defer func() {
		if unlock != nil {
			unlock()
		}
	}()
	parent, err := pipeline.LatestVersion(p.store)
	if err != nil && !errors.Is(err, pipeline.ErrNoVersions) {
		return "", nil, fmt.Errorf("reading the latest version: %w", err)
	}
	var prior *pipeline.Manifest
	if parent != "" {
		if prior, err = pipeline.ReadManifest(p.store, parent); err != nil {
			return "", nil, fmt.Errorf("reading the version to append to: %w", err)
		}
	}
	m, err := p.ownManifest("", "", parent)
	if err != nil {
		return "", nil, err
	}
	m.Inputs = nil
	m.Shards = slices.Clone(p.sink.Shards()[k.shards:])
	if p.rejects != nil {
		m.Rejects = slices.Clone(p.rejects.Files()[k.rejects:])
	}
	m.Totals = subTotals(p.sink.Totals(), k.totals)
	m.Languages = subTotalMaps(p.sink.Languages(), k.langs)
	m.Sources = subTotalMaps(p.sink.Sources(), k.sources)

	rec := pipeline.KafkaRecord{Topic: k.topic, Group: k.group}
	if prior != nil {
		if old := prior.KafkaOf(k.topic); old != nil {
			rec.Next = maps.Clone(old.Next)
		}
	}
	deletions := k.fence(&rec, m, prior)
	for partition, next := range k.next {
		rec.Advance(partition, next)
	}
	if prior != nil {
		appendVersion(m, prior)
		for _, other := range prior.Kafka {
			if other.Topic != k.topic {
				m.Kafka = append(m.Kafka, other)
			}
		}
	}
	m.Kafka = append(m.Kafka, rec)
	slices.SortFunc(m.Kafka, func(a, b pipeline.KafkaRecord) int { return strings.Compare(a.Topic, b.Topic) })
	m.Deletions = append(m.Deletions, deletions...)
	if mc := p.cfg.Balance.Mixture; mc != nil && m.Balance != nil {
		m.Balance.Mixture = mixtureRecord(mc, m.Balance)
	}
	m.Message = fmt.Sprintf("kafka topic %s, group %s", k.topic, k.group)
	id, err := pipeline.Commit(p.store, m)
	if err != nil {
		return "", nil, fmt.Errorf("committing version: %w", err)
	}
	unlock()
	unlock = nil

	newShards := len(p.sink.Shards()) - k.shards
	k.reset(p)
	offsets, err := rec.Offsets()
	if err != nil {
		return id, m, err
	}
	committed, err := k.source.CommitOffsets(ctx, offsets)
	if err != nil {
		// The version holds the documents; the next owner of the
		// partitions starts from its offsets, so nothing is read twice.
		p.logger.Warn("version committed, but committing its offsets to the consumer group failed", "version", id, "error", err)
	}
	p.logger.Info("kafka version committed", "version", id, "docs", m.Totals.Docs, "new_shards", newShards, "offsets", committed)
	return id, m, nil
}

// fence deletes from m the rows whose offsets rec, the latest version's
// record, already covers, and subtracts them from m's totals. A new shard
// whose path prior already lists has the same bytes, so the same records:
// it is left out whole, since deletions name shards by path and would
// also hide the rows of the earlier copy.
func (k *kafkaState) fence(rec *pipeline.KafkaRecord, m, prior *pipeline.Manifest) []pipeline.Deletion {
	listed := map[string]bool{}
	if prior != nil {
		for _, sh := range prior.Shards {
			listed[sh.Path] = true
		}
	}
	var out []pipeline.Deletion
	var shards []pipeline.ShardRecord
	row := 0
	for _, sh := range m.Shards {
		whole := listed[sh.Path]
		listed[sh.Path] = true
		var rows []int64
		for r := int64(0); r < sh.Rows; r++ {
			kr := k.rows[row]
			row++
			next, ok := rec.NextOffset(kr.partition)
			if !whole && (!ok || kr.offset >= next) {
				continue
			}
			rows = append(rows, r)
			t := pipeline.Totals{Docs: 1, Bytes: kr.bytes, Tokens: kr.tokens}
			m.Totals = subTotals(m.Totals, t)
			m.Languages[kr.lang] = subTotals(m.Languages[kr.lang], t)
			m.Sources[kr.source] = subTotals(m.Sources[kr.source], t)
		}
		switch {
		case whole:
			k.dropped += int64(len(rows))
		case len(rows) > 0:
			out = append(out, pipeline.Deletion{Shard: sh.Path, Rows: rows, Reason: ReasonRedelivered})
			shards = append(shards, sh)
		default:
			shards = append(shards, sh)
		}
	}
	m.Shards = shards
	return out
}

// reset starts the tracking of the next version.
func (k *kafkaState) reset(p *plan) {
	k.rows = nil
	k.next = map[int32]int64{}
	k.shards = len(p.sink.Shards())
	if p.rejects != nil {
		k.rejects = len(p.rejects.Files())
	}
	k.totals = p.sink.Totals()
	k.langs = p.sink.Languages()
	k.sources = p.sink.Sources()
	k.commits++
	// Each version counts the balance of its own documents; appending
	// merges it with the earlier versions'.
	p.balance.Reset()
}

func subTotalMaps(a, b map[string]pipeline.Totals) map[string]pipeline.Totals {
	out := map[string]pipeline.Totals{}
	for k, v := range a {
		if d := subTotals(v, b[k]); d != (pipeline.Totals{}) {
			out[k] = d
		}
	}
	return out
}

// kafkaDue reports whether a Kafka version is due by output.commit_every.
func (c *committer) kafkaDue() bool {
	return c.p.kafka.pending() && c.due()
}

// writeKafka is the committer's Write for a Kafka run.
func (c *committer) writeKafka(ctx context.Context, b *pipeline.Batch) error {
	if err := c.p.sink.Write(ctx, b); err != nil {
		return err
	}
	if err := c.others.Write(ctx, b); err != nil {
		return err
	}
	c.docsSince += int64(b.LiveCount())
	if err := c.p.kafka.track(b); err != nil {
		return err
	}
	if !c.kafkaDue() {
		return nil
	}
	if _, _, err := c.p.commitKafka(ctx); err != nil {
		return err
	}
	c.last = time.Now()
	c.docsSince = 0
	return nil
}

// kafkaRunSource gives the Kafka source the interface of a run's source.
// Its inputs are partitions, which the manifest's Kafka records describe.
type kafkaRunSource struct{ *stages.KafkaSource }

func (kafkaRunSource) Inputs() []pipeline.InputRecord { return nil }

// resolvedInput is the input section of the manifest's resolved config.
// Broker addresses are left out because they locate the topic rather than
// describe what was read.
func resolvedInput(in pipeline.InputConfig) map[string]any {
	out := map[string]any{"format": in.Format, "fields": toPlain(in.Fields)}
	if in.Format == pipeline.FormatKafka {
		out["kafka"] = map[string]any{"topic": in.Kafka.Topic, "group": in.Kafka.Group, "start_at": in.Kafka.StartAt}
	}
	return out
}

// runContext returns the run's context. SIGINT or SIGTERM cancels a file
// run. A Kafka run has no end, so the first signal stops fetching and
// lets the run drain and commit a last version. A second one cancels it.
func runContext(p *plan, logger *slog.Logger) (context.Context, func()) {
	if p.kafka == nil {
		return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	}
	ctx, cancel := context.WithCancel(context.Background())
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		select {
		case <-sigs:
		case <-ctx.Done():
			return
		}
		logger.Info("stopping: no more fetching; committing what was read (signal again to abandon it)")
		p.kafka.source.Stop()
		select {
		case <-sigs:
			cancel()
		case <-ctx.Done():
		}
	}()
	return ctx, func() {
		signal.Stop(sigs)
		cancel()
	}
}

// runKafka runs a pipeline that reads a Kafka topic: it commits a version
// every output.commit_every while it reads, and a last one when the input
// ends (input.kafka.stop_when_idle) or the run is stopped.
func runKafka(ctx context.Context, p *plan, f *runFlags, stdout io.Writer, logger *slog.Logger) error {
	if f.resume || f.restart {
		logger.Info("--resume and --restart do not apply to Kafka: a run starts from the offsets of the latest version and of its consumer group")
	}

	k := p.cfg.Input.Kafka
	logger.Info("run starting", "topic", k.Topic, "group", k.Group, "brokers", len(k.Brokers), "stages", len(p.pipeline.Stages), "output", p.cfg.Output.Root)
	start := time.Now()
	if err := p.pipeline.Run(ctx); err != nil {
		p.sink.Discard()
		return fmt.Errorf("run stopped; versions committed before stay: %w", err)
	}

	id, m, err := p.commitKafka(ctx)
	if err != nil {
		return err
	}
	elapsed := time.Since(start)

	if m == nil && p.kafka.commits == 0 {
		fmt.Fprintf(stdout, "no new record in topic %s for group %s; no version committed\n", k.Topic, k.Group)
		return nil
	}
	if m == nil {
		// The last version this run committed holds everything it read.
		latest, err := pipeline.LatestVersion(p.store)
		if err != nil {
			return err
		}
		if m, err = pipeline.ReadManifest(p.store, latest); err != nil {
			return err
		}
		id = latest
	}

	logger.Info("run finished", "version", id, "versions_committed", p.kafka.commits, "docs", m.Totals.Docs)
	sum := newSummary(p.cfg.Output.Root, m, p.pipeline.Metrics(), elapsed, true)
	if f.jsonOut {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(sum)
	}
	sum.writeTable(stdout)
	return nil
}
