package cli

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"maps"
	"path"
	"slices"
	"time"

	"github.com/winnow-data/winnow/pipeline"
	"github.com/winnow-data/winnow/stages"
)

// RunsDir holds one pointer file per unfinished run, under a folder named
// by the run's key: runs/<key>/<run id>.json. A run writes its pointer when
// it starts and after every checkpoint, and removes it once its last
// version is committed, so a pointer whose process is gone marks a run to
// resume.
const RunsDir = "runs"

// runPointer is the content of a run's pointer file.
type runPointer struct {
	RunID string `json:"run_id"`
	Key   string `json:"key"`
	// Lease is the lease file of the process working on the run; the run
	// is orphaned when that lease is gone or stale.
	Lease string `json:"lease"`
	// Checkpoint is the run's newest checkpoint version, "" before the
	// first one.
	Checkpoint string    `json:"checkpoint,omitempty"`
	Started    time.Time `json:"started"`         // when the first attempt started
	Attempt    time.Time `json:"attempt_started"` // when the current attempt started
	Attempts   int       `json:"attempts"`
}

func (r *runPointer) path() string { return path.Join(RunsDir, r.Key, r.RunID+".json") }

// runState is the state of a run that lasts across its attempts.
type runState struct {
	pointer runPointer
	// from is the checkpoint this attempt resumed from, nil for a first
	// attempt or one that found no checkpoint.
	from *pipeline.Manifest
	// replay is set when this attempt re-reads the consumed records
	// instead of skipping them; see needsReplay.
	replay bool
	// checkpoint is the newest checkpoint committed by this attempt.
	checkpoint string
}

// runKey hashes what makes two runs the same run: the resolved config, the
// inputs in reading order and the worker share.
func (p *plan) runKey(worker, workers int) (string, error) {
	canonical, err := json.Marshal(p.resolved)
	if err != nil {
		return "", fmt.Errorf("encoding the resolved config: %w", err)
	}
	h := sha256.New()
	h.Write(canonical)
	for _, name := range p.inputNames() {
		fmt.Fprintf(h, "\x00%s", name)
	}
	fmt.Fprintf(h, "\x00worker %d of %d", worker, workers)
	return hex.EncodeToString(h.Sum(nil))[:32], nil
}

// inputNames returns the names of the run's file inputs in reading order.
func (p *plan) inputNames() []string {
	var names []string
	if p.files != nil {
		for _, in := range p.files.Resolved() {
			names = append(names, in.Name)
		}
	}
	return names
}

// needsReplay reports whether a resumed run must re-read the documents
// before its checkpoint instead of skipping them. A deduplication stage
// starts from the checkpoint's kept documents. That is its whole state
// only when no later stage drops documents it let through. Otherwise the
// consumed records pass through the stages again, and the sink discards
// them.
func needsReplay(chain []pipeline.StageInstance) bool {
	dedup := false
	for _, s := range chain {
		if _, ok := s.Stage.(pipeline.Seeder); ok {
			dedup = true
			continue
		}
		if dedup && len(pipeline.ReasonsOf(s.Name)) > 0 {
			return true
		}
	}
	return false
}

