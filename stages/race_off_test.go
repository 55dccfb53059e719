//go:build !race

package stages

// raceEnabled lets heavy tests skip themselves under the race detector,
// which slows them tenfold.
const raceEnabled = false
