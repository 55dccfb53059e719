package pipeline

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// Store is the storage under one dataset root: a local folder now, an
// object-store prefix later. Names are slash-separated paths relative to the
// root, in the form fs.ValidPath accepts ("versions/0123abcd.json"), on
// every platform.
type Store interface {
	// Open opens the file name for reading. A missing file gives an error
	// that matches fs.ErrNotExist.
	Open(name string) (io.ReadCloser, error)
	// Stat returns the file's size and other details. A missing file gives
	// an error that matches fs.ErrNotExist.
	Stat(name string) (fs.FileInfo, error)
	// List returns the sorted names of the files directly inside the folder
	// dir, without the folder prefix. It skips names that start with a dot,
	// which is where WriteFile keeps its temporary files. A folder that does
	// not exist holds no files, as on an object store.
	List(dir string) ([]string, error)
	// WriteFile replaces the file name with data atomically and durably:
	// once it returns, a reader sees all of data, and before that the old
	// file or none, never a part. It creates missing parent folders.
	WriteFile(name string, data []byte) error
	// String returns the root's location, such as a path or a URL, for
	// messages.
	String() string
}

// tempPrefix starts the names of files being written. List skips them, so
// a crash mid-write leaves nothing that a reader takes for a real file.
const tempPrefix = ".tmp-"

// LocalStore is a Store in a local folder.
type LocalStore struct {
	root string
}

// NewLocalStore returns the store rooted at the folder root, creating the
// folder and its parents when they are missing, as a run that writes a
// new dataset needs.
func NewLocalStore(root string) (*LocalStore, error) {
	s := &LocalStore{root: filepath.Clean(root)}
	if err := s.makeDirs(s.root); err != nil {
		return nil, fmt.Errorf("creating dataset root %s: %w", s.root, err)
	}
	return s, nil
}

// OpenLocalStore returns the store rooted at the existing folder root, for
// commands that only read a dataset. A missing root gives an error that
// matches fs.ErrNotExist.
func OpenLocalStore(root string) (*LocalStore, error) {
	s := &LocalStore{root: filepath.Clean(root)}
	info, err := os.Stat(s.root)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("dataset root %s does not exist: %w", s.root, fs.ErrNotExist)
	}
	if err != nil {
		return nil, fmt.Errorf("opening dataset root: %w", err)
	}
	if !info.IsDir() {
		return nil, fmt.Errorf("dataset root %s is not a folder", s.root)
	}
	return s, nil
}

// Root returns the store's folder.
func (s *LocalStore) Root() string { return s.root }

// String returns the store's folder.
func (s *LocalStore) String() string { return s.root }

// localPath maps a store name to a file path, rejecting names that could
// leave the root ("../x", "/etc/x").
func (s *LocalStore) localPath(name string) (string, error) {
	if !fs.ValidPath(name) {
		return "", fmt.Errorf("invalid store path %q: want a slash-separated path relative to the root", name)
	}
	return filepath.Join(s.root, filepath.FromSlash(name)), nil
}

// Open opens the file name for reading.
func (s *LocalStore) Open(name string) (io.ReadCloser, error) {
	p, err := s.localPath(name)
	if err != nil {
		return nil, err
	}
	return os.Open(p)
}

// Stat returns details of the file name.
func (s *LocalStore) Stat(name string) (fs.FileInfo, error) {
	p, err := s.localPath(name)
	if err != nil {
		return nil, err
	}
	return os.Stat(p)
}

