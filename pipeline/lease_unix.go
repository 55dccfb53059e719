//go:build unix

package pipeline

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"syscall"
)

// processRunning reports whether a process with this id exists and has not
// exited. A process of another user counts as running. An exited process
// that its parent has not yet reaped (a zombie, state Z in /proc) does
// not: a run killed with SIGKILL stays one until then, and its lease and
// commit lock must count as dead at once.
func processRunning(pid int) bool {
	err := syscall.Kill(pid, 0)
	if err != nil && !errors.Is(err, syscall.EPERM) {
		return false
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true // no /proc: trust kill
	}
	// The state follows the command name, which is in parentheses and
	// may itself contain ") ".
	if i := bytes.LastIndexByte(stat, ')'); i >= 0 && i+2 < len(stat) {
		return stat[i+2] != 'Z'
	}
	return true
}
