package pipeline

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"os"
	"reflect"
	"strings"
	"sync"
	"time"
)

// ExclusiveWriter is a Store that can create a file only when no file of
// that name exists, in one atomic step. The commit lock of a store that
// is not a local folder is built on it.
type ExclusiveWriter interface {
	// WriteFileIfAbsent writes data to name atomically and durably, as
	// WriteFile does, unless name exists: then it writes nothing and
	// returns an error that matches fs.ErrExist. A store that cannot
	// make the check and the write one step returns an error that
	// matches errors.ErrUnsupported.
	WriteFileIfAbsent(name string, data []byte) error
}

// Remover is a Store that can delete files.
type Remover interface {
	// Remove deletes the file name. A missing file gives an error that
	// matches fs.ErrNotExist.
	Remove(name string) error
}

// FileUploader is a Store that can copy a local file in without reading
// it into memory, as writers of large shards need.
type FileUploader interface {
	// UploadFile copies the local file at path to name, atomically as
	// WriteFile does.
	UploadFile(name, path string) error
}

// CommitLockWait bounds how long Commit waits for the commit lock when
// its caller does not hold it.
const CommitLockWait = time.Minute

// commitLockDir holds one entry per contender in the commit lock
// protocol for stores without conditional writes (see LockCommits).
const commitLockDir = "refs/.commit-lock"

// Polling for a held commit lock starts at lockPollFirst and doubles up
// to lockPollMax.
const (
	lockPollFirst = 20 * time.Millisecond
	lockPollMax   = time.Second
)

// errCommitLockLost means another process took the commit lock over as
// stale while this one still held it.
var errCommitLockLost = errors.New("commit lock lost")

// commitLock is a commit lock that this process holds.
type commitLock struct {
	release func()
	// check returns an error that matches errCommitLockLost when the
	// lock is no longer this holder's. It is nil for a local lock file.
	check func() error
}

func (l *commitLock) verify() error {
	if l.check == nil {
		return nil
	}
	return l.check()
}

// explicitLocks maps each store value on which a LockCommits call is in
// force to its lock, so that Commit on that store commits under it
// instead of waiting for it.
var explicitLocks sync.Map

// LockCommits takes the commit lock of store, waiting up to wait for
// another holder to release it, and returns the function that releases
// it. Commit, tag and rollback take it, so runs that commit to one root at
// once take turns and each records the other's version as its parent.
// While it is held, Commit and CommitHeld on the same store value commit
// under it without taking it again.
//
// On a LocalStore the lock is the file refs/.commit.lock, created with
// O_EXCL (see LocalStore.LockCommits). On another store the protocol
// depends on what the store can do:
//
//   - With an ExclusiveWriter, the lock is the file refs/.commit.lock,
//     created with WriteFileIfAbsent (on S3, a PUT with If-None-Match: *).
//     It holds a JSON record of the holder: a random token, host, pid,
//     the time taken and an expiry 10 minutes later. A waiter that finds
//     a lock past its expiry, by the waiter's clock, deletes it and tries
//     again. The holder releases the lock by deleting it, after reading it
//     back to check that the token is still its own.
//   - Without one, or when WriteFileIfAbsent reports errors.ErrUnsupported
//     (a server that ignores If-None-Match), each contender writes its own
//     record to refs/.commit-lock/<token>.json and then lists that folder.
//     A contender that finds no other record within its expiry holds the
//     lock. Else it deletes its record, waits a random time and tries
//     again. With writes and listings that are strongly consistent, as on
//     S3, two contenders cannot both find themselves alone: the later
//     writer of the two lists after the earlier one wrote. Records past
//     their expiry are deleted by the contender that finds them.
//
// Both need a Remover. A holder that stops for longer than the expiry
// (10 minutes), or clocks that differ by more, can let two processes hold
// the lock at once. Commit narrows that window by checking the lock just
// before it writes the manifest.
func LockCommits(store Store, wait time.Duration) (func(), error) {
	lock, err := acquireCommitLock(store, wait)
	if err != nil {
		return nil, err
	}
	if !reflect.TypeOf(store).Comparable() {
		return lock.release, nil
	}
	explicitLocks.Store(store, lock)
	var once sync.Once
	return func() {
		once.Do(func() {
			explicitLocks.CompareAndDelete(store, lock)
			lock.release()
		})
	}, nil
}

