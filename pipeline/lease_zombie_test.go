//go:build linux

package pipeline

import (
	"os/exec"
	"testing"
	"time"
)

// TestProcessRunningSeesZombieAsDead kills a child and checks it before
// the child is reaped, as a parent that reaps slowly leaves it.
func TestProcessRunningSeesZombieAsDead(t *testing.T) {
	cmd := exec.Command("sleep", "60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	if !processRunning(pid) {
		t.Fatalf("process %d reported dead while it runs", pid)
	}
	cmd.Process.Kill()
	deadline := time.Now().Add(10 * time.Second)
	for processRunning(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("killed process %d, not yet reaped, still reported running", pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
	cmd.Wait()
}
