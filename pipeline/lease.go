package pipeline

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"sync"
	"time"
)

// LeasesDir holds one file per process that writes shards or rejects
// files before it commits them: a `winnow run`, or `winnow forget
// --purge`. `winnow gc` keeps every unreferenced file that such a process
// may still commit.
const LeasesDir = "leases"

// Lease timing: a holder refreshes its file's modification time every
// LeaseRefresh, and a lease not refreshed for LeaseStale is taken to be
// left over from a process that died.
const (
	LeaseRefresh = 30 * time.Second
	LeaseStale   = 5 * time.Minute
)

// LeaseInfo describes one lease file.
type LeaseInfo struct {
	Name      string    `json:"-"` // file name under LeasesDir
	PID       int       `json:"pid"`
	Host      string    `json:"host"`
	Command   string    `json:"command"` // run or forget
	StartedAt time.Time `json:"started_at"`
	Refreshed time.Time `json:"-"` // modification time of the file
}

// Stale reports whether the lease's holder stopped refreshing it, or is a
// process of this host that no longer runs, as after a crash.
func (l LeaseInfo) Stale(now time.Time) bool {
	if now.Sub(l.Refreshed) > LeaseStale {
		return true
	}
	host, _ := os.Hostname()
	return l.Host == host && l.PID > 0 && !processRunning(l.PID)
}

// Lease is held by a process while it writes files it has not committed.
type Lease struct {
	store Store
	name  string
	data  []byte
	stop  chan struct{}
	done  sync.WaitGroup
}

// TakeLease writes a lease file for this process and refreshes it in the
// background until Release. Take it before writing the first shard.
func (s *LocalStore) TakeLease(command string) (*Lease, error) {
	return TakeLease(s, command)
}

// TakeLease writes a lease file for this process to store, as
// LocalStore.TakeLease does, on any store that can delete files. On a
// LocalStore the refresh sets the file's modification time. On another
// store it writes the file again, which sets its Last-Modified time.
func TakeLease(store Store, command string) (*Lease, error) {
	if _, ok := store.(Remover); !ok {
		return nil, fmt.Errorf("taking a lease on %s: the store cannot delete files, which releasing a lease needs", store)
	}
	suffix := make([]byte, 4)
	if _, err := rand.Read(suffix); err != nil {
		return nil, err
	}
	host, _ := os.Hostname()
	info := LeaseInfo{PID: os.Getpid(), Host: host, Command: command, StartedAt: time.Now().UTC()}
	data, err := json.Marshal(info)
	if err != nil {
		return nil, err
	}
	name := fmt.Sprintf("%s-%d-%s.json", info.StartedAt.Format("20060102T150405Z"), info.PID, hex.EncodeToString(suffix))
	l := &Lease{store: store, name: storePath(LeasesDir, name), data: data, stop: make(chan struct{})}
	if err := store.WriteFile(l.name, data); err != nil {
		return nil, fmt.Errorf("taking a lease on %s: %w", store, err)
	}
	l.done.Add(1)
	go l.refresh()
	return l, nil
}

// refresh marks the lease file as current every LeaseRefresh, and writes
// it again if gc removed it as stale while this process was stopped.
func (l *Lease) refresh() {
	defer l.done.Done()
	tick := time.NewTicker(LeaseRefresh)
	defer tick.Stop()
	local, isLocal := l.store.(*LocalStore)
	for {
		select {
		case <-l.stop:
			return
		case <-tick.C:
			if !isLocal {
				_ = l.store.WriteFile(l.name, l.data)
				continue
			}
			p, _ := local.localPath(l.name)
			now := time.Now()
			if err := os.Chtimes(p, now, now); errors.Is(err, fs.ErrNotExist) {
				_ = l.store.WriteFile(l.name, l.data)
			}
		}
	}
}

// Release stops the refresh and removes the lease file.
func (l *Lease) Release() {
	close(l.stop)
	l.done.Wait()
	_ = l.store.(Remover).Remove(l.name)
}

// ReadLeases returns every lease of the root, stale ones included.
func ReadLeases(s Store) ([]LeaseInfo, error) {
	names, err := s.List(LeasesDir)
	if err != nil {
		return nil, fmt.Errorf("listing leases: %w", err)
	}
	var out []LeaseInfo
	for _, name := range names {
		p := storePath(LeasesDir, name)
		st, err := s.Stat(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue // released meanwhile
		}
		if err != nil {
			return nil, fmt.Errorf("reading lease %s: %w", name, err)
		}
		info := LeaseInfo{}
		data, err := readAll(s, p)
		if err == nil {
			err = json.Unmarshal(data, &info)
		}
		if err != nil {
			// A lease that cannot be read still protects: assume it began
			// when the file was last written.
			info.StartedAt = st.ModTime()
		}
		info.Name, info.Refreshed = name, st.ModTime()
		out = append(out, info)
	}
	return out, nil
}

func readAll(s Store, name string) ([]byte, error) {
	rc, err := s.Open(name)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(rc)
}

// Name returns the lease's file name under LeasesDir, which a run records
// so a later process can tell whether the run's process still lives.
func (l *Lease) Name() string { return path.Base(l.name) }