// heldCommitLock returns the lock of a LockCommits call in force on
// store, or nil.
func heldCommitLock(store Store) *commitLock {
	if !reflect.TypeOf(store).Comparable() {
		return nil
	}
	if l, ok := explicitLocks.Load(store); ok {
		return l.(*commitLock)
	}
	return nil
}

// acquireCommitLock takes the commit lock of store by the protocol that
// LockCommits describes.
func acquireCommitLock(store Store, wait time.Duration) (*commitLock, error) {
	if s, ok := store.(*LocalStore); ok {
		release, err := s.lockFile(wait)
		if err != nil {
			return nil, err
		}
		return &commitLock{release: release}, nil
	}
	remover, ok := store.(Remover)
	if !ok {
		return nil, fmt.Errorf("taking the commit lock of %s: the store cannot delete files, which the lock needs", store)
	}
	if ew, ok := store.(ExclusiveWriter); ok {
		lock, err := lockByConditionalWrite(store, ew, remover, wait)
		if !errors.Is(err, errors.ErrUnsupported) {
			return lock, err
		}
	}
	return lockByListing(store, remover, wait)
}

// lockRecord is the content of a commit lock file or entry.
type lockRecord struct {
	Token    string    `json:"token"`
	Host     string    `json:"host"`
	PID      int       `json:"pid"`
	Acquired time.Time `json:"acquired"`
	Expires  time.Time `json:"expires"`
}

func newLockRecord() (lockRecord, []byte, error) {
	token := make([]byte, 16)
	if _, err := rand.Read(token); err != nil {
		return lockRecord{}, nil, err
	}
	host, _ := os.Hostname()
	now := time.Now().UTC()
	rec := lockRecord{Token: hex.EncodeToString(token), Host: host, PID: os.Getpid(), Acquired: now, Expires: now.Add(commitLockStale)}
	data, err := json.Marshal(rec)
	if err != nil {
		return lockRecord{}, nil, err
	}
	return rec, append(data, '\n'), nil
}

// expired reports whether the lock is past its expiry, or held by a
// process of this host that no longer runs, as after a crash. A run killed
// while it committed must not stop the next one for the whole expiry.
func (r lockRecord) expired() bool {
	if time.Now().After(r.Expires) {
		return true
	}
	host, _ := os.Hostname()
	return r.Host == host && r.PID > 0 && !processRunning(r.PID)
}

// String describes the holder for messages.
func (r lockRecord) String() string {
	return fmt.Sprintf("pid %d on %s since %s", r.PID, r.Host, r.Acquired.Format(time.RFC3339))
}

// readLockRecord reads the lock record in file name. A record that cannot
// be decoded, as after a crash mid-write on a store without atomic
// writes, counts as taken when the file was last written.
func readLockRecord(store Store, name string) (lockRecord, error) {
	data, err := readFile(store, name)
	if err != nil {
		return lockRecord{}, err
	}
	var rec lockRecord
	if json.Unmarshal(data, &rec) == nil && rec.Token != "" {
		return rec, nil
	}
	info, err := store.Stat(name)
	if err != nil {
		return lockRecord{}, err
	}
	return lockRecord{Acquired: info.ModTime(), Expires: info.ModTime().Add(commitLockStale)}, nil
}

// lockByConditionalWrite takes the lock file refs/.commit.lock with
// WriteFileIfAbsent. It returns an error that matches
// errors.ErrUnsupported when the store cannot make the write conditional.
func lockByConditionalWrite(store Store, ew ExclusiveWriter, remover Remover, wait time.Duration) (*commitLock, error) {
	rec, data, err := newLockRecord()
	if err != nil {
		return nil, err
	}
	deadline := time.Now().Add(wait)
	poll := lockPollFirst
	for {
		err := ew.WriteFileIfAbsent(commitLockName, data)
		if err == nil {
			return &commitLock{
				release: func() { releaseLockFile(store, remover, commitLockName, rec.Token) },
				check:   func() error { return checkLockFile(store, commitLockName, rec.Token) },
			}, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("taking the commit lock %s in %s: %w", commitLockName, store, err)
		}

		holder, err := readLockRecord(store, commitLockName)
		if errors.Is(err, fs.ErrNotExist) {
			continue // released meanwhile
		}
		if err != nil {
			return nil, fmt.Errorf("reading the commit lock %s in %s: %w", commitLockName, store, err)
		}
		if holder.expired() {
			// Read it again just before deleting, so that a lock taken
			// since is less likely to be deleted by mistake.
			if again, err := readLockRecord(store, commitLockName); err == nil && again.Token == holder.Token && again.Acquired.Equal(holder.Acquired) {
				if err := remover.Remove(commitLockName); err != nil && !errors.Is(err, fs.ErrNotExist) {
					return nil, fmt.Errorf("deleting the stale commit lock %s in %s: %w", commitLockName, store, err)
				}
			}
			continue
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("taking the commit lock: %s in %s is held by %s for over %s; delete it if no winnow process is committing to %s", commitLockName, store, holder, wait, store)
		}
		time.Sleep(poll)
		poll = min(2*poll, lockPollMax)
	}
}

