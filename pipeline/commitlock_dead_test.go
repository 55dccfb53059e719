package pipeline

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// TestCommitLockOfDeadProcessIsBroken leaves the lock file of a process
// that has exited, as a run killed mid-commit does, and expects the next
// commit to take the lock at once instead of waiting for it to expire.
func TestCommitLockOfDeadProcessIsBroken(t *testing.T) {
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	store, err := NewLocalStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(store.Root(), filepath.FromSlash(commitLockName))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	host, _ := os.Hostname()
	if err := os.WriteFile(p, fmt.Appendf(nil, "pid %d host %s\n", dead.Process.Pid, host), 0o644); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	unlock, err := LockCommits(store, 5*time.Second)
	if err != nil {
		t.Fatalf("the lock of exited pid %d was not broken: %v", dead.Process.Pid, err)
	}
	unlock()
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("taking the lock took %s", took)
	}

	// A live holder keeps it.
	if err := os.WriteFile(p, fmt.Appendf(nil, "pid %d host %s\n", os.Getpid(), host), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LockCommits(store, 200*time.Millisecond); err == nil {
		t.Fatal("took a lock held by a live process")
	}
}
