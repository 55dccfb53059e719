package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"slices"
	"time"

	"github.com/winnow-data/winnow/loader"
	"github.com/winnow-data/winnow/pipeline"
)

// benchResult is the outcome of winnow bench-loader, as --json prints it.
// Waits are the time Next took, in milliseconds. The first batch, which
// includes opening the version, counts as startup and not as a step.
type benchResult struct {
	Version        string  `json:"version"`
	Steps          int     `json:"steps"` // batches after the first
	Epochs         int     `json:"epochs"`
	BatchDocs      int     `json:"batch_docs"`
	BatchMeanBytes float64 `json:"batch_mean_bytes"` // text bytes
	StepMS         float64 `json:"step_ms"`
	LatencyMS      float64 `json:"latency_ms"`
	StartupMS      float64 `json:"startup_ms"`
	RunSeconds     float64 `json:"run_seconds"` // from the first batch to the last
	// WaitFraction is the time spent waiting after the first batch over
	// the time from the first batch to the end of the last step.
	WaitFraction float64 `json:"wait_fraction"`
	// TotalWaitFraction counts the startup too: startup plus waits over
	// startup plus the run.
	TotalWaitFraction float64 `json:"total_wait_fraction"`
	P50WaitMS         float64 `json:"p50_wait_ms"`
	P99WaitMS         float64 `json:"p99_wait_ms"`
	MaxWaitMS         float64 `json:"max_wait_ms"`
	// BoundaryWaitMS is the longest wait for the first batch of an epoch
	// after the first epoch.
	BoundaryWaitMS float64 `json:"boundary_wait_ms"`
	Requests       int64   `json:"requests"` // storage requests, through the latency wrapper
	ShardFetches   int64   `json:"shard_fetches"`
	BytesFetched   int64   `json:"bytes_fetched"`
}

// benchLoaderCommand runs a simulated trainer against the loader: it
// takes a batch, computes for a fixed time, and measures how long each
// batch kept it waiting, with a fixed latency added to every storage
// request.
func benchLoaderCommand(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("winnow bench-loader", flag.ContinueOnError)
	fs.SetOutput(stderr)
	version := fs.String("version", "latest", "version to load")
	latency := fs.Duration("latency", 100*time.Millisecond, "time added to every storage request, as an object store's time to first byte")
	step := fs.Duration("step", 20*time.Millisecond, "simulated compute time per batch")
	batchBytes := fs.Int64("batch-bytes", 1_000_000, "target text bytes per batch; the batch size in documents is this over the version's mean document size")
	batchSize := fs.Int("batch-size", 0, "documents per batch; replaces --batch-bytes")
	epochs := fs.Int("epochs", 3, "epochs to run")
	shuffle := fs.Bool("shuffle", true, "shuffle shards and windows")
	seed := fs.Int64("seed", 0, "shuffle seed")
	window := fs.Int("window", loader.DefaultWindow, "shuffle window in documents")
	worldSize := fs.Int("world-size", 1, "ranks of the simulated run; the trainer is rank 0")
	memoryMB := fs.Int64("memory-mb", loader.DefaultMemory>>20, "MiB of fetched and decoded shards")
	prefetch := fs.Int("prefetch", loader.DefaultPrefetch, "shards fetched at once")
	tokenize := fs.String("tokenize", "", "tiktoken encoding to tokenize with (cl100k_base or o200k_base); default none")
	jsonOut := fs.Bool("json", false, "print the result as one JSON object")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if *latency < 0 || *step < 0 || *batchBytes < 1 || *batchSize < 0 || *epochs < 1 || *memoryMB < 1 {
		return usageError{errors.New("--latency and --step must be 0 or more, --batch-bytes, --epochs and --memory-mb 1 or more, --batch-size 0 or more")}
	}
	root, err := openLocalRootArg("bench-loader takes one ROOT", pos, 1)
	if err != nil {
		return err
	}
	dir, err := loader.OpenLocalDir(root.Root())
	if err != nil {
		return err
	}
	if *version, err = pipeline.ResolveVersion(root, *version); err != nil {
		return err
	}

	ctx := context.Background()
	store := loader.WithLatency(dir, *latency)
	opts := loader.Options{
		Version: *version, WorldSize: *worldSize, BatchSize: *batchSize, Epochs: *epochs,
		Shuffle: *shuffle, Seed: *seed, Window: *window, Memory: *memoryMB << 20, Prefetch: *prefetch, Tokenize: *tokenize,
	}
	if opts.BatchSize == 0 {
		m, err := loader.ReadVersion(ctx, dir, *version)
		if err != nil {
			return err
		}
		if m.Totals.Docs == 0 {
			return fmt.Errorf("version %s has no documents", m.ID)
		}
		mean := float64(m.Totals.Bytes) / float64(m.Totals.Docs)
		opts.BatchSize = max(1, int(math.Round(float64(*batchBytes)/mean)))
	}

	res, err := runBench(ctx, store, opts, *step)
	if err != nil {
		return err
	}
	res.LatencyMS = ms(*latency)
	if *jsonOut {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(res)
	}
	printBench(stdout, res)
	return nil
}

