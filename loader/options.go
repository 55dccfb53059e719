package loader

import (
	"fmt"
	"log/slog"
	"math"
	"regexp"
)

// Defaults of Options.
const (
	DefaultBatchSize   = 256     // documents per batch
	DefaultWindow      = 16384   // documents per shuffle window
	DefaultMemory      = 1 << 30 // bytes of fetched and decoded shards
	DefaultPrefetch    = 4       // shards fetched at once
	DefaultRecordEvery = 100     // batches between writes of the consumption record
)

// Options configure a Loader. The zero value loads the latest version
// once, unshuffled, in batches of DefaultBatchSize documents.
type Options struct {
	// Version is the version id to load, or "latest". Empty means the
	// version of Resume when it is set, else the latest.
	Version string

	// Rank and WorldSize split the data between the trainer's processes:
	// this loader yields rank Rank's share, 0 <= Rank < WorldSize.
	// WorldSize 0 means 1.
	Rank, WorldSize int
	// Worker and NumWorkers split one rank's share between its data
	// loader workers, as PyTorch's DataLoader workers: this loader yields
	// the rank's batches t with t mod NumWorkers == Worker. NumWorkers 0
	// means 1.
	Worker, NumWorkers int

	// BatchSize is the number of documents per batch (default 256). The
	// last batches of an epoch are shorter; see DropLast.
	BatchSize int
	// DropLast skips the last round of an epoch when it has fewer than
	// WorldSize*BatchSize documents, so every batch is full. Those
	// documents are then not seen in that epoch.
	DropLast bool

	// Shuffle permutes the shards and each window of Window documents,
	// seeded by Seed and the epoch. Without it every epoch gives the
	// documents in manifest order.
	Shuffle bool
	Seed    int64
	// Window is the shuffle window in documents (default 16384). Larger
	// windows mix documents from more shards but need those shards in
	// memory together.
	Window int

	// Epoch is the epoch to start at (default 0); Resume replaces it.
	Epoch int
	// Epochs is the number of epochs of the training run: the loader ends
	// after epoch Epochs-1. 0 means it never ends.
	Epochs int
	// Resume continues after the batch whose State this is.
	Resume *State

	// Mix samples documents by language; nil reads every document once
	// per epoch.
	Mix *Mix

	// Tokenize names a tiktoken encoding, cl100k_base or o200k_base, to
	// return each document's token ids in Batch.Tokens. Empty returns
	// text only.
	Tokenize string

	// Memory caps the bytes of shards being fetched, decoded or kept for
	// later batches (default 1 GiB). A single batch whose shards need more
	// still loads, alone.
	Memory int64
	// Prefetch is the number of shards fetched and decoded at once
	// (default 4).
	Prefetch int

	// RunID, when set, makes the loader record in the dataset root which
	// version, options and last State the run consumed, under
	// consumers/<version>/<RunID>.json. Set it on one loader per run, such
	// as rank 0's first worker, because every loader with the same id
	// writes the same file. Letters, digits, '.', '_' and '-' only.
	RunID string
	// RecordEvery is the number of batches between writes of that record
	// (default 100); Close writes it too.
	RecordEvery int

	// Logger gets shard fetches at debug level and record write failures
	// as warnings; nil discards them.
	Logger *slog.Logger
}

var runIDPattern = regexp.MustCompile(`^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$`)

// withDefaults returns o with zero values replaced by defaults, after
// checking every field. The error names the field and its value.
func (o Options) withDefaults() (Options, error) {
	if o.WorldSize == 0 {
		o.WorldSize = 1
	}
	if o.NumWorkers == 0 {
		o.NumWorkers = 1
	}
	if o.BatchSize == 0 {
		o.BatchSize = DefaultBatchSize
	}
	if o.Window == 0 {
		o.Window = DefaultWindow
	}
	if o.Memory == 0 {
		o.Memory = DefaultMemory
	}
	if o.Prefetch == 0 {
		o.Prefetch = DefaultPrefetch
	}
	if o.RecordEvery == 0 {
		o.RecordEvery = DefaultRecordEvery
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}

	checks := []struct {
		bad  bool
		name string
		val  any
		want string
	}{
		{o.WorldSize < 1, "WorldSize", o.WorldSize, "1 or more"},
		{o.Rank < 0 || o.Rank >= o.WorldSize, "Rank", o.Rank, fmt.Sprintf("from 0 to WorldSize-1 (%d)", o.WorldSize-1)},
		{o.NumWorkers < 1, "NumWorkers", o.NumWorkers, "1 or more"},
		{o.Worker < 0 || o.Worker >= o.NumWorkers, "Worker", o.Worker, fmt.Sprintf("from 0 to NumWorkers-1 (%d)", o.NumWorkers-1)},
		{o.BatchSize < 1 || o.BatchSize > math.MaxInt32, "BatchSize", o.BatchSize, "from 1 to 2^31-1 documents"},
		{o.Window < 1 || o.Window > math.MaxInt32, "Window", o.Window, "from 1 to 2^31-1 documents"},
		{o.Epoch < 0, "Epoch", o.Epoch, "0 or more"},
		{o.Epochs < 0, "Epochs", o.Epochs, "0 (no end) or more"},
		{o.Memory < 1, "Memory", o.Memory, "1 byte or more"},
		{o.Prefetch < 1, "Prefetch", o.Prefetch, "1 or more"},
		{o.RecordEvery < 1, "RecordEvery", o.RecordEvery, "1 or more"},
		{o.RunID != "" && !runIDPattern.MatchString(o.RunID), "RunID", fmt.Sprintf("%q", o.RunID), "1 to 128 letters, digits, '.', '_' or '-', not starting with '.'"},
	}
	for _, c := range checks {
		if c.bad {
			return o, fmt.Errorf("loader option %s: invalid value %v: must be %s", c.name, c.val, c.want)
		}
	}
	if o.Tokenize != "" {
		if _, ok := encodings[o.Tokenize]; !ok {
			return o, fmt.Errorf("loader option Tokenize: unknown encoding %q: use cl100k_base or o200k_base", o.Tokenize)
		}
	}
	if o.Mix != nil {
		if err := o.Mix.validate(); err != nil {
			return o, err
		}
	}
	if o.Resume != nil {
		if err := o.Resume.validate(); err != nil {
			return o, err
		}
	}
	return o, nil
}
