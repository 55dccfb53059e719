package loader

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"path"
	"sync"
	"time"
)

// ConsumersDir is the folder of the dataset root that holds consumption
// records, one file per version and run: consumers/<version>/<run id>.json.
const ConsumersDir = "consumers"

// ConsumptionRecord records which data a training run consumed: the version,
// the loader's options and the State after the last batch the run took.
// The loader rewrites it atomically as the run advances.
type ConsumptionRecord struct {
	RunID     string        `json:"run_id"`
	Version   string        `json:"version"`
	OpenedAt  string        `json:"opened_at"` // RFC 3339, UTC; kept from an earlier record of the run
	Options   RecordOptions `json:"options"`
	LastState State         `json:"last_state"`
	UpdatedAt string        `json:"updated_at"` // RFC 3339, UTC
}

// RecordOptions are the loader options a consumption record keeps.
type RecordOptions struct {
	Rank       int    `json:"rank"`
	WorldSize  int    `json:"world_size"`
	Worker     int    `json:"worker"`
	NumWorkers int    `json:"num_workers"`
	BatchSize  int    `json:"batch_size"`
	DropLast   bool   `json:"drop_last"`
	Shuffle    bool   `json:"shuffle"`
	Seed       int64  `json:"seed"`
	Window     int    `json:"window,omitempty"`
	Epoch      int    `json:"epoch"`
	Epochs     int    `json:"epochs"`
	Mix        *Mix   `json:"mix,omitempty"`
	Tokenize   string `json:"tokenize,omitempty"`
	Resume     *State `json:"resume,omitempty"`
}

// RecordPath returns the store name of the consumption record of a run.
func RecordPath(version, runID string) string {
	return path.Join(ConsumersDir, version, runID+".json")
}

// recorder keeps a run's consumption record up to date. Writes run in
// their own goroutine, so a slow disk never delays a batch. Updates that
// arrive during a write are folded into the next one.
type recorder struct {
	w      Writer
	name   string
	rec    ConsumptionRecord
	every  int
	logger *slog.Logger

	updates chan State // capacity 1: the latest state not yet written
	stop    chan struct{}
	done    chan struct{}
	mu      sync.Mutex // guards rec and err
	err     error      // first write error
}

// newRecorder writes the first record of the run, keeping opened_at from
// an earlier record of the same run when there is one, and starts the
// goroutine that writes updates.
func newRecorder(ctx context.Context, store Storage, rec ConsumptionRecord, every int, logger *slog.Logger) (*recorder, error) {
	w, ok := store.(Writer)
	if !ok {
		return nil, fmt.Errorf("recording run %s: storage %s is read-only, so the loader cannot write %s", rec.RunID, store, ConsumersDir)
	}
	r := &recorder{
		w: w, name: RecordPath(rec.Version, rec.RunID), rec: rec, every: every, logger: logger,
		updates: make(chan State, 1), stop: make(chan struct{}), done: make(chan struct{}),
	}
	if earlier, err := readRecord(ctx, store, r.name); err == nil && earlier.OpenedAt != "" {
		r.rec.OpenedAt = earlier.OpenedAt
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		logger.Warn("earlier consumption record unreadable, replacing it", "path", r.name, "err", err)
	}
	if err := r.write(ctx, rec.LastState); err != nil {
		return nil, err
	}
	go r.loop()
	return r, nil
}

func readRecord(ctx context.Context, store Storage, name string) (*ConsumptionRecord, error) {
	rc, err := store.Open(ctx, name)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		return nil, err
	}
	var rec ConsumptionRecord
	if err := json.Unmarshal(data, &rec); err != nil {
		return nil, err
	}
	return &rec, nil
}

// update hands s to the writer goroutine; batches counts the batches
// taken so far, and only every r.every-th is written.
func (r *recorder) update(s State, batches int64) {
	if batches%int64(r.every) != 0 {
		return
	}
	select {
	case <-r.updates: // drop the older state not yet written
	default:
	}
	r.updates <- s
}

func (r *recorder) loop() {
	defer close(r.done)
	for {
		select {
		case s := <-r.updates:
			if err := r.write(context.Background(), s); err != nil {
				r.logger.Warn("writing consumption record failed", "path", r.name, "err", err)
			}
		case <-r.stop:
			return
		}
	}
}

// close stops the goroutine and writes final, the state after the last
// batch taken. It returns the first write error of the run.
func (r *recorder) close(final State) error {
	close(r.stop)
	<-r.done
	err := r.write(context.Background(), final)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err != nil {
		return r.err
	}
	return err
}

func (r *recorder) write(ctx context.Context, s State) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rec.LastState = s
	r.rec.UpdatedAt = time.Now().UTC().Format(time.RFC3339)
	data, err := json.MarshalIndent(r.rec, "", "  ")
	if err != nil {
		return err
	}
	if err := r.w.WriteFile(ctx, r.name, append(data, '\n')); err != nil {
		err = fmt.Errorf("writing consumption record %s: %w", r.name, err)
		if r.err == nil {
			r.err = err
		}
		return err
	}
	return nil
}