// List returns the sorted names of the regular files in the folder dir. It
// returns an error that matches fs.ErrNotExist only when the root itself
// is missing, which usually means a mistyped root.
func (s *LocalStore) List(dir string) ([]string, error) {
	p, err := s.localPath(dir)
	if err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(p)
	if errors.Is(err, fs.ErrNotExist) {
		if _, rootErr := os.Stat(s.root); errors.Is(rootErr, fs.ErrNotExist) {
			return nil, fmt.Errorf("dataset root %s does not exist: %w", s.root, fs.ErrNotExist)
		}
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		if e.Type().IsRegular() && !strings.HasPrefix(e.Name(), ".") {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	return names, nil
}

// WriteFile writes data to a temporary file in the same folder, syncs it,
// renames it over name and syncs the folder, so the rename itself survives
// a power loss.
func (s *LocalStore) WriteFile(name string, data []byte) error {
	p, temp, err := s.writeTemp(name, data)
	if err != nil {
		return err
	}
	if err := os.Rename(temp, p); err != nil {
		os.Remove(temp)
		return err
	}
	return SyncDir(filepath.Dir(p))
}

// WriteFileIfAbsent writes data to the file name as WriteFile does, but
// only when name does not exist. Otherwise it returns an error that
// matches fs.ErrExist. The data goes to a synced temporary file first,
// which is then hard-linked to name. link(2) fails when name exists, so
// the check and the write are one step, and a reader never sees a part of
// data.
func (s *LocalStore) WriteFileIfAbsent(name string, data []byte) error {
	p, temp, err := s.writeTemp(name, data)
	if err != nil {
		return err
	}
	defer os.Remove(temp)
	// NOTE: file systems without hard links (some network and FUSE file
	// systems) fail here, and so do commits to a root on them.
	if err := os.Link(temp, p); err != nil {
		return fmt.Errorf("creating %s: %w", p, err)
	}
	return SyncDir(filepath.Dir(p))
}

// writeTemp writes data to a synced temporary file in the folder of the
// store file name, creating the folder when it is missing. It returns the
// path of name and of the temporary file, which the caller renames, links
// or removes.
func (s *LocalStore) writeTemp(name string, data []byte) (p, temp string, err error) {
	p, err = s.localPath(name)
	if err != nil {
		return "", "", err
	}
	dir := filepath.Dir(p)
	if err := s.makeDirs(dir); err != nil {
		return "", "", err
	}

	f, err := os.CreateTemp(dir, tempPrefix+filepath.Base(p)+"-*")
	if err != nil {
		return "", "", err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	// CreateTemp makes the file 0600; datasets are read by other users'
	// training and analysis jobs, so it gets the usual 0644.
	if err = f.Chmod(0o644); err != nil {
		return "", "", err
	}
	if _, err = f.Write(data); err != nil {
		return "", "", err
	}
	if err = f.Sync(); err != nil {
		return "", "", err
	}
	if err = f.Close(); err != nil {
		return "", "", err
	}
	return p, f.Name(), nil
}

// Remove deletes the file name and syncs its folder, so the removal is
// durable. A missing file gives an error that matches fs.ErrNotExist.
func (s *LocalStore) Remove(name string) error {
	p, err := s.localPath(name)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil {
		return err
	}
	return SyncDir(filepath.Dir(p))
}

// makeDirs creates dir and its missing parents, syncing the parent of
// each folder it creates so the new entries are durable.
func (s *LocalStore) makeDirs(dir string) error {
	if _, err := os.Stat(dir); err == nil {
		return nil
	}
	var missing []string
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(d); err == nil || filepath.Dir(d) == d {
			break
		}
		missing = append(missing, d)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	// Sync from the outermost new folder inwards: each parent records the
	// child that was created in it.
	for i := len(missing) - 1; i >= 0; i-- {
		if err := SyncDir(filepath.Dir(missing[i])); err != nil {
			return err
		}
	}
	return nil
}

// SyncDir flushes the folder dir's entries to stable storage, which makes
// a rename or a file creation in it durable.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("syncing folder %s: %w", dir, err)
	}
	return nil
}

// readFile returns the whole file name from store.
func readFile(store Store, name string) ([]byte, error) {
	r, err := store.Open(name)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(r)
}

// storePath joins slash-separated path elements into a store name.
func storePath(elem ...string) string { return path.Join(elem...) }

// commitLockName is the lock file that serialises commits to a local root.
const commitLockName = "refs/.commit.lock"

// commitLockStale is the age after which a commit lock is taken to be left
// over from a crashed process. A commit holds it for milliseconds.
const commitLockStale = 10 * time.Minute

// LockCommits takes the root's commit lock, waiting up to wait for another
// process to release it, and returns the function that releases it. Runs
// that commit to the same root at once take turns, so each records the
// other's version as its parent. It is the function LockCommits on s:
// while it is held, Commit on s commits under it.
func (s *LocalStore) LockCommits(wait time.Duration) (func(), error) {
	return LockCommits(s, wait)
}

// deadLockHolder reads the lock file p and reports whether it names a
// process of this host that no longer runs, as after a crash mid-commit,
// with the content it read.
func deadLockHolder(p string) (string, bool) {
	data, err := os.ReadFile(p)
	if err != nil {
		return "", false
	}
	var pid int
	var host string
	if n, _ := fmt.Sscanf(string(data), "pid %d host %s", &pid, &host); n != 2 {
		return "", false
	}
	me, _ := os.Hostname()
	return string(data), host == me && pid > 0 && !processRunning(pid)
}

// lockFile creates the lock file refs/.commit.lock with O_EXCL, waiting up
// to wait for another process to delete it, and returns the function that
// deletes it. A lock file older than commitLockStale is deleted as left
// over from a crash.
func (s *LocalStore) lockFile(wait time.Duration) (func(), error) {
	p, err := s.localPath(commitLockName)
	if err != nil {
		return nil, err
	}
	if err := s.makeDirs(filepath.Dir(p)); err != nil {
		return nil, err
	}
	deadline := time.Now().Add(wait)
	for {
		f, err := os.OpenFile(p, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
		if err == nil {
			host, _ := os.Hostname()
			fmt.Fprintf(f, "pid %d host %s\n", os.Getpid(), host)
			f.Close()
			return func() { os.Remove(p) }, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("taking the commit lock %s: %w", p, err)
		}
		if st, serr := os.Stat(p); serr == nil && time.Since(st.ModTime()) > commitLockStale {
			os.Remove(p)
			continue
		}
		if content, dead := deadLockHolder(p); dead {
			// Read it again just before deleting, so that a lock another
			// waiter took since is less likely to be deleted by mistake.
			if again, err := os.ReadFile(p); err == nil && string(again) == content {
				os.Remove(p)
			}
			continue
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("taking the commit lock: %s is held by another run for over %s; remove it if no winnow run is committing to %s", p, wait, s.root)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
