package cli

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/winnow-data/winnow"
	"github.com/winnow-data/winnow/mixture"
	"github.com/winnow-data/winnow/pipeline"
	"github.com/winnow-data/winnow/stages"
)

type runFlags struct {
	output      string
	config      string
	only, skip  string
	workers     int
	tag         string
	message     string
	jsonOut     bool
	logFormat   string
	logLevel    string
	metricsAddr string
	progress    string
	cpuProfile  string
	against     string
	appendTo    bool
	rejects     bool
	failOnCheck bool
	resume      bool
	restart     bool
	worker      int // index of this process among workerCount, or -1
	workerCount int // processes that split the inputs (--workers with --worker), or 0
}

func runCommand(args []string, stdout, stderr io.Writer) error {
	var f runFlags
	fs := flag.NewFlagSet("winnow run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&f.output, "o", "", "dataset root to write the new version to (default ./winnow-out, or output.root of the config)")
	fs.StringVar(&f.output, "output", "", "same as -o")
	fs.StringVar(&f.config, "c", "", "YAML pipeline config file; without it every option has its default")
	fs.StringVar(&f.config, "config", "", "same as -c")
	fs.StringVar(&f.only, "only", "", "comma-separated stages to run, a subset of the configured chain, in its order")
	fs.StringVar(&f.skip, "skip", "", "comma-separated stages of the configured chain to leave out")
	fs.IntVar(&f.workers, "workers", 0, "workers per concurrent stage (default: workers of the config, else one per CPU); with --worker, the number of processes that split the inputs instead")
	fs.StringVar(&f.tag, "tag", "", "tag to record in the new version's manifest")
	fs.StringVar(&f.message, "m", "", "message to record in the new version's manifest")
	fs.BoolVar(&f.jsonOut, "json", false, "print the run summary as JSON on stdout instead of a table")
	fs.StringVar(&f.logFormat, "log-format", "text", "log format on stderr: text or json")
	fs.StringVar(&f.logLevel, "log-level", "info", "minimum log level: debug, info, warn or error")
	fs.StringVar(&f.metricsAddr, "metrics-addr", "", "serve Prometheus metrics at this address while the run lasts, e.g. 127.0.0.1:9090")
	fs.StringVar(&f.progress, "progress", "auto", "live progress line on stderr: auto (when stdout is a terminal), always or never")
	fs.StringVar(&f.against, "dedup-against", "", "VERSION of the output root (or latest) whose documents exact_dedup and near_dedup treat as already kept, so new copies of them are dropped")
	fs.BoolVar(&f.appendTo, "append", false, "make the new version the latest version's documents plus this run's, instead of this run's alone")
	fs.BoolVar(&f.rejects, "rejects", false, "write every dropped document, with its reason and measured signal, to Parquet files under ROOT/rejects (as output.rejects: true)")
	fs.StringVar(&f.cpuProfile, "cpuprofile", "", "write a Go CPU profile of the run to this file, for `go tool pprof`")
	fs.IntVar(&f.worker, "worker", -1, "index I of this process among the --workers N processes that split the inputs by a hash of each input's name, 0 <= I < N; with it --workers is N, and the workers per stage come from the config; implies --append (see Running on a cluster)")
	fs.BoolVar(&f.resume, "resume", false, "continue an unfinished run of the same config and inputs from its last checkpoint (a run does this on its own when it finds one; the flag only says so in the log when there is none)")
	fs.BoolVar(&f.restart, "restart", false, "drop any unfinished run of the same config and inputs and start from the beginning")
	fs.BoolVar(&f.failOnCheck, "fail-on-expectation", false, "when a data test of the config's expectations section fails, commit the version without moving latest to it and exit 3")
	inputs, err := parseFlags(fs, args)
	if err != nil {
		return err
	}

	switch f.progress {
	case "auto", "always", "never":
	default:
		return usageError{fmt.Errorf("--progress: invalid value %q: use auto, always or never", f.progress)}
	}
	status := &statusWriter{w: stderr}
	logger, err := newLogger(status, f.logFormat, f.logLevel)
	if err != nil {
		return usageError{err}
	}
	if err := checkWorkerFlags(fs, &f); err != nil {
		return usageError{err}
	}
	cfg, err := resolveConfig(fs, &f, inputs)
	if err != nil {
		return usageError{err}
	}
	if f.failOnCheck && cfg.Expectations == nil {
		return usageError{errors.New("--fail-on-expectation: the config has no expectations section to check")}
	}
	plan, err := buildPlan(cfg, logger)
	if err != nil {
		return usageError{err}
	}

	if plan.kafka != nil && f.workerCount > 0 {
		return usageError{errors.New("--worker: a Kafka run splits the partitions among the members of its consumer group, not by --worker; start several runs with the same input.kafka.group")}
	}
	if f.workerCount > 0 {
		plan.files.KeepWorkerShare(f.worker, f.workerCount)
		if len(plan.files.Resolved()) == 0 {
			logger.Warn("no input falls to this worker; nothing to commit", "worker", f.worker, "workers", f.workerCount)
			return nil
		}
		logger.Info("worker share", "worker", f.worker, "workers", f.workerCount, "inputs", len(plan.files.Resolved()))
	}

	ctx, stop := runContext(plan, logger)
	defer stop()
	if f.against != "" {
		if err := plan.seed(ctx, f.against, logger); err != nil {
			return usageError{err}
		}
		if f.against == "latest" && f.appendTo {
			logger.Warn("--dedup-against latest reads the latest version now, but --append adds to the latest version at commit; a run that commits to this root meanwhile is not deduplicated against")
		}
	}
	if f.metricsAddr != "" {
		_, shutdown, err := serveMetrics(f.metricsAddr, plan.pipeline.Metrics(), logger)
		if err != nil {
			return usageError{err}
		}
		defer shutdown()
	}
	if showProgress(f.progress, stdout) {
		done := startProgress(status, plan.pipeline.Metrics())
		defer done()
	}

	if f.cpuProfile != "" {
		stopProfile, err := startCPUProfile(f.cpuProfile)
		if err != nil {
			return usageError{err}
		}
		defer stopProfile()
	}
	// The lease keeps `winnow gc` off the shards this run writes before it
	// commits them.
	lease, err := pipeline.TakeLease(plan.store, "run")
	if err != nil {
		return err
	}
	defer lease.Release()
	if f.resume && f.restart {
		return usageError{errors.New("--resume and --restart: give one or the other")}
	}
	if plan.kafka != nil {
		return runKafka(ctx, plan, &f, stdout, logger)
	}
	key, err := plan.runKey(f.worker, f.workerCount)
	if err != nil {
		return err
	}
	done, err := plan.prepareRun(ctx, key, f.restart, lease, logger)
	if err != nil {
		return err
	}
	if done {
		return nil
	}
	if f.resume && plan.run.pointer.Attempts == 1 {
		logger.Info("--resume: no unfinished run of this config and these inputs; starting from the beginning")
	}
	logger.Info("run starting", "inputs", len(plan.files.Resolved()), "stages", len(plan.pipeline.Stages), "output", cfg.Output.Root)
	start := time.Now()
	if err := plan.pipeline.Run(ctx); err != nil {
		plan.sink.Discard()
		return fmt.Errorf("run stopped, no version committed: %w", err)
	}
	elapsed := time.Since(start)

	src := plan.pipeline.Metrics().Stages[0]
	if src.DocsOut.Load() == 0 && plan.run.from == nil {
		return fmt.Errorf("no documents read from %d inputs (%s); no version committed", len(plan.source.Inputs()), formatCounts(src.Events()))
	}
	// Workers that share a root each add their documents to the latest
	// version under the commit lock, so the last commit holds them all.
	plan.appendTo = f.appendTo || f.workerCount > 0
	id, m, err := plan.commitChecked(ctx, f.tag, f.message, f.failOnCheck)
	if err != nil {
		return err
	}
	if err := plan.finishRun(); err != nil {
		logger.Warn("the version is committed, but the run's pointer is left behind; the next run of this config finds the version and removes it", "version", id, "error", err)
	}
	logger.Info("version committed", "version", id, "docs", m.Totals.Docs, "shards", len(m.Shards))
	failed := logExpectations(logger, m)

	sum := newSummary(cfg.Output.Root, m, plan.pipeline.Metrics(), elapsed, plan.appendTo || plan.run.from != nil)
	if f.jsonOut {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(sum); err != nil {
			return err
		}
	} else {
		sum.writeTable(stdout)
		if m.Expectations != nil {
			fmt.Fprintln(stdout)
			writeExpectations(stdout, m.Expectations)
		}
	}
	if m.Expectations != nil && m.Expectations.Held {
		return &expectationError{version: id, failed: failed, held: true}
	}
	return nil
}

// checkWorkerFlags checks --worker and, when it is given, takes --workers
// as the number of processes that split the inputs, as `winnow dedup`
// does. The workers per stage then come from the config's workers.
func checkWorkerFlags(fs *flag.FlagSet, f *runFlags) error {
	set := map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
	switch {
	case !set["worker"]:
		return nil
	case !set["workers"]:
		return fmt.Errorf("--worker %d: missing --workers: give the number of processes that split the inputs", f.worker)
	case f.workers < 1:
		return fmt.Errorf("--workers: invalid value %d: must be at least 1", f.workers)
	case f.worker < 0 || f.worker >= f.workers:
		return fmt.Errorf("--worker: invalid value %d: must be from 0 to %d, one less than --workers %d", f.worker, f.workers-1, f.workers)
	}
	f.workerCount = f.workers
	return nil
}

// resolveConfig loads the config file, or the defaults, and applies the
// command line on top.
func resolveConfig(fs *flag.FlagSet, f *runFlags, inputs []string) (*pipeline.Config, error) {
	var cfg *pipeline.Config
	if f.config != "" {
		c, err := pipeline.LoadConfig(f.config)
		if err != nil {
			return nil, err
		}
		cfg = c
	} else {
		cfg = &pipeline.Config{}
		cfg.ApplyDefaults()
	}

	set := map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
	if set["o"] || set["output"] {
		cfg.Output.Root = f.output
	}
	if f.rejects {
		cfg.Output.Rejects = true
	}
	if set["workers"] && f.workerCount == 0 {
		if f.workers < 1 {
			return nil, fmt.Errorf("--workers: invalid value %d: must be at least 1", f.workers)
		}
		cfg.Workers = f.workers
	}
	if len(inputs) > 0 && cfg.Input.Format == pipeline.FormatKafka {
		return nil, fmt.Errorf("INPUT arguments %q: the config reads Kafka (input.format: kafka), which takes its topic from input.kafka, not from paths", inputs)
	}
	if len(inputs) > 0 {
		cfg.Input.Paths = inputs
	}
	if len(cfg.Input.Paths) == 0 && cfg.Input.Format != pipeline.FormatKafka {
		if f.config != "" {
			return nil, fmt.Errorf("no input: give INPUT arguments or input.paths in %s", f.config)
		}
		path, err := writeSample()
		if err != nil {
			return nil, err
		}
		cfg.Input.Paths = []string{path}
	}

	if err := prependExtract(cfg); err != nil {
		return nil, err
	}
	chain, err := selectStages(cfg.Stages, splitList(f.only), splitList(f.skip))
	if err != nil {
		return nil, err
	}
	cfg.Stages = chain
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if m := cfg.Balance.Mixture; m != nil {
		for _, label := range slices.Sorted(maps.Keys(m.Targets)) {
			if err := stages.CheckLangLabel("balance.mixture.targets", label); err != nil {
				return nil, fmt.Errorf("config: %w", err)
			}
		}
	}
	if e := cfg.Expectations; e != nil {
		for _, label := range slices.Sorted(maps.Keys(e.Languages)) {
			if err := stages.CheckLangLabel("expectations.languages", label); err != nil {
				return nil, fmt.Errorf("config: %w", err)
			}
		}
	}
	return cfg, nil
}

// prependExtract puts the extract stage first in a default chain when an
// input is a WARC or ARC file, whose documents are HTML pages that the
// other stages would read as text.
func prependExtract(cfg *pipeline.Config) error {
	if !cfg.DefaultChain || cfg.Input.Format == pipeline.FormatKafka {
		return nil
	}
	inputs, err := stages.ResolveInputs(cfg.Input.Paths, cfg.Input.Format)
	if err != nil {
		return err
	}
	if stages.HasArchiveInput(inputs) {
		cfg.Stages = append([]pipeline.StageConfig{{Name: "extract"}}, cfg.Stages...)
	}
	return nil
}

// selectStages applies --only and --skip to the configured chain.
func selectStages(chain []pipeline.StageConfig, only, skip []string) ([]pipeline.StageConfig, error) {
	if len(only) > 0 && len(skip) > 0 {
		return nil, errors.New("--only and --skip cannot be combined")
	}
	names := make([]string, len(chain))
	for i, s := range chain {
		names[i] = s.Name
	}
	for _, flagName := range []string{"only", "skip"} {
		list := only
		if flagName == "skip" {
			list = skip
		}
		for _, n := range list {
			if !slices.Contains(names, n) {
				if _, ok := pipeline.Lookup(n); !ok {
					return nil, fmt.Errorf("--%s: unknown stage %q", flagName, n)
				}
				return nil, fmt.Errorf("--%s: stage %q is not in the configured chain %v", flagName, n, names)
			}
		}
	}
	var out []pipeline.StageConfig
	for _, s := range chain {
		if len(only) > 0 && !slices.Contains(only, s.Name) {
			continue
		}
		if slices.Contains(skip, s.Name) {
			continue
		}
		out = append(out, s)
	}
	return out, nil
}

// writeSample writes the bundled sample to the temporary folder, once, and
// returns its path. The file keeps its original name, so the ids derived
// from it do not depend on where it was written.
func writeSample() (string, error) {
	dir := filepath.Join(os.TempDir(), "winnow-sample")
	path := filepath.Join(dir, winnow.SampleName)
	if st, err := os.Stat(path); err == nil && st.Size() == int64(len(winnow.Sample)) {
		return path, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("writing the bundled sample: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".sample-*")
	if err != nil {
		return "", fmt.Errorf("writing the bundled sample: %w", err)
	}
	_, werr := tmp.Write(winnow.Sample)
	cerr := tmp.Close()
	if err := errors.Join(werr, cerr); err != nil {
		os.Remove(tmp.Name())
		return "", fmt.Errorf("writing the bundled sample: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return "", fmt.Errorf("writing the bundled sample: %w", err)
	}
	return path, nil
}

// plan is a run that is built and ready to start.
type plan struct {
	cfg      *pipeline.Config
	resolved map[string]any // the config with every stage's options resolved
	source   runSource
	files    *stages.FileSource // the source when it reads files, else nil
	sink     *stages.ParquetSink
	rejects  *stages.RejectsWriter // nil unless output.rejects is set
	balance  *stages.Balance
	store    pipeline.Store
	pipeline *pipeline.Pipeline
	appendTo bool // the new version adds to the latest one instead of replacing it
	run      *runState
	kafka    *kafkaState // set when the source is Kafka
	logger   *slog.Logger
}

// runSource is a source of `winnow run`: it reads documents and reports the
// inputs it read for the manifest.
type runSource interface {
	pipeline.Source
	Inputs() []pipeline.InputRecord
}

// buildPlan builds the source, the stages and the sink. Every config error
// surfaces here, before any input is read.
func buildPlan(cfg *pipeline.Config, logger *slog.Logger) (*plan, error) {
	workers := cfg.Workers
	if workers == 0 {
		workers = runtime.NumCPU()
	}
	p := &plan{cfg: cfg, logger: logger}

	srcEnv := pipeline.NewEnv(logger, "source")
	if cfg.Input.Format == pipeline.FormatKafka {
		src, err := stages.NewKafkaSource(cfg.Input, srcEnv)
		if err != nil {
			return nil, err
		}
		src.SetStartOffsets(p.startOffsets)
		p.source = kafkaRunSource{src}
		p.kafka = &kafkaState{source: src, topic: cfg.Input.Kafka.Topic, group: cfg.Input.Kafka.Group, next: map[int32]int64{}}
	} else {
		src, err := stages.NewFileSource(cfg.Input, srcEnv)
		if err != nil {
			return nil, err
		}
		p.source, p.files = src, src
	}

	var resolvedStages []map[string]any
	var instances []pipeline.StageInstance
	for _, sc := range cfg.Stages {
		spec, _ := pipeline.Lookup(sc.Name)
		opts, err := spec.Decode(sc.Options)
		if err != nil {
			// Errors of the YAML checks carry their own line; option
			// validation errors get the stage entry's.
			if sc.Line > 0 && !strings.Contains(err.Error(), "line ") {
				err = fmt.Errorf("line %d: %w", sc.Line, err)
			}
			if cfg.File != "" {
				return nil, fmt.Errorf("config %s: %w", cfg.File, err)
			}
			return nil, fmt.Errorf("config: %w", err)
		}
		env := pipeline.NewEnv(logger, sc.Name)
		st, err := spec.New(opts, env)
		if err != nil {
			return nil, fmt.Errorf("building stage %s: %w", sc.Name, err)
		}
		n := 1
		if _, prepares := st.(pipeline.Preparer); spec.Concurrent || prepares {
			n = workers
		}
		instances = append(instances, pipeline.StageInstance{Name: sc.Name, Stage: st, Workers: n, Env: env})
		resolvedStages = append(resolvedStages, map[string]any{"name": sc.Name, "options": toPlain(opts)})
	}

	if err := pipeline.CheckLangChain(instances); err != nil {
		if cfg.File != "" {
			return nil, fmt.Errorf("config %s: %w", cfg.File, err)
		}
		return nil, fmt.Errorf("config: %w", err)
	}

	store, err := openStoreWithLogger(cfg.Output.Root, true, logger)
	if err != nil {
		return nil, err
	}
	p.store = store
	sinkEnv := pipeline.NewEnv(logger, "sink")
	sink, err := stages.NewStoreParquetSink(store, "", cfg.Output, sinkEnv)
	if err != nil {
		return nil, err
	}
	p.sink = sink
	p.balance = stages.NewBalance(cfg.Balance.Source, balanceMaxSources)
	out := &committer{p: p, others: teeSink{p.balance}, last: time.Now()}
	if cfg.Output.Rejects {
		rejects, err := stages.NewStoreRejectsWriter(store, "", min(cfg.Output.ShardMaxBytes, rejectsFileMaxBytes), cfg.Output.ZstdLevel)
		if err != nil {
			return nil, err
		}
		p.rejects = rejects
		out.others = append(out.others, rejects)
	}

	warnChain(cfg.Stages, logger)
	if p.files != nil && stages.HasArchiveInput(p.files.Resolved()) && !slices.ContainsFunc(cfg.Stages, func(s pipeline.StageConfig) bool { return s.Name == "extract" }) {
		logger.Warn("an input is WARC or ARC, whose documents are HTML pages, but the configured stages do not include extract, so the other stages read raw HTML; add extract first")
	}
	p.pipeline = &pipeline.Pipeline{
		Source: p.source, SourceEnv: srcEnv,
		Stages: instances,
		Sink:   out, SinkEnv: sinkEnv,
		Logger: logger,
	}
	p.resolved = map[string]any{
		"input":  resolvedInput(cfg.Input),
		"stages": resolvedStages,
		"output": map[string]any{
			"shard_max_bytes":     cfg.Output.ShardMaxBytes,
			"row_group_max_bytes": cfg.Output.RowGroupMaxBytes,
			"zstd_level":          cfg.Output.ZstdLevel,
			"rejects":             cfg.Output.Rejects,
		},
	}
	return p, nil
}

// commitLockWait bounds how long a run waits for another run's commit to
// the same root; a commit holds the lock for milliseconds.
const commitLockWait = time.Minute

// commit writes the finished run's manifest as the root's new latest
// version. The commit lock makes the parent the version that is latest at
// that moment, even when several runs finish at once.
func (p *plan) commit(tag, message string) (string, *pipeline.Manifest, error) {
	return p.commitChecked(context.Background(), tag, message, false)
}

// commitChecked commits as commit does, after evaluating the config's data
// tests against the parent; the manifest stores their results. With hold
// set, a version that fails one is committed without moving refs/latest.
func (p *plan) commitChecked(ctx context.Context, tag, message string, hold bool) (string, *pipeline.Manifest, error) {
	// Data tests may read this run's and the parent's shards, so they run
	// before the lock against the version that is latest now, and again
	// under the lock only when another run committed meanwhile.
	var results []pipeline.ExpectationResult
	evaluatedParent := ""
	if p.cfg.Expectations != nil {
		m, err := p.manifest(tag, message)
		if err != nil {
			return "", nil, err
		}
		if results, err = p.evaluate(ctx, m); err != nil {
			return "", nil, err
		}
		evaluatedParent = m.Parent
	}

	unlock, err := pipeline.LockCommits(p.store, commitLockWait)
	if err != nil {
		return "", nil, err
	}
	defer unlock()
	m, err := p.manifest(tag, message)
	if err != nil {
		return "", nil, err
	}
	commit := pipeline.Commit
	if p.cfg.Expectations != nil {
		if m.Parent != evaluatedParent {
			if results, err = p.evaluate(ctx, m); err != nil {
				return "", nil, err
			}
		}
		m.Expectations = pipeline.NewExpectationsRecord(results)
		if hold && m.Expectations.Failed > 0 {
			m.Expectations.Held = true
			commit = pipeline.CommitHeld
		}
	}
	id, err := commit(p.store, m)
	if err != nil {
		return "", nil, fmt.Errorf("committing version: %w", err)
	}
	return id, m, nil
}

// evaluate runs the config's data tests on the manifest m of this run.
func (p *plan) evaluate(ctx context.Context, m *pipeline.Manifest) ([]pipeline.ExpectationResult, error) {
	var parent *pipeline.Manifest
	if m.Parent != "" {
		var err error
		if parent, err = pipeline.ReadManifest(p.store, m.Parent); err != nil {
			return nil, fmt.Errorf("evaluating expectations: %w", err)
		}
	}
	results, err := newStoreEvaluator(ctx, p.store).evaluate(p.cfg.Expectations, m, parent)
	if err != nil {
		return nil, fmt.Errorf("evaluating expectations: %w", err)
	}
	return results, nil
}

// manifest describes the finished run as a new version whose parent is the
// root's current latest version.
func (p *plan) manifest(tag, message string) (*pipeline.Manifest, error) {
	parent, err := pipeline.LatestVersion(p.store)
	if err != nil && !errors.Is(err, pipeline.ErrNoVersions) {
		return nil, fmt.Errorf("reading the latest version: %w", err)
	}
	m, err := p.ownManifest(tag, message, parent)
	if err != nil {
		return nil, err
	}
	if p.run != nil && p.run.from != nil {
		mergeAttempt(m, p.run.from, p.run.replay)
	}
	m.Run = p.runRecord(nil)
	if p.appendTo && parent != "" {
		prior, err := pipeline.ReadManifest(p.store, parent)
		if err != nil {
			return nil, fmt.Errorf("reading the version to append to: %w", err)
		}
		appendVersion(m, prior)
	}
	if mc := p.cfg.Balance.Mixture; mc != nil && m.Balance != nil {
		m.Balance.Mixture = mixtureRecord(mc, m.Balance)
	}
	return m, nil
}

// ownManifest describes the documents this attempt of the run wrote, as a
// version on parent.
func (p *plan) ownManifest(tag, message, parent string) (*pipeline.Manifest, error) {
	canonical, err := json.Marshal(p.resolved)
	if err != nil {
		return nil, fmt.Errorf("encoding the resolved config: %w", err)
	}
	sum := sha256.Sum256(canonical)
	m := &pipeline.Manifest{
		Tag:        tag,
		Parent:     parent,
		Message:    message,
		CreatedAt:  time.Now().UTC(),
		Winnow:     pipeline.BuildInfo{Version: Version(), Revision: Revision()},
		Config:     p.resolved,
		ConfigHash: hex.EncodeToString(sum[:]),
		Inputs:     p.source.Inputs(),
		Shards:     p.sink.Shards(),
		Rejects:    p.rejectFiles(),
		Stages:     p.pipeline.Metrics().StageRecords(),
		Totals:     p.sink.Totals(),
		Languages:  p.sink.Languages(),
		Sources:    p.sink.Sources(),
		Balance:    p.balance.Record(),
	}
	return m, nil
}

// balanceMaxSources bounds the distinct sources the balance accounting
// tracks, so a crawl of millions of domains keeps the manifest small.
const balanceMaxSources = 10_000

// mixtureRecord computes the per-language mixture of a version from its
// kept tokens. A mixture that cannot be computed (no kept tokens) is
// recorded with the reason as its warning, so the run still commits.
func mixtureRecord(mc *pipeline.MixtureConfig, b *pipeline.BalanceRecord) *pipeline.MixtureRecord {
	var buckets []mixture.Bucket
	for _, lang := range slices.Sorted(maps.Keys(b.Languages)) {
		buckets = append(buckets, mixture.Bucket{Name: lang, Tokens: b.Languages[lang].After.Tokens})
	}
	rec := &pipeline.MixtureRecord{Alpha: mc.Alpha, Targets: mc.Targets, MaxRepeats: mc.MaxRepeats, BudgetTokens: mc.BudgetTokens}
	weights, warnings, err := mixture.Compute(buckets, mc.Spec())
	if err != nil {
		rec.Warnings = []string{err.Error()}
		return rec
	}
	rec.Weights, rec.Warnings = weights, warnings
	if rec.BudgetTokens == 0 {
		for _, w := range weights {
			rec.BudgetTokens += w.Tokens
		}
	}
	return rec
}

// appendVersion makes m hold prior's documents before its own: shards,
// deletions, inputs and totals. Stage counts stay those of m's run.
func appendVersion(m, prior *pipeline.Manifest) {
	m.Shards = append(slices.Clone(prior.Shards), m.Shards...)
	m.Deletions = slices.Clone(prior.Deletions)
	m.Inputs = append(slices.Clone(prior.Inputs), m.Inputs...)
	addKept(m, prior)
	// A balance covers a whole version or nothing: after a version without
	// one, or one keyed by another source, the sum would mislead.
	if prior.Balance == nil || m.Balance == nil || prior.Balance.SourceKey != m.Balance.SourceKey {
		m.Balance = nil
		return
	}
	m.Balance.Merge(prior.Balance)
}

// addKept adds the kept totals of prior, by language and by source too,
// to m's.
func addKept(m, prior *pipeline.Manifest) {
	m.Totals = addTotals(prior.Totals, m.Totals)
	m.Languages = mergeTotals(prior.Languages, m.Languages)
	m.Sources = mergeTotals(prior.Sources, m.Sources)
}

func addTotals(a, b pipeline.Totals) pipeline.Totals {
	return pipeline.Totals{Docs: a.Docs + b.Docs, Bytes: a.Bytes + b.Bytes, Tokens: a.Tokens + b.Tokens}
}

func mergeTotals(a, b map[string]pipeline.Totals) map[string]pipeline.Totals {
	out := map[string]pipeline.Totals{}
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = addTotals(out[k], v)
	}
	return out
}

// toPlain turns a tagged options struct into maps and slices keyed by its
// YAML names, for the manifest's JSON.
func toPlain(v any) any {
	raw, err := yaml.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	var out any
	if err := yaml.Unmarshal(raw, &out); err != nil {
		return fmt.Sprint(v)
	}
	return out
}

// formatCounts writes counts as "a=1, b=2" in key order, or "none".
func formatCounts(counts map[string]int64) string {
	if len(counts) == 0 {
		return "none"
	}
	var parts []string
	for _, k := range pipeline.SortedKeys(counts) {
		parts = append(parts, fmt.Sprintf("%s=%d", k, counts[k]))
	}
	return strings.Join(parts, ", ")
}

// warnChain logs chains that run but likely do not do what the user means.
func warnChain(chain []pipeline.StageConfig, logger *slog.Logger) {
	langid := false
	for _, s := range chain {
		switch s.Name {
		case "langid":
			langid = true
		case "gopher_quality":
			if !langid {
				logger.Warn("gopher_quality runs without langid before it, so it applies its English rules to every document; put langid first so each language gets its own thresholds")
			}
		}
	}
}

// startCPUProfile writes a CPU profile to path until the returned function
// is called.
func startCPUProfile(path string) (func(), error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("--cpuprofile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("--cpuprofile: %w", err)
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}

// seed fills the deduplication stages with the documents of version, so
// this run drops new copies of them. near_dedup takes the signatures stored
// in the shards when they were made with the options that shape this run's
// signatures, and computes them from the text otherwise.
func (p *plan) seed(ctx context.Context, version string, logger *slog.Logger) error {
	if version == "latest" {
		id, err := pipeline.LatestVersion(p.store)
		if err != nil {
			return fmt.Errorf("--dedup-against: %w", err)
		}
		version = id
	}
	prior, err := pipeline.ReadManifest(p.store, version)
	if err != nil {
		return fmt.Errorf("--dedup-against: %w", err)
	}
	if err := p.seedFrom(ctx, prior, logger); err != nil {
		return fmt.Errorf("--dedup-against: %w", err)
	}
	p.resolved["dedup_against"] = version
	return nil
}

// errNoSeeders means the chain has no stage that can start from earlier
// documents.
var errNoSeeders = errors.New("the chain has no exact_dedup or near_dedup stage")

// seedFrom fills the deduplication stages with the documents of prior. It
// returns errNoSeeders when the chain has none.
func (p *plan) seedFrom(ctx context.Context, prior *pipeline.Manifest, logger *slog.Logger) error {
	version := prior.ID
	var seeders []pipeline.Seeder
	storedSignatures := true
	for _, s := range p.pipeline.Stages {
		seeder, ok := s.Stage.(pipeline.Seeder)
		if !ok {
			continue
		}
		if s.Name == "near_dedup" {
			if err := sameStageOptions(prior, p.resolved, s.Name); err != nil {
				logger.Info("computing signatures of the earlier version from its text", "version", version, "reason", err.Error())
				storedSignatures = false
			}
		}
		seeders = append(seeders, seeder)
	}
	if len(seeders) == 0 {
		return errNoSeeders
	}
	n := 0
	err := stages.ReadStoreVersionDocs(ctx, p.store, prior, func(doc pipeline.SeedDoc) error {
		n++
		if !storedSignatures {
			doc.Signature = nil
		}
		for _, s := range seeders {
			if err := s.Seed(doc); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("reading version %s: %w", version, err)
	}
	logger.Info("deduplicating against an earlier version", "version", version, "docs", n)
	return nil
}

// sameStageOptions checks that the stage called name ran in version prior
// with the options resolved for this run.
func sameStageOptions(prior *pipeline.Manifest, resolved map[string]any, name string) error {
	want := stageOptions(resolved, name)
	priorConfig, _ := prior.Config.(map[string]any)
	got := stageOptions(priorConfig, name)
	if got == nil {
		return fmt.Errorf("version %s has no %s stage, so its documents carry no signatures", prior.ID, name)
	}
	// Only the options that shape a signature must agree; thresholds and
	// scratch folders may change between runs.
	wantMap, _ := want.(map[string]any)
	gotMap, _ := got.(map[string]any)
	for _, key := range []string{"method", "bands", "rows", "word_ngram", "char_ngram", "datatrove"} {
		a, _ := json.Marshal(wantMap[key])
		b, _ := json.Marshal(gotMap[key])
		if string(a) != string(b) {
			return fmt.Errorf("%s option %s is %s in version %s and %s here", name, key, b, prior.ID, a)
		}
	}
	return nil
}

// stageOptions returns the options of stage name in a resolved config, as
// plain JSON values, or nil.
func stageOptions(config map[string]any, name string) any {
	raw, err := json.Marshal(config["stages"])
	if err != nil {
		return nil
	}
	var list []struct {
		Name    string `json:"name"`
		Options any    `json:"options"`
	}
	if json.Unmarshal(raw, &list) != nil {
		return nil
	}
	for _, s := range list {
		if s.Name == name {
			return s.Options
		}
	}
	return nil
}

// rejectsFileMaxBytes caps the uncompressed rows of one rejects file, which
// is one row group buffered in memory until the file ends.
const rejectsFileMaxBytes = 64 << 20

func (p *plan) rejectFiles() []pipeline.ShardRecord {
	if p.rejects == nil {
		return nil
	}
	return p.rejects.Files()
}

// teeSink writes each batch to the shard sink, then its dropped rows to the
// rejects output.
type teeSink []pipeline.Sink

func (t teeSink) Write(ctx context.Context, b *pipeline.Batch) error {
	for _, s := range t {
		if err := s.Write(ctx, b); err != nil {
			return err
		}
	}
	return nil
}

func (t teeSink) Close(ctx context.Context) error {
	for _, s := range t {
		if err := s.Close(ctx); err != nil {
			return err
		}
	}
	return nil
}