// prepareRun finds an unfinished run of the same key whose process is
// gone, and makes this process continue it. The source starts at the
// checkpoint, and the deduplication stages start from its documents. The
// files the dead attempt wrote after it are deleted. prepareRun then
// writes this attempt's pointer. It returns done when the run already
// committed its last version and nothing is left to do.
func (p *plan) prepareRun(ctx context.Context, key string, restart bool, lease *pipeline.Lease, logger *slog.Logger) (done bool, err error) {
	now := time.Now().UTC()
	p.run = &runState{pointer: runPointer{Key: key, Lease: lease.Name(), Started: now, Attempt: now, Attempts: 1}}

	unlock, err := pipeline.LockCommits(p.store, commitLockWait)
	if err != nil {
		return false, err
	}
	defer func() {
		if unlock != nil {
			unlock()
		}
	}()
	orphans, err := orphanedRuns(p.store, key, now)
	if err != nil {
		return false, err
	}
	if restart {
		for _, o := range orphans {
			logger.Info("starting over: dropping an unfinished run", "run", o.RunID, "checkpoint", o.Checkpoint)
			if err := dropRun(p.store, o); err != nil {
				return false, err
			}
		}
		orphans = nil
	}
	if len(orphans) > 0 {
		// Continue the run that got furthest; later ones of the same key
		// would repeat its work, so they are dropped.
		o := orphans[0]
		for _, extra := range orphans[1:] {
			logger.Warn("dropping a second unfinished run of the same config", "run", extra.RunID, "kept_run", o.RunID)
			if err := dropRun(p.store, extra); err != nil {
				return false, err
			}
		}
		finished, err := finishedVersion(p.store, o.RunID)
		if err != nil {
			return false, err
		}
		if finished != "" {
			logger.Info("the unfinished run had committed its last version already; nothing to resume", "run", o.RunID, "version", finished)
			return true, dropRun(p.store, o)
		}
		p.run.pointer = o
		p.run.pointer.Lease = lease.Name()
		p.run.pointer.Attempt = now
		p.run.pointer.Attempts++
		if o.Checkpoint != "" {
			cp, err := pipeline.ReadManifest(p.store, o.Checkpoint)
			if err != nil {
				return false, fmt.Errorf("resuming run %s: %w", o.RunID, err)
			}
			if cp.Run == nil || cp.Run.Next == nil || cp.Run.ID != o.RunID {
				return false, fmt.Errorf("resuming run %s: version %s is not a checkpoint of it", o.RunID, cp.ID)
			}
			p.run.from = cp
			p.run.checkpoint = cp.ID
		}
		if err := p.removeOrphanFiles(o.Attempt); err != nil {
			return false, err
		}
	} else {
		id := make([]byte, 8)
		if _, err := rand.Read(id); err != nil {
			return false, err
		}
		p.run.pointer.RunID = hex.EncodeToString(id)
	}
	if err := writePointer(p.store, &p.run.pointer); err != nil {
		return false, err
	}
	unlock()
	unlock = nil

	if cp := p.run.from; cp != nil {
		p.run.replay = needsReplay(p.pipeline.Stages)
		if err := p.files.SetResume(*cp.Run.Next, cp.Inputs, p.run.replay); err != nil {
			return false, err
		}
		mode := "skipping the documents before it"
		if p.run.replay {
			mode = "replaying the documents before it, because a stage after deduplication drops documents"
		} else if err := p.seedFrom(ctx, cp, logger); err != nil && !errors.Is(err, errNoSeeders) {
			return false, err
		}
		logger.Info("resuming an unfinished run", "run", p.run.pointer.RunID, "attempt", p.run.pointer.Attempts,
			"checkpoint", cp.ID, "next", cp.Run.Next.String(), "docs", cp.Totals.Docs, "mode", mode)
	} else if p.run.pointer.Attempts > 1 {
		logger.Info("restarting an unfinished run from the beginning: it committed no checkpoint", "run", p.run.pointer.RunID, "attempt", p.run.pointer.Attempts)
	}
	return false, nil
}

// orphanedRuns returns the pointers of unfinished runs of key whose
// process is gone, the one with the most documents first.
func orphanedRuns(store pipeline.Store, key string, now time.Time) ([]runPointer, error) {
	names, err := store.List(path.Join(RunsDir, key))
	if err != nil {
		return nil, fmt.Errorf("listing unfinished runs: %w", err)
	}
	if len(names) == 0 {
		return nil, nil
	}
	leases, err := pipeline.ReadLeases(store)
	if err != nil {
		return nil, err
	}

	live := map[string]bool{}
	for _, l := range leases {
		if !l.Stale(now) {
			live[l.Name] = true
		}
	}

	var out []runPointer
	progress := map[string]int64{}
	for _, name := range names {
		var r runPointer
		if err := readJSON(store, path.Join(RunsDir, key, name), &r); err != nil {
			return nil, fmt.Errorf("reading unfinished run: %w", err)
		}
		if live[r.Lease] {
			continue // its process still works on it
		}
		if r.Checkpoint != "" {
			if m, err := pipeline.ReadManifest(store, r.Checkpoint); err == nil {
				progress[r.RunID] = m.Totals.Docs + 1
			}
		}
		out = append(out, r)
	}

	slices.SortStableFunc(out, func(a, b runPointer) int {
		if d := progress[b.RunID] - progress[a.RunID]; d != 0 {
			return int(min(max(d, -1), 1))
		}
		return b.Attempt.Compare(a.Attempt)
	})
	return out, nil
}

