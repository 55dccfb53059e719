package pipeline_test

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/winnow-data/winnow/objstore"
	"github.com/winnow-data/winnow/objstore/s3test"
	"github.com/winnow-data/winnow/pipeline"
)

// sharedRoots returns a constructor of a fresh store per kind of shared
// root: a local folder, an S3 prefix on a server that honours
// If-None-Match (the lock file protocol) and one on a server that ignores
// it (the listing protocol).
func sharedRoots(t *testing.T) map[string]func(t *testing.T) pipeline.Store {
	conditional := s3test.StartWithMetadata(t)
	conditional.MakeBucket("shared")
	plain := s3test.Start(t)
	plain.MakeBucket("shared")
	t.Setenv("AWS_ACCESS_KEY_ID", s3test.AccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", s3test.SecretKey)
	n := 0
	s3Root := func(t *testing.T, srv *s3test.Server) pipeline.Store {
		t.Helper()
		c, err := objstore.New(objstore.Config{Endpoint: srv.Endpoint, Region: "us-east-1", PathStyle: true}, nil)
		if err != nil {
			t.Fatal(err)
		}
		n++
		store, err := objstore.NewStore(c, fmt.Sprintf("s3://shared/ds-%d", n))
		if err != nil {
			t.Fatal(err)
		}
		return store
	}
	return map[string]func(t *testing.T) pipeline.Store{
		"local": func(t *testing.T) pipeline.Store {
			store, err := pipeline.NewLocalStore(filepath.Join(t.TempDir(), "root"))
			if err != nil {
				t.Fatal(err)
			}
			return store
		},
		"s3 lock file":    func(t *testing.T) pipeline.Store { return s3Root(t, conditional) },
		"s3 lock listing": func(t *testing.T) pipeline.Store { return s3Root(t, plain) },
	}
}

func manifestOn(parent, message string) *pipeline.Manifest {
	return &pipeline.Manifest{Parent: parent, Message: message, CreatedAt: time.Now().UTC()}
}

func TestCommitRaceOnSharedRoot(t *testing.T) {
	for kind, newStore := range sharedRoots(t) {
		t.Run(kind, func(t *testing.T) {
			store := newStore(t)
			parent, err := pipeline.Commit(store, manifestOn("", "first"))
			if err != nil {
				t.Fatal(err)
			}

			// Each writer read the same latest version before either
			// committed, as two runs that finish at once do.
			const writers = 4
			ids := make([]string, writers)
			errs := make([]error, writers)
			start := make(chan struct{})
			var wg sync.WaitGroup
			for i := range writers {
				m := manifestOn(parent, fmt.Sprintf("writer %d", i))
				wg.Go(func() {
					<-start
					ids[i], errs[i] = pipeline.Commit(store, m)
				})
			}
			close(start)
			wg.Wait()

			winner := -1
			for i, err := range errs {
				switch {
				case err == nil && winner >= 0:
					t.Errorf("writers %d and %d both committed on parent %s", winner, i, parent)
				case err == nil:
					winner = i
				case !errors.Is(err, pipeline.ErrStaleParent):
					t.Errorf("writer %d: %v, want ErrStaleParent", i, err)
				}
			}
			if winner < 0 {
				t.Fatalf("no writer committed: %v", errs)
			}
			latest, err := pipeline.LatestVersion(store)
			if err != nil || latest != ids[winner] {
				t.Errorf("latest = %s, %v; want the winner's %s", latest, err, ids[winner])
			}
			list, err := pipeline.ListVersions(store)
			if err != nil || len(list) != 2 {
				t.Errorf("ListVersions = %d versions, %v; want 2: the first and the winner's", len(list), err)
			}
		})
	}
}

func TestLockedCommitsOnSharedRootFormOneChain(t *testing.T) {
	for kind, newStore := range sharedRoots(t) {
		t.Run(kind, func(t *testing.T) {
			store := newStore(t)
			const writers = 4
			var wg sync.WaitGroup
			errs := make([]error, writers)
			for i := range writers {
				wg.Go(func() {
					// An appending run: it reads the latest version under
					// the lock and commits on it.
					unlock, err := pipeline.LockCommits(store, time.Minute)
					if err != nil {
						errs[i] = err
						return
					}
					defer unlock()
					parent, err := pipeline.LatestVersion(store)
					if errors.Is(err, pipeline.ErrNoVersions) {
						parent, err = "", nil
					}
					if err == nil {
						_, err = pipeline.Commit(store, manifestOn(parent, fmt.Sprintf("writer %d", i)))
					}
					errs[i] = err
				})
			}
			wg.Wait()
			for i, err := range errs {
				if err != nil {
					t.Errorf("writer %d: %v", i, err)
				}
			}

			list, err := pipeline.ListVersions(store)
			if err != nil {
				t.Fatal(err)
			}
			if len(list) != writers {
				t.Fatalf("%d versions, want %d", len(list), writers)
			}
			children := map[string]int{}
			for _, m := range list {
				children[m.Parent]++
			}
			for parent, n := range children {
				if n != 1 {
					t.Errorf("version %q has %d children, want one chain", parent, n)
				}
			}
			for _, dir := range []string{"refs", "refs/.commit-lock"} {
				names, err := store.List(dir)
				if err != nil {
					t.Fatal(err)
				}
				for _, name := range names {
					if name != "latest" {
						t.Errorf("%s/%s left behind after every lock was released", dir, name)
					}
				}
			}
			if _, err := store.Stat("refs/.commit.lock"); err == nil {
				t.Error("refs/.commit.lock left behind after every lock was released")
			}
		})
	}
}

// writeLockRecord writes a commit lock file as another process would.
func writeLockRecord(t *testing.T, store pipeline.Store, name string, acquired time.Time) {
	t.Helper()
	rec := fmt.Sprintf(`{"token":"0123456789abcdef0123456789abcdef","host":"other-host","pid":4242,"acquired":%q,"expires":%q}`+"\n",
		acquired.Format(time.RFC3339Nano), acquired.Add(10*time.Minute).Format(time.RFC3339Nano))
	if err := store.WriteFile(name, []byte(rec)); err != nil {
		t.Fatal(err)
	}
}

// lockName returns the file another process's lock holds on store: the
// lock file, or an entry of the listing protocol.
func lockName(kind string) string {
	if kind == "s3 lock listing" {
		return "refs/.commit-lock/0123456789abcdef0123456789abcdef.json"
	}
	return "refs/.commit.lock"
}

func TestCommitLockWaitsThenBreaksStaleLock(t *testing.T) {
	for kind, newStore := range sharedRoots(t) {
		if kind == "local" {
			continue // the local lock file's age comes from its mtime, tested in package pipeline
		}
		t.Run(kind, func(t *testing.T) {
			store := newStore(t)
			writeLockRecord(t, store, lockName(kind), time.Now())
			_, err := pipeline.LockCommits(store, 300*time.Millisecond)
			if err == nil || !strings.Contains(err.Error(), "pid 4242 on other-host") {
				t.Fatalf("LockCommits while another process holds the lock: %v, want a time-out naming the holder", err)
			}

			writeLockRecord(t, store, lockName(kind), time.Now().Add(-11*time.Minute))
			start := time.Now()
			unlock, err := pipeline.LockCommits(store, 5*time.Second)
			if err != nil {
				t.Fatalf("LockCommits over an expired lock: %v", err)
			}
			if d := time.Since(start); d > 3*time.Second {
				t.Errorf("breaking an expired lock took %s", d)
			}
			unlock()
			if _, err := store.Stat(lockName(kind)); err == nil {
				t.Errorf("the expired lock %s is still there", lockName(kind))
			}
		})
	}
}

func TestCommitStopsWhenLockTakenOver(t *testing.T) {
	for kind, newStore := range sharedRoots(t) {
		if kind == "local" {
			continue
		}
		t.Run(kind, func(t *testing.T) {
			store := newStore(t)
			unlock, err := pipeline.LockCommits(store, time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			defer unlock()
			// Another process finds the lock stale and takes it over.
			if kind == "s3 lock listing" {
				names, err := store.List("refs/.commit-lock")
				if err != nil || len(names) != 1 {
					t.Fatalf("lock entries %q, %v; want one", names, err)
				}
				if err := store.(pipeline.Remover).Remove("refs/.commit-lock/" + names[0]); err != nil {
					t.Fatal(err)
				}
			}
			writeLockRecord(t, store, lockName(kind), time.Now())

			_, err = pipeline.Commit(store, manifestOn("", "after the take-over"))
			if err == nil || !strings.Contains(err.Error(), "commit lock") {
				t.Fatalf("Commit after the lock was taken over: %v, want a lost lock error", err)
			}
			if list, err := pipeline.ListVersions(store); err != nil || len(list) != 0 {
				t.Errorf("ListVersions = %d versions, %v; want none written", len(list), err)
			}
		})
	}
}
