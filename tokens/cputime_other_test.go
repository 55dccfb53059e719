//go:build !unix

package tokens

import (
	"testing"
	"time"
)

// cpuTime returns 0, so benchmarks report no CPU-time metric where
// getrusage is missing.
func cpuTime(*testing.B) time.Duration { return 0 }