// finishedVersion returns the version that committed run id's documents
// as its last version, or "".
func finishedVersion(store pipeline.Store, id string) (string, error) {
	list, err := pipeline.ListVersions(store)
	if err != nil {
		return "", err
	}
	for _, m := range list {
		if m.Run != nil && m.Run.ID == id && !m.Run.Checkpoint {
			return m.ID, nil
		}
	}
	return "", nil
}

// dropRun removes a run's pointer and its checkpoint manifest. The files
// only that checkpoint referenced are left to `winnow gc`.
func dropRun(store pipeline.Store, r runPointer) error {
	if r.Checkpoint != "" {
		if err := removeVersionFile(store, r.Checkpoint); err != nil {
			return err
		}
	}
	if err := removeFile(store, r.path()); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("removing the pointer of run %s: %w", r.RunID, err)
	}
	return nil
}

// removeVersionFile deletes a checkpoint's manifest, which no reader
// needs once a newer checkpoint or the run's last version holds its
// documents.
func removeVersionFile(store pipeline.Store, id string) error {
	err := removeFile(store, path.Join(pipeline.VersionsDir, id+".json"))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("removing checkpoint %s: %w", id, err)
	}
	return nil
}

// removeOrphanFiles deletes what the dead attempt wrote after its last
// checkpoint: the shards and rejects files that no version lists, written
// after the attempt started and before the oldest live lease of another
// process. Temporary files are left to gc. The caller holds the commit
// lock.
func (p *plan) removeOrphanFiles(since time.Time) error {
	versions, err := pipeline.ListVersions(p.store)
	if err != nil {
		return err
	}
	referenced := map[string]bool{}
	for _, m := range versions {
		for _, f := range slices.Concat(m.Shards, m.Rejects) {
			referenced[f.Path] = true
		}
	}

	leases, err := pipeline.ReadLeases(p.store)
	if err != nil {
		return err
	}
	now := time.Now()
	var protectSince time.Time
	for _, l := range leases {
		if l.Name == p.run.pointer.Lease {
			continue // this process's own lease protects nothing it has not written yet
		}
		if start := l.StartedAt.Add(-leaseClockSlack); !l.Stale(now) && (protectSince.IsZero() || start.Before(protectSince)) {
			protectSince = start
		}
	}

	cutoff := since.Add(-leaseClockSlack)
	for _, dir := range gcDirs {
		names, err := p.store.List(dir)
		if err != nil {
			return err
		}
		for _, name := range names {
			rel := path.Join(dir, name)
			if referenced[rel] {
				continue
			}
			info, err := p.store.Stat(rel)
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			if err != nil {
				return err
			}
			if mod := info.ModTime(); mod.Before(cutoff) || (!protectSince.IsZero() && !mod.Before(protectSince)) {
				continue
			}
			if err := removeFile(p.store, rel); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("removing %s, left by the interrupted attempt: %w", rel, err)
			}
			p.logger.Info("removed a file of the interrupted attempt", "file", rel, "bytes", info.Size())
		}
	}
	return nil
}

// removeFile deletes name from store.
func removeFile(store pipeline.Store, name string) error {
	r, ok := store.(pipeline.Remover)
	if !ok {
		return fmt.Errorf("removing %s from %s: the store cannot delete files", name, store)
	}
	return r.Remove(name)
}

func writePointer(store pipeline.Store, r *runPointer) error {
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := store.WriteFile(r.path(), append(data, '\n')); err != nil {
		return fmt.Errorf("writing the pointer of run %s: %w", r.RunID, err)
	}
	return nil
}

