package pipeline

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
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
	store *LocalStore
	name  string
	data  []byte
	stop  chan struct{}
	done  sync.WaitGroup
}

// TakeLease writes a lease file for this process and refreshes it in the
// background until Release. Take it before writing the first shard.
func (s *LocalStore) TakeLease(command string) (*Lease, error) {
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
	l := &Lease{store: s, name: storePath(LeasesDir, name), data: data, stop: make(chan struct{})}
	if err := s.WriteFile(l.name, data); err != nil {
		return nil, fmt.Errorf("taking a lease on %s: %w", s.root, err)
	}
	l.done.Add(1)
	go l.refresh()
	return l, nil
}

// refresh touches the lease file every LeaseRefresh, and writes it again
// if gc removed it as stale while this process was stopped.
func (l *Lease) refresh() {
	defer l.done.Done()
	tick := time.NewTicker(LeaseRefresh)
	defer tick.Stop()
	p, _ := l.store.localPath(l.name)
	for {
		select {
		case <-l.stop:
			return
		case <-tick.C:
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
	_ = l.store.Remove(l.name)
}

// ReadLeases returns every lease of the root, stale ones included.
func ReadLeases(s *LocalStore) ([]LeaseInfo, error) {
	names, err := s.List(LeasesDir)
	if err != nil {
		return nil, fmt.Errorf("listing leases: %w", err)
	}
	var out []LeaseInfo
	for _, name := range names {
		p := filepath.Join(s.root, LeasesDir, name)
		st, err := os.Stat(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue // released meanwhile
		}
		if err != nil {
			return nil, fmt.Errorf("reading lease %s: %w", name, err)
		}
		info := LeaseInfo{}
		data, err := os.ReadFile(p)
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
