//go:build unix

package pipeline

import (
	"errors"
	"syscall"
)

// processRunning reports whether a process with this id exists. A process
// of another user counts as running.
func processRunning(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