func readJSON(store pipeline.Store, name string, v any) error {
	rc, err := store.Open(name)
	if err != nil {
		return err
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		return fmt.Errorf("reading %s: %w", name, err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("reading %s: %w", name, err)
	}
	return nil
}

// finishRun removes the run's pointer and last checkpoint once its last
// version is committed.
func (p *plan) finishRun() error {
	if p.run == nil {
		return nil
	}
	r := p.run.pointer
	r.Checkpoint = p.run.checkpoint
	return dropRun(p.store, r)
}

// runRecord describes this run for a manifest.
func (p *plan) runRecord(next *pipeline.ResumePoint) *pipeline.RunRecord {
	if p.run == nil {
		return nil
	}
	rec := &pipeline.RunRecord{
		ID:         p.run.pointer.RunID,
		Key:        p.run.pointer.Key,
		Checkpoint: next != nil,
		Next:       next,
		Attempts:   p.run.pointer.Attempts,
	}
	if from := p.run.from; from != nil {
		rec.Resumed = append(slices.Clone(from.Run.Resumed), from.ID)
	}
	return rec
}

// mergeAttempt makes m, the manifest of this attempt's documents, hold
// the documents of the checkpoint it resumed from before its own. Inputs
// need no merge: the source reports the inputs before the checkpoint with
// the records the checkpoint kept of them.
func mergeAttempt(m, from *pipeline.Manifest, replayed bool) {
	m.Shards = append(slices.Clone(from.Shards), m.Shards...)
	m.Rejects = append(slices.Clone(from.Rejects), m.Rejects...)
	addKept(m, from)
	if from.Balance != nil && m.Balance != nil && from.Balance.SourceKey == m.Balance.SourceKey {
		m.Balance.Merge(from.Balance)
	}
	if !replayed {
		// A replaying attempt counted the earlier documents again itself.
		m.Stages = mergeStageRecords(from.Stages, m.Stages)
	}
}

// mergeStageRecords adds the counts of an earlier attempt's stages to this
// attempt's.
func mergeStageRecords(earlier, now []pipeline.StageRecord) []pipeline.StageRecord {
	byName := map[string]pipeline.StageRecord{}
	for _, s := range earlier {
		byName[s.Name] = s
	}
	out := slices.Clone(now)
	for i, s := range out {
		e, ok := byName[s.Name]
		if !ok {
			continue
		}
		s.DocsIn += e.DocsIn
		s.DocsOut += e.DocsOut
		s.BytesIn += e.BytesIn
		s.BytesOut += e.BytesOut
		s.Dropped = addCounts(e.Dropped, s.Dropped)
		s.Events = addCounts(e.Events, s.Events)
		out[i] = s
	}
	return out
}

func addCounts(a, b map[string]int64) map[string]int64 {
	if len(a) == 0 && len(b) == 0 {
		return nil
	}
	out := maps.Clone(b)
	if out == nil {
		out = map[string]int64{}
	}
	for k, v := range a {
		out[k] += v
	}
	return out
}

// committer is the run's sink: it hands each batch to the shard writer and
// the other sinks, and commits versions while the run reads. For files it
// commits a checkpoint at the first shard boundary after output.commit_every
// is reached, so a resumed run writes the same shards an uninterrupted one
// does.
type committer struct {
	p      *plan
	others teeSink // balance and rejects, after the shard writer

	last      time.Time // last commit, or the start
	started   time.Time // first write, for output.max_bytes_per_second
	written   int64     // text bytes written since started
	docsSince int64     // documents written since the last commit
	sealed    int       // shards covered by the last checkpoint
	inputIdx  map[string]int
}

func (c *committer) Write(ctx context.Context, b *pipeline.Batch) error {
	if b.Replay {
		return nil // committed by an earlier attempt
	}
	if err := c.throttle(ctx, b); err != nil {
		return err
	}
	if c.p.kafka != nil {
		return c.writeKafka(ctx, b)
	}
	sink := c.p.sink
	if err := sink.Write(ctx, b); err != nil {
		return err
	}
	c.docsSince += int64(b.LiveCount())

	seal := sink.LastSeal()
	if c.p.run == nil || !seal.Valid() || seal.Shards <= c.sealed || seal.Batch != b.Seq || !c.due() {
		return c.others.Write(ctx, b)
	}
	// The shard writer finished a shard inside b: the rows before the
	// seal row are consumed, the rest belong after the checkpoint.
	head := b.Slice(0, seal.Row)
	err := c.others.Write(ctx, head)
	head.Release()
	if err != nil {
		return err
	}

	next, err := c.resumePoint(b, seal.Row)
	if err != nil {
		return err
	}
	if err := c.p.checkpoint(ctx, seal, next); err != nil {
		return err
	}

	c.sealed = seal.Shards
	c.last = time.Now()
	c.docsSince = 0
	tail := b.Slice(seal.Row, b.Len())
	defer tail.Release()
	return c.others.Write(ctx, tail)
}

func (c *committer) Close(ctx context.Context) error {
	if err := c.p.sink.Close(ctx); err != nil {
		return err
	}
	return c.others.Close(ctx)
}

// throttle waits until writing b's text keeps the sink within
// output.max_bytes_per_second since its first write.
func (c *committer) throttle(ctx context.Context, b *pipeline.Batch) error {
	rate := c.p.cfg.Output.MaxBytesPerSecond
	if rate <= 0 {
		return nil
	}
	if c.started.IsZero() {
		c.started = time.Now()
	}
	c.written += b.LiveTextBytes()
	ahead := time.Duration(float64(c.written)/float64(rate)*float64(time.Second)) - time.Since(c.started)
	if ahead <= 0 {
		return nil
	}
	select {
	case <-time.After(ahead):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// due reports whether a commit is due by output.commit_every.
func (c *committer) due() bool {
	every := c.p.cfg.Output.CommitEvery
	if every == nil {
		return false
	}
	if every.Docs > 0 && c.docsSince >= every.Docs {
		return true
	}
	return every.Seconds > 0 && time.Since(c.last).Seconds() >= every.Seconds
}

// resumePoint returns the position of row i of b: its input and record.
func (c *committer) resumePoint(b *pipeline.Batch, i int) (*pipeline.ResumePoint, error) {
	if c.inputIdx == nil {
		c.inputIdx = map[string]int{}
		for j, name := range c.p.inputNames() {
			c.inputIdx[name] = j
		}
	}
	input := b.Strings(pipeline.ColInput).Value(i)
	idx, ok := c.inputIdx[input]
	if !ok {
		return nil, fmt.Errorf("checkpoint: row %d of batch %d names input %q, which the run does not read", i, b.Seq, input)
	}
	offset := b.Column(pipeline.ColInputOffset).(interface{ Value(int) int64 }).Value(i)
	return &pipeline.ResumePoint{InputIndex: idx, Input: input, Record: offset}, nil
}

// checkpoint commits the run's documents up to seal as a held version
// that records next as the place to resume, then points the run's pointer
// at it and removes the checkpoint before it.
func (p *plan) checkpoint(ctx context.Context, seal stages.SealPoint, next *pipeline.ResumePoint) error {
	if p.rejects != nil {
		if err := p.rejects.Close(ctx); err != nil {
			return err
		}
	}
	unlock, err := pipeline.LockCommits(p.store, commitLockWait)
	if err != nil {
		return err
	}
	defer unlock()
	parent, err := pipeline.LatestVersion(p.store)
	if err != nil && !errors.Is(err, pipeline.ErrNoVersions) {
		return fmt.Errorf("reading the latest version: %w", err)
	}

	m, err := p.ownManifest("", "", parent)
	if err != nil {
		return err
	}
	m.Shards = slices.Clone(p.sink.Shards()[:seal.Shards])
	m.Totals, m.Languages, m.Sources = seal.Totals, seal.Langs, seal.Sources
	m.Inputs = p.files.InputsDone(next.InputIndex)
	if p.run.from != nil {
		mergeAttempt(m, p.run.from, p.run.replay)
	}
	m.Run = p.runRecord(next)
	m.Message = fmt.Sprintf("checkpoint of run %s at %s", p.run.pointer.RunID, next)

	id, err := pipeline.CommitHeld(p.store, m)
	if err != nil {
		return fmt.Errorf("committing checkpoint: %w", err)
	}

	previous := p.run.checkpoint
	p.run.checkpoint = id
	p.run.pointer.Checkpoint = id
	if err := writePointer(p.store, &p.run.pointer); err != nil {
		return err
	}
	if previous != "" {
		if err := removeVersionFile(p.store, previous); err != nil {
			return err
		}
	}
	p.logger.Info("checkpoint committed", "version", id, "docs", m.Totals.Docs, "shards", len(m.Shards), "next", next.String())
	return nil
}