// runBench opens the loader, then takes batches until the last epoch
// ends, computing for step after each.
func runBench(ctx context.Context, store *loader.Latency, opts loader.Options, step time.Duration) (*benchResult, error) {
	began := time.Now()
	l, err := loader.Open(ctx, store, opts)
	if err != nil {
		return nil, err
	}
	defer l.Close()

	res := &benchResult{Version: l.Manifest().ID, Epochs: opts.Epochs, BatchDocs: opts.BatchSize, StepMS: ms(step)}
	var waits []time.Duration
	var waited time.Duration
	var textBytes int64
	var runStart time.Time
	lastEpoch := -1
	for {
		asked := time.Now()
		b, err := l.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		got := time.Now()
		wait := got.Sub(asked)

		if runStart.IsZero() {
			runStart = got
			res.StartupMS = ms(got.Sub(began))
		} else {
			waits = append(waits, wait)
			waited += wait
			if b.Epoch != lastEpoch {
				res.BoundaryWaitMS = max(res.BoundaryWaitMS, ms(wait))
			}
		}
		lastEpoch = b.Epoch
		textBytes += b.TextBytes()

		// The simulated accelerator computes while the loader prefetches.
		time.Sleep(step - time.Since(got))
	}
	end := time.Now()

	res.Steps = len(waits)
	if res.Steps > 0 {
		res.BatchMeanBytes = float64(textBytes) / float64(res.Steps+1)
		res.RunSeconds = end.Sub(runStart).Seconds()
		res.WaitFraction = waited.Seconds() / res.RunSeconds
		startup := res.StartupMS / 1000
		res.TotalWaitFraction = (startup + waited.Seconds()) / (startup + res.RunSeconds)
		slices.Sort(waits)
		res.P50WaitMS = ms(percentile(waits, 0.50))
		res.P99WaitMS = ms(percentile(waits, 0.99))
		res.MaxWaitMS = ms(waits[len(waits)-1])
	}
	st := l.Stats()
	res.Requests, res.ShardFetches, res.BytesFetched = store.Requests(), st.ShardFetches, st.BytesFetched
	return res, nil
}

// percentile returns the nearest-rank p-quantile of sorted durations.
func percentile(sorted []time.Duration, p float64) time.Duration {
	k := int(math.Ceil(p*float64(len(sorted)))) - 1
	return sorted[max(0, min(k, len(sorted)-1))]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func printBench(w io.Writer, r *benchResult) {
	fmt.Fprintf(w, "version %s: batches of %d documents (%.2f MB of text on average), step %.0f ms, storage latency %.0f ms\n",
		r.Version, r.BatchDocs, r.BatchMeanBytes/1e6, r.StepMS, r.LatencyMS)
	fmt.Fprintf(w, "startup (open and first batch): %.1f ms; with it, waits are %.3f%% of the run\n", r.StartupMS, 100*r.TotalWaitFraction)
	fmt.Fprintf(w, "%d steps over %d epochs in %.2f s\n", r.Steps, r.Epochs, r.RunSeconds)
	fmt.Fprintf(w, "wait per step: p50 %.3f ms, p99 %.3f ms, max %.3f ms; %.3f%% of the run\n",
		r.P50WaitMS, r.P99WaitMS, r.MaxWaitMS, 100*r.WaitFraction)
	fmt.Fprintf(w, "longest wait at an epoch boundary: %.3f ms\n", r.BoundaryWaitMS)
	fmt.Fprintf(w, "storage requests: %d; shards fetched: %d (%.1f MB)\n", r.Requests, r.ShardFetches, float64(r.BytesFetched)/1e6)
}
