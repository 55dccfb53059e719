package loader

import (
	"encoding/json"
	"fmt"
)

// StateFormat is the version of the State layout written by this code.
const StateFormat = 1

// State is the resume token: the point the global order of a version is
// at after a batch. Every rank that has taken the same number of batches
// holds the same State, so a trainer saves any rank's with its checkpoint.
// Passed back as Options.Resume, it continues with exactly the batch that
// follows, at any world size or worker count. It is small JSON:
//
//	{"format":1,"version":"1f0550bed8c9a3cf","seed":7,"shuffle":true,"window":16384,"epoch":1,"position":2048}
//
// Version, Seed, Shuffle, Window and Mix fix the order, so a loader
// resumes from a State only with the same values. Position counts the
// documents of the epoch's order consumed so far by all ranks together.
type State struct {
	Format   int    `json:"format"`
	Version  string `json:"version"`
	Seed     int64  `json:"seed"`
	Shuffle  bool   `json:"shuffle"`
	Window   int    `json:"window,omitempty"` // shuffle window in documents, when shuffling
	Mix      string `json:"mix,omitempty"`    // digest of the mixture options, when mixing
	Epoch    int    `json:"epoch"`
	Position int64  `json:"position"`
}

// String returns the State as its JSON token.
func (s State) String() string {
	data, err := json.Marshal(s)
	if err != nil {
		// A State holds only strings, numbers and a bool.
		panic(err)
	}
	return string(data)
}

// ParseState decodes a token that State.String or a batch's state
// returned, and checks its fields.
func ParseState(token []byte) (State, error) {
	var s State
	if err := json.Unmarshal(token, &s); err != nil {
		return State{}, fmt.Errorf("decoding resume token: %w", err)
	}
	if err := s.validate(); err != nil {
		return State{}, err
	}
	return s, nil
}

func (s State) validate() error {
	switch {
	case s.Format != StateFormat:
		return fmt.Errorf("resume token: format %d is not supported, this winnow reads format %d", s.Format, StateFormat)
	case s.Version == "":
		return fmt.Errorf("resume token: version is missing")
	case s.Epoch < 0:
		return fmt.Errorf("resume token: invalid epoch %d: must be 0 or more", s.Epoch)
	case s.Position < 0:
		return fmt.Errorf("resume token: invalid position %d: must be 0 or more", s.Position)
	case s.Shuffle && s.Window <= 0:
		return fmt.Errorf("resume token: invalid window %d: a shuffled order needs a window of 1 or more documents", s.Window)
	}
	return nil
}

// checkResume returns an error naming the first field of the order that
// differs between the token saved and the options of the new loader.
func checkResume(saved, now State) error {
	mismatch := func(field string, a, b any) error {
		return fmt.Errorf("resume token was saved with %s %v, but the loader is opened with %s %v; the order would differ, so open it with the token's value", field, a, field, b)
	}
	switch {
	case saved.Version != now.Version:
		return mismatch("version", saved.Version, now.Version)
	case saved.Seed != now.Seed:
		return mismatch("seed", saved.Seed, now.Seed)
	case saved.Shuffle != now.Shuffle:
		return mismatch("shuffle", saved.Shuffle, now.Shuffle)
	case saved.Shuffle && saved.Window != now.Window:
		return mismatch("shuffle window", saved.Window, now.Window)
	case saved.Mix != now.Mix:
		return mismatch("mixture digest", orNone(saved.Mix), orNone(now.Mix))
	}
	return nil
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
