//go:build race

package tokens

// raceEnabled lets heavy tests check fewer texts under the race detector,
// which slows them tenfold.
const raceEnabled = true
