package loader

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"sync/atomic"
	"time"

	"github.com/winnow-data/winnow/pipeline"
)

// Storage is the read side of a dataset root: a local folder, or an
// object-store prefix. Names are slash-separated paths relative to the
// root, such as "shards/0123abcd.parquet", as fs.ValidPath accepts them.
//
// Every call may be a network request, so the loader makes as few as it
// can: one List of shards/ when it opens a version, then one Open per
// shard fetch. Implementations must be safe for concurrent use.
type Storage interface {
	// Open opens the file name for reading from its first byte. A missing
	// file gives an error that matches fs.ErrNotExist.
	Open(ctx context.Context, name string) (io.ReadCloser, error)
	// Stat returns the size of the file name in bytes. A missing file
	// gives an error that matches fs.ErrNotExist.
	Stat(ctx context.Context, name string) (int64, error)
	// List returns the files directly inside the folder dir, sorted by
	// name, without the folder prefix. Names that start with a dot are
	// left out. A folder that does not exist holds no files.
	List(ctx context.Context, dir string) ([]Entry, error)
	// String returns the root's location, such as a path or a URL, for
	// messages.
	String() string
}

// Entry is one file that Storage.List returns.
type Entry struct {
	Name string
	Size int64 // bytes
}

// Writer is implemented by storages that can also write, which the
// consumption record needs. WriteFile replaces name with data atomically:
// a reader sees the old file or all of data, never a part.
type Writer interface {
	WriteFile(ctx context.Context, name string, data []byte) error
}

// LocalDir is a Storage, and a Writer, over a dataset root in a local
// folder.
type LocalDir struct {
	store *pipeline.LocalStore
}

// OpenLocalDir returns the storage of the existing dataset root in the
// folder root. A missing root gives an error that matches fs.ErrNotExist.
func OpenLocalDir(root string) (*LocalDir, error) {
	s, err := pipeline.OpenLocalStore(root)
	if err != nil {
		return nil, err
	}
	return &LocalDir{store: s}, nil
}

// Root returns the folder of the dataset root.
func (d *LocalDir) Root() string { return d.store.Root() }

// String returns the folder of the dataset root.
func (d *LocalDir) String() string { return d.store.String() }

// Open opens the file name for reading.
func (d *LocalDir) Open(ctx context.Context, name string) (io.ReadCloser, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return d.store.Open(name)
}

// Stat returns the size of the file name.
func (d *LocalDir) Stat(ctx context.Context, name string) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	info, err := d.store.Stat(name)
	if err != nil {
		return 0, err
	}
	return info.Size(), nil
}

// List returns the regular files in the folder dir with their sizes.
func (d *LocalDir) List(ctx context.Context, dir string) ([]Entry, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	names, err := d.store.List(dir)
	if err != nil {
		return nil, err
	}
	out := make([]Entry, 0, len(names))
	for _, n := range names {
		info, err := d.store.Stat(path.Join(dir, n))
		if errors.Is(err, fs.ErrNotExist) {
			continue // removed since the listing
		}
		if err != nil {
			return nil, err
		}
		out = append(out, Entry{Name: n, Size: info.Size()})
	}
	return out, nil
}

// WriteFile replaces name with data through a synced temporary file that
// is renamed over it, then syncs the folder.
func (d *LocalDir) WriteFile(ctx context.Context, name string, data []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return d.store.WriteFile(name, data)
}

// Latency wraps a Storage and waits a fixed time before every request, as
// an object store's time to first byte. Reads of an opened file then run
// at the speed of the wrapped storage. winnow bench-loader uses it to
// measure how well prefetching hides that time.
type Latency struct {
	Storage
	Delay time.Duration

	requests atomic.Int64
}

// WithLatency returns s with delay added to every Open, Stat, List and
// WriteFile.
func WithLatency(s Storage, delay time.Duration) *Latency {
	return &Latency{Storage: s, Delay: delay}
}

// Requests returns how many requests went through l.
func (l *Latency) Requests() int64 { return l.requests.Load() }

func (l *Latency) wait(ctx context.Context) error {
	l.requests.Add(1)
	if l.Delay <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(l.Delay)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Open waits the delay, then opens name.
func (l *Latency) Open(ctx context.Context, name string) (io.ReadCloser, error) {
	if err := l.wait(ctx); err != nil {
		return nil, err
	}
	return l.Storage.Open(ctx, name)
}

// Stat waits the delay, then returns the size of name.
func (l *Latency) Stat(ctx context.Context, name string) (int64, error) {
	if err := l.wait(ctx); err != nil {
		return 0, err
	}
	return l.Storage.Stat(ctx, name)
}

// List waits the delay, then lists dir.
func (l *Latency) List(ctx context.Context, dir string) ([]Entry, error) {
	if err := l.wait(ctx); err != nil {
		return nil, err
	}
	return l.Storage.List(ctx, dir)
}

// WriteFile waits the delay, then writes name when the wrapped storage is
// a Writer.
func (l *Latency) WriteFile(ctx context.Context, name string, data []byte) error {
	w, ok := l.Storage.(Writer)
	if !ok {
		return fmt.Errorf("writing %s: storage %s is read-only", name, l.Storage)
	}
	if err := l.wait(ctx); err != nil {
		return err
	}
	return w.WriteFile(ctx, name, data)
}

// manifestStore presents a Storage as a pipeline.Store, so that the
// pipeline package's version functions read through it. It is read-only.
type manifestStore struct {
	ctx context.Context
	s   Storage
}

func (m manifestStore) Open(name string) (io.ReadCloser, error) { return m.s.Open(m.ctx, name) }

func (m manifestStore) Stat(name string) (fs.FileInfo, error) {
	size, err := m.s.Stat(m.ctx, name)
	if err != nil {
		return nil, err
	}
	return fileInfo{name: path.Base(name), size: size}, nil
}

func (m manifestStore) List(dir string) ([]string, error) {
	entries, err := m.s.List(m.ctx, dir)
	if err != nil {
		return nil, err
	}
	names := make([]string, len(entries))
	for i, e := range entries {
		names[i] = e.Name
	}
	return names, nil
}

func (m manifestStore) WriteFile(name string, _ []byte) error {
	return fmt.Errorf("writing %s: the loader opens %s read-only", name, m.s)
}

func (m manifestStore) String() string { return m.s.String() }

// fileInfo is the fs.FileInfo of a file known only by name and size.
type fileInfo struct {
	name string
	size int64
}

func (f fileInfo) Name() string       { return f.name }
func (f fileInfo) Size() int64        { return f.size }
func (f fileInfo) Mode() fs.FileMode  { return 0o444 }
func (f fileInfo) ModTime() time.Time { return time.Time{} }
func (f fileInfo) IsDir() bool        { return false }
func (f fileInfo) Sys() any           { return nil }