// releaseLockFile deletes the lock file name if it still holds token.
func releaseLockFile(store Store, remover Remover, name, token string) {
	if checkLockFile(store, name, token) == nil {
		_ = remover.Remove(name)
	}
}

// checkLockFile returns an error that matches errCommitLockLost unless
// the lock file name holds token.
func checkLockFile(store Store, name, token string) error {
	rec, err := readLockRecord(store, name)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("the commit lock %s in %s was deleted as stale: %w", name, store, errCommitLockLost)
	}
	if err != nil {
		return fmt.Errorf("checking the commit lock %s in %s: %w", name, store, err)
	}
	if rec.Token != token {
		return fmt.Errorf("the commit lock %s in %s was taken over as stale by %s: %w", name, store, rec, errCommitLockLost)
	}
	return nil
}

// lockByListing takes the commit lock with one record per contender in
// commitLockDir, as LockCommits describes, for stores whose writes cannot
// be conditional.
func lockByListing(store Store, remover Remover, wait time.Duration) (*commitLock, error) {
	rec, data, err := newLockRecord()
	if err != nil {
		return nil, err
	}
	mine := storePath(commitLockDir, rec.Token+".json")
	deadline := time.Now().Add(wait)
	poll := lockPollFirst
	for {
		if err := store.WriteFile(mine, data); err != nil {
			return nil, fmt.Errorf("taking the commit lock in %s: %w", store, err)
		}
		holder, found, err := otherLockHolder(store, remover, rec.Token)
		if err != nil {
			_ = remover.Remove(mine)
			return nil, err
		}
		if !found {
			return &commitLock{
				release: func() { _ = remover.Remove(mine) },
				check: func() error {
					if _, err := store.Stat(mine); errors.Is(err, fs.ErrNotExist) {
						return fmt.Errorf("the commit lock entry %s in %s was deleted as stale: %w", mine, store, errCommitLockLost)
					} else if err != nil {
						return fmt.Errorf("checking the commit lock entry %s in %s: %w", mine, store, err)
					}
					return nil
				},
			}, nil
		}
		// Step back, so that one of the contenders finds itself alone.
		if err := remover.Remove(mine); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("taking the commit lock in %s: %w", store, err)
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("taking the commit lock: %s in %s is held by %s for over %s; delete %s if no winnow process is committing to %s", commitLockDir, store, holder, wait, commitLockDir, store)
		}
		time.Sleep(poll + jitter(poll))
		poll = min(2*poll, lockPollMax)
	}
}

// otherLockHolder returns a record in commitLockDir other than the one
// with token mine that has not expired. It deletes the expired records
// it finds.
func otherLockHolder(store Store, remover Remover, mine string) (lockRecord, bool, error) {
	names, err := store.List(commitLockDir)
	if err != nil {
		return lockRecord{}, false, fmt.Errorf("listing the commit lock %s in %s: %w", commitLockDir, store, err)
	}
	for _, name := range names {
		if strings.TrimSuffix(name, ".json") == mine {
			continue
		}
		p := storePath(commitLockDir, name)
		rec, err := readLockRecord(store, p)
		if errors.Is(err, fs.ErrNotExist) {
			continue // its contender stepped back meanwhile
		}
		if err != nil {
			return lockRecord{}, false, fmt.Errorf("reading the commit lock entry %s in %s: %w", p, store, err)
		}
		if rec.expired() {
			if err := remover.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return lockRecord{}, false, fmt.Errorf("deleting the stale commit lock entry %s in %s: %w", p, store, err)
			}
			continue
		}
		return rec, true, nil
	}
	return lockRecord{}, false, nil
}

// jitter returns a random duration in [0, d).
func jitter(d time.Duration) time.Duration {
	n, err := rand.Int(rand.Reader, big.NewInt(int64(d)))
	if err != nil {
		return 0
	}
	return time.Duration(n.Int64())
}
